"""Providers: Azure OpenAI (deployment paths with api-version, the /openai/v1/ form,
api-key or Entra ID auth, no model on deployment paths) for generate, edit and batch
against the stand-in's Azure mode; choosing a provider; header values refused when
they would add headers; credentials in a base URL never printed."""

import base64
import io
import json

import pytest
from PIL import Image

from conftest import KEY, files_in, open_image

SMALL = ["--size", "1024x640"]
VERSION = "2025-04-01-preview"
TOKEN = "eyJ-standin-entra-token"
DEPLOYMENT_PATH = "/openai/deployments/{}/images/{}?api-version=" + VERSION


@pytest.fixture
def azure(standin):
    standin.configure(provider="azure")
    return standin


def azure_env(standin, **extra):
    """Only Azure variables: the OpenAI ones the helper sets are removed."""
    env = {"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None,
           "AZURE_OPENAI_ENDPOINT": standin.origin, "AZURE_OPENAI_API_KEY": KEY,
           "OPENAI_API_VERSION": VERSION}
    env.update(extra)
    return env


def only_request(standin):
    [request] = standin.requests
    return request


def png_bytes(size=(64, 48), color=(200, 40, 40)):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


# --- Azure: generate


def test_azure_generate_uses_the_deployment_path_and_the_api_key_header(run, azure,
                                                                        tmp_path):
    result = run(["generate", "a red fox", *SMALL], env=azure_env(azure))
    assert result.rc == 0, result
    assert result.lines == ["a-red-fox.png"]
    assert open_image(tmp_path / "a-red-fox.png").size == (1024, 640)
    request = only_request(azure)
    assert request["path"] == DEPLOYMENT_PATH.format("gpt-image-2", "generations")
    assert request["headers"]["api-key"] == KEY
    assert "authorization" not in request["headers"]
    assert "model" not in request["body"]
    assert request["body"]["prompt"] == "a red fox"


def test_azure_deployment_flag_names_the_path_and_the_model_still_validates(run, azure):
    result = run(["generate", "a red fox", *SMALL, "--deployment", "img",
                  "--api-version", "2024-10-21"], env=azure_env(azure))
    assert result.rc == 0, result
    assert only_request(azure)["path"] == \
        "/openai/deployments/img/images/generations?api-version=2024-10-21"
    # The model table still checks --model's rules before anything is sent.
    azure.reset()
    azure.configure(provider="azure")
    result = run(["generate", "a red fox", "--size", "1000x1000", "--deployment", "img"],
                 env=azure_env(azure))
    assert result.rc == 2, result
    assert "--size" in result.stderr
    assert azure.requests == []


def test_azure_entra_token_is_a_bearer_header_and_never_printed(run, azure):
    env = azure_env(azure, AZURE_OPENAI_API_KEY=None, AZURE_OPENAI_AD_TOKEN=TOKEN)
    result = run(["generate", "a red fox", *SMALL], env=env)
    assert result.rc == 0, result
    headers = only_request(azure)["headers"]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert "api-key" not in headers
    dry = run(["generate", "a red fox", *SMALL, "--dry-run"], env=env)
    assert dry.rc == 0, dry
    assert TOKEN not in dry.stdout + dry.stderr + result.stdout + result.stderr
    assert "Authorization: Bearer [REDACTED]" in dry.stdout


def test_azure_entra_token_wins_over_a_key_as_in_the_official_sdks(run, azure):
    result = run(["generate", "a red fox", *SMALL],
                 env=azure_env(azure, AZURE_OPENAI_AD_TOKEN=TOKEN))
    assert result.rc == 0, result
    headers = only_request(azure)["headers"]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert "api-key" not in headers


def test_azure_v1_endpoint_takes_no_api_version_and_names_the_model(run, azure):
    env = azure_env(azure, AZURE_OPENAI_ENDPOINT=azure.origin + "/openai/v1",
                    OPENAI_API_VERSION=None)
    result = run(["generate", "a red fox", *SMALL], env=env)
    assert result.rc == 0, result
    request = only_request(azure)
    assert request["path"] == "/openai/v1/images/generations"
    assert request["body"]["model"] == "gpt-image-2"
    assert request["headers"]["api-key"] == KEY


def test_azure_v1_endpoint_names_the_deployment_in_model(run, azure):
    env = azure_env(azure, AZURE_OPENAI_ENDPOINT=azure.origin + "/openai/v1",
                    OPENAI_API_VERSION=None)
    result = run(["generate", "a red fox", *SMALL, "--deployment", "img"], env=env)
    assert result.rc == 0, result
    request = only_request(azure)
    assert request["path"] == "/openai/v1/images/generations"
    assert request["body"]["model"] == "img"


