"""The Images API as of late 2026 (../shared/reference/images-api-2026-11.md): every row
of the model table sent as it should be, shut-down models refused at OpenAI and warned
elsewhere, and the new parameters (xhigh/max quality, complexity, safety_identifier,
input_fidelity per model) sent, refused or warned before any request."""

import json

import pytest

from conftest import files_in

SMALL = ["--size", "1024x640"]
OPENAI = ["--base-url", "https://api.openai.com/v1"]  # refused before anything is sent

# Every row of the table: (model, size, shut down on, replacement named).
ACTIVE = ["gpt-image-2.6-sunburst", "gpt-image-2.6-flare", "gpt-image-2.5-sunburst",
          "gpt-image-2.5-sunburst-2026-09-08", "gpt-image-2.5-flare",
          "gpt-image-2.5-flare-2026-09-08", "gpt-image-2", "gpt-image-2-2026-04-21"]
SHUT_DOWN = [
    ("gpt-image-1.5", "1024x1024", "2026-12-01", "gpt-image-2.6-sunburst"),
    ("gpt-image-1.5-2025-12-16", "1024x1024", "2026-12-01", "gpt-image-2.6-sunburst"),
    ("chatgpt-image-latest", "1024x1024", "2026-12-01", "gpt-image-2.6-sunburst"),
    ("gpt-image-1-mini", "1024x1024", "2026-12-01", "gpt-image-2.6-sunburst"),
    ("gpt-image-1", "1024x1024", "2026-10-23", "gpt-image-2.5-sunburst"),
    ("dall-e-3", "1024x1024", "2026-05-12", "gpt-image-2.5-sunburst"),
    ("dall-e-2", "256x256", "2026-05-12", "gpt-image-2.5-sunburst"),
]


def bodies(standin):
    return [r["body"] for r in standin.requests]


def only_body(standin):
    [body] = bodies(standin)
    return body


def warnings(result):
    return [line for line in result.stderr.splitlines() if ": warning: " in line]


# --- the table, row by row


@pytest.mark.parametrize("model", ACTIVE)
def test_an_active_model_is_sent_without_a_lifecycle_warning(run, standin, tmp_path, model):
    result = run(["generate", "a red fox", "--model", model, *SMALL])
    assert result.rc == 0, result
    assert only_body(standin)["model"] == model
    assert warnings(result) == [], result
    assert files_in(tmp_path) == ["a-red-fox.png"]


@pytest.mark.parametrize("model, size, date, replacement", SHUT_DOWN,
                         ids=[row[0] for row in SHUT_DOWN])
def test_a_shut_down_model_is_refused_at_openai(run, standin, model, size, date,
                                                replacement):
    result = run(["generate", "a red fox", "--model", model, "--size", size, *OPENAI])
    assert result.rc == 2, result
    assert f"--model {model} was shut down at OpenAI on {date}" in result.stderr
    assert replacement in result.stderr and "--allow-retired" in result.stderr
    assert standin.requests == []


@pytest.mark.parametrize("model, size, date, replacement", SHUT_DOWN,
                         ids=[row[0] for row in SHUT_DOWN])
@pytest.mark.compat
def test_a_shut_down_model_is_warned_once_and_sent_elsewhere(run, standin, model, size,
                                                             date, replacement):
    result = run(["generate", "a red fox", "--model", model, "--size", size])
    assert result.rc == 0, result
    [warning] = warnings(result)
    assert f"{model} was shut down at OpenAI on {date}" in warning
    assert replacement in warning and "sending it to this server anyway" in warning
    assert only_body(standin)["model"] == model


def test_allow_retired_sends_a_shut_down_model_to_openai(run, standin):
    result = run(["generate", "a red fox", "--model", "gpt-image-1", "--size", "1024x1024",
                  *OPENAI, "--allow-retired", "--dry-run", "--json"])
    assert result.rc == 0, result
    shown = json.loads(result.stdout)
    assert shown["url"] == "https://api.openai.com/v1/images/generations"
    assert shown["body"]["model"] == "gpt-image-1"
    assert "shut down" in result.stderr


