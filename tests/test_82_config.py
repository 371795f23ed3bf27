"""The config file and its profiles (issue 14): INI read with inih, [default] and
[profile NAME]; precedence flag > environment > profile > default > built-in, case
by case; keys only through api_key_command or api_key_env; unknown keys refused
with their line; `imagegen config` says where each value came from."""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BIN, KEY, assert_no_key_in_files, assert_no_key_in_output, clean_env

PROMPT = "a red fox"


@pytest.fixture
def config(xdg):
    """config(text) writes $XDG_CONFIG_HOME/imagegen/config; returns its path."""
    def write(text):
        folder = xdg.config / "imagegen"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "config"
        path.write_text(text)
        return path
    return write


def dry(run, *args, env=None):
    result = run(["generate", "--dry-run", "--json", *args, PROMPT], env=env)
    assert result.rc == 0, result
    return json.loads(result.stdout)


def settings(run, *args, env=None):
    result = run(["config", "--json", *args], env=env)
    assert result.rc == 0, result
    return json.loads(result.stdout)["settings"]


def test_without_a_file_everything_is_built_in(run, standin):
    got = settings(run)
    assert got["model"] == {"value": "gpt-image-2", "from": "built-in"}
    assert got["quality"] == {"value": None, "from": "not set"}
    assert dry(run)["body"]["model"] == "gpt-image-2"


def test_model_flag_over_profile_over_default_over_built_in(run, standin, config):
    path = config("[default]\nmodel = gpt-image-2.5-flare\nquality = low\n\n"
                  "[profile work]\nmodel = gpt-image-2.6-sunburst\n")
    assert dry(run)["body"]["model"] == "gpt-image-2.5-flare"
    assert dry(run, "--profile", "work")["body"]["model"] == "gpt-image-2.6-sunburst"
    # The profile's own keys win; the rest come from [default].
    assert dry(run, "--profile", "work")["body"]["quality"] == "low"
    assert dry(run, "--profile", "work", "--model", "gpt-image-2")["body"]["model"] == \
        "gpt-image-2"
    got = settings(run, "--profile", "work")
    assert got["model"] == {"value": "gpt-image-2.6-sunburst",
                            "from": f"profile work ({path}:6)"}
    assert got["quality"] == {"value": "low", "from": f"[default] ({path}:3)"}


def test_a_profile_wins_wherever_its_section_is(run, standin, config):
    config("[profile work]\nsize = 1536x1024\n[default]\nsize = 1024x1024\n")
    assert dry(run, "--profile", "work")["body"]["size"] == "1536x1024"
    assert dry(run)["body"]["size"] == "1024x1024"


def test_imagegen_profile_picks_one_and_the_flag_wins_over_it(run, standin, config):
    config("[profile a]\nmodel = gpt-image-2.5-flare\n[profile b]\n"
           "model = gpt-image-2.6-flare\n")
    assert dry(run, env={"IMAGEGEN_PROFILE": "a"})["body"]["model"] == "gpt-image-2.5-flare"
    assert dry(run, "--profile", "b", env={"IMAGEGEN_PROFILE": "a"})["body"]["model"] == \
        "gpt-image-2.6-flare"
    result = run(["config"], env={"IMAGEGEN_PROFILE": "a"})
    assert "(profile a, from IMAGEGEN_PROFILE)" in result.stdout


def test_base_url_flag_over_environment_over_profile_over_default(run, standin, config,
                                                                   tmp_path):
    dead = "http://127.0.0.1:9/v1"
    config(f"[default]\nbase_url = {dead}\n[profile live]\nbase_url = {standin.url}\n"
           f"[profile dead]\nbase_url = {dead}\n")
    no_env = {"OPENAI_BASE_URL": None}
    small = ["--size", "1024x1024", "--quality", "low"]
    # The profile over [default]: the request reaches the stand-in.
    assert run(["generate", *small, "--profile", "live", PROMPT], env=no_env).rc == 0
    # [default] alone: the dead address.
    assert dry(run, env=no_env)["url"].startswith(dead)
    # The environment over the profile.
    assert run(["generate", *small, "--profile", "dead", PROMPT]).rc == 0
    assert settings(run, "--profile", "dead")["base_url"] == {
        "value": standin.url, "from": "environment (OPENAI_BASE_URL)"}
    # The flag over the environment.
    assert dry(run, "--base-url", dead)["url"].startswith(dead)
    assert len(standin.requests) == 2