def test_azure_v1_endpoint_refuses_an_api_version_flag(run, azure):
    env = azure_env(azure, AZURE_OPENAI_ENDPOINT=azure.origin + "/openai/v1")
    refused = run(["generate", "a red fox", *SMALL, "--api-version", VERSION], env=env)
    assert refused.rc == 2, refused
    assert "--api-version" in refused.stderr and "/openai/v1" in refused.stderr
    # OPENAI_API_VERSION in the environment is simply not used there.
    result = run(["generate", "a red fox", *SMALL], env=env)
    assert result.rc == 0, result
    assert only_request(azure)["path"] == "/openai/v1/images/generations"


def test_azure_deployment_path_without_an_api_version_is_refused_before_sending(run,
                                                                               azure):
    result = run(["generate", "a red fox", *SMALL],
                 env=azure_env(azure, OPENAI_API_VERSION=None))
    assert result.rc == 2, result
    assert "--api-version" in result.stderr and "OPENAI_API_VERSION" in result.stderr
    assert azure.requests == []


def test_azure_without_credentials_is_refused_naming_both_variables(run, azure, tmp_path):
    result = run(["generate", "a red fox", *SMALL],
                 env=azure_env(azure, AZURE_OPENAI_API_KEY=None))
    assert result.rc == 2, result
    assert "AZURE_OPENAI_API_KEY" in result.stderr
    assert "AZURE_OPENAI_AD_TOKEN" in result.stderr
    assert azure.requests == [] and files_in(tmp_path) == []


def test_azure_takes_response_format_only_for_dalle_deployments(run, azure):
    result = run(["generate", "a red fox", "--model", "my-server-model",
                  "--response-format", "url"], env=azure_env(azure))
    assert result.rc == 2, result
    assert "--response-format" in result.stderr and "azure" in result.stderr
    assert azure.requests == []
    result = run(["generate", "a red fox", "--model", "dall-e-3", "--deployment", "d3",
                  "--size", "1024x1024", "--response-format", "b64_json"],
                 env=azure_env(azure))
    assert result.rc == 0, result
    request = only_request(azure)
    assert request["path"] == DEPLOYMENT_PATH.format("d3", "generations")
    assert request["body"]["response_format"] == "b64_json"


def test_azure_dry_run_shows_the_deployment_url_without_secrets(run, azure):
    result = run(["generate", "a red fox", *SMALL, "--dry-run"], env=azure_env(azure))
    assert result.rc == 0, result
    expected = azure.origin + DEPLOYMENT_PATH.format("gpt-image-2", "generations")
    assert result.stdout.startswith(f"POST {expected}\n")
    assert "api-key: [REDACTED]" in result.stdout
    body = json.loads(result.stdout.split("\n\n")[1])
    assert "model" not in body
    assert azure.requests == []
    as_json = run(["generate", "a red fox", *SMALL, "--dry-run", "--json"],
                  env=azure_env(azure))
    shown = json.loads(as_json.stdout)
    assert shown["url"] == expected
    assert shown["headers"]["api-key"] == "[REDACTED]"
    assert "model" not in shown["body"]


def test_azure_error_bodies_are_shown(run, azure):
    result = run(["generate", "a red fox", *SMALL, "--deployment", "nope"],
                 env=azure_env(azure))
    assert result.rc == 1, result
    assert "DeploymentNotFound" in result.stderr
    assert "404" in result.stderr


# --- Azure: edit


def test_azure_multipart_edit_sends_no_model_part(run, azure, tmp_path):
    (tmp_path / "photo.png").write_bytes(png_bytes())
    result = run(["edit", "--image", "photo.png", "make it blue"], env=azure_env(azure))
    assert result.rc == 0, result
    assert result.lines == ["photo-edit.png"]
    request = only_request(azure)
    assert request["path"] == DEPLOYMENT_PATH.format("gpt-image-2", "edits")
    assert request["content_type"].startswith("multipart/form-data")
    assert "model" not in request["body"]
    assert request["body"]["prompt"] == "make it blue"
    assert [f["field"] for f in request["body"]["files"]] == ["image"]
    assert request["headers"]["api-key"] == KEY
    assert open_image(tmp_path / "photo-edit.png").format == "PNG"


def test_azure_json_edit_sends_no_model(run, azure, tmp_path):
    url = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    result = run(["edit", "--image", url, "make it blue"], env=azure_env(azure))
    assert result.rc == 0, result
    request = only_request(azure)
    assert request["path"] == DEPLOYMENT_PATH.format("gpt-image-2", "edits")
    assert request["content_type"] == "application/json"
    assert "model" not in request["body"]
    assert request["body"]["prompt"] == "make it blue"
    assert len(request["body"]["images"]) == 1
    [line] = result.lines
    assert open_image(tmp_path / line).format == "PNG"