def test_a_server_that_shut_the_model_down_says_so(run, standin):
    standin.configure(shutdown_models=["gpt-image-1"])
    result = run(["generate", "a red fox", "--model", "gpt-image-1", "--size", "1024x1024"])
    assert result.rc == 1, result
    assert "shut down at OpenAI on 2026-10-23" in result.stderr   # our warning
    assert "HTTP 404" in result.stderr and "model_not_found" in result.stderr


def test_a_mistyped_model_is_told_the_one_it_is_close_to_and_still_sent(run, standin):
    # A model not in the table is sent as given, at OpenAI as elsewhere (a new model
    # must work before imagegen knows it): the warning names the model it is close to,
    # and OpenAI's 404 follows.
    result = run(["generate", "a red fox", "--model", "gpt-imag-1", "--size", "1024x1024"])
    assert result.rc == 1, result
    assert ("warning: --model gpt-imag-1 is not a model imagegen knows; sending it as "
            "given (did you mean gpt-image-1?)") in result.stderr
    assert "model_not_found" in result.stderr
    assert only_body(standin)["model"] == "gpt-imag-1"
    dry = run(["generate", "a red fox", "--model", "gpt-image-2.6-sunbrust", *SMALL,
               "--dry-run", *OPENAI])
    assert dry.rc == 0, dry
    assert "(did you mean gpt-image-2.6-sunburst?)" in dry.stderr


@pytest.mark.compat
def test_a_servers_own_model_gets_no_guess(run, standin):
    result = run(["generate", "a red fox", "--model", "my-server-model", *SMALL])
    assert result.rc == 0, result
    [warning] = warnings(result)
    assert warning.endswith("--model my-server-model is not a model imagegen knows; "
                            "sending it as given"), warning


def test_the_default_model_is_always_sent(run, standin):
    result = run(["generate", "a red fox", *SMALL])
    assert result.rc == 0, result
    assert only_body(standin)["model"] == "gpt-image-2"


@pytest.mark.compat
def test_a_shut_down_model_in_a_batch_is_warned_once(run, standin, tmp_path):
    (tmp_path / "jobs.jsonl").write_text("".join(
        json.dumps({"prompt": f"cat {i}", "model": "gpt-image-1", "size": "1024x1024"}) + "\n"
        for i in range(3)))
    result = run(["batch", "--input", "jobs.jsonl", "--out-dir", "out", "--no-gallery"])
    assert result.rc == 0, result
    assert len([w for w in warnings(result) if "shut down" in w]) == 1, result
    assert len(standin.requests) == 3


def test_a_shut_down_model_in_a_batch_is_refused_at_openai(run, standin, tmp_path):
    (tmp_path / "jobs.jsonl").write_text(
        json.dumps({"prompt": "a cat"}) + "\n" +
        json.dumps({"prompt": "a dog", "model": "dall-e-3", "size": "1024x1024"}) + "\n")
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, "--out-dir", "out", *OPENAI])
    assert result.rc == 2, result
    assert "job 2:" in result.stderr and "dall-e-3 was shut down" in result.stderr
    assert standin.requests == []