def test_api_key_command_gives_the_key_and_never_shows_it(run, standin, config,
                                                         tmp_path_factory):
    # (A password store's file, kept out of every folder the tests check for the key.)
    secret = tmp_path_factory.mktemp("store") / "key.txt"
    secret.write_text(KEY + "\n")
    config(f"[default]\napi_key_command = cat {secret}\n")
    result = run(["generate", "--size", "1024x1024", "--quality", "low", PROMPT],
                 env={"OPENAI_API_KEY": None})
    assert result.rc == 0, result
    [request] = standin.requests
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    shown = run(["config", "--json"], env={"OPENAI_API_KEY": None})
    assert KEY not in shown.stdout
    assert json.loads(shown.stdout)["settings"]["api_key"]["value"] == \
        "from a command (not run here)"


def test_api_key_command_is_not_run_by_a_dry_run(run, standin, config, tmp_path):
    config("[default]\napi_key_command = touch ran; printf sk-x\n")
    assert run(["generate", "--dry-run", PROMPT], env={"OPENAI_API_KEY": None}).rc == 0
    assert run(["config"], env={"OPENAI_API_KEY": None}).rc == 0
    assert not (tmp_path / "ran").exists()


def test_the_environment_key_wins_over_api_key_command(run, standin, config, tmp_path):
    config("[default]\napi_key_command = touch ran; printf wrong-key\n")
    assert run(["generate", "--size", "1024x1024", "--quality", "low", PROMPT]).rc == 0
    assert not (tmp_path / "ran").exists()


def test_a_failing_api_key_command_sends_nothing(run, standin, config):
    path = config("[default]\napi_key_command = exit 3\n")
    result = run(["generate", PROMPT], env={"OPENAI_API_KEY": None})
    assert result.rc == 2, result
    assert f"api_key_command ([default] ({path}:2)) failed (exit status 3)" in result.stderr
    assert not standin.requests


def test_api_key_env_names_the_variable(run, standin, config):
    config("[profile work]\napi_key_env = WORK_KEY\n")
    result = run(["generate", "--size", "1024x1024", "--quality", "low", "--profile", "work",
                  PROMPT], env={"OPENAI_API_KEY": None, "WORK_KEY": KEY})
    assert result.rc == 0, result
    got = settings(run, "--profile", "work", env={"OPENAI_API_KEY": None, "WORK_KEY": KEY})
    assert got["api_key"]["value"] == "set"
    assert KEY not in json.dumps(got)


@pytest.mark.parametrize("text, line, message", [
    ("[default]\nmodel = gpt-image-2\nflavour = sweet\n", 3, "unknown key 'flavour'"),
    ("[default]\napi_key = abc\n", 2, "a key is never kept in the file as plain text"),
    ("[default]\nbase_url = https://x/v1?key=sk-abcdefghijklmnopqrstuvwx\n", 2,
     "holds what looks like an API key"),
    ("[default]\napi_key_command = echo sk-abcdefghijklmnopqrstuvwx\n", 2,
     "holds what looks like an API key"),
    ("[other]\nmodel = gpt-image-2\n", 2, "sections are [default] and [profile NAME]"),
    ("model = gpt-image-2\n", 1, "sections are [default] and [profile NAME]"),
    ("[default]\nconcurrency = 0\n", 2, "concurrency: '0' is not a number from 1 to 100"),
    ("[default]\nhistory = maybe\n", 2, "history: 'maybe' is not on or off"),
    ("[default]\nmax_cost = lots\n", 2, "max_cost: 'lots' is not an amount of dollars"),
    ("[default]\nprovider = elsewhere\n", 2, "provider: 'elsewhere' is not openai or azure"),
    ("[default]\napi_key_env = not a name\n", 2, "is not the name of a variable"),
    ("[default]\nmodel gpt-image-2\n", 2, "not a line of an INI file"),
])
def test_a_bad_file_is_refused_with_its_line(run, standin, config, text, line, message):
    path = config(text)
    for args in (["generate", PROMPT], ["config"]):
        result = run(args)
        assert result.rc == 2, result
        assert f"config {path}:{line}: " in result.stderr
        assert message in result.stderr
    assert not standin.requests