def test_azure_v1_multipart_edit_names_the_model(run, azure, tmp_path):
    (tmp_path / "photo.png").write_bytes(png_bytes())
    env = azure_env(azure, AZURE_OPENAI_ENDPOINT=azure.origin + "/openai/v1")
    result = run(["edit", "--image", "photo.png", "make it blue"], env=env)
    assert result.rc == 0, result
    request = only_request(azure)
    assert request["path"] == "/openai/v1/images/edits"
    assert request["body"]["model"] == "gpt-image-2"


# --- Azure: batch


def test_azure_batch_runs_on_deployment_paths_and_resumes(run, azure, tmp_path):
    args = ["batch", "a red fox", "a blue whale", *SMALL, "--out-dir", "out"]
    result = run(args, env=azure_env(azure))
    assert result.rc == 0, result
    assert sorted(result.lines) == ["out/01-a-red-fox.png", "out/02-a-blue-whale.png"]
    requests = azure.requests
    assert len(requests) == 2
    for request in requests:
        assert request["path"] == DEPLOYMENT_PATH.format("gpt-image-2", "generations")
        assert "model" not in request["body"]
        assert request["headers"]["api-key"] == KEY
    again = run(args, env=azure_env(azure))
    assert again.rc == 0, again
    assert len(azure.requests) == 2  # nothing sent again


def test_azure_batch_job_model_picks_its_deployment(run, azure, tmp_path):
    (tmp_path / "jobs.jsonl").write_text(
        json.dumps({"prompt": "a red fox"}) + "\n" +
        json.dumps({"prompt": "a cat", "model": "dall-e-3", "size": "1024x1024"}) + "\n")
    azure.configure(azure_deployments={"gpt-image-2": "gpt-image-2",
                                       "dall-e-3": "dall-e-3"})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, "--out-dir", "out"],
                 env=azure_env(azure))
    paths = sorted(r["path"] for r in azure.requests)
    assert paths == [DEPLOYMENT_PATH.format("dall-e-3", "generations"),
                     DEPLOYMENT_PATH.format("gpt-image-2", "generations")], result


def test_azure_batch_refuses_a_job_model_that_cannot_name_a_deployment(run, azure,
                                                                         tmp_path):
    (tmp_path / "jobs.jsonl").write_text(json.dumps({"prompt": "a cat", "model": ".."}))
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, "--out-dir", "out"],
                 env=azure_env(azure))
    assert result.rc == 2, result
    assert "job 1:" in result.stderr and "--model" in result.stderr
    assert azure.requests == []


def test_azure_batch_dry_run_shows_each_deployment_url(run, azure):
    result = run(["batch", "a red fox", *SMALL, "--dry-run", "--json"],
                 env=azure_env(azure))
    assert result.rc == 0, result
    [line] = result.lines
    shown = json.loads(line)
    assert shown["url"] == azure.origin + DEPLOYMENT_PATH.format("gpt-image-2",
                                                                 "generations")
    assert "model" not in shown["body"]
    assert azure.requests == []


# --- choosing the provider


def test_both_openai_and_azure_variables_need_an_explicit_choice(run, standin):
    env = {"AZURE_OPENAI_ENDPOINT": standin.origin, "AZURE_OPENAI_API_KEY": KEY,
           "OPENAI_API_VERSION": VERSION}
    result = run(["generate", "a red fox", *SMALL], env=env)
    assert result.rc == 2, result
    assert "--provider" in result.stderr
    assert "OPENAI_API_KEY" in result.stderr and "AZURE_OPENAI_ENDPOINT" in result.stderr
    assert standin.requests == []
    chosen = run(["generate", "a red fox", *SMALL, "--provider", "openai"], env=env)
    assert chosen.rc == 0, chosen
    assert only_request(standin)["path"] == "/v1/images/generations"


def test_imagegen_provider_variable_chooses_too(run, azure):
    env = azure_env(azure, OPENAI_API_KEY="sk-other", IMAGEGEN_PROVIDER="azure")
    result = run(["generate", "a red fox", *SMALL], env=env)
    assert result.rc == 0, result
    assert only_request(azure)["path"].startswith("/openai/deployments/")


@pytest.mark.parametrize("args, word", [
    (["--provider", "bedrock"], "--provider"),
    (["--deployment", "img"], "--deployment"),
    (["--api-version", VERSION], "--api-version"),
], ids=["unknown-provider", "deployment-on-openai", "api-version-on-openai"])
def test_provider_options_are_checked(run, standin, args, word):
    result = run(["generate", "a red fox", *SMALL, *args])
    assert result.rc == 2, result
    assert word in result.stderr
    assert standin.requests == []