def test_variation_is_refused_at_openai(run, standin, tmp_path):
    (tmp_path / "icon.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # never read
    result = run(["variation", "--image", "icon.png", *OPENAI])
    assert result.rc == 2, result
    assert "variation" in result.stderr and "imagegen edit" in result.stderr
    assert standin.requests == []


# --- quality, complexity


@pytest.mark.parametrize("model", ["gpt-image-2.6-flare", "gpt-image-2.5-sunburst"])
@pytest.mark.parametrize("quality", ["xhigh", "max"])
def test_top_qualities_are_sent_on_2_5_and_2_6(run, standin, model, quality):
    result = run(["generate", "a red fox", "--model", model, "--quality", quality, *SMALL])
    assert result.rc == 0, result
    assert only_body(standin)["quality"] == quality


@pytest.mark.parametrize("model, size", [("gpt-image-2", "1024x640"),
                                         ("gpt-image-1.5", "1024x1024")])
def test_top_qualities_are_refused_on_older_models(run, standin, model, size):
    result = run(["generate", "a red fox", "--model", model, "--quality", "max",
                  "--size", size])
    assert result.rc == 2, result
    assert "--quality" in result.stderr and "'max'" in result.stderr
    assert standin.requests == []


@pytest.mark.parametrize("complexity", ["low", "medium", "high"])
def test_complexity_is_sent_on_2_6(run, standin, complexity):
    result = run(["generate", "a red fox", "--model", "gpt-image-2.6-sunburst",
                  "--complexity", complexity, *SMALL])
    assert result.rc == 0, result
    assert only_body(standin)["complexity"] == complexity


@pytest.mark.parametrize("args, words", [
    (["--model", "gpt-image-2.5-flare", "--complexity", "high"], ["--complexity", "2.6"]),
    (["--model", "gpt-image-2", "--complexity", "low"], ["--complexity"]),
    (["--model", "gpt-image-2.6-flare", "--complexity", "extreme"], ["--complexity",
                                                                     "extreme"]),
], ids=["on-2.5", "on-2", "bad-value"])
def test_complexity_is_refused_where_the_table_says(run, standin, args, words):
    result = run(["generate", "a red fox", *args, *SMALL])
    assert result.rc == 2, result
    for word in words:
        assert word in result.stderr
    assert standin.requests == []


def test_complexity_goes_in_a_multipart_edit(run, standin, tmp_path):
    from PIL import Image
    Image.new("RGB", (64, 48), (10, 20, 30)).save(tmp_path / "photo.png")
    result = run(["edit", "--image", "photo.png", "--model", "gpt-image-2.6-flare",
                  "--complexity", "medium", "make it blue"])
    assert result.rc == 0, result
    assert only_body(standin)["complexity"] == "medium"


# --- transparency per the table


@pytest.mark.parametrize("model", ["gpt-image-2.6-sunburst", "gpt-image-2.5-flare"])
def test_transparency_is_plain_on_2_5_and_2_6(run, standin, model):
    result = run(["generate", "a red fox", "--model", model, "--background", "transparent",
                  *SMALL])
    assert result.rc == 0, result
    assert warnings(result) == [], result
    assert only_body(standin)["background"] == "transparent"


def test_transparency_is_preview_on_gpt_image_2(run, standin):
    result = run(["generate", "a red fox", "--background", "transparent", *SMALL])
    assert result.rc == 0, result
    [warning] = warnings(result)
    assert "preview" in warning and "--chroma-key" in warning


def test_a_preview_warning_is_said_once_a_batch_naming_its_jobs(run, standin, tmp_path):
    prompts = [f"fox {i}" for i in range(1, 8)]
    result = run(["batch", *prompts, "--background", "transparent", *SMALL,
                  "--out-dir", "out", "--no-gallery"])
    assert result.rc == 0, result
    [warning] = warnings(result)
    assert warning == ("imagegen: warning: prompts 1, 2, 3, 4, 5 and 2 more: --background "
                       "transparent is in preview on gpt-image-2; if the API refuses it, "
                       "try --chroma-key")
    (tmp_path / "jobs.jsonl").write_text(
        "".join(json.dumps({"prompt": p, "background": "transparent"}) + "\n"
                for p in ("cat", "dog")) + json.dumps({"prompt": "owl"}) + "\n")
    lines = run(["batch", "--input", "jobs.jsonl", *SMALL, "--out-dir", "jobs", "--dry-run"])
    assert lines.rc == 0, lines
    [warning] = warnings(lines)
    assert warning.startswith("imagegen: warning: lines 1, 2: --background transparent "
                              "is in preview"), warning


# --- input_fidelity per model


def write_photo(tmp_path, size=(64, 48)):
    from PIL import Image
    Image.new("RGB", size, (10, 20, 30)).save(tmp_path / "photo.png")


@pytest.mark.parametrize("model, fidelity", [("gpt-image-1.5", "high"),
                                             ("gpt-image-1.5", "low"),
                                             ("gpt-image-1-mini", "low")])
@pytest.mark.compat
def test_input_fidelity_is_sent_where_the_table_allows(run, standin, tmp_path, model,
                                                        fidelity):
    write_photo(tmp_path)
    result = run(["edit", "--image", "photo.png", "--model", model, "--size", "1024x1024",
                  "--input-fidelity", fidelity, "make it blue"])
    assert result.rc == 0, result
    assert only_body(standin)["input_fidelity"] == fidelity


@pytest.mark.parametrize("model, fidelity, words", [
    ("gpt-image-1-mini", "high", ["gpt-image-1-mini", "low", "'high'"]),
    ("gpt-image-2", "low", ["gpt-image-2", "does not take it"]),
    ("gpt-image-2.6-sunburst", "high", ["gpt-image-2.6-sunburst", "does not take it"]),
], ids=["mini-high", "gpt-image-2", "2.6"])
def test_input_fidelity_is_refused_where_the_table_does_not(run, standin, tmp_path, model,
                                                            fidelity, words):
    write_photo(tmp_path)
    result = run(["edit", "--image", "photo.png", "--model", model,
                  "--input-fidelity", fidelity, "make it blue"])
    assert result.rc == 2, result
    for word in words:
        assert word in result.stderr
    assert standin.requests == []


# --- safety_identifier and the deprecated user


def test_safety_identifier_is_sent_in_json_and_forms(run, standin, tmp_path):
    result = run(["generate", "a red fox", *SMALL, "--safety-identifier", "u-5f3c9a"])
    assert result.rc == 0, result
    assert only_body(standin)["safety_identifier"] == "u-5f3c9a"
    assert warnings(result) == []
    standin.reset()
    write_photo(tmp_path)
    result = run(["edit", "--image", "photo.png", "--safety-identifier", "u-5f3c9a",
                  "make it blue"])
    assert result.rc == 0, result
    assert only_body(standin)["safety_identifier"] == "u-5f3c9a"


def test_a_long_safety_identifier_is_warned_not_refused(run, standin):
    result = run(["generate", "a red fox", *SMALL, "--safety-identifier", "x" * 65])
    assert result.rc == 0, result
    [warning] = warnings(result)
    assert "--safety-identifier" in warning and "64" in warning
    assert only_body(standin)["safety_identifier"] == "x" * 65


def test_user_still_works_but_is_deprecated(run, standin):
    result = run(["generate", "a red fox", *SMALL, "--user", "someone"])
    assert result.rc == 0, result
    [warning] = warnings(result)
    assert "--user is deprecated" in warning and "--safety-identifier" in warning
    assert only_body(standin)["user"] == "someone"


def test_batch_jobs_take_complexity_and_safety_identifier(run, standin, tmp_path):
    (tmp_path / "jobs.jsonl").write_text(json.dumps(
        {"prompt": "a cat", "model": "gpt-image-2.6-flare", "complexity": "low",
         "safety_identifier": "u-1", "quality": "xhigh"}) + "\n")
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, "--out-dir", "out",
                  "--no-gallery"])
    assert result.rc == 0, result
    body = only_body(standin)
    assert (body["complexity"], body["safety_identifier"], body["quality"]) == \
        ("low", "u-1", "xhigh")


