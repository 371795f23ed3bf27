"""Tests of the stand-in's Azure OpenAI mode (the provider knob): deployment paths with
api-version, the v1 form, api-key and Entra ID auth, Azure's error bodies, and the
OpenAI serving pipeline behind them."""

import base64
import io
import json
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
from PIL import Image

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)

from conftest import schema_errors  # noqa: E402
from standin import (  # noqa: E402
    AZURE_ACCESS_DENIED, DEFAULT_AZURE_AD_TOKEN, DEFAULT_AZURE_API_VERSIONS,
    DEFAULT_AZURE_DEPLOYMENTS)
from standin_fixtures import Reply, fetch, standin_fixtures  # noqa: E402

KEY = "sk-test-azure-0123456789abcdef"
VERSION = "2025-04-01-preview"

RESOURCE_NOT_FOUND = {"error": {"code": "404", "message": "Resource not found"}}
ACCESS_DENIED = {"error": {"code": "401", "message": AZURE_ACCESS_DENIED}}
VERSION_NOT_SUPPORTED = {"error": {"code": "BadRequest",
                                   "message": "API version not supported"}}

server, standin = standin_fixtures(KEY)


@pytest.fixture
def azure(standin):
    """The module's stand-in, reset, playing an Azure OpenAI resource."""
    standin.configure(provider="azure")
    return standin


# --- requests and replies


def send(url, raw=None, content_type="application/json", *, key=KEY, bearer=None,
         headers=None, timeout=10):
    """POST raw bytes; `key` goes in an api-key header, `bearer` in Authorization."""
    sent = {"Content-Type": content_type} if content_type else {}
    if key is not None:
        sent["api-key"] = key
    if bearer is not None:
        sent["Authorization"] = f"Bearer {bearer}"
    sent.update(headers or {})
    request = urllib.request.Request(url, data=raw if raw is not None else b"",
                                     headers=sent, method="POST")
    return fetch(request, timeout)


def deployment_url(standin, deployment="gpt-image-2", operation="generations",
                   api_version=VERSION):
    url = f"{standin.azure_url}/deployments/{deployment}/images/{operation}"
    if api_version is not None:
        url += "?" + urllib.parse.urlencode({"api-version": api_version})
    return url


def v1_url(standin, operation="generations"):
    return f"{standin.azure_url}/v1/images/{operation}"


def generate(standin, deployment="gpt-image-2", api_version=VERSION, *, key=KEY,
             bearer=None, **params):
    body = {"prompt": "a lighthouse at dusk", "size": "64x64", **params}
    return send(deployment_url(standin, deployment, api_version=api_version),
                json.dumps(body).encode(), key=key, bearer=bearer)


def generate_v1(standin, *, key=KEY, bearer=None, query="", **params):
    body = {"prompt": "a lighthouse at dusk", "size": "64x64", **params}
    return send(v1_url(standin) + query, json.dumps(body).encode(), key=key,
                bearer=bearer)


def png(width=64, height=48, color=(200, 40, 40)):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def multipart(fields=(), files=()):
    """(body, content type): fields are (name, text), files (name, filename,
    content type, bytes)."""
    boundary = "----standin-azure-" + secrets.token_hex(8)
    chunks = []
    for name, value in fields:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                      f"\r\n\r\n{value}\r\n".encode())
    for name, filename, content_type, data in files:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                      f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
                      .encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def edit_form(url, fields=(("prompt", "make it blue"),), image=None, **auth):
    raw, content_type = multipart(fields, [("image", "in.png", "image/png",
                                            image or png())])
    return send(url, raw, content_type, **auth)


def edit_json(url, **params):
    body = {"prompt": "make it blue",
            "images": [{"image_url": "data:image/png;base64,"
                        + base64.b64encode(png()).decode()}], **params}
    return send(url, json.dumps(body).encode())


def decode(item):
    image = Image.open(io.BytesIO(base64.b64decode(item["b64_json"], validate=True)))
    image.load()
    return image