def test_a_profile_the_file_does_not_have_is_refused(run, standin, config):
    path = config("[default]\nmodel = gpt-image-2\n")
    result = run(["generate", "--profile", "nope", PROMPT])
    assert result.rc == 2, result
    assert f"--profile nope: {path} has no [profile nope]" in result.stderr
    assert not standin.requests


def test_max_cost_from_a_profile_and_the_flag_over_it(run, standin, config):
    config("[profile careful]\nmax_cost = 0.001\n")
    refused = run(["generate", "--quality", "high", "--profile", "careful", PROMPT])
    assert refused.rc == 2, refused
    assert "--max-cost $0.0010" in refused.stderr
    allowed = run(["generate", "--size", "1024x1024", "--quality", "low", "--profile",
                   "careful", "--max-cost", "1", PROMPT])
    assert allowed.rc == 0, allowed


def test_history_off_in_the_file_records_nothing(run, standin, config, xdg):
    config("[default]\nhistory = off\n")
    assert run(["generate", "--size", "1024x1024", "--quality", "low", PROMPT]).rc == 0
    assert not xdg.history.exists()
    assert settings(run)["history"]["value"] == "off"


def test_concurrency_and_out_dir_for_a_batch(run, standin, config, tmp_path):
    config("[default]\nconcurrency = 3\nout_dir = made\n")
    result = run(["batch", "a red fox", "a blue whale", "--size", "1024x1024",
                  "--quality", "low"])
    assert result.rc == 0, result
    assert "3 at a time, into made" in result.stderr
    assert len(list((tmp_path / "made").glob("*.png"))) == 2
    flag = run(["batch", "a red fox", "--size", "1024x1024", "--quality", "low",
                "--concurrency", "7", "--out-dir", "other"])
    assert "7 at a time, into other" in flag.stderr


def test_config_redacts_credentials_in_a_base_url(run, standin, config):
    config("[default]\nbase_url = https://user:secret-password@example.com/v1\n")
    result = run(["config"], env={"OPENAI_BASE_URL": None})
    assert result.rc == 0, result
    assert "secret-password" not in result.stdout
    assert "[REDACTED]@example.com" in result.stdout


def test_imagegen_config_names_another_file(run, standin, tmp_path):
    path = tmp_path / "elsewhere.ini"
    path.write_text("[default]\nquality = high\n")
    got = settings(run, env={"IMAGEGEN_CONFIG": str(path)})
    assert got["quality"] == {"value": "high", "from": f"[default] ({path}:2)"}


def test_an_unreadable_config_file_is_an_error(standin):
    """Root reads a mode-000 file, so as root (CI) imagegen runs as nobody."""
    folder = Path(tempfile.mkdtemp(prefix="imagegen-config-"))
    try:
        folder.chmod(0o755)
        path = folder / "config"
        path.write_text("[default]\nmodel = gpt-image-2\n")
        path.chmod(0)
        command = [BIN, "generate", "--dry-run", PROMPT]
        if os.geteuid() == 0:
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                       *command]
        env = clean_env(standin, {"IMAGEGEN_CONFIG": str(path)})
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):   # nobody cannot write root's logs
            if name in env:
                env[name] = ":".join(o for o in env[name].split(":")
                                     if not o.startswith("log_path="))
        completed = subprocess.run(command, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=60)
        assert_no_key_in_output(completed.stdout, completed.stderr)
        stderr = completed.stderr.decode()
        assert completed.returncode == 2, stderr
        assert f"config: cannot read '{path}': Permission denied" in stderr
        # Outside tmp_path, so no fixture looks in it: readable again, and checked.
        path.chmod(0o600)
        assert_no_key_in_files(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