# --- markup-guided edits (gpt-image-2.6)


def write_markup(tmp_path, size=(64, 48), alpha=True, name="marks.png"):
    from PIL import Image, ImageDraw
    image = Image.new("RGBA" if alpha else "RGB", size, (0, 0, 0, 0) if alpha else (0, 0, 0))
    ImageDraw.Draw(image).line([(2, 2), (30, 20)], fill=(255, 0, 0, 255) if alpha
                               else (255, 0, 0), width=3)
    image.save(tmp_path / name)
    return tmp_path / name


def test_markup_goes_as_its_own_part_in_a_multipart_edit(run, standin, tmp_path):
    write_photo(tmp_path)
    write_markup(tmp_path)
    result = run(["edit", "--image", "photo.png", "--markup", "marks.png",
                  "--model", "gpt-image-2.6-sunburst", "move the lamp where the arrow points"])
    assert result.rc == 0, result
    [request] = standin.requests
    files = request["body"]["files"]
    assert [(f["field"], f["content_type"]) for f in files] == [("image", "image/png"),
                                                                ("markup", "image/png")]
    assert result.lines == ["photo-edit.png"]


def test_markup_goes_as_an_image_reference_in_a_json_edit(run, standin, tmp_path):
    write_markup(tmp_path)
    result = run(["edit", "--image", "file-abc123", "--markup", "marks.png",
                  "--model", "gpt-image-2.6-flare", "--size", "1024x1024",
                  "move the lamp where the arrow points"])
    assert result.rc == 0, result
    [request] = standin.requests
    assert request["content_type"] == "application/json"
    assert request["body"]["markup"]["image_url"].startswith("data:image/png;base64,")
    assert request["body"]["images"] == [{"file_id": "file-abc123"}]