def assert_images_response(spec, reply):
    assert reply.status == 200, reply.body[:300]
    assert reply.headers["Content-Type"] == "application/json"
    response = reply.json()
    schema = spec["components"]["schemas"]["ImagesResponse"]
    assert schema_errors(spec, schema, response, "response") == []
    return response


def assert_bad_request(reply, param):
    assert reply.status == 400, reply.body[:300]
    error = reply.error()
    assert (error["code"], error["param"]) == ("BadRequest", param)
    assert set(error) == {"code", "message", "param"}
    return error


# --- knobs


def test_azure_knobs_default_off_and_are_reset(standin):
    config = standin.config
    assert config.provider == "openai"
    assert config.azure_deployments == DEFAULT_AZURE_DEPLOYMENTS == {
        "gpt-image-2": "gpt-image-2", "img": "gpt-image-2", "d3": "dall-e-3"}
    assert config.azure_api_versions == DEFAULT_AZURE_API_VERSIONS
    assert config.azure_ad_token == DEFAULT_AZURE_AD_TOKEN == "eyJ-standin-entra-token"
    standin.configure(provider="azure", azure_deployments={"x": "gpt-image-1"},
                      azure_api_versions="2024-10-21, v9", azure_ad_token="tok")
    config = standin.config
    assert (config.provider, config.azure_deployments, config.azure_api_versions,
            config.azure_ad_token) == ("azure", {"x": "gpt-image-1"},
                                       ("2024-10-21", "v9"), "tok")
    standin.reset()
    assert standin.config.provider == "openai"
    assert standin.config.azure_deployments == DEFAULT_AZURE_DEPLOYMENTS


@pytest.mark.parametrize("knobs, name", [
    ({"provider": "aws"}, "provider"),
    ({"azure_deployments": ["img"]}, "azure_deployments"),
    ({"azure_deployments": {"a/b": "gpt-image-2"}}, "azure_deployments"),
    ({"azure_deployments": {"img": 3}}, "azure_deployments"),
    ({"azure_api_versions": [1]}, "azure_api_versions"),
    ({"azure_ad_token": ""}, "azure_ad_token"),
])
def test_bad_azure_knobs_are_refused(standin, knobs, name):
    with pytest.raises(ValueError, match=name):
        standin.configure(**knobs)
    assert standin.config.provider == "openai"


def test_azure_knobs_over_the_control_api(standin):
    knobs = {"provider": "azure", "azure_deployments": {"dep": "gpt-image-1.5"},
             "azure_api_versions": ["2099-01-01"]}
    reply = send(f"{standin.origin}/_control/config", json.dumps(knobs).encode(),
                 key=None)
    assert reply.status == 200
    config = reply.json()
    assert config["provider"] == "azure"
    assert config["azure_deployments"] == {"dep": "gpt-image-1.5"}
    assert config["azure_api_versions"] == ["2099-01-01"]
    assert config["azure_ad_token"] == DEFAULT_AZURE_AD_TOKEN
    # (gpt-image-1.5 takes its fixed sizes only, on Azure too.)
    assert generate(standin, "dep", "2099-01-01", size="1024x1024").status == 200
    assert generate(standin, "dep", VERSION).json() == VERSION_NOT_SUPPORTED
    bad = send(f"{standin.origin}/_control/config", b'{"provider": "gcp"}', key=None)
    assert bad.status == 400
    assert send(f"{standin.origin}/_control/reset", b"{}", key=None).status == 200
    assert standin.config.provider == "openai"


# --- deployment paths: successes


