"""Metadata against the stand-in: the iTXt chunks every saved PNG carries (tool,
prompt as sent, model, parameters, revised prompt, creation time), added after the
image data without re-encoding it; `--no-metadata`; `--sidecar` NAME.json beside any
format; and `imagegen info` (human and --json) reading them back, UTF-8 included."""

import base64
import calendar
import json
import re
import struct
import time
import zlib

import pytest
from PIL import Image

from conftest import REPO, files_in, open_image, temp_files

SMALL = ["--size", "1024x640"]  # the fewest pixels gpt-image-2 takes: a quick image
GENERATIONS = "/v1/images/generations"
PROMPT = "A cute baby sea otter"
SLUG = "a-cute-baby-sea-otter"
UTF8_PROMPT = "Café naïve — 東京の猫 ☕ «ß»"
SIDECAR_KEYS = {"prompt", "model", "parameters", "created", "tool", "file", "usage"}
TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def version():
    """The project's version, from meson.build."""
    text = (REPO / "meson.build").read_text(encoding="utf-8")
    return re.search(r"version\s*:\s*'([^']+)'", text)[1]


def pixels(path):
    image = open_image(path)
    return image.mode, image.size, image.tobytes()


def only_body(standin):
    [body] = [r["body"] for r in standin.requests if r["path"] == GENERATIONS]
    return body


