"""`imagegen edit` against the stand-in: multipart uploads (one image as `image`,
several as repeated `image[]`, a mask), content types sniffed from the bytes, the JSON
form for URL / data: URL / file-id inputs, output names, refusals before any request,
--dry-run, and retries that resend the same upload.  Bodies are checked against the
API spec (CreateImageEditRequest, EditImageBodyJsonParam, ImageRefParam)."""

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile

from pathlib import Path

import pytest
from PIL import Image

from conftest import (BIN, assert_no_key_in_files, assert_no_key_in_output, clean_env, digest,
                      files_in, open_image, resolve, schema_errors, temp_files)

EDITS = "/v1/images/edits"
PROMPT = "Replace the background with a warm sunset"
HTTPS_URL = "https://example.com/pics/cat.png?size=large"
FILE_ID = "file-abc123"
MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
PNG_SIGNATURE_B64 = "iVBORw0KGgo"  # base64 of the PNG signature: the start of any PNG
JPEG_START_B64 = "/9j/"            # base64 of a JPEG's first bytes
PNG_SIGNATURE = "\x89PNG"


# --- helpers


# What gpt-image-2 answers a 64x48 input with size auto: the stand-in, like the
# API, keeps the input's shape at about a megapixel, in 16-px steps.
EDIT_AUTO = (1184, 896)


def picture(size=(64, 48), mode="RGB", seed=0):
    """A small picture that differs by seed (so every input has its own bytes)."""
    color = ((seed * 53) % 256, (seed * 97 + 40) % 256, (seed * 31 + 90) % 256)
    if mode == "RGBA":
        color += (255,)
    elif mode == "L":
        color = color[0]
    image = Image.new(mode, size, color)
    image.putpixel((seed % size[0], 0), (255, 255, 255, 255)[:len(image.getbands())]
                   if mode != "L" else 255)
    return image


