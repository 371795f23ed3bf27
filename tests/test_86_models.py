"""imagegen models (issue 14): the model table offline; the user's models.json adding
snapshots, dates and qualities without a rebuild (checked, with the bad row named);
--remote merging the server's GET /v1/models and flagging where they disagree."""

import json

import pytest

from conftest import KEY


@pytest.fixture
def models_file(xdg):
    def write(rows, raw=None):
        folder = xdg.config / "imagegen"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "models.json"
        path.write_text(raw if raw is not None else json.dumps({"format": 1, "models": rows}))
        return path
    return write


def listing(run, *args, env=None):
    result = run(["models", "--json", *args], env=env)
    assert result.rc == 0, result
    return json.loads(result.stdout)


def by_name(models):
    return {m["name"]: m for m in models}


def test_the_table_is_listed_offline_without_a_key(run, standin):
    got = by_name(listing(run, env={"OPENAI_API_KEY": None})["models"])
    assert not standin.requests
    two = got["gpt-image-2"]
    assert two["status"] == "active" and two["source"] == "built-in"
    assert two["sizes"]["rule"] == "WxH" and two["sizes"]["multiple"] == 16
    assert two["qualities"] == ["low", "medium", "high", "auto"]
    assert got["gpt-image-2.6-flare"]["formats"] == ["png", "jpeg", "webp", "gif", "svg"]
    old = got["gpt-image-1"]
    assert (old["status"], old["shutdown"]) == ("shut down", "2026-10-23")
    assert old["replacement"]
    assert got["dall-e-2"]["variations"] is True
    text = run(["models"]).stdout
    assert "gpt-image-1: shut down on 2026-10-23 (use " in text
    assert "sizes: WxH in 16-px steps, edge <= 3840" in text


def test_models_json_adds_a_snapshot_with_a_new_quality(run, standin, models_file):
    models_file([{"name": "gpt-image-2.6-flare-2027-01-12", "like": "gpt-image-2.6-flare",
                  "qualities": ["low", "medium", "high", "ultra", "auto"],
                  "source": "OpenAI changelog 2027-01-12"}])
    got = by_name(listing(run)["models"])
    new = got["gpt-image-2.6-flare-2027-01-12"]
    assert new["source"] == "OpenAI changelog 2027-01-12"
    assert new["formats"] == got["gpt-image-2.6-flare"]["formats"]
    assert "ultra" in new["qualities"]
    dry = run(["generate", "--dry-run", "--json", "--model", "gpt-image-2.6-flare-2027-01-12",
               "--quality", "ultra", "a red fox"])
    assert dry.rc == 0, dry
    assert json.loads(dry.stdout)["body"]["quality"] == "ultra"
    # The new quality is that model's only.
    other = run(["generate", "--dry-run", "--model", "gpt-image-2.6-flare", "--quality",
                 "ultra", "a red fox"])
    assert other.rc == 2 and "--quality" in other.stderr


def test_models_json_can_date_a_known_model(run, standin, models_file):
    models_file([{"name": "gpt-image-2", "shutdown": "2999-01-01",
                  "replacement": "gpt-image-2.6-flare"}])
    got = by_name(listing(run)["models"])
    assert got["gpt-image-2"]["status"] == "deprecated"
    assert got["gpt-image-2"]["shutdown"] == "2999-01-01"
    assert len([m for m in listing(run)["models"] if m["name"] == "gpt-image-2"]) == 1


@pytest.mark.parametrize("rows, raw, message", [
    ([{"name": "x-1", "like": "gpt-image-2", "colour": "red"}], None, "unknown key 'colour'"),
    ([{"name": "brand-new"}], None, "a new model needs one"),
    ([{"name": "x-2", "like": "gpt-image-9"}], None, "'gpt-image-9' is not a model"),
    ([{"name": "x-3", "like": "gpt-image-2", "shutdown": "soon"}], None, "YYYY-MM-DD"),
    ([{"name": "bad name", "like": "gpt-image-2"}], None, "a model name"),
    ([{"name": "x-4", "like": "gpt-image-2", "qualities": []}], None, "a list of names"),
    (None, "{not json", "not JSON"),
    (None, '{"models": []}', 'expected {"format": 1'),
])
def test_a_bad_row_is_refused_by_name(run, standin, models_file, rows, raw, message):
    path = models_file(rows, raw)
    for args in (["models"], ["generate", "--dry-run", "a red fox"]):
        result = run(args)
        assert result.rc == 2, result
        assert str(path) in result.stderr and message in result.stderr
    if rows:
        assert f"row 1 ({rows[0]['name']})" in run(["models"]).stderr


def test_remote_merges_the_servers_list_and_flags_what_differs(run, standin, models_file):
    standin.configure(models_list=[{"id": "gpt-image-2.7-flare", "shutdown_date": None},
                                   {"id": "gpt-image-2", "shutdown_date": "2027-03-01"}])
    got = listing(run, "--remote")
    [request] = standin.requests
    assert (request["method"], request["path"]) == ("GET", "/v1/models")
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    models = by_name(got["models"])
    assert models["gpt-image-2"]["server"] == "listed"
    assert models["gpt-image-2"]["server_shutdown"] == "2027-03-01"
    assert models["gpt-image-2.7-flare"]["status"] == "unknown to imagegen"
    assert "gpt-5" not in models   # not an image model
    differs = got["differs"]
    assert any(d.startswith("gpt-image-2.7-flare: the server lists it") for d in differs)
    assert "gpt-image-2: the server says it shuts down 2027-03-01; the table says never" \
        in differs
    # Shut-down models are not expected in the list; live ones are.
    assert not [d for d in differs if d.startswith("gpt-image-1:")]
    text = run(["models", "--remote"]).stdout
    assert "differs: gpt-image-2.7-flare: the server lists it" in text


def test_remote_flags_a_live_model_the_server_does_not_list(run, standin, models_file):
    models_file([{"name": "gpt-image-2.6-flare-2027-01-12", "like": "gpt-image-2.6-flare"}])
    differs = listing(run, "--remote")["differs"]
    assert ("gpt-image-2.6-flare-2027-01-12: the table has it active; the server does not "
            "list it") in differs


def test_remote_needs_a_key_and_says_so(run, standin):
    result = run(["models", "--remote"], env={"OPENAI_API_KEY": None})
    assert result.rc == 2, result
    assert "--remote: OPENAI_API_KEY is not set" in result.stderr
    assert not standin.requests


def test_a_server_error_fails_the_remote_listing(run, standin):
    standin.configure(fault="500", fault_count=5, fault_paths=["GET /v1/models"])
    result = run(["models", "--remote", "--max-attempts", "1"])
    assert result.rc == 1, result
    assert "models: GET /models: HTTP 500" in result.stderr