def chunks(data):
    """A PNG's chunks as (type, data) pairs, CRCs checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC on {kind}"
        found.append((kind, body))
        at += 12 + length
    assert at == len(data), "bytes after the last chunk"
    assert found[-1][0] == b"IEND"
    return found


def itxt(body):
    """(keyword, text) of an uncompressed iTXt chunk."""
    keyword, rest = body.split(b"\0", 1)
    flag, method = rest[0], rest[1]
    language, translated, text = rest[2:].split(b"\0", 2)
    assert (flag, method) == (0, 0)
    return keyword.decode("latin-1"), text.decode("utf-8")


def utc_seconds(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def info_json(run, *paths):
    result = run(["info", "--json", *paths])
    assert result.rc == 0, result
    objects = [json.loads(line) for line in result.lines]
    assert len(objects) == len(paths), result.stdout
    return objects


# --- PNG text chunks


def test_a_saved_png_records_how_it_was_made(run, standin, tmp_path):
    started = time.time()
    result = run(["generate", PROMPT, *SMALL, "--quality", "low"])
    assert result.rc == 0, result
    text = open_image(tmp_path / f"{SLUG}.png").text
    body = only_body(standin)
    assert text["Software"] == f"imagegen {version()}"
    assert text["Description"] == body["prompt"] == PROMPT
    assert text["imagegen:model"] == "gpt-image-2"
    parameters = json.loads(text["imagegen:parameters"])
    assert parameters["size"] == "1024x640"
    assert parameters["quality"] == "low"
    assert parameters.get("output_format", "png") == "png"
    assert "prompt" not in parameters
    assert started - 120 <= utc_seconds(text["Creation Time"]) <= time.time() + 120
    assert "imagegen:revised_prompt" not in text


def test_metadata_goes_in_itxt_chunks_after_the_image_data(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL])
    assert result.rc == 0, result
    found = chunks((tmp_path / f"{SLUG}.png").read_bytes())
    kinds = [kind for kind, _ in found]
    texts = [itxt(body) for kind, body in found if kind == b"iTXt"]
    assert {keyword for keyword, _ in texts} >= {"Software", "Description", "Creation Time",
                                                 "imagegen:model", "imagegen:parameters"}
    assert not {b"tEXt", b"zTXt"} & set(kinds)
    # Appended after the last IDAT: the image data is untouched.
    last_idat = max(i for i, kind in enumerate(kinds) if kind == b"IDAT")
    assert all(i > last_idat for i, kind in enumerate(kinds) if kind == b"iTXt")


def test_the_description_is_the_prompt_as_sent(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--scene", "kelp forest",
                  "--lighting", "golden hour"])
    assert result.rc == 0, result
    sent = only_body(standin)["prompt"]
    assert sent != PROMPT and "kelp forest" in sent
    assert open_image(tmp_path / f"{SLUG}.png").text["Description"] == sent


@pytest.mark.compat
def test_dalle3_revised_prompt_is_recorded(run, standin, tmp_path):
    result = run(["generate", PROMPT, "--model", "dall-e-3", "--response-format",
                  "b64_json"])
    assert result.rc == 0, result
    text = open_image(tmp_path / f"{SLUG}.png").text
    assert text["imagegen:revised_prompt"] == f"A detailed, vivid rendering of: {PROMPT}"
    assert text["imagegen:model"] == "dall-e-3"
    assert text["Description"] == PROMPT


@pytest.mark.compat
def test_a_downloaded_dalle3_url_image_records_its_revised_prompt_too(run, standin,
                                                                     tmp_path):
    result = run(["generate", PROMPT, "--model", "dall-e-3", "--sidecar"])
    assert result.rc == 0, result
    text = open_image(tmp_path / f"{SLUG}.png").text
    assert text["imagegen:revised_prompt"] == f"A detailed, vivid rendering of: {PROMPT}"
    sidecar = json.loads((tmp_path / f"{SLUG}.json").read_text())
    assert sidecar["revised_prompt"] == text["imagegen:revised_prompt"]


def test_no_metadata_writes_no_text_chunks(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--no-metadata"])
    assert result.rc == 0, result
    image = open_image(tmp_path / f"{SLUG}.png")
    assert image.text == {}
    kinds = {kind for kind, _ in chunks((tmp_path / f"{SLUG}.png").read_bytes())}
    assert not kinds & set(TEXT_CHUNKS)
    assert files_in(tmp_path) == [f"{SLUG}.png"]


def test_metadata_leaves_the_pixels_and_image_data_as_the_server_sent_them(run, standin,
                                                                          tmp_path):
    tagged = run(["generate", PROMPT, *SMALL, "--out", "tagged.png", "--json"])
    plain = run(["generate", PROMPT, *SMALL, "--out", "plain.png", "--no-metadata"])
    assert tagged.rc == plain.rc == 0, (tagged, plain)
    assert pixels(tmp_path / "tagged.png") == pixels(tmp_path / "plain.png")
    sent = base64.b64decode(tagged.json["data"][0]["b64_json"])
    assert (tmp_path / "plain.png").read_bytes() == sent
    # With metadata: exactly the server's chunks, text chunks added before IEND.
    with_text = chunks((tmp_path / "tagged.png").read_bytes())
    assert [c for c in with_text if c[0] != b"iTXt"] == chunks(sent)


def test_utf8_prompt_round_trips_through_the_png_and_info(run, standin, tmp_path):
    result = run(["generate", UTF8_PROMPT, *SMALL, "--out", "cat.png"])
    assert result.rc == 0, result
    assert only_body(standin)["prompt"] == UTF8_PROMPT
    assert open_image(tmp_path / "cat.png").text["Description"] == UTF8_PROMPT
    [record] = info_json(run, "cat.png")
    assert record["metadata"]["Description"] == UTF8_PROMPT
    human = run(["info", "cat.png"])
    assert human.rc == 0, human
    assert UTF8_PROMPT in human.stdout


def test_every_image_of_n_and_of_a_stream_carries_metadata(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--n", "2", "--partial-images", "1"])
    assert result.rc == 0, result
    for name in result.lines:
        text = open_image(tmp_path / name).text
        assert text["Description"] == PROMPT, name
        assert json.loads(text["imagegen:parameters"])["n"] == 2
        utc_seconds(text["Creation Time"])


def test_a_chroma_key_png_carries_metadata(run, standin, tmp_path):
    result = run(["generate", "a red ball", *SMALL, "--chroma-key"])
    assert result.rc == 0, result
    image = open_image(tmp_path / "a-red-ball.png")
    assert image.mode == "RGBA"
    assert image.text["Description"] == only_body(standin)["prompt"]


def test_a_downscaled_png_copy_carries_the_same_metadata(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--downscale-max-dim", "200"])
    assert result.rc == 0, result
    assert result.lines == [f"{SLUG}.png", f"{SLUG}-web.png"]
    original = open_image(tmp_path / f"{SLUG}.png").text
    copy = open_image(tmp_path / f"{SLUG}-web.png").text
    for keyword in ("Software", "Description", "imagegen:model", "imagegen:parameters"):
        assert copy.get(keyword) == original[keyword], keyword


def test_batch_images_carry_their_own_job_s_metadata(run, standin, tmp_path):
    result = run(["batch", "red fox", "blue whale", *SMALL, "--out-dir", "out",
                  "--no-gallery"])
    assert result.rc == 0, result
    assert open_image(tmp_path / "out/01-red-fox.png").text["Description"] == "red fox"
    whale = open_image(tmp_path / "out/02-blue-whale.png")
    assert whale.text["Description"] == "blue whale"


def test_an_edit_records_its_prompt(run, standin, tmp_path):
    Image.new("RGB", (64, 48), (30, 90, 160)).save(tmp_path / "photo.png")
    result = run(["edit", "--image", "photo.png", "make it night", *SMALL])
    assert result.rc == 0, result
    text = open_image(tmp_path / "photo-edit.png").text
    assert text["Description"] == "make it night"
    assert text["imagegen:model"] == "gpt-image-2"


# --- sidecars


@pytest.mark.parametrize("fmt, ext", [("png", "png"), ("jpeg", "jpg"), ("webp", "webp")])
def test_sidecar_describes_the_image_beside_it(run, standin, tmp_path, fmt, ext):
    result = run(["generate", PROMPT, *SMALL, "--format", fmt, "--sidecar", "--json"])
    assert result.rc == 0, result
    assert files_in(tmp_path) == sorted([f"{SLUG}.{ext}", f"{SLUG}.json"])
    sidecar = json.loads((tmp_path / f"{SLUG}.json").read_text(encoding="utf-8"))
    assert set(sidecar) >= SIDECAR_KEYS
    assert sidecar["prompt"] == PROMPT
    assert sidecar["model"] == "gpt-image-2"
    assert sidecar["parameters"]["size"] == "1024x640"
    assert sidecar["parameters"]["output_format"] == fmt
    assert sidecar["tool"] == f"imagegen {version()}"
    assert sidecar["file"] == f"{SLUG}.{ext}"
    utc_seconds(sidecar["created"])
    usage = result.json["usage"]
    assert sidecar["usage"] == usage   # with its input and output details
    assert temp_files(tmp_path) == []


def test_sidecar_with_no_metadata_still_writes_the_json_only(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--sidecar", "--no-metadata"])
    assert result.rc == 0, result
    assert open_image(tmp_path / f"{SLUG}.png").text == {}
    assert json.loads((tmp_path / f"{SLUG}.json").read_text())["prompt"] == PROMPT


def test_sidecar_is_written_per_image_of_n(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--n", "2", "--sidecar", "--out",
                  "otter.webp"])
    assert result.rc == 0, result
    assert result.lines == ["otter-1.webp", "otter-2.webp"]
    assert files_in(tmp_path) == ["otter-1.json", "otter-1.webp", "otter-2.json",
                                  "otter-2.webp"]
    for i in (1, 2):
        sidecar = json.loads((tmp_path / f"otter-{i}.json").read_text())
        assert sidecar["file"] == f"otter-{i}.webp"


def test_no_sidecar_without_the_flag(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--format", "jpeg"])
    assert result.rc == 0, result
    assert files_in(tmp_path) == [f"{SLUG}.jpg"]


# --- imagegen info


def test_info_prints_what_a_png_records(run, standin, tmp_path):
    made = run(["generate", PROMPT, *SMALL, "--quality", "high"])
    assert made.rc == 0, made
    result = run(["info", f"{SLUG}.png"])
    assert result.rc == 0, result
    assert f"{SLUG}.png" in result.stdout
    for expected in (PROMPT, "gpt-image-2", "1024x640", "high", f"imagegen {version()}"):
        assert expected in result.stdout, expected
    assert "(no imagegen metadata)" not in result.stdout


def test_info_json_gives_one_object_per_file_with_metadata_and_sidecar(run, standin,
                                                                      tmp_path):
    assert run(["generate", PROMPT, *SMALL, "--sidecar"]).rc == 0
    assert run(["generate", "a red kite", *SMALL, "--format", "jpeg", "--sidecar"]).rc == 0
    png, jpeg = info_json(run, f"{SLUG}.png", "a-red-kite.jpg")
    text = open_image(tmp_path / f"{SLUG}.png").text
    assert png["metadata"] == text
    assert png["sidecar"] == json.loads((tmp_path / f"{SLUG}.json").read_text())
    assert png["sidecar"]["prompt"] == PROMPT
    assert jpeg["sidecar"]["prompt"] == "a red kite"
    assert jpeg["sidecar"]["file"] == "a-red-kite.jpg"
    assert not jpeg.get("metadata")


def test_info_reads_a_sidecar_for_a_jpeg(run, standin, tmp_path):
    assert run(["generate", "a red kite", *SMALL, "--format", "jpeg", "--sidecar"]).rc == 0
    result = run(["info", "a-red-kite.jpg"])
    assert result.rc == 0, result
    assert "a red kite" in result.stdout
    assert "gpt-image-2" in result.stdout


def test_info_never_prints_control_characters_from_a_file(run, standin, tmp_path):
    # A crafted file's text chunks could set the window title (OSC) or clear the
    # screen; C1 controls (U+009B is a CSI) drive terminals as ESC does.
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_itxt("prompt", "a cat\x1b]0;pwned\x07 and \u009b31m red\nsecond line\x7f")
    info.add_text("Comment", "x\x1b[2Jy")
    Image.new("RGB", (4, 4)).save(tmp_path / "crafted.png", pnginfo=info)
    (tmp_path / "crafted.json").write_text(json.dumps({"note": "side\u009b31m\x7f"}))
    result = run(["info", "crafted.png"])
    assert result.rc == 0, result
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]", result.stdout), \
        repr(result.stdout)
    assert "  prompt: a cat?]0;pwned? and ?31m red\n    second line?\n" in result.stdout
    assert "  Comment: x?[2Jy\n" in result.stdout
    assert '"note": "side?31m?"' in result.stdout


def test_info_of_a_plain_png_says_it_has_no_metadata(run, standin, tmp_path):
    Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp_path / "plain.png")
    result = run(["info", "plain.png"])
    assert result.rc == 0, result
    assert "(no imagegen metadata)" in result.stdout
    [record] = info_json(run, "plain.png")
    assert not record.get("metadata") and "sidecar" not in record


def test_info_of_a_no_metadata_image_says_so(run, standin, tmp_path):
    assert run(["generate", PROMPT, *SMALL, "--no-metadata"]).rc == 0
    result = run(["info", f"{SLUG}.png"])
    assert result.rc == 0, result
    assert "(no imagegen metadata)" in result.stdout


@pytest.mark.parametrize("args", [["missing.png"], ["--json", "missing.png"], []],
                         ids=["missing", "missing-json", "no-file"])
def test_info_without_a_readable_file_exits_2(run, standin, tmp_path, args):
    result = run(["info", *args])
    assert result.rc == 2, result
    assert result.stdout == ""
    if args:
        assert result.stderr == ("imagegen: error: cannot read 'missing.png':"
                                 " No such file or directory\n")
    else:
        assert result.stderr == "imagegen: error: info: give one or more image files\n"


def test_info_reports_the_files_it_can_read_and_exits_2_for_the_missing_one(run, standin,
                                                                          tmp_path):
    assert run(["generate", PROMPT, *SMALL]).rc == 0
    result = run(["info", "--json", f"{SLUG}.png", "missing.png"])
    assert result.rc == 2, result
    [record] = [json.loads(line) for line in result.lines]
    assert record["metadata"]["Description"] == PROMPT
    assert "missing.png" in result.stderr


@pytest.mark.parametrize("args", [[], ["--json"]], ids=["text", "json"])
def test_info_of_a_file_that_is_not_an_image_exits_2(run, standin, tmp_path, args):
    assert run(["generate", PROMPT, *SMALL]).rc == 0
    (tmp_path / "notes.txt").write_text("a shopping list\n")
    result = run(["info", *args, "notes.txt", f"{SLUG}.png"])
    assert result.rc == 2, result
    assert result.stderr == ("imagegen: error: 'notes.txt' is not an image (info reads "
                             "PNG, JPEG, WebP, GIF and SVG)\n")
    # The image beside it is still described; the text file is not.
    assert "notes.txt" not in result.stdout
    assert PROMPT in result.stdout


def test_info_shows_the_size_and_what_the_record_says_was_paid(run, standin, tmp_path):
    made = run(["generate", PROMPT, *SMALL, "--sidecar", "--json"])
    assert made.rc == 0, made
    usage = made.json["usage"]
    cost = made.json["cost"]["usd"]
    result = run(["info", f"{SLUG}.png"])
    assert result.rc == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == f"{SLUG}.png (png, 1024x640)"
    assert lines[1] == (f"  tokens: {usage['total_tokens']} (in: {usage['input_tokens']}, "
                        f"out: {usage['output_tokens']})")
    assert re.fullmatch(r"  cost: \$(\d+\.\d{4}) \(from usage; prices of \d{4}-\d\d-\d\d\)",
                        lines[2]), lines[2]
    assert float(lines[2].split("$")[1].split()[0]) == pytest.approx(cost, abs=1e-4)
    [record] = info_json(run, f"{SLUG}.png")
    assert record["image"] == {"width": 1024, "height": 640}


@pytest.mark.parametrize("fmt,ext", [("jpeg", "jpg"), ("webp", "webp")])
def test_info_shows_the_size_of_any_still_image_and_its_cost_without_a_sidecar(
        run, standin, tmp_path, fmt, ext):
    assert run(["generate", PROMPT, *SMALL, "--format", fmt]).rc == 0
    Image.new("RGB", (40, 30)).save(tmp_path / f"plain.{ext}")
    result = run(["info", f"{SLUG}.{ext}", f"plain.{ext}"])
    assert result.rc == 0, result
    assert f"{SLUG}.{ext} ({fmt}, 1024x640)\n" in result.stdout
    assert f"plain.{ext} ({fmt}, 40x30)\n" in result.stdout
    assert "tokens:" not in result.stdout   # no record of them without a sidecar
    png = run(["generate", "a red kite", *SMALL])
    assert png.rc == 0, png
    kite = run(["info", "a-red-kite.png"])
    assert "  cost: $" in kite.stdout and "tokens:" not in kite.stdout


def test_the_key_check_finds_a_key_in_any_written_file(tmp_path):
    # The check every test's folder gets (conftest.no_key_in_written_files) would
    # catch a key written in a PNG text chunk, in plain or UTF-16 text.
    from conftest import KEY, assert_no_key_in_files
    sub = tmp_path / "deep" / "thumbs"
    sub.mkdir(parents=True)
    for data in (b"\x89PNG...iTXt" + KEY.encode(), KEY.encode("utf-16-le"),
                 ("key " + KEY[8:30]).encode()):
        (sub / "x.png").write_bytes(data)
        with pytest.raises(AssertionError, match="the API key is in"):
            assert_no_key_in_files(tmp_path)
    (sub / "x.png").unlink()
    assert_no_key_in_files(tmp_path)