@pytest.mark.parametrize("args, word", [
    (["--deployment", "a/b"], "--deployment"),
    (["--deployment", "img?x=1"], "--deployment"),
    (["--deployment", ".."], "--deployment"),
    (["--model", ".."], "--model"),
    (["--model", "x/../y"], "--model"),
    (["--api-version", "2024-10-21&x=1"], "--api-version"),
], ids=["slash", "query", "dot-dot", "model-dot-dot", "model-slash", "version-query"])
def test_azure_url_parts_must_be_plain_names(run, azure, args, word):
    result = run(["generate", "a red fox", *SMALL, *args], env=azure_env(azure))
    assert result.rc == 2, result
    assert word in result.stderr
    assert azure.requests == []


# --- header values with control characters


@pytest.mark.parametrize("name, value", [
    ("OPENAI_ORG_ID", "org-1\r\nX-Injected: yes"),
    ("OPENAI_PROJECT_ID", "proj-1\nX-Injected: yes"),
    ("OPENAI_API_KEY", KEY + "\r\nX-Injected: yes"),
    ("OPENAI_ORG_ID", "org-1\x00"[:-1] + "\x7f"),
], ids=["org-crlf", "project-lf", "key-crlf", "org-del"])
def test_a_header_value_with_control_characters_is_refused(run, standin, tmp_path, name,
                                                           value):
    result = run(["generate", "a red fox", *SMALL], env={name: value})
    assert result.rc == 2, result
    assert name in result.stderr and "control character" in result.stderr
    assert "X-Injected" not in result.stderr
    assert standin.requests == []
    assert files_in(tmp_path) == []


def test_a_header_value_with_control_characters_is_refused_in_a_dry_run_too(run, standin):
    result = run(["generate", "a red fox", "--dry-run"],
                 env={"OPENAI_ORG_ID": "org-1\r\nX-Injected: yes"})
    assert result.rc == 2, result
    assert "X-Injected" not in result.stdout


@pytest.mark.parametrize("name", ["AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN"])
def test_azure_secrets_with_control_characters_are_refused(run, azure, name):
    result = run(["generate", "a red fox", *SMALL],
                 env=azure_env(azure, **{name: "secret\r\nX-Injected: yes"}))
    assert result.rc == 2, result
    assert name in result.stderr
    assert "secret" not in result.stderr
    assert azure.requests == []


def test_a_clean_org_and_project_still_go_on_the_wire(run, standin):
    result = run(["generate", "a red fox", *SMALL],
                 env={"OPENAI_ORG_ID": "org-1", "OPENAI_PROJECT_ID": "proj-1"})
    assert result.rc == 0, result
    headers = only_request(standin)["headers"]
    assert headers["openai-organization"] == "org-1"
    assert headers["openai-project"] == "proj-1"


# --- credentials inside a base URL


def with_credentials(standin):
    return standin.url.replace("http://", "http://someone:hunter2secret@")


def test_base_url_credentials_are_never_printed(run, standin):
    url = with_credentials(standin)
    result = run(["generate", "a red fox", *SMALL, "--base-url", url])
    assert result.rc == 0, result
    assert "hunter2secret" not in result.stdout + result.stderr
    assert "someone" not in result.stdout + result.stderr
    assert "[REDACTED]@127.0.0.1" in result.stderr  # the "generating ... at URL" line
    assert only_request(standin)["path"] == "/v1/images/generations"


@pytest.mark.parametrize("extra", [[], ["--json"]], ids=["text", "json"])
def test_base_url_credentials_are_redacted_in_a_dry_run(run, standin, extra):
    result = run(["generate", "a red fox", "--dry-run", *extra],
                 env={"OPENAI_BASE_URL": with_credentials(standin)})
    assert result.rc == 0, result
    assert "hunter2secret" not in result.stdout + result.stderr
    assert "someone" not in result.stdout + result.stderr
    assert "[REDACTED]@127.0.0.1" in result.stdout


def test_a_bad_base_url_is_refused_without_echoing_its_password(run, standin):
    result = run(["generate", "a red fox", "--base-url", "ftp://someone:hunter2secret@x/v1"])
    assert result.rc == 2, result
    assert "--base-url" in result.stderr
    assert "hunter2secret" not in result.stderr


def test_an_azure_401_hints_at_the_azure_variables(run, azure):
    result = run(["generate", "a red fox", *SMALL],
                 env=azure_env(azure, AZURE_OPENAI_API_KEY="wrong-key"))
    assert result.rc == 1, result
    assert "401" in result.stderr
    assert "hint: check AZURE_OPENAI_API_KEY" in result.stderr
    assert "OPENAI_API_KEY (and" not in result.stderr


def test_a_base_url_with_control_characters_is_refused_without_echoing_them(run, standin):
    result = run(["generate", "a red fox", "--base-url", standin.url + "\r\nX-Injected: yes"])
    assert result.rc == 2, result
    assert "--base-url" in result.stderr and "control character" in result.stderr
    assert "X-Injected" not in result.stderr and "\r" not in result.stderr