def test_markup_in_a_dry_run_is_shown(run, standin, tmp_path):
    write_photo(tmp_path)
    write_markup(tmp_path)
    result = run(["edit", "--image", "photo.png", "--markup", "marks.png", "--dry-run",
                  "--model", "gpt-image-2.6-flare", "move it"])
    assert result.rc == 0, result
    assert "markup: file 'marks.png' (image/png" in result.stdout


@pytest.mark.parametrize("args, make, words", [
    (["--model", "gpt-image-2.5-flare"], {}, ["--markup", "gpt-image-2.6", "2.5-flare"]),
    (["--model", "gpt-image-2.6-flare"], {"size": (32, 32)}, ["--markup", "32x32", "64x48"]),
    (["--model", "gpt-image-2.6-flare"], {"alpha": False}, ["--markup", "alpha"]),
], ids=["not-2.6", "other-size", "no-alpha"])
def test_a_markup_that_breaks_a_rule_is_refused_before_sending(run, standin, tmp_path, args,
                                                               make, words):
    write_photo(tmp_path)
    write_markup(tmp_path, **make)
    result = run(["edit", "--image", "photo.png", "--markup", "marks.png", *args, "move it"])
    assert result.rc == 2, result
    for word in words:
        assert word in result.stderr
    assert standin.requests == []


def test_markup_with_a_mask_is_warned_not_refused(run, standin, tmp_path):
    write_photo(tmp_path)
    write_markup(tmp_path)
    write_markup(tmp_path, name="mask.png")
    result = run(["edit", "--image", "photo.png", "--markup", "marks.png", "--mask",
                  "mask.png", "--model", "gpt-image-2.6-flare", "move it"])
    assert result.rc == 0, result
    assert any("--markup with --mask" in w for w in warnings(result)), result


# --- provenance checks (POST /v1/content_provenance_checks)


def test_info_provenance_shows_every_field_of_the_answer(run, standin, tmp_path):
    standin.configure(c2pa=True)
    assert run(["generate", "a red fox", *SMALL]).rc == 0
    standin.reset()
    result = run(["info", "--provenance", "a-red-fox.png"])
    assert result.rc == 0, result
    [request] = standin.requests
    assert request["path"] == "/v1/content_provenance_checks"
    [part] = request["body"]["files"]
    assert (part["field"], part["content_type"]) == ("file", "image/png")
    out = result.stdout
    assert "c2pa:" in out and "issuer: OpenAI" in out and "status: valid" in out
    assert "synthid:" in out and "outcome: detected" in out
    assert "claim_generator: standin/1" in out           # a field imagegen does not know
    assert "standin_extra:" in out                        # and a top-level one


def test_info_provenance_json_prints_the_raw_answer(run, standin, tmp_path):
    standin.configure(c2pa=True)
    assert run(["generate", "a red fox", *SMALL]).rc == 0
    result = run(["info", "--provenance", "--json", "a-red-fox.png"])
    assert result.rc == 0, result
    answer = json.loads(result.stdout)
    assert answer["object"] == "content_provenance_check"
    assert [r["type"] for r in answer["results"]] == ["c2pa", "synthid"]
    assert answer["standin_extra"]["note"]


def test_a_downscaled_copy_carries_no_manifest(run, standin, tmp_path):
    standin.configure(c2pa=True)
    assert run(["generate", "a red fox", *SMALL, "--downscale-max-dim", "256"]).rc == 0
    original = json.loads(run(["info", "--provenance", "--json", "a-red-fox.png"]).stdout)
    copy = json.loads(run(["info", "--provenance", "--json", "a-red-fox-web.png"]).stdout)
    assert original["results"][0]["status"] == "valid"
    assert copy["results"][0]["status"] == "not_found"
    assert copy["results"][1]["outcome"] == "not_detected"