def test_deployment_generation_is_a_png_of_the_requested_size(azure):
    reply = generate(azure, size="640x400")
    assert reply.status == 200, reply.body[:300]
    response = reply.json()
    assert response["output_format"] == "png"
    [item] = response["data"]
    image = decode(item)
    assert (image.format, image.size, image.mode) == ("PNG", (640, 400), "RGB")
    usage = response["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_deployment_generation_fits_the_spec(azure, spec):
    response = assert_images_response(spec, generate(azure, size="1024x1024", n=2))
    assert [decode(item).size for item in response["data"]] == [(1024, 1024)] * 2


@pytest.mark.parametrize("api_version", DEFAULT_AZURE_API_VERSIONS)
def test_every_default_api_version_is_accepted(azure, api_version):
    assert generate(azure, api_version=api_version).status == 200


def test_deployment_request_is_recorded_as_sent(azure):
    assert generate(azure, "img", prompt="record me").status == 200
    [request] = azure.requests
    assert request["method"] == "POST"
    assert request["path"] == ("/openai/deployments/img/images/generations"
                               f"?api-version={VERSION}")
    assert request["headers"]["api-key"] == KEY
    assert "authorization" not in request["headers"]
    assert request["body"] == {"prompt": "record me", "size": "64x64"}
    assert "model" not in request["body"]


def test_deployment_model_is_the_one_used(azure):
    """A dall-e-3 deployment answers as dall-e-3 does (a URL, a revised prompt); the
    same body on a GPT image deployment gets b64_json."""
    dalle = generate(azure, "d3", size="1024x1024").json()
    [item] = dalle["data"]
    assert item["url"].startswith(azure.origin + "/files/")
    assert "revised_prompt" in item
    gpt = generate(azure, "img", size="1024x1024").json()
    assert "b64_json" in gpt["data"][0]
    assert "usage" in gpt and "usage" not in dalle


def test_entra_id_bearer_token_is_accepted(azure):
    reply = generate(azure, key=None, bearer=DEFAULT_AZURE_AD_TOKEN)
    assert reply.status == 200, reply.body[:300]
    [request] = azure.requests
    assert request["headers"]["authorization"] == f"Bearer {DEFAULT_AZURE_AD_TOKEN}"
    assert "api-key" not in request["headers"]


def test_configured_entra_token_replaces_the_default(azure):
    azure.configure(azure_ad_token="eyJ-other")
    assert generate(azure, key=None, bearer="eyJ-other").status == 200
    assert generate(azure, key=None, bearer=DEFAULT_AZURE_AD_TOKEN).status == 401


def test_multipart_edit_on_a_deployment_path(azure, spec):
    reply = edit_form(deployment_url(azure, "gpt-image-2", "edits"),
                      [("prompt", "make it blue"), ("size", "1024x1536")])
    response = assert_images_response(spec, reply)
    image = decode(response["data"][0])
    assert (image.format, image.size) == ("PNG", (1024, 1536))
    assert response["usage"]["input_tokens_details"]["image_tokens"] > 0
    [request] = azure.requests
    assert request["path"] == ("/openai/deployments/gpt-image-2/images/edits"
                               f"?api-version={VERSION}")
    assert "model" not in request["body"]
    assert request["body"]["files"][0]["field"] == "image"
    assert request["headers"]["content-type"].startswith("multipart/form-data")


def test_multipart_edit_honours_any_size(azure):
    reply = edit_form(deployment_url(azure, "img", "edits"),
                      [("prompt", "make it blue"), ("size", "96x64"),
                       ("output_format", "webp")])
    assert reply.status == 200, reply.body[:300]
    image = decode(reply.json()["data"][0])
    assert (image.format, image.size) == ("WEBP", (96, 64))


def test_multipart_edit_size_auto_follows_the_input(azure):
    reply = edit_form(deployment_url(azure, "img", "edits"), image=png(80, 40))
    assert reply.status == 200, reply.body[:300]
    assert decode(reply.json()["data"][0]).size == (1456, 736)   # its shape, ~1 MP


def test_json_edit_on_a_deployment_path(azure, spec):
    reply = edit_json(deployment_url(azure, "gpt-image-2", "edits"), size="1024x1024")
    response = assert_images_response(spec, reply)
    assert decode(response["data"][0]).size == (1024, 1024)
    [request] = azure.requests
    assert "model" not in request["body"]
    assert request["content_type"] == "application/json"


def test_streaming_on_a_deployment_path(azure):
    reply = generate(azure, stream=True, partial_images=1)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/event-stream")
    text = reply.body.decode()
    assert "event: image_generation.partial_image" in text
    assert "event: image_generation.completed" in text


# --- deployment paths: Azure's errors


def test_missing_api_version_is_resource_not_found(azure):
    reply = generate(azure, api_version=None)
    assert (reply.status, reply.json()) == (404, RESOURCE_NOT_FOUND)
    assert reply.headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize("api_version", ["2023-05-15", "", "v1", "latest"])
def test_unsupported_api_version_is_refused(azure, api_version):
    reply = generate(azure, api_version=api_version)
    assert (reply.status, reply.json()) == (400, VERSION_NOT_SUPPORTED)


def test_api_version_is_checked_before_the_key(azure):
    assert generate(azure, api_version=None, key=None).status == 404
    assert generate(azure, api_version="1999-01-01", key=None).status == 400


def test_unknown_deployment_is_deployment_not_found(azure):
    reply = generate(azure, "dall-e-2")
    assert reply.status == 404
    error = reply.error()
    assert error["code"] == "DeploymentNotFound"
    assert error["message"].startswith("The API deployment for this resource does not "
                                       "exist.")
    assert set(error) == {"code", "message"}


def test_unknown_deployment_needs_a_valid_key_first(azure):
    assert generate(azure, "nowhere", key="wrong").json() == ACCESS_DENIED


@pytest.mark.parametrize("auth", [
    {"key": None},                                   # no credentials
    {"key": "sk-wrong-0123456789"},                  # a wrong api-key
    {"key": None, "bearer": KEY},                    # the OpenAI way: Bearer <key>
    {"key": None, "bearer": "eyJ-wrong"},            # a wrong Entra token
    {"key": "sk-wrong", "bearer": DEFAULT_AZURE_AD_TOKEN},  # api-key decides
    {"key": None, "headers": {"Authorization": f"Basic {DEFAULT_AZURE_AD_TOKEN}"}},
])
def test_bad_credentials_are_access_denied(azure, auth):
    reply = generate(azure, **auth)
    assert (reply.status, reply.json()) == (401, ACCESS_DENIED)
    assert "sk-wrong" not in reply.body.decode()


def test_bad_credentials_on_the_v1_form_are_access_denied(azure):
    reply = generate_v1(azure, key=None, bearer=KEY, model="img")
    assert (reply.status, reply.json()) == (401, ACCESS_DENIED)


@pytest.mark.parametrize("model", ["gpt-image-2", "dall-e-3", None])
def test_model_in_a_json_body_is_refused(azure, model):
    error = assert_bad_request(generate(azure, model=model), "model")
    assert "not allowed on a deployment path" in error["message"]


def test_model_in_a_json_edit_is_refused(azure):
    reply = edit_json(deployment_url(azure, "img", "edits"), model="gpt-image-2")
    assert_bad_request(reply, "model")


def test_model_in_a_multipart_edit_is_refused(azure):
    reply = edit_form(deployment_url(azure, "img", "edits"),
                      [("prompt", "make it blue"), ("model", "gpt-image-2")])
    error = assert_bad_request(reply, "model")
    assert "not allowed on a deployment path" in error["message"]


def test_response_format_is_refused_for_gpt_image_deployments(azure):
    error = assert_bad_request(generate(azure, response_format="b64_json"),
                               "response_format")
    assert "gpt-image-2" in error["message"]
    reply = edit_form(deployment_url(azure, "img", "edits"),
                      [("prompt", "make it blue"), ("response_format", "b64_json")])
    assert_bad_request(reply, "response_format")


def test_response_format_is_taken_by_a_dalle_deployment(azure):
    reply = generate(azure, "d3", size="1024x1024", response_format="b64_json")
    assert reply.status == 200, reply.body[:300]
    assert decode(reply.json()["data"][0]).format == "PNG"


def test_a_dalle_deployment_takes_only_dalle_3_sizes(azure):
    # Azure keeps the older rules: the deployment's model's fixed sizes.
    error = generate(azure, "d3", size="1536x1024").error()
    assert (error["param"], error["code"]) == ("size", "invalid_value")
    assert "'1792x1024'" in error["message"]


def test_the_openai_body_checks_apply_for_the_deployment_model(azure):
    """The deployment's model is injected before the OpenAI checks run."""
    stream = generate(azure, "d3", stream=True).error()
    assert (stream["param"], stream["type"]) == ("stream", "invalid_request_error")
    assert generate(azure, size="huge").error()["param"] == "size"
    assert generate(azure, colour="red").error()["code"] == "unknown_parameter"
    assert generate(azure, prompt=None).error()["code"] == "missing_required_parameter"
    dalle_edit = edit_form(deployment_url(azure, "d3", "edits")).error()
    assert dalle_edit["param"] == "model"
    broken = send(deployment_url(azure), b"{broken")
    assert broken.status == 400
    assert broken.error()["type"] == "invalid_request_error"


def test_edit_with_another_content_type_is_refused(azure):
    reply = send(deployment_url(azure, "img", "edits"), b"prompt=x",
                 "application/x-www-form-urlencoded")
    assert reply.status == 400
    assert reply.error()["code"] == "invalid_content_type"


# --- the v1 form


def test_v1_form_generation_uses_the_named_deployment(azure, spec):
    reply = generate_v1(azure, model="img", size="1024x1024")
    response = assert_images_response(spec, reply)
    assert decode(response["data"][0]).size == (1024, 1024)
    [request] = azure.requests
    assert request["path"] == "/openai/v1/images/generations"
    assert request["body"]["model"] == "img"
    assert request["headers"]["api-key"] == KEY
    assert "authorization" not in request["headers"]


def test_v1_form_with_a_dalle_deployment(azure):
    reply = generate_v1(azure, model="d3", size="1024x1024")
    assert reply.status == 200
    assert "url" in reply.json()["data"][0]


def test_v1_form_ignores_an_api_version(azure):
    assert generate_v1(azure, model="img", query="?api-version=preview").status == 200
    assert generate_v1(azure, model="img", query=f"?api-version={VERSION}").status == 200


def test_v1_form_takes_the_entra_token(azure):
    assert generate_v1(azure, key=None, bearer=DEFAULT_AZURE_AD_TOKEN,
                       model="gpt-image-2").status == 200


def test_v1_form_needs_a_model(azure):
    reply = generate_v1(azure)
    assert reply.status == 400
    error = reply.error()
    assert (error["param"], error["code"]) == ("model", "missing_required_parameter")
    multipart_edit = edit_form(v1_url(azure, "edits")).error()
    assert (multipart_edit["param"], multipart_edit["code"]) == (
        "model", "missing_required_parameter")


def test_v1_form_model_must_name_a_deployment(azure):
    """A model name that is no deployment's name is not found, even a real model."""
    reply = generate_v1(azure, model="dall-e-2")
    assert reply.status == 404
    assert reply.error()["code"] == "DeploymentNotFound"
    assert generate_v1(azure, model=7).error()["param"] == "model"


def test_v1_form_refuses_response_format_for_gpt_image(azure):
    assert_bad_request(generate_v1(azure, model="img", response_format="b64_json"),
                       "response_format")


def test_v1_form_multipart_edit(azure, spec):
    reply = edit_form(v1_url(azure, "edits"),
                      [("model", "img"), ("prompt", "make it blue"),
                       ("size", "1536x1024")])
    response = assert_images_response(spec, reply)
    assert decode(response["data"][0]).size == (1536, 1024)
    [request] = azure.requests
    assert request["body"]["model"] == "img"


def test_v1_form_json_edit(azure, spec):
    reply = edit_json(v1_url(azure, "edits"), model="gpt-image-2", size="1024x1024")
    assert decode(assert_images_response(spec, reply)["data"][0]).size == (1024, 1024)
    unknown = edit_json(v1_url(azure, "edits"), model="nope")
    assert (unknown.status, unknown.error()["code"]) == (404, "DeploymentNotFound")


# --- other paths, and the OpenAI mode


@pytest.mark.parametrize("path", [
    "/v1/images/generations", "/v1/images/edits", "/v1/images/variations",
    "/openai/deployments/img/images/variations?api-version=2025-04-01-preview",
    "/openai/deployments/img/chat/completions?api-version=2025-04-01-preview",
    "/openai/v1/images/variations", "/openai/images/generations",
])
def test_other_paths_are_resource_not_found(azure, path):
    body = json.dumps({"model": "gpt-image-2", "prompt": "x", "size": "1024x640"}).encode()
    for auth in ({"key": None, "bearer": KEY}, {"key": KEY}):
        reply = send(azure.origin + path, body, **auth)
        assert (reply.status, reply.json()) == (404, RESOURCE_NOT_FOUND)
    assert [r["path"] for r in azure.requests] == [path, path]


def test_get_on_a_deployment_path_is_not_found(azure):
    request = urllib.request.Request(deployment_url(azure), headers={"api-key": KEY})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    with caught.value as error:
        assert (error.code, json.loads(error.read())) == (404, RESOURCE_NOT_FOUND)


def test_reset_returns_to_the_openai_mode(azure):
    assert generate(azure).status == 200
    azure.reset()
    assert azure.config.provider == "openai"
    assert generate(azure).status == 404  # an OpenAI "Invalid URL"
    assert generate(azure).error()["type"] == "invalid_request_error"
    body = json.dumps({"model": "gpt-image-2", "prompt": "x", "size": "1024x640"}).encode()
    assert send(azure.url + "/images/generations", body, key=None, bearer=KEY).status == 200


def test_openai_mode_refuses_an_api_key_header(standin):
    body = json.dumps({"model": "gpt-image-2", "prompt": "x", "size": "1024x640"}).encode()
    reply = send(standin.url + "/images/generations", body, key=KEY)
    assert reply.status == 401
    error = reply.error()
    assert (error["code"], error["type"]) == ("invalid_api_key", "invalid_request_error")
    assert error["message"].startswith("You didn't provide an API key.")
    entra = send(standin.url + "/images/generations", body, key=None,
                 bearer=DEFAULT_AZURE_AD_TOKEN)
    assert (entra.status, entra.error()["code"]) == (401, "invalid_api_key")


# --- the serving pipeline is shared


def test_faults_apply_on_azure_paths(azure):
    azure.configure(fault="503", fault_count=1)
    assert generate(azure).status == 503
    assert generate_v1(azure, model="img").status == 200
    assert azure.stats()["statuses"] == {"200": 1, "503": 1}


def test_faults_come_after_auth_and_deployment(azure):
    azure.configure(fault="500")
    assert generate(azure, key=None).status == 401
    assert generate(azure, "nowhere").status == 404
    assert generate(azure, model="img").status == 400
    assert generate(azure).status == 500


def test_rate_limits_and_their_headers_on_azure_paths(azure):
    azure.configure(rpm_limit=2, ratelimit_headers=True)
    first = generate(azure)
    assert first.status == 200
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert generate_v1(azure, model="img").status == 200
    limited = generate(azure)
    assert limited.status == 429
    assert limited.headers["retry-after"]


def test_azure_answers_are_tallied_in_the_stats(azure):
    generate(azure)
    generate(azure, api_version=None)
    generate(azure, key=None)
    send(azure.origin + "/v1/images/generations", b"{}")
    assert azure.stats()["statuses"] == {"200": 1, "401": 1, "404": 2}
    assert azure.stats()["requests"] == 4