def save(path, fmt="PNG", size=(64, 48), mode="RGB", seed=0):
    """Write a picture in fmt (whatever the name says); returns path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    picture(size, mode, seed).save(path, format=fmt)
    return path


def save_mask(path, size=(64, 48), alpha=True):
    """A PNG mask: the top half fully transparent (the area to edit)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if alpha:
        mask = Image.new("RGBA", size, (0, 0, 0, 255))
        for x in range(size[0]):
            for y in range(size[1] // 2):
                mask.putpixel((x, y), (0, 0, 0, 0))
    else:
        mask = Image.new("RGB", size, (0, 0, 0))
    mask.save(path, format="PNG")
    return path


def save_noise_png(path, edge, mode="RGB"):
    """A square PNG of random noise: it does not compress, so it is about
    edge*edge*channels bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = len(mode)
    Image.frombytes(mode, (edge, edge), os.urandom(edge * edge * channels)).save(
        path, format="PNG", compress_level=0)
    return path


def part(path, field, content_type):
    """What the stand-in records for a file part carrying the file at path."""
    data = path.read_bytes()
    return {"field": field, "filename": path.name, "content_type": content_type,
            "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def edit_requests(standin):
    return [r for r in standin.requests if r["path"] == EDITS]


def only_edit(standin):
    requests = standin.requests
    assert [r["path"] for r in requests] == [EDITS], requests
    return requests[0]


def is_multipart(request):
    return (request["content_type"] or "").startswith("multipart/form-data")


def is_json(request):
    return (request["content_type"] or "").split(";")[0].strip() == "application/json"


def full_json_body(request):
    """The JSON body as sent, data: URLs whole (the recorded body shortens them)."""
    return json.loads(request["raw"])


def data_url_bytes(url):
    """(media type, decoded bytes) of a base64 data: URL."""
    assert url.startswith("data:"), url[:40]
    head, _, text = url.partition(",")
    assert head.endswith(";base64"), head
    return head[len("data:"):-len(";base64")], base64.b64decode(text, validate=True)


def shortened(url):
    """How the stand-in records a data: URL longer than 100 characters."""
    return url if len(url) <= 100 else f"{url[:100]}...({len(url)} chars)"


@pytest.fixture
def inputs(tmp_path):
    """A folder of input images under the working folder: in/photo.png (64x48 RGB
    PNG), in/photo.jpg, in/photo.webp, in/mask.png (64x48 RGBA)."""
    folder = tmp_path / "in"
    save(folder / "photo.png", "PNG", seed=1)
    save(folder / "photo.jpg", "JPEG", seed=2)
    save(folder / "photo.webp", "WEBP", seed=3)
    save_mask(folder / "mask.png")
    return folder


def outputs(tmp_path):
    """Files under the working folder that are not inputs."""
    return [name for name in files_in(tmp_path) if not name.startswith("in/")]


# --- the API spec


def form_errors(spec, body):
    """A recorded multipart edit against CreateImageEditRequest: text fields typed
    as the schema says, file fields only image / image[] / mask."""
    schema = spec["components"]["schemas"]["CreateImageEditRequest"]
    properties = schema["properties"]
    errors = []
    fields = {name: value for name, value in body.items() if name != "files"}
    for name, value in fields.items():
        if name not in properties:
            errors.append(f"form: {name!r} is not a property")
            continue
        if isinstance(value, list):
            errors.append(f"form: {name!r} sent more than once")
            continue
        kinds = {resolve(spec, s).get("type") for s in
                 [properties[name], *properties[name].get("anyOf", [])]}
        if "integer" in kinds:
            value = int(value)
        elif "boolean" in kinds:
            value = {"true": True, "false": False}.get(value, value)
        errors.extend(schema_errors(spec, properties[name], value, f"form.{name}"))
    for entry in body["files"]:
        if entry["field"] not in ("image", "image[]", "mask"):
            errors.append(f"form: file field {entry['field']!r} is not image or mask")
    for name in schema.get("required", []):
        if name not in fields and not any(f["field"] in (name, name + "[]")
                                          for f in body["files"]):
            errors.append(f"form: missing required {name!r}")
    return errors


# --- one image, several images, a mask (multipart)


def test_one_image_goes_as_the_image_field_and_saves_photo_edit_png(
        run, standin, tmp_path, inputs):
    result = run(["edit", "--image", "in/photo.png", PROMPT])
    assert result.rc == 0, result
    assert result.stdout == "photo-edit.png\n"
    assert outputs(tmp_path) == ["photo-edit.png"]
    image = open_image(tmp_path / "photo-edit.png")
    assert (image.format, image.size) == ("PNG", EDIT_AUTO)
    request = only_edit(standin)
    assert request["method"] == "POST"
    assert is_multipart(request), request["content_type"]
    body = request["body"]
    assert body["files"] == [part(inputs / "photo.png", "image", "image/png")]
    assert body["prompt"] == PROMPT
    assert body["model"] == "gpt-image-2"
    assert "image[]" not in body and "image" not in body
    assert temp_files(tmp_path) == []


def test_two_images_go_as_repeated_image_array_parts_in_order(
        run, standin, tmp_path, inputs):
    result = run(["edit", "--image", "in/photo.jpg", "--image", "in/photo.png", PROMPT])
    assert result.rc == 0, result
    assert result.lines == ["photo-edit.png"]
    assert outputs(tmp_path) == ["photo-edit.png"]
    assert open_image(tmp_path / "photo-edit.png").format == "PNG"
    body = only_edit(standin)["body"]
    assert body["files"] == [part(inputs / "photo.jpg", "image[]", "image/jpeg"),
                             part(inputs / "photo.png", "image[]", "image/png")]


def sixteen_inputs(folder, count=16):
    """count distinct inputs, cycling PNG, JPEG and WebP (right extensions)."""
    kinds = [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")]
    paths = []
    for i in range(count):
        fmt, ext = kinds[i % 3]
        paths.append(save(folder / f"ref{i:02d}.{ext}", fmt, size=(64, 48), seed=10 + i))
    return paths


@pytest.mark.parametrize("with_mask", [False, True], ids=["no-mask", "mask"])
def test_sixteen_images_go_as_sixteen_image_array_parts(run, standin, tmp_path, inputs,
                                                        with_mask):
    paths = sixteen_inputs(inputs)
    args = ["edit", PROMPT]
    for path in paths:
        args += ["--image", f"in/{path.name}"]
    if with_mask:
        args += ["--mask", "in/mask.png"]
    result = run(args)
    assert result.rc == 0, result
    assert result.lines == ["ref00-edit.png"]
    assert open_image(tmp_path / "ref00-edit.png").size == EDIT_AUTO
    files = only_edit(standin)["body"]["files"]
    expected = [part(p, "image[]", MIME[Image.open(p).format]) for p in paths]
    assert [f for f in files if f["field"] != "mask"] == expected
    masks = [f for f in files if f["field"] == "mask"]
    assert masks == ([part(inputs / "mask.png", "mask", "image/png")] if with_mask else [])
    assert {f["content_type"] for f in expected} == {"image/png", "image/jpeg",
                                                      "image/webp"}


@pytest.mark.parametrize("images", [["photo.png"], ["photo.png", "photo.webp"]],
                         ids=["one-image", "two-images"])
def test_mask_goes_as_a_png_mask_part(run, standin, tmp_path, inputs, images):
    args = ["edit", "--mask", "in/mask.png", PROMPT]
    for name in images:
        args += ["--image", f"in/{name}"]
    result = run(args)
    assert result.rc == 0, result
    assert result.lines == ["photo-edit.png"]
    files = only_edit(standin)["body"]["files"]
    field = "image" if len(images) == 1 else "image[]"
    kinds = {"photo.png": "image/png", "photo.webp": "image/webp"}
    assert [f for f in files if f["field"] != "mask"] == [
        part(inputs / name, field, kinds[name]) for name in images]
    assert [f for f in files if f["field"] == "mask"] == [
        part(inputs / "mask.png", "mask", "image/png")]
    assert outputs(tmp_path) == ["photo-edit.png"]


# --- content types come from the bytes, never the name


@pytest.mark.parametrize("name, fmt, content_type", [
    ("photo.png", "JPEG", "image/jpeg"),
    ("shot.jpg", "PNG", "image/png"),
    ("pic.webp", "JPEG", "image/jpeg"),
    ("still.jpeg", "WEBP", "image/webp"),
    ("noextension", "PNG", "image/png"),
    ("upload.bin", "WEBP", "image/webp"),
    ("SHOUT.PNG", "PNG", "image/png"),
], ids=["jpeg-named-png", "png-named-jpg", "jpeg-named-webp", "webp-named-jpeg",
        "png-without-extension", "webp-named-bin", "png-upper-case-name"])
def test_part_content_type_is_sniffed_from_the_bytes(run, standin, tmp_path, name, fmt,
                                                     content_type):
    path = save(tmp_path / "in" / name, fmt, seed=7)
    result = run(["edit", "--image", f"in/{name}", PROMPT])
    assert result.rc == 0, result
    [entry] = only_edit(standin)["body"]["files"]
    assert entry == part(path, "image", content_type)
    assert entry["content_type"] != "application/octet-stream"
    stem = name.rsplit(".", 1)[0] if "." in name else name
    assert result.lines == [f"{stem}-edit.png"]


def test_several_mislabelled_inputs_each_get_their_own_sniffed_type(run, standin,
                                                                    tmp_path):
    a = save(tmp_path / "in" / "a.png", "JPEG", seed=1)
    b = save(tmp_path / "in" / "b.jpg", "WEBP", seed=2)
    c = save(tmp_path / "in" / "c.webp", "PNG", seed=3)
    result = run(["edit", "--image", "in/a.png", "--image", "in/b.jpg", "--image",
                  "in/c.webp", PROMPT])
    assert result.rc == 0, result
    assert only_edit(standin)["body"]["files"] == [
        part(a, "image[]", "image/jpeg"), part(b, "image[]", "image/webp"),
        part(c, "image[]", "image/png")]


def test_an_absolute_input_path_sends_only_the_base_name(run, standin, tmp_path, inputs):
    result = run(["edit", "--image", str(inputs / "photo.png"), PROMPT])
    assert result.rc == 0, result
    [entry] = only_edit(standin)["body"]["files"]
    assert entry["filename"] == "photo.png"
    assert result.lines == ["photo-edit.png"]
    assert outputs(tmp_path) == ["photo-edit.png"]


# --- parameters


@pytest.mark.compat
def test_input_fidelity_high_with_gpt_image_1_5_is_sent(run, standin, tmp_path, inputs):
    result = run(["edit", "--image", "in/photo.png", "--mask", "in/mask.png",
                  "--input-fidelity", "high", "--model", "gpt-image-1.5", PROMPT])
    assert result.rc == 0, result
    body = only_edit(standin)["body"]
    assert body["input_fidelity"] == "high"
    assert body["model"] == "gpt-image-1.5"
    assert outputs(tmp_path) == ["photo-edit.png"]


@pytest.mark.compat
def test_common_parameters_are_sent_as_form_fields(run, standin, tmp_path, inputs):
    result = run(["edit", "--image", "in/photo.png", PROMPT, "--model", "gpt-image-1",
                  "--size", "1536x1024", "--quality", "low", "--background", "opaque",
                  "--output-format", "webp", "--output-compression", "50",
                  "--user", "user-1234", "--n", "2", "--input-fidelity", "low"])
    assert result.rc == 0, result
    body = only_edit(standin)["body"]
    expected = {"model": "gpt-image-1", "size": "1536x1024", "quality": "low",
                "background": "opaque", "output_format": "webp",
                "output_compression": "50", "user": "user-1234", "n": "2",
                "input_fidelity": "low", "prompt": PROMPT}
    assert {name: body.get(name) for name in expected} == expected
    assert result.lines == ["photo-edit-1.webp", "photo-edit-2.webp"]
    for name in result.lines:
        image = open_image(tmp_path / name)
        assert (image.format, image.size) == ("WEBP", (1536, 1024))


def test_prompt_augmentation_fields_apply_to_edits(run, standin, tmp_path, inputs):
    result = run(["edit", "--image", "in/photo.png", "--prompt", "Add a red kite",
                  "--scene", "windy beach", "--lighting", "golden hour",
                  "--style", "watercolour", "--constraints", "keep the people"])
    assert result.rc == 0, result
    body = only_edit(standin)["body"]
    lines = body["prompt"].split("\n")
    assert "Primary request: Add a red kite" in lines
    for value in ("windy beach", "golden hour", "watercolour", "keep the people"):
        assert sum(value in line for line in lines) == 1, (value, body["prompt"])
    assert len([line for line in lines if line.strip()]) == 5
    assert "style" not in body
    # The name still comes from the image, not the prompt.
    assert result.lines == ["photo-edit.png"]


def test_no_augment_sends_the_edit_prompt_as_given(run, standin, inputs):
    result = run(["edit", "--image", "in/photo.png", "--prompt", "Add a red kite",
                  "--no-augment"])
    assert result.rc == 0, result
    assert only_edit(standin)["body"]["prompt"] == "Add a red kite"


def test_several_quoted_prompts_are_one_edit_with_a_warning(run, standin, inputs):
    result = run(["edit", "--image", "in/photo.png", "Add a red kite", "Make it dusk"])
    assert result.rc == 0, result
    assert only_edit(standin)["body"]["prompt"] == "Add a red kite Make it dusk"
    assert ("imagegen: warning: the 2 arguments after the options were joined into one "
            "prompt for one edit; for one edit from each, give 'imagegen batch --input' a "
            "JSONL line {\"prompt\", \"image\"} each\n") in result.stderr


def test_no_augment_with_a_field_is_refused(run, standin, inputs):
    result = run(["edit", "--image", "in/photo.png", "--prompt", "Add a red kite",
                  "--scene", "windy beach", "--no-augment"])
    assert result.rc == 2, result
    assert result.stderr == ("imagegen: error: --no-augment and --scene: --no-augment "
                             "sends the prompt without the prompt fields; give one of them\n")
    assert standin.requests == []


@pytest.mark.parametrize("how", ["prompt", "prompt-file", "words", "stdin"])
def test_the_edit_prompt_comes_from_any_source(run, standin, tmp_path, inputs, how):
    (tmp_path / "brief.txt").write_text("Paint the sky green\n")
    args, stdin = {
        "prompt": (["--prompt", "Paint the sky green"], None),
        "prompt-file": (["--prompt-file", "brief.txt"], None),
        "words": (["Paint", "the", "sky", "green"], None),
        "stdin": ([], "Paint the sky green\n"),
    }[how]
    result = run(["edit", "--image", "in/photo.png", *args], stdin=stdin)
    assert result.rc == 0, result
    assert only_edit(standin)["body"]["prompt"] == "Paint the sky green"
    assert result.lines == ["photo-edit.png"]


def test_json_flag_prints_the_response_and_paths_go_to_stderr(run, standin, tmp_path,
                                                               inputs):
    result = run(["edit", "--image", "in/photo.png", "--json", PROMPT])
    assert result.rc == 0, result
    response = result.json
    assert response is not None, result
    [item] = response["data"]
    assert base64.b64decode(item["b64_json"], validate=True).startswith(b"\x89PNG")
    assert "photo-edit.png" in result.stderr
    assert "photo-edit.png" not in result.stdout
    assert outputs(tmp_path) == ["photo-edit.png"]


def test_no_save_writes_nothing(run, standin, tmp_path, inputs):
    result = run(["edit", "--image", "in/photo.png", "--no-save", PROMPT])
    assert result.rc == 0, result
    assert result.stdout == ""
    assert outputs(tmp_path) == []
    assert len(edit_requests(standin)) == 1


@pytest.mark.compat
def test_dalle2_edit_takes_a_square_png_and_its_url_answer_is_downloaded(
        run, standin, tmp_path):
    square = save(tmp_path / "in" / "sq.png", "PNG", size=(256, 256), seed=4)
    mask = save_mask(tmp_path / "in" / "sqmask.png", size=(256, 256))
    result = run(["edit", "--image", "in/sq.png", "--mask", "in/sqmask.png",
                  "--model", "dall-e-2", "--size", "256x256", "--n", "2", PROMPT])
    assert result.rc == 0, result
    assert result.lines == ["sq-edit-1.png", "sq-edit-2.png"]
    for name in result.lines:
        image = open_image(tmp_path / name)
        assert (image.format, image.size) == ("PNG", (256, 256))
    body = only_edit(standin)["body"]
    assert body["files"] == [part(square, "image", "image/png"),
                             part(mask, "mask", "image/png")]
    assert (body["model"], body["size"], body["n"]) == ("dall-e-2", "256x256", "2")
    assert "output_format" not in body and "input_fidelity" not in body


@pytest.mark.compat
def test_dalle2_edit_b64_json_is_saved(run, standin, tmp_path):
    save(tmp_path / "in" / "sq.png", "PNG", size=(256, 256), seed=4)
    result = run(["edit", "--image", "in/sq.png", "--model", "dall-e-2", "--size",
                  "256x256", "--response-format", "b64_json", PROMPT])
    assert result.rc == 0, result
    assert only_edit(standin)["body"]["response_format"] == "b64_json"
    assert open_image(tmp_path / "sq-edit.png").size == (256, 256)


MULTIPART_BODY_RUNS = [
    ["--image", "in/photo.png"],
    ["--image", "in/photo.png", "--image", "in/photo.jpg", "--mask", "in/mask.png"],
    ["--image", "in/photo.webp", "--n", "2", "--quality", "high", "--background",
     "transparent", "--output-format", "webp", "--output-compression", "10"],
    ["--image", "in/photo.png", "--model", "gpt-image-1.5", "--input-fidelity", "high",
     "--size", "1024x1536", "--quality", "auto", "--user", "u-1"],
    ["--image", "in/photo.jpg", "--model", "gpt-image-1-mini", "--output-format", "jpeg",
     "--scene", "harbour"],
    ["--image", "in/sq.png", "--model", "dall-e-2", "--size", "256x256",
     "--response-format", "b64_json"],
]


@pytest.mark.compat
def test_every_multipart_edit_fits_create_image_edit_request(run, standin, tmp_path,
                                                              inputs, spec):
    save(inputs / "sq.png", "PNG", size=(256, 256), seed=9)
    for args in MULTIPART_BODY_RUNS:
        result = run(["edit", PROMPT, *args])
        assert result.rc == 0, (args, result)
    requests = edit_requests(standin)
    assert len(requests) == len(MULTIPART_BODY_RUNS)
    for args, request in zip(MULTIPART_BODY_RUNS, requests):
        assert is_multipart(request), args
        assert form_errors(spec, request["body"]) == [], args


# --- output names


def test_n_2_numbers_the_edits(run, standin, tmp_path, inputs):
    result = run(["edit", "--image", "in/photo.png", "--n", "2", PROMPT])
    assert result.rc == 0, result
    assert result.lines == ["photo-edit-1.png", "photo-edit-2.png"]
    assert outputs(tmp_path) == ["photo-edit-1.png", "photo-edit-2.png"]
    assert digest(tmp_path / "photo-edit-1.png") != digest(tmp_path / "photo-edit-2.png")
    assert only_edit(standin)["body"]["n"] == "2"


def test_a_second_edit_takes_the_next_free_name(run, standin, tmp_path, inputs):
    first = run(["edit", "--image", "in/photo.png", PROMPT])
    assert first.lines == ["photo-edit.png"]
    before = digest(tmp_path / "photo-edit.png")
    second = run(["edit", "--image", "in/photo.png", "Make it night"])
    assert second.rc == 0, second
    assert second.lines == ["photo-edit-2.png"]
    assert digest(tmp_path / "photo-edit.png") == before
    assert outputs(tmp_path) == ["photo-edit-2.png", "photo-edit.png"]
    assert open_image(tmp_path / "photo-edit-2.png").format == "PNG"


def test_a_second_n_2_edit_continues_the_numbers(run, standin, tmp_path, inputs):
    first = run(["edit", "--image", "in/photo.png", "--n", "2", PROMPT])
    assert first.lines == ["photo-edit-1.png", "photo-edit-2.png"]
    before = {name: digest(tmp_path / name) for name in first.lines}
    second = run(["edit", "--image", "in/photo.png", "--n", "2", PROMPT])
    assert second.rc == 0, second
    assert second.lines == ["photo-edit-3.png", "photo-edit-4.png"]
    assert {name: digest(tmp_path / name) for name in first.lines} == before
    assert len(outputs(tmp_path)) == 4


@pytest.mark.parametrize("args, names, pil_format", [
    (["--out", "result.png"], ["result.png"], "PNG"),
    (["--out", "result.webp"], ["result.webp"], "WEBP"),
    (["--out", "result.jpg"], ["result.jpg"], "JPEG"),
    (["--out", "result.png", "--n", "2"], ["result-1.png", "result-2.png"], "PNG"),
    (["--out-dir", "edits"], ["edits/photo-edit.png"], "PNG"),
    (["--output-dir", "edits", "--prefix", "hero"], ["edits/hero.png"], "PNG"),
    (["--output", "edits", "--prefix", "hero", "--n", "2"],
     ["edits/hero-1.png", "edits/hero-2.png"], "PNG"),
    (["--prefix", "hero"], ["hero.png"], "PNG"),
    (["--output-format", "jpeg"], ["photo-edit.jpg"], "JPEG"),
], ids=["out", "out-webp", "out-jpg", "out-n-2", "out-dir", "output-dir-prefix",
        "output-prefix-n-2", "prefix", "jpeg-is-jpg"])
def test_out_out_dir_and_prefix_name_the_edits(run, standin, tmp_path, inputs, args,
                                               names, pil_format):
    result = run(["edit", "--image", "in/photo.png", PROMPT, *args])
    assert result.rc == 0, result
    assert result.lines == names
    assert outputs(tmp_path) == sorted(names)
    for name in names:
        image = open_image(tmp_path / name)
        assert (image.format, image.size) == (pil_format, EDIT_AUTO)


def test_outputs_go_to_the_current_folder_not_the_inputs_folder(run, standin, tmp_path,
                                                                inputs):
    result = run(["edit", "--image", str(inputs / "photo.png"), PROMPT])
    assert result.rc == 0, result
    assert result.lines == ["photo-edit.png"]
    assert not (inputs / "photo-edit.png").exists()
    assert (tmp_path / "photo-edit.png").is_file()


def test_an_existing_out_file_is_refused_before_the_upload(run, standin, tmp_path,
                                                           inputs):
    (tmp_path / "keep.png").write_bytes(b"precious")
    result = run(["edit", "--image", "in/photo.png", "--out", "keep.png", PROMPT])
    assert result.rc == 2, result
    assert "keep.png" in result.stderr
    assert (tmp_path / "keep.png").read_bytes() == b"precious"
    assert standin.requests == []


# --- the JSON form: URLs, data: URLs, file ids


def test_https_url_input_switches_to_the_json_form(run, standin, tmp_path, spec):
    result = run(["edit", "--image", HTTPS_URL, PROMPT])
    assert result.rc == 0, result
    request = only_edit(standin)
    assert is_json(request), request["content_type"]
    body = request["body"]
    assert body["images"] == [{"image_url": HTTPS_URL}]
    assert body["prompt"] == PROMPT
    assert body["model"] == "gpt-image-2"
    assert "image" not in body and "mask" not in body
    schema = spec["components"]["schemas"]["EditImageBodyJsonParam"]
    assert schema_errors(spec, schema, body, "body") == []
    assert result.lines == ["cat-edit.png"]
    assert open_image(tmp_path / "cat-edit.png").format == "PNG"


def test_file_id_input_is_sent_as_file_id(run, standin, tmp_path, spec):
    result = run(["edit", "--image", FILE_ID, PROMPT])
    assert result.rc == 0, result
    request = only_edit(standin)
    assert is_json(request)
    assert request["body"]["images"] == [{"file_id": FILE_ID}]
    schema = spec["components"]["schemas"]["EditImageBodyJsonParam"]
    assert schema_errors(spec, schema, request["body"], "body") == []
    assert result.lines == [f"{FILE_ID}-edit.png"]
    assert outputs(tmp_path) == [f"{FILE_ID}-edit.png"]


def test_data_url_input_is_sent_as_given(run, standin, tmp_path, inputs):
    data = (inputs / "photo.jpg").read_bytes()
    url = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    result = run(["edit", "--image", url, PROMPT])
    assert result.rc == 0, result
    request = only_edit(standin)
    assert is_json(request)
    assert request["body"]["images"] == [{"image_url": shortened(url)}]
    assert full_json_body(request)["images"] == [{"image_url": url}]
    [line] = result.lines
    assert line.endswith("-edit.png") and "base64" not in line and "/" not in line
    assert open_image(tmp_path / line).size == EDIT_AUTO


def test_a_file_named_like_a_file_id_is_uploaded_as_a_file(run, standin, tmp_path):
    path = save(tmp_path / "file-abc123", "PNG", seed=5)
    result = run(["edit", "--image", "file-abc123", PROMPT])
    assert result.rc == 0, result
    request = only_edit(standin)
    assert is_multipart(request)
    assert request["body"]["files"] == [part(path, "image", "image/png")]


@pytest.mark.parametrize("local, fmt, media_type", [
    ("photo.png", "PNG", "image/png"),
    ("photo.jpg", "JPEG", "image/jpeg"),
    ("photo.webp", "WEBP", "image/webp"),
    ("mislabelled.png", "JPEG", "image/jpeg"),
], ids=["png", "jpeg", "webp", "jpeg-named-png"])
def test_mixed_local_and_url_sends_the_local_file_as_a_data_url(
        run, standin, tmp_path, inputs, spec, local, fmt, media_type):
    path = inputs / local
    if not path.exists():
        save(path, fmt, seed=6)
    result = run(["edit", "--image", f"in/{local}", "--image", HTTPS_URL,
                  "--image", FILE_ID, PROMPT])
    assert result.rc == 0, result
    request = only_edit(standin)
    assert is_json(request), request["content_type"]
    body = full_json_body(request)
    first, second, third = body["images"]
    assert set(first) == {"image_url"}
    assert data_url_bytes(first["image_url"]) == (media_type, path.read_bytes())
    assert second == {"image_url": HTTPS_URL}
    assert third == {"file_id": FILE_ID}
    schema = spec["components"]["schemas"]["EditImageBodyJsonParam"]
    assert schema_errors(spec, schema, body, "body") == []
    stem = local.rsplit(".", 1)[0]
    assert result.lines == [f"{stem}-edit.png"]
    assert open_image(tmp_path / f"{stem}-edit.png").size == EDIT_AUTO


def test_mask_as_a_url_makes_a_json_edit(run, standin, tmp_path, inputs, spec):
    mask_url = "https://example.com/masks/sky.png"
    result = run(["edit", "--image", "in/photo.png", "--mask", mask_url, PROMPT])
    assert result.rc == 0, result
    request = only_edit(standin)
    assert is_json(request)
    body = full_json_body(request)
    assert body["mask"] == {"image_url": mask_url}
    [first] = body["images"]
    assert data_url_bytes(first["image_url"]) == ("image/png",
                                                  (inputs / "photo.png").read_bytes())
    schema = spec["components"]["schemas"]["EditImageBodyJsonParam"]
    assert schema_errors(spec, schema, body, "body") == []
    assert result.lines == ["photo-edit.png"]


def test_mask_as_a_file_id_makes_a_json_edit(run, standin, inputs):
    result = run(["edit", "--image", "in/photo.png", "--mask", "file-mask42", PROMPT])
    assert result.rc == 0, result
    body = full_json_body(only_edit(standin))
    assert body["mask"] == {"file_id": "file-mask42"}


def test_local_mask_with_url_images_goes_as_a_data_url(run, standin, inputs, spec):
    result = run(["edit", "--image", HTTPS_URL, "--mask", "in/mask.png", PROMPT])
    assert result.rc == 0, result
    request = only_edit(standin)
    assert is_json(request)
    body = full_json_body(request)
    assert body["images"] == [{"image_url": HTTPS_URL}]
    assert set(body["mask"]) == {"image_url"}
    assert data_url_bytes(body["mask"]["image_url"]) == (
        "image/png", (inputs / "mask.png").read_bytes())
    schema = spec["components"]["schemas"]["EditImageBodyJsonParam"]
    assert schema_errors(spec, schema, body, "body") == []


def test_moderation_goes_in_the_json_form(run, standin):
    result = run(["edit", "--image", HTTPS_URL, "--moderation", "low", PROMPT])
    assert result.rc == 0, result
    assert only_edit(standin)["body"]["moderation"] == "low"


JSON_BODY_RUNS = [
    ["--image", HTTPS_URL],
    ["--image", FILE_ID, "--image", "in/photo.webp", "--mask", "in/mask.png"],
    ["--image", HTTPS_URL, "--n", "2", "--quality", "low", "--background", "transparent",
     "--output-format", "webp", "--output-compression", "0", "--moderation", "auto",
     "--user", "u-7", "--size", "1024x1024"],
    ["--image", "in/photo.png", "--image", FILE_ID, "--model", "gpt-image-1.5",
     "--input-fidelity", "high", "--size", "1536x1024", "--quality", "high"],
    ["--image", HTTPS_URL, "--model", "gpt-image-1", "--output-format", "jpeg",
     "--lighting", "neon", "--size", "auto"],
]


@pytest.mark.compat
def test_every_json_edit_has_only_edit_image_body_json_param_keys(run, standin, inputs,
                                                                  spec):
    schema = spec["components"]["schemas"]["EditImageBodyJsonParam"]
    allowed = set(schema["properties"])
    for args in JSON_BODY_RUNS:
        result = run(["edit", PROMPT, *args])
        assert result.rc == 0, (args, result)
    requests = edit_requests(standin)
    assert len(requests) == len(JSON_BODY_RUNS)
    for args, request in zip(JSON_BODY_RUNS, requests):
        assert is_json(request), args
        body = full_json_body(request)
        assert set(body) <= allowed, (args, set(body) - allowed)
        assert schema_errors(spec, schema, body, "body") == [], args


# --- refusals: exit 2, the input named, nothing sent, nothing written


def make_refusal_inputs(folder):
    """Every input the refusal cases need, under folder (the working folder's in/)."""
    save(folder / "photo.png", "PNG", size=(64, 48), seed=1)
    save(folder / "photo.jpg", "JPEG", size=(64, 48), seed=2)
    save(folder / "square.png", "PNG", size=(64, 64), seed=3)
    save(folder / "square.jpg", "JPEG", size=(64, 64), seed=3)
    save(folder / "square-jpeg.png", "JPEG", size=(64, 64), seed=3)
    save(folder / "anim.png", "GIF", size=(64, 48), seed=4)
    (folder / "notes.png").write_text("these are my notes, not a picture\n")
    (folder / "empty.png").write_bytes(b"")
    (folder / "adir.png").mkdir()
    save_mask(folder / "mask.png", size=(64, 48))
    save(folder / "mask.jpg", "JPEG", size=(64, 48), seed=5)
    save(folder / "mask-jpeg.png", "JPEG", size=(64, 48), seed=5)
    save(folder / "mask-webp.png", "WEBP", size=(64, 48), seed=5)
    save_mask(folder / "mask-rgb.png", size=(64, 48), alpha=False)
    save_mask(folder / "mask-big.png", size=(128, 96))
    save_noise_png(folder / "huge.png", 1200)  # square, > 4 MB
    assert (folder / "huge.png").stat().st_size > 4 * 1024 * 1024
    # A mask over 4 MB (the spec's limit for every mask) the size of its image.
    save_noise_png(folder / "huge-mask.png", 1100, mode="RGBA")
    assert (folder / "huge-mask.png").stat().st_size > 4 * 1024 * 1024
    save(folder / "plain1100.png", "PNG", size=(1100, 1100), seed=6)
    # 50 MB and over: a real PNG header, then a hole (sparse, cheap).
    with open(folder / "over50mb.png", "wb") as stream:
        stream.write((folder / "photo.png").read_bytes())
        stream.truncate(50 * 1024 * 1024)
    for i in range(17):
        save(folder / f"many{i:02d}.png", "PNG", size=(64, 48), seed=20 + i)


def data_url(path, media_type):
    return f"data:{media_type};base64," + base64.b64encode(path.read_bytes()).decode()


SEVENTEEN = [arg for i in range(17) for arg in ("--image", f"in/many{i:02d}.png")]

# (id, arguments after `edit` (the prompt is added unless the case says no), text the
# message must hold)
REFUSALS = [
    ("missing-file", ["--image", "in/nope.png"], "in/nope.png"),
    ("missing-second-file", ["--image", "in/photo.png", "--image", "in/gone.jpg"],
     "in/gone.jpg"),
    ("directory", ["--image", "in/adir.png"], "in/adir.png"),
    ("gif-named-png", ["--image", "in/anim.png"], "in/anim.png"),
    ("text-named-png", ["--image", "in/notes.png"], "in/notes.png"),
    ("empty-file", ["--image", "in/empty.png"], "in/empty.png"),
    ("gif-as-second-image", ["--image", "in/photo.png", "--image", "in/anim.png"],
     "in/anim.png"),
    ("over-50-mb", ["--image", "in/over50mb.png"], "in/over50mb.png"),
    ("seventeen-images", SEVENTEEN, "16"),
    ("seventeen-with-urls", [*SEVENTEEN[:30], "--image", HTTPS_URL, "--image", FILE_ID],
     "16"),
    ("mask-missing", ["--image", "in/photo.png", "--mask", "in/nomask.png"],
     "in/nomask.png"),
    ("mask-jpeg", ["--image", "in/photo.png", "--mask", "in/mask.jpg"], "in/mask.jpg"),
    ("mask-jpeg-named-png", ["--image", "in/photo.png", "--mask", "in/mask-jpeg.png"],
     "in/mask-jpeg.png"),
    ("mask-webp-named-png", ["--image", "in/photo.png", "--mask", "in/mask-webp.png"],
     "in/mask-webp.png"),
    ("mask-gif", ["--image", "in/photo.png", "--mask", "in/anim.png"], "in/anim.png"),
    ("mask-without-alpha", ["--image", "in/photo.png", "--mask", "in/mask-rgb.png"],
     "in/mask-rgb.png"),
    ("mask-other-size", ["--image", "in/photo.png", "--mask", "in/mask-big.png"],
     "in/mask-big.png"),
    ("mask-other-size-than-first-of-two", ["--image", "in/square.png", "--image",
                                           "in/photo.png", "--mask", "in/mask.png"],
     "in/mask.png"),
    ("mask-over-4-mb", ["--image", "in/plain1100.png", "--mask", "in/huge-mask.png"],
     "in/huge-mask.png"),
    ("mask-other-size-json-form", ["--image", "in/photo.png", "--image", HTTPS_URL,
                                   "--mask", "in/mask-big.png"], "in/mask-big.png"),
    ("input-fidelity-gpt-image-2", ["--image", "in/photo.png", "--input-fidelity",
                                    "high"], "--input-fidelity"),
    ("input-fidelity-gpt-image-2-snapshot", ["--image", "in/photo.png", "--model",
                                             "gpt-image-2-2026-04-21",
                                             "--input-fidelity", "low"],
     "--input-fidelity"),
    ("input-fidelity-bad-value", ["--image", "in/photo.png", "--model", "gpt-image-1.5",
                                  "--input-fidelity", "max"], "--input-fidelity"),
    ("dalle2-two-images", ["--model", "dall-e-2", "--image", "in/square.png", "--image",
                           "in/square.png"], "--image"),
    ("dalle2-jpeg", ["--model", "dall-e-2", "--image", "in/square.jpg"], "in/square.jpg"),
    ("dalle2-jpeg-named-png", ["--model", "dall-e-2", "--image", "in/square-jpeg.png"],
     "in/square-jpeg.png"),
    ("dalle2-non-square", ["--model", "dall-e-2", "--image", "in/photo.png"],
     "in/photo.png"),
    ("dalle2-over-4-mb", ["--model", "dall-e-2", "--image", "in/huge.png"],
     "in/huge.png"),
    ("dalle2-url", ["--model", "dall-e-2", "--image", HTTPS_URL], HTTPS_URL),
    ("dalle3-cannot-edit", ["--model", "dall-e-3", "--image", "in/square.png"],
     "--model"),
    ("http-url", ["--image", "http://example.com/cat.png"], "http://example.com/cat.png"),
    ("http-url-mask", ["--image", HTTPS_URL, "--mask", "http://example.com/m.png"],
     "http://example.com/m.png"),
    ("data-url-not-base64", ["--image", "data:image/png;base64,!!!not base64!!!"],
     "--image"),
    ("data-url-without-base64-marker", ["--image", "data:image/png,iVBORw0KGgo="],
     "--image"),
    ("data-url-of-text", ["--image", "data:image/png;base64," +
                          base64.b64encode(b"hello, not an image at all").decode()],
     "--image"),
    ("data-url-gif", ["--image", "data:image/gif;base64,R0lGODlhAQABAAAAACw="],
     "--image"),
    ("moderation-with-uploads", ["--image", "in/photo.png", "--moderation", "low"],
     "--moderation"),
    ("response-format-with-url", ["--image", HTTPS_URL, "--response-format", "b64_json"],
     "--response-format"),
    ("response-format-with-file-id", ["--image", FILE_ID, "--response-format", "url"],
     "--response-format"),
    ("json-form-size-outside-its-enum", ["--image", HTTPS_URL, "--size", "1536x864"],
     "--size"),
    ("no-image", [], "--image"),
    ("no-image-with-mask", ["--mask", "in/mask.png"], "--image"),
    ("unknown-option", ["--image", "in/photo.png", "--bogus"], "--bogus"),
]


@pytest.fixture(scope="module")
def refusal_inputs(tmp_path_factory):
    """The refusal cases' inputs, made once (the big ones take a while)."""
    folder = tmp_path_factory.mktemp("refusal-inputs")
    make_refusal_inputs(folder)
    return folder


@pytest.fixture
def refusal_folder(tmp_path, refusal_inputs):
    """A working folder whose in/ is the shared inputs; the test checks that neither
    the working folder nor the inputs change."""
    (tmp_path / "in").symlink_to(refusal_inputs, target_is_directory=True)
    before = files_in(refusal_inputs)
    yield tmp_path
    assert files_in(refusal_inputs) == before


@pytest.mark.parametrize("args, named", [case[1:] for case in REFUSALS],
                         ids=[case[0] for case in REFUSALS])
def test_bad_inputs_are_refused_before_any_request(run, standin, refusal_folder, args,
                                                   named):
    before = files_in(refusal_folder)
    result = run(["edit", *args, PROMPT])
    assert result.rc == 2, result
    assert named in result.stderr, result
    assert result.stdout == ""
    assert standin.requests == []
    assert files_in(refusal_folder) == before


def test_data_url_declaring_another_type_than_its_bytes_is_refused(run, standin,
                                                                   inputs):
    url = data_url(inputs / "photo.jpg", "image/png")
    result = run(["edit", "--image", url, PROMPT])
    assert result.rc == 2, result
    assert "--image" in result.stderr
    assert standin.requests == []


def test_refusals_hold_with_dry_run_too(run, standin, refusal_folder):
    before = files_in(refusal_folder)
    for args in (["--image", "in/anim.png"], ["--image", "in/photo.png", "--mask",
                                              "in/mask-rgb.png"], SEVENTEEN):
        result = run(["edit", *args, PROMPT, "--dry-run"], env={"OPENAI_API_KEY": None})
        assert result.rc == 2, result
        assert result.stdout == ""
    assert standin.requests == []
    assert files_in(refusal_folder) == before


def test_an_unreadable_file_is_refused(run, standin, tmp_path, inputs):
    """Root reads a mode-000 file, so as root (CI) imagegen runs as nobody, in a
    folder nobody may enter (pytest's own are private)."""
    folder = Path(tempfile.mkdtemp(prefix="imagegen-unreadable-"))
    try:
        folder.chmod(0o755)
        path = folder / "locked.png"
        path.write_bytes((inputs / "photo.png").read_bytes())
        path.chmod(0)
        command = [BIN, "edit", "--image", "locked.png", PROMPT]
        if os.geteuid() == 0:
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                       *command]
        assert not os.access(path, os.R_OK) or os.geteuid() == 0
        env = clean_env(standin)
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):   # nobody cannot write root's logs
            if name in env:
                env[name] = ":".join(o for o in env[name].split(":")
                                     if not o.startswith("log_path="))
        # Nor can it enter this test's config folder (an unreadable config is an
        # error of its own): it gets one it may look in, with no file.
        env["XDG_CONFIG_HOME"] = str(folder)
        completed = subprocess.run(command, cwd=folder, env=env,
                                   stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=60)
        assert_no_key_in_output(completed.stdout, completed.stderr)
        stderr = completed.stderr.decode()
        assert completed.returncode == 2, stderr
        assert "locked.png" in stderr and "Permission denied" in stderr, stderr
        assert standin.requests == []
        assert sorted(p.name for p in folder.iterdir()) == ["locked.png"]
        # Outside tmp_path, so no fixture looks in it: readable again, and checked.
        path.chmod(0o600)
        assert_no_key_in_files(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def cut_in_half(path, fmt, size=(160, 120)):
    """An image file with the second half of its bytes missing: its header is whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    whole = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(whole, format=fmt)
    data = whole.getvalue()
    path.write_bytes(data[:len(data) // 2])
    return data


CUT = "the file is cut short"


@pytest.mark.parametrize("fmt, name, why", [
    ("PNG", "cut.png", f"not a whole PNG image: it ends inside a chunk ({CUT})"),
    ("JPEG", "cut.jpg", f"not a whole JPEG image: it ends before its end marker ({CUT})"),
    ("WEBP", "cut.webp", "not a whole WebP image: it is shorter than its RIFF header "
     f"says ({CUT})"),
], ids=["png", "jpeg", "webp"])
def test_a_cut_input_is_refused_before_the_upload(run, standin, tmp_path, fmt, name, why):
    # A PNG with half its data missing was uploaded (and paid for): its header,
    # all the old checks read, is whole.
    cut_in_half(tmp_path / "in" / name, fmt)
    result = run(["edit", "--image", f"in/{name}", PROMPT])
    assert result.rc == 2, result
    assert result.stderr == f"imagegen: error: --image 'in/{name}': {why}\n"
    assert standin.requests == []
    assert outputs(tmp_path) == []


def test_a_png_without_its_last_chunk_and_a_cut_mask_are_refused(run, standin, tmp_path,
                                                                 inputs):
    photo = (inputs / "photo.png").read_bytes()
    (inputs / "no-iend.png").write_bytes(photo[:-12])
    result = run(["edit", "--image", "in/no-iend.png", PROMPT])
    assert result.stderr == ("imagegen: error: --image 'in/no-iend.png': not a whole PNG "
                             f"image: it ends before its IEND chunk ({CUT})\n")
    mask = (inputs / "mask.png").read_bytes()
    (inputs / "cut-mask.png").write_bytes(mask[:len(mask) - 20])
    result = run(["edit", "--image", "in/photo.png", "--mask", "in/cut-mask.png", PROMPT])
    assert result.rc == 2, result
    assert result.stderr.startswith("imagegen: error: --mask 'in/cut-mask.png': not a "
                                    "whole PNG image: ")
    assert standin.requests == []


def test_a_cut_data_url_is_refused(run, standin, tmp_path):
    data = cut_in_half(tmp_path / "cut.png", "PNG")
    url = "data:image/png;base64," + base64.b64encode(data[:len(data) // 2]).decode()
    result = run(["edit", "--image", url, PROMPT])
    assert result.rc == 2, result
    assert result.stderr == ("imagegen: error: --image: the data: URL is not a whole PNG "
                             f"image: it ends inside a chunk ({CUT})\n")
    assert standin.requests == []


@pytest.mark.parametrize("flag", ["--image", "--mask", "--markup"])
def test_a_fifo_or_a_folder_as_an_input_is_refused_without_waiting(run, standin, tmp_path,
                                                                    inputs, flag):
    # Opening a FIFO to read waited for a writer forever.
    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "folder.png").mkdir()
    model = ["--model", "gpt-image-2.6-flare"] if flag == "--markup" else []
    first = [] if flag == "--image" else ["--image", "in/photo.png"]
    for name, kind in (("pipe.png", "a FIFO (named pipe)"), ("folder.png", "a folder")):
        result = run(["edit", *model, *first, flag, name, PROMPT], timeout=20)
        assert result.rc == 2, result
        assert result.stderr == (f"imagegen: error: {flag} '{name}': {kind}; give an "
                                 "image file\n")
    assert standin.requests == []


def test_edit_without_a_prompt_is_refused(run, standin, tmp_path, inputs):
    result = run(["edit", "--image", "in/photo.png"])
    assert result.rc == 2, result
    # No prompt among the words: it is read from stdin, here /dev/null.
    assert result.stderr == "imagegen: error: standard input: the prompt is empty\n"
    assert result.stdout == ""
    assert standin.requests == []
    assert outputs(tmp_path) == []


def test_the_message_says_what_is_wrong_with_a_gif(run, standin, refusal_folder):
    result = run(["edit", "--image", "in/anim.png", PROMPT])
    assert result.rc == 2, result
    assert "GIF" in result.stderr


def test_the_message_gives_both_sizes_for_a_mask_of_another_size(run, standin,
                                                                refusal_folder):
    result = run(["edit", "--image", "in/photo.png", "--mask", "in/mask-big.png", PROMPT])
    assert result.rc == 2, result
    assert "128x96" in result.stderr and "64x48" in result.stderr


# --- --dry-run


def test_dry_run_multipart_shows_each_part_but_never_its_bytes(run, standin, tmp_path,
                                                               inputs):
    result = run(["edit", "--image", "in/photo.png", "--image", "in/photo.jpg",
                  "--mask", "in/mask.png", PROMPT, "--dry-run"],
                 env={"OPENAI_API_KEY": None})
    assert result.rc == 0, result
    out = result.stdout
    assert f"{standin.url}/images/edits" in out
    assert "multipart/form-data" in out
    for path, field, content_type in [(inputs / "photo.png", "image[]", "image/png"),
                                      (inputs / "photo.jpg", "image[]", "image/jpeg"),
                                      (inputs / "mask.png", "mask", "image/png")]:
        [line] = [line for line in out.splitlines() if path.name in line
                  and field in line]
        assert content_type in line, line
        assert str(path.stat().st_size) in line, line
    assert PROMPT in out
    assert "photo-edit.png" in out
    for secret in (PNG_SIGNATURE, PNG_SIGNATURE_B64, JPEG_START_B64, "IHDR", "JFIF"):
        assert secret not in out, secret
    assert standin.requests == []
    assert outputs(tmp_path) == []


def test_dry_run_json_multipart_gives_one_object_with_the_form(run, standin, tmp_path,
                                                               inputs):
    result = run(["edit", "--image", "in/photo.png", "--mask", "in/mask.png", PROMPT,
                  "--n", "2", "--dry-run", "--json"], env={"OPENAI_API_KEY": None})
    assert result.rc == 0, result
    plan = result.json
    assert plan is not None, result
    assert "form" in plan and "body" not in plan
    assert plan["method"] == "POST"
    assert plan["url"] == f"{standin.url}/images/edits"
    headers = {name.lower(): value for name, value in plan["headers"].items()}
    assert headers["content-type"].startswith("multipart/form-data")
    files = [p for p in plan["form"] if "value" not in p]
    assert [(p["name"], p["filename"], p["content_type"], p["size"]) for p in files] == [
        ("image", "photo.png", "image/png", (inputs / "photo.png").stat().st_size),
        ("mask", "mask.png", "image/png", (inputs / "mask.png").stat().st_size)]
    values = {p["name"]: p["value"] for p in plan["form"] if "value" in p}
    assert values["prompt"] == PROMPT
    assert values["n"] == "2"
    assert plan["outputs"] == ["photo-edit-1.png", "photo-edit-2.png"]
    for secret in (PNG_SIGNATURE_B64, "IHDR"):
        assert secret not in result.stdout
    assert standin.requests == []
    assert outputs(tmp_path) == []


def test_dry_run_json_form_shortens_local_data_urls(run, standin, tmp_path, inputs):
    result = run(["edit", "--image", "in/photo.png", "--image", HTTPS_URL, PROMPT,
                  "--dry-run"], env={"OPENAI_API_KEY": None})
    assert result.rc == 0, result
    out = result.stdout
    assert "application/json" in out
    assert HTTPS_URL in out
    assert "data:image/png" in out
    full = data_url(inputs / "photo.png", "image/png")
    assert full not in out
    assert PNG_SIGNATURE_B64 not in out
    assert "photo-edit.png" in out
    assert standin.requests == []
    assert outputs(tmp_path) == []


def test_dry_run_json_gives_one_object_with_the_body(run, standin, tmp_path, inputs,
                                                     spec):
    result = run(["edit", "--image", "in/photo.jpg", "--image", FILE_ID, "--mask",
                  "https://example.com/m.png", PROMPT, "--dry-run", "--json"],
                 env={"OPENAI_API_KEY": None})
    assert result.rc == 0, result
    plan = result.json
    assert plan is not None, result
    assert "body" in plan and "form" not in plan
    assert plan["url"] == f"{standin.url}/images/edits"
    headers = {name.lower(): value for name, value in plan["headers"].items()}
    assert headers["content-type"].startswith("application/json")
    body = plan["body"]
    first, second = body["images"]
    assert first["image_url"].startswith("data:image/jpeg")
    assert len(first["image_url"]) < 200
    assert second == {"file_id": FILE_ID}
    assert body["mask"] == {"image_url": "https://example.com/m.png"}
    assert body["prompt"] == PROMPT
    assert set(body) <= set(
        spec["components"]["schemas"]["EditImageBodyJsonParam"]["properties"])
    assert plan["outputs"] == ["photo-edit.png"]
    assert standin.requests == []


def test_dry_run_shortens_a_given_data_url_too(run, standin, tmp_path):
    """A data: URL on the command line may be megabytes: --dry-run shortens it."""
    big = save_noise_png(tmp_path / "in" / "noise.png", 96)
    url = data_url(big, "image/png")
    assert len(url) > 30000
    for as_json in (False, True):
        args = ["edit", "--image", url, PROMPT, "--dry-run"] + (["--json"] * as_json)
        result = run(args, env={"OPENAI_API_KEY": None})
        assert result.rc == 0, result
        assert url not in result.stdout
        assert url[22:2000] not in result.stdout
        assert len(result.stdout) < 5000, len(result.stdout)
    assert standin.requests == []


# --- faults


@pytest.mark.parametrize("form", ["multipart", "json"])
def test_a_500_is_retried_with_the_same_upload(run, standin, tmp_path, inputs, form):
    standin.configure(fault="500", fault_count=1)
    args = ["edit", "--image", "in/photo.png", "--image", "in/photo.jpg", "--mask",
            "in/mask.png", PROMPT, "--backoff", "0.05"]
    if form == "json":
        args += ["--image", FILE_ID]
    result = run(args)
    assert result.rc == 0, result
    assert result.lines == ["photo-edit.png"]
    first, second = edit_requests(standin)
    assert len(standin.requests) == 2
    assert first["body"] == second["body"]
    assert first["content_type"].split(";")[0] == second["content_type"].split(";")[0]
    if form == "multipart":
        assert first["body"]["files"] == [
            part(inputs / "photo.png", "image[]", "image/png"),
            part(inputs / "photo.jpg", "image[]", "image/jpeg"),
            part(inputs / "mask.png", "mask", "image/png")]
    else:
        assert full_json_body(first) == full_json_body(second)
    assert outputs(tmp_path) == ["photo-edit.png"]
    assert open_image(tmp_path / "photo-edit.png").size == EDIT_AUTO
    assert temp_files(tmp_path) == []


def test_a_400_on_an_edit_is_not_retried(run, standin, tmp_path, inputs):
    standin.configure(fault="400")
    result = run(["edit", "--image", "in/photo.png", PROMPT, "--backoff", "0.05"])
    assert result.rc == 1, result
    assert len(standin.requests) == 1
    assert result.stdout == ""
    assert "error: the API refused the request (HTTP 400 invalid_request_error)" \
        in result.stderr, result.stderr
    assert "retrying" not in result.stderr
    assert outputs(tmp_path) == []
    assert temp_files(tmp_path) == []