def test_a_signed_image_is_saved_untouched_with_its_record_in_the_sidecar(run, standin,
                                                                         tmp_path):
    # The stand-in's manifest binds every byte of the file, as C2PA's data hash
    # does: the text chunks imagegen adds to other PNGs would break it.
    standin.configure(c2pa=True)
    result = run(["generate", "a red fox", *SMALL])
    assert result.rc == 0, result
    assert any("C2PA manifest" in w and "a-red-fox.json" in w for w in warnings(result))
    assert files_in(tmp_path) == ["a-red-fox.json", "a-red-fox.png"]
    answer = json.loads(run(["info", "--provenance", "--json", "a-red-fox.png"]).stdout)
    assert answer["results"][0]["status"] == "valid", answer
    described = json.loads(run(["info", "--json", "a-red-fox.png"]).stdout)
    assert described["c2pa_manifest"] is True
    assert described["metadata"] == {}
    assert described["sidecar"]["prompt"] == "a red fox"
    assert "C2PA manifest: present" in run(["info", "a-red-fox.png"]).stdout


def test_an_unsigned_image_still_records_its_metadata_inside(run, standin, tmp_path):
    assert run(["generate", "a red fox", *SMALL]).rc == 0
    assert files_in(tmp_path) == ["a-red-fox.png"]
    described = json.loads(run(["info", "--json", "a-red-fox.png"]).stdout)
    assert described["c2pa_manifest"] is False
    assert described["metadata"]["Description"] == "a red fox"


def test_a_keyed_signed_image_keeps_its_original_beside_it(run, standin, tmp_path):
    standin.configure(c2pa=True)
    result = run(["generate", "a red fox", *SMALL, "--chroma-key"])
    assert result.rc == 0, result
    assert result.lines == ["a-red-fox-original.png", "a-red-fox.png"]
    keyed = json.loads(run(["info", "--provenance", "--json", "a-red-fox.png"]).stdout)
    original = json.loads(run(["info", "--provenance", "--json",
                               "a-red-fox-original.png"]).stdout)
    assert keyed["results"][0]["status"] == "not_found"
    assert original["results"][0]["status"] == "valid"
    # The keyed image is imagegen's own: its record is inside it.
    described = json.loads(run(["info", "--json", "a-red-fox.png"]).stdout)
    assert described["metadata"]["Description"].startswith("a red fox\nBackground:")


def test_info_provenance_is_refused_on_azure_and_without_a_key(run, standin, tmp_path):
    write_photo(tmp_path)
    result = run(["info", "--provenance", "photo.png"], env={"OPENAI_API_KEY": None})
    assert result.rc == 2, result
    assert "OPENAI_API_KEY" in result.stderr
    result = run(["info", "--provenance", "photo.png", "--provider", "azure",
                  "--base-url", standin.origin, "--api-version", "2024-10-21"],
                 env={"AZURE_OPENAI_API_KEY": "k"})
    assert result.rc == 1, result
    assert "provenance" in result.stderr and "azure" in result.stderr
    assert standin.requests == []


def test_info_provenance_shows_an_api_error(run, standin, tmp_path):
    write_photo(tmp_path)
    standin.configure(key="another-key")
    result = run(["info", "--provenance", "photo.png"])
    assert result.rc == 1, result
    assert "HTTP 401" in result.stderr


def test_info_provenance_without_files_is_a_usage_error(run, standin):
    # It once crashed: the provider was read before it was set up.
    result = run(["info", "--provenance"])
    assert result.rc == 2, result
    assert "give one or more image files" in result.stderr


@pytest.mark.parametrize("target", ["missing.png", "."], ids=["missing", "folder"])
def test_info_provenance_of_something_not_a_file_is_a_usage_error(run, standin, target):
    result = run(["info", "--provenance", target])
    assert result.rc == 2, result
    assert target in result.stderr and standin.requests == []


def test_an_empty_safety_identifier_is_refused(run, standin):
    result = run(["generate", "a red fox", *SMALL, "--safety-identifier", ""])
    assert result.rc == 2, result
    assert "--safety-identifier" in result.stderr and standin.requests == []
