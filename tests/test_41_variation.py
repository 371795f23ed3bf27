"""`imagegen variation` against the stand-in: dall-e-2, one square PNG under 4 MB sent
as the multipart `image` part, url answers downloaded and b64_json saved, names
F-var.png, refusals before any request, --dry-run, and the body against
CreateImageVariationRequest."""

import base64
import hashlib
import os

import pytest
from PIL import Image

from conftest import digest, files_in, open_image, temp_files

# The older models and variations: a compatible server of the seeds' days.
pytestmark = pytest.mark.compat

VARIATIONS = "/v1/images/variations"
HTTPS_URL = "https://example.com/icons/icon.png"


def save(path, fmt="PNG", size=(256, 256), mode="RGB", seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new(mode, size, ((seed * 53) % 256, 90, (seed * 31) % 256) +
                      ((255,) if mode == "RGBA" else ()))
    image.putpixel((seed % size[0], 0), (255,) * len(image.getbands()))
    image.save(path, format=fmt)
    return path


def save_noise_png(path, edge):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.frombytes("RGB", (edge, edge), os.urandom(edge * edge * 3)).save(
        path, format="PNG", compress_level=0)
    return path


def part(path, field="image", content_type="image/png"):
    data = path.read_bytes()
    return {"field": field, "filename": path.name, "content_type": content_type,
            "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def only_variation(standin):
    requests = standin.requests
    assert [r["path"] for r in requests] == [VARIATIONS], requests
    return requests[0]


def outputs(tmp_path):
    return [name for name in files_in(tmp_path) if not name.startswith("in/")]


@pytest.fixture
def icon(tmp_path):
    """in/icon.png: a 256x256 RGB PNG."""
    return save(tmp_path / "in" / "icon.png", seed=1)


# --- the request and the files


def test_variation_posts_the_png_as_the_image_part_and_downloads_the_url(
        run, standin, tmp_path, icon):
    result = run(["variation", "--image", "in/icon.png", "--size", "256x256"])
    assert result.rc == 0, result
    assert result.stdout == "icon-var.png\n"
    assert outputs(tmp_path) == ["icon-var.png"]
    image = open_image(tmp_path / "icon-var.png")
    assert (image.format, image.size) == ("PNG", (256, 256))
    request = only_variation(standin)
    assert request["method"] == "POST"
    assert (request["content_type"] or "").startswith("multipart/form-data")
    body = request["body"]
    assert body["files"] == [part(icon)]
    assert body["size"] == "256x256"
    assert body.get("model", "dall-e-2") == "dall-e-2"
    assert body.get("response_format", "url") == "url"
    assert "prompt" not in body
    assert temp_files(tmp_path) == []


def test_variation_n_3_names_f_var_1_to_3_with_distinct_images(run, standin, tmp_path,
                                                               icon):
    result = run(["variation", "--image", "in/icon.png", "--size", "256x256", "--n", "3"])
    assert result.rc == 0, result
    names = ["icon-var-1.png", "icon-var-2.png", "icon-var-3.png"]
    assert result.lines == names
    assert outputs(tmp_path) == names
    assert len({digest(tmp_path / name) for name in names}) == 3
    for name in names:
        image = open_image(tmp_path / name)
        assert (image.format, image.size) == ("PNG", (256, 256))
    body = only_variation(standin)["body"]
    assert (body["n"], body["size"]) == ("3", "256x256")


def test_variation_b64_json_is_saved(run, standin, tmp_path, icon):
    result = run(["variation", "--image", "in/icon.png", "--size", "512x512",
                  "--response-format", "b64_json"])
    assert result.rc == 0, result
    assert result.lines == ["icon-var.png"]
    image = open_image(tmp_path / "icon-var.png")
    assert (image.format, image.size) == ("PNG", (512, 512))
    body = only_variation(standin)["body"]
    assert body["response_format"] == "b64_json"
    assert body["files"] == [part(icon)]


def test_variation_json_prints_the_response_and_saves(run, standin, tmp_path, icon):
    result = run(["variation", "--image", "in/icon.png", "--size", "256x256",
                  "--response-format", "b64_json", "--json"])
    assert result.rc == 0, result
    [item] = result.json["data"]
    assert base64.b64decode(item["b64_json"], validate=True).startswith(b"\x89PNG")
    assert "icon-var.png" in result.stderr
    assert "icon-var.png" not in result.stdout
    assert outputs(tmp_path) == ["icon-var.png"]


def test_variation_of_an_rgba_png_and_user_are_sent(run, standin, tmp_path):
    path = save(tmp_path / "in" / "logo.png", mode="RGBA", seed=2)
    result = run(["variation", "--image", "in/logo.png", "--size", "256x256", "--user",
                  "user-1234"])
    assert result.rc == 0, result
    body = only_variation(standin)["body"]
    assert body["user"] == "user-1234"
    assert body["files"] == [part(path)]
    assert result.lines == ["logo-var.png"]


def test_a_png_with_another_extension_goes_as_image_png(run, standin, tmp_path):
    path = save(tmp_path / "in" / "icon.jpg", seed=3)
    result = run(["variation", "--image", "in/icon.jpg", "--size", "256x256"])
    assert result.rc == 0, result
    assert only_variation(standin)["body"]["files"] == [part(path)]
    assert result.lines == ["icon-var.png"]


def test_variation_without_size_gets_the_api_default(run, standin, tmp_path, icon):
    result = run(["variation", "--image", "in/icon.png"])
    assert result.rc == 0, result
    body = only_variation(standin)["body"]
    assert body.get("size", "1024x1024") == "1024x1024"
    assert open_image(tmp_path / "icon-var.png").size == (1024, 1024)


def test_every_variation_body_fits_create_image_variation_request(run, standin, tmp_path,
                                                                  icon, spec):
    schema = spec["components"]["schemas"]["CreateImageVariationRequest"]
    properties = schema["properties"]
    runs = [["--size", "256x256"],
            ["--size", "512x512", "--n", "2", "--response-format", "b64_json"],
            ["--size", "256x256", "--model", "dall-e-2", "--user", "u-1",
             "--response-format", "url"]]
    for args in runs:
        result = run(["variation", "--image", "in/icon.png", *args])
        assert result.rc == 0, (args, result)
    requests = standin.requests
    assert [r["path"] for r in requests] == [VARIATIONS] * len(runs)
    for args, request in zip(runs, requests):
        body = request["body"]
        fields = {name: value for name, value in body.items() if name != "files"}
        assert set(fields) <= set(properties), args
        assert [f["field"] for f in body["files"]] == ["image"], args
        for name, value in fields.items():
            enum = properties[name].get("enum")
            if enum:
                assert value in enum, (name, value)
        if "n" in fields:
            assert 1 <= int(fields["n"]) <= 10
        if "model" in fields:
            assert fields["model"] == "dall-e-2"


# --- names


def test_a_second_variation_takes_the_next_free_name(run, standin, tmp_path, icon):
    first = run(["variation", "--image", "in/icon.png", "--size", "256x256"])
    assert first.lines == ["icon-var.png"]
    before = digest(tmp_path / "icon-var.png")
    second = run(["variation", "--image", "in/icon.png", "--size", "256x256"])
    assert second.rc == 0, second
    assert second.lines == ["icon-var-2.png"]
    assert digest(tmp_path / "icon-var.png") == before
    assert outputs(tmp_path) == ["icon-var-2.png", "icon-var.png"]


@pytest.mark.parametrize("args, names", [
    (["--out", "v.png"], ["v.png"]),
    (["--out", "v.png", "--n", "2"], ["v-1.png", "v-2.png"]),
    (["--out-dir", "vars"], ["vars/icon-var.png"]),
    (["--output-dir", "vars", "--prefix", "alt", "--n", "2"],
     ["vars/alt-1.png", "vars/alt-2.png"]),
    (["--prefix", "alt"], ["alt.png"]),
], ids=["out", "out-n-2", "out-dir", "output-dir-prefix-n-2", "prefix"])
def test_out_out_dir_and_prefix_name_variations(run, standin, tmp_path, icon, args,
                                               names):
    result = run(["variation", "--image", "in/icon.png", "--size", "256x256", *args])
    assert result.rc == 0, result
    assert result.lines == names
    assert outputs(tmp_path) == sorted(names)
    for name in names:
        assert open_image(tmp_path / name).format == "PNG"


# --- --dry-run


def test_dry_run_shows_the_image_part_without_its_bytes(run, standin, tmp_path, icon):
    result = run(["variation", "--image", "in/icon.png", "--size", "256x256", "--n", "2",
                  "--dry-run"], env={"OPENAI_API_KEY": None})
    assert result.rc == 0, result
    out = result.stdout
    assert f"{standin.url}/images/variations" in out
    [line] = [line for line in out.splitlines() if "icon.png" in line]
    assert "image/png" in line and str(icon.stat().st_size) in line
    assert "icon-var-1.png" in out and "icon-var-2.png" in out
    for secret in ("\x89PNG", "iVBORw0KGgo", "IHDR"):
        assert secret not in out
    assert standin.requests == []
    assert outputs(tmp_path) == []


def test_dry_run_json_gives_one_object_with_the_form(run, standin, tmp_path, icon):
    result = run(["variation", "--image", "in/icon.png", "--size", "512x512",
                  "--dry-run", "--json"], env={"OPENAI_API_KEY": None})
    assert result.rc == 0, result
    plan = result.json
    assert plan is not None, result
    assert "form" in plan and "body" not in plan
    assert plan["url"] == f"{standin.url}/images/variations"
    files = [p for p in plan["form"] if "value" not in p]
    assert [(p["name"], p["filename"], p["content_type"], p["size"]) for p in files] == [
        ("image", "icon.png", "image/png", icon.stat().st_size)]
    values = {p["name"]: p["value"] for p in plan["form"] if "value" in p}
    assert values["size"] == "512x512"
    assert "prompt" not in values
    assert plan["outputs"] == ["icon-var.png"]
    assert standin.requests == []


# --- refusals


@pytest.fixture(scope="module")
def refusal_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("variation-inputs")
    save(folder / "icon.png", seed=1)
    save(folder / "wide.png", size=(300, 200), seed=2)
    save(folder / "icon.jpg", fmt="JPEG", seed=3)
    save(folder / "jpeg.png", fmt="JPEG", seed=3)
    save(folder / "icon.webp", fmt="WEBP", seed=3)
    save(folder / "anim.png", fmt="GIF", seed=4)
    (folder / "notes.png").write_text("not a picture\n")
    (folder / "adir.png").mkdir()
    save_noise_png(folder / "huge.png", 1200)
    assert (folder / "huge.png").stat().st_size > 4 * 1024 * 1024
    return folder


@pytest.fixture
def refusal_folder(tmp_path, refusal_inputs):
    (tmp_path / "in").symlink_to(refusal_inputs, target_is_directory=True)
    before = files_in(refusal_inputs)
    yield tmp_path
    assert files_in(refusal_inputs) == before


ICON = ["--image", "in/icon.png"]

# (id, arguments after `variation`, text the message must hold)
REFUSALS = [
    ("non-square", ["--image", "in/wide.png"], "in/wide.png"),
    ("jpeg", ["--image", "in/icon.jpg"], "in/icon.jpg"),
    ("jpeg-named-png", ["--image", "in/jpeg.png"], "in/jpeg.png"),
    ("webp", ["--image", "in/icon.webp"], "in/icon.webp"),
    ("gif-named-png", ["--image", "in/anim.png"], "in/anim.png"),
    ("text-named-png", ["--image", "in/notes.png"], "in/notes.png"),
    ("over-4-mb", ["--image", "in/huge.png"], "in/huge.png"),
    ("missing-file", ["--image", "in/nope.png"], "in/nope.png"),
    ("directory", ["--image", "in/adir.png"], "in/adir.png"),
    ("https-url", ["--image", HTTPS_URL], HTTPS_URL),
    ("file-id", ["--image", "file-abc123"], "file-abc123"),
    ("a-prompt-given", [*ICON, "make", "it", "blue"], "prompt"),
    ("prompt-option", [*ICON, "--prompt", "make it blue"], "--prompt"),
    ("two-images", [*ICON, "--image", "in/icon.png"], "--image"),
    ("no-image", ["--size", "256x256"], "--image"),
    ("size-1024x1536", [*ICON, "--size", "1024x1536"], "--size"),
    ("size-1792x1024", [*ICON, "--size", "1792x1024"], "--size"),
    ("size-auto", [*ICON, "--size", "auto"], "--size"),
    ("size-word", [*ICON, "--size", "big"], "--size"),
    ("model-dall-e-3", [*ICON, "--model", "dall-e-3"], "--model"),
    ("model-gpt-image-1", [*ICON, "--model", "gpt-image-1"], "--model"),
    ("model-gpt-image-2", [*ICON, "--model", "gpt-image-2"], "--model"),
    ("quality-unknown-option", [*ICON, "--quality", "high"], "--quality"),
    ("mask-unknown-option", [*ICON, "--mask", "in/icon.png"], "--mask"),
    ("input-fidelity-unknown-option", [*ICON, "--input-fidelity", "high"],
     "--input-fidelity"),
    ("output-format-unknown-option", [*ICON, "--output-format", "webp"],
     "--output-format"),
    ("background-unknown-option", [*ICON, "--background", "opaque"], "--background"),
    ("n-zero", [*ICON, "--n", "0"], "--n"),
    ("n-eleven", [*ICON, "--n", "11"], "--n"),
    ("response-format-png", [*ICON, "--response-format", "png"], "--response-format"),
    ("out-webp-for-a-png-model", [*ICON, "--out", "v.webp"], "--out"),
]


@pytest.mark.parametrize("args, named", [case[1:] for case in REFUSALS],
                         ids=[case[0] for case in REFUSALS])
def test_bad_variations_are_refused_before_any_request(run, standin, refusal_folder,
                                                       args, named):
    before = files_in(refusal_folder)
    result = run(["variation", *args])
    assert result.rc == 2, result
    assert named in result.stderr, result
    assert result.stdout == ""
    assert standin.requests == []
    assert files_in(refusal_folder) == before


def test_the_non_square_message_gives_the_size(run, standin, refusal_folder):
    result = run(["variation", "--image", "in/wide.png"])
    assert result.rc == 2, result
    assert "300x200" in result.stderr
    assert "square" in result.stderr


# --- faults


def test_a_500_is_retried_with_the_same_upload(run, standin, tmp_path, icon):
    standin.configure(fault="500", fault_count=1)
    result = run(["variation", "--image", "in/icon.png", "--size", "256x256",
                  "--backoff", "0.05"])
    assert result.rc == 0, result
    first, second = standin.requests
    assert first["body"] == second["body"]
    assert first["body"]["files"] == [part(icon)]
    assert outputs(tmp_path) == ["icon-var.png"]


def test_a_400_on_a_variation_is_not_retried(run, standin, tmp_path, icon):
    standin.configure(fault="400")
    result = run(["variation", "--image", "in/icon.png", "--size", "256x256",
                  "--backoff", "0.05"])
    assert result.rc == 1, result
    assert len(standin.requests) == 1
    assert result.stdout == ""
    assert outputs(tmp_path) == []
    assert temp_files(tmp_path) == []
