"""Local image work against the stand-in: the downscaled copy (`--downscale-max-dim`,
`--downscale-suffix`), the chroma-key workflow (`--chroma-key`, `--key-color`) on the
stand-in's known chroma pictures, and `imagegen remove-bg` on pictures made here,
checking the alpha of pixels at a known distance from the key (src/chroma.c)."""

import base64
import io
import json
import math
import re

import pytest
from PIL import Image, ImageChops, ImageDraw

from conftest import REPO, files_in, open_image, temp_files
from standin import CHROMA_SUBJECT, chroma_pixel

SMALL = ["--size", "1024x640"]  # the fewest pixels gpt-image-2 takes: a quick image
GENERATIONS = "/v1/images/generations"
# The largest RGB distance: --tolerance and --softness are percentages of it.
MAX_DISTANCE = math.sqrt(3) * 255
GREEN = (0, 255, 0)
MAGENTA = (255, 0, 255)
KEY_INSTRUCTION = "solid {} chroma-key background"


def bodies(standin, path=GENERATIONS):
    return [r["body"] for r in standin.requests if r["path"] == path]


def only_body(standin, path=GENERATIONS):
    [body] = bodies(standin, path)
    return body


def lround(value):
    """C's lround: halves away from zero."""
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


def key_fraction(color, key, tolerance=12.0, softness=10.0):
    """The opacity src/chroma.c gives a colour: 0 within tolerance% of the largest
    distance from the key, 1 beyond tolerance% + softness%, linear between."""
    distance = math.dist(color, key)
    low, ramp = tolerance / 100 * MAX_DISTANCE, softness / 100 * MAX_DISTANCE
    if distance <= low:
        return 0.0
    if ramp <= 0 or distance >= low + ramp:
        return 1.0
    return (distance - low) / ramp


def expected_alpha(color, key, tolerance=12.0, softness=10.0):
    return lround(key_fraction(color, key, tolerance, softness) * 255)


def unmixed(color, key, fraction):
    """A half-transparent pixel's colour with the key's share taken out."""
    return tuple(min(255, max(0, lround((c - (1 - fraction) * k) / fraction)))
                 for c, k in zip(color, key))


def close(got, want, tolerance=1):
    return all(abs(a - b) <= tolerance for a, b in zip(got, want))


# =========================================================================
# Downscaled copies


@pytest.mark.parametrize("size, max_dim, expected", [
    ("1536x1024", 512, [(512, 341), (512, 342)]),
    ("1024x1536", 300, [(200, 300)]),
    ("1024x640", 256, [(256, 160)]),
    ("1024x640", 1024, [(1024, 640)]),    # already fits: same size
    ("1024x640", 4000, [(1024, 640)]),    # never upscaled
], ids=["landscape", "portrait", "exact-ratio", "equal", "no-upscale"])
def test_downscaled_copy_has_its_longer_edge_at_most_n(run, standin, tmp_path, size,
                                                       max_dim, expected):
    result = run(["generate", "a lighthouse", "--size", size,
                  "--downscale-max-dim", max_dim])
    assert result.rc == 0, result
    assert result.lines == ["a-lighthouse.png", "a-lighthouse-web.png"]
    assert files_in(tmp_path) == ["a-lighthouse-web.png", "a-lighthouse.png"]
    original = open_image(tmp_path / "a-lighthouse.png")
    copy = open_image(tmp_path / "a-lighthouse-web.png")
    assert original.size == tuple(map(int, size.split("x")))
    assert copy.size in expected
    assert max(copy.size) == min(max_dim, max(original.size))
    # The aspect ratio is kept to within a pixel.
    width, height = original.size
    assert abs(copy.size[1] - copy.size[0] * height / width) <= 1
    assert "downscale" not in json.dumps(only_body(standin))  # local work only


def test_downscale_suffix_names_the_copy(run, standin, tmp_path):
    result = run(["generate", "a lighthouse", *SMALL, "--downscale-max-dim", "200",
                  "--downscale-suffix", "_small"])
    assert result.rc == 0, result
    assert result.lines == ["a-lighthouse.png", "a-lighthouse_small.png"]
    assert open_image(tmp_path / "a-lighthouse_small.png").size == (200, 125)


def test_downscaled_copy_follows_out_and_out_dir(run, standin, tmp_path):
    result = run(["generate", "a lighthouse", *SMALL, "--downscale-max-dim", "200",
                  "--out", "pics/cat.png"])
    assert result.rc == 0, result
    assert result.lines == ["pics/cat.png", "pics/cat-web.png"]
    assert files_in(tmp_path) == ["pics/cat-web.png", "pics/cat.png"]


def test_every_image_of_n_gets_its_copy(run, standin, tmp_path):
    result = run(["generate", "a lighthouse", *SMALL, "--n", "2",
                  "--downscale-max-dim", "128"])
    assert result.rc == 0, result
    assert sorted(result.lines) == ["a-lighthouse-1-web.png", "a-lighthouse-1.png",
                                    "a-lighthouse-2-web.png", "a-lighthouse-2.png"]
    for i in (1, 2):
        assert open_image(tmp_path / f"a-lighthouse-{i}-web.png").size == (128, 80)
    # Each copy is of its own image.
    assert (open_image(tmp_path / "a-lighthouse-1-web.png").tobytes()
            != open_image(tmp_path / "a-lighthouse-2-web.png").tobytes())


@pytest.mark.parametrize("fmt, ext, pil_format", [
    ("png", "png", "PNG"),
    ("jpeg", "jpg", "JPEG"),
    ("webp", "webp", "WEBP"),
])
def test_downscaled_copy_keeps_the_format(run, standin, tmp_path, fmt, ext, pil_format):
    result = run(["generate", "a lighthouse", "--size", "1536x1024", "--format", fmt,
                  "--downscale-max-dim", "300"])
    assert result.rc == 0, result
    assert result.lines == [f"a-lighthouse.{ext}", f"a-lighthouse-web.{ext}"]
    copy = open_image(tmp_path / f"a-lighthouse-web.{ext}")
    assert (copy.format, copy.size) == (pil_format, (300, 200))
    if fmt == "jpeg":
        assert copy.mode == "RGB"  # a JPEG has no alpha, and the colour is kept
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("fmt, ext, pil_format", [("png", "png", "PNG"),
                                                   ("webp", "webp", "WEBP")])
@pytest.mark.compat
def test_downscaled_copy_keeps_transparency(run, standin, tmp_path, fmt, ext, pil_format):
    result = run(["generate", "a glass teapot", "--model", "gpt-image-1.5", "--size",
                  "1024x1024", "--background", "transparent", "--format", fmt,
                  "--downscale-max-dim", "256"])
    assert result.rc == 0, result
    copy = open_image(tmp_path / f"a-glass-teapot-web.{ext}")
    assert (copy.format, copy.mode, copy.size) == (pil_format, "RGBA", (256, 256))
    alpha = copy.getchannel("A")
    assert alpha.getpixel((0, 0)) == 0          # the stand-in's corners are clear
    assert alpha.getpixel((128, 128)) == 255    # and its middle opaque
    assert alpha.getextrema() == (0, 255)


def test_downscaled_copy_of_a_chroma_key_image_keeps_its_alpha(run, standin, tmp_path):
    result = run(["generate", "a red ball", *SMALL, "--chroma-key",
                  "--downscale-max-dim", "256"])
    assert result.rc == 0, result
    copy = open_image(tmp_path / "a-red-ball-web.png")
    assert (copy.mode, copy.size) == ("RGBA", (256, 160))
    assert copy.getpixel((0, 0))[3] == 0
    assert close(copy.getpixel((128, 80)), (*CHROMA_SUBJECT, 255), 2)


def test_json_mode_leaves_stdout_to_the_response(run, standin, tmp_path):
    result = run(["generate", "a lighthouse", *SMALL, "--downscale-max-dim", "100",
                  "--json"])
    assert result.rc == 0, result
    assert result.json["data"]
    assert "a-lighthouse-web.png" in result.stderr
    assert files_in(tmp_path) == ["a-lighthouse-web.png", "a-lighthouse.png"]


def test_a_streamed_image_gets_its_copy_and_partials_do_not(run, standin, tmp_path):
    result = run(["generate", "a lighthouse", *SMALL, "--partial-images", "2",
                  "--downscale-max-dim", "100"])
    assert result.rc == 0, result
    assert files_in(tmp_path) == ["a-lighthouse-web.png", "a-lighthouse.png"]


def test_batch_writes_a_copy_of_every_image(run, standin, tmp_path):
    result = run(["batch", "red fox", "blue whale", *SMALL, "--downscale-max-dim", "200",
                  "--out-dir", "out", "--no-gallery"])
    assert result.rc == 0, result
    assert sorted(result.lines) == ["out/01-red-fox-web.png", "out/01-red-fox.png",
                                    "out/02-blue-whale-web.png", "out/02-blue-whale.png"]
    for name in ("01-red-fox-web.png", "02-blue-whale-web.png"):
        assert open_image(tmp_path / "out" / name).size == (200, 125)


@pytest.mark.parametrize("args, flag", [
    (["--downscale-max-dim", "0"], "--downscale-max-dim"),
    (["--downscale-max-dim", "big"], "--downscale-max-dim"),
    (["--downscale-max-dim", "100", "--downscale-suffix", ""], "--downscale-suffix"),
    (["--downscale-max-dim", "100", "--downscale-suffix", "a/b"], "--downscale-suffix"),
], ids=["zero", "not-a-number", "empty-suffix", "slash-suffix"])
def test_bad_downscale_options_are_refused_before_any_request(run, standin, tmp_path, args,
                                                              flag):
    result = run(["generate", "a lighthouse", *SMALL, *args])
    assert result.rc == 2, result
    assert flag in result.stderr
    assert standin.stats()["requests"] == 0
    assert files_in(tmp_path) == []


# =========================================================================
# --chroma-key: generate on a flat key colour, remove it locally


def test_chroma_key_asks_for_a_flat_key_background_and_keys_it_out(run, standin, tmp_path):
    result = run(["generate", "a red ball", *SMALL, "--chroma-key"])
    assert result.rc == 0, result
    assert result.stdout == "a-red-ball.png\n"
    body = only_body(standin)
    assert body["prompt"].startswith("a red ball")
    assert KEY_INSTRUCTION.format("#00FF00") in body["prompt"]
    assert "background" not in body   # gpt-image-2 makes opaque images only
    image = open_image(tmp_path / "a-red-ball.png")
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (1024, 640))
    for corner in [(0, 0), (1023, 0), (0, 639), (1023, 639), (512, 0), (0, 320)]:
        assert image.getpixel(corner)[3] == 0, corner
    assert image.getpixel((512, 320)) == (*CHROMA_SUBJECT, 255)
    assert files_in(tmp_path) == ["a-red-ball.png"]
    assert temp_files(tmp_path) == []


def keyed_share(image):
    """The share of an RGBA image's pixels that are not fully opaque, in percent."""
    alpha = image.getchannel("A")
    return 100 * sum(count for value, count in enumerate(alpha.histogram()) if value < 255) \
        / (image.size[0] * image.size[1])


def test_chroma_key_reports_how_much_it_keyed(run, standin, tmp_path):
    result = run(["generate", "a red ball", *SMALL, "--chroma-key"])
    assert result.rc == 0, result
    share = keyed_share(open_image(tmp_path / "a-red-ball.png"))
    assert 80 < share < 95   # the background around a disc of a quarter of the height
    assert re.search(r"imagegen: saved a-red-ball.png 1024x640, \$[0-9.]+; keyed "
                     f"{share:.0f}% of its pixels\n", result.stderr), result.stderr


def test_a_picture_without_a_key_background_is_saved_as_sent_with_a_warning(
        run, standin, tmp_path):
    # A server whose picture had no key colour: keying cut 18,027 pixels out of the
    # subject and said only "saved".  The border is checked first.
    standin.configure(chroma_ignored=True)
    raw = base64.b64decode(json.loads(run(["generate", "a red ball", *SMALL, "--chroma-key",
                                           "--json", "--no-save"]).stdout)
                           ["data"][0]["b64_json"])
    result = run(["generate", "a red ball", *SMALL, "--chroma-key"])
    assert result.rc == 0, result
    assert result.lines == ["a-red-ball.png"]
    warning = re.search(r"imagegen: warning: 'a-red-ball.png': not keyed, saved as sent: "
                        r"only (\d+)% of its border is near the key colour #00FF00, so "
                        r"keying would cut into the picture rather than take a background "
                        r"away\n", result.stderr)
    assert warning and int(warning.group(1)) < 50, result.stderr
    assert "keyed" not in result.stderr.replace("not keyed", "")
    image = open_image(tmp_path / "a-red-ball.png")
    assert image.mode == "RGB"
    assert image.tobytes() == Image.open(io.BytesIO(raw)).convert("RGB").tobytes()
    # Nothing of the keyed image's own (the original copy, the sidecar) is left.
    assert files_in(tmp_path) == ["a-red-ball.png"]


def test_keep_original_keeps_the_image_as_sent_beside_the_keyed_one(run, standin,
                                                                   tmp_path):
    raw = base64.b64decode(json.loads(run(["generate", "a red ball", *SMALL, "--chroma-key",
                                           "--json", "--no-save"]).stdout)
                           ["data"][0]["b64_json"])
    result = run(["generate", "a red ball", *SMALL, "--chroma-key", "--keep-original"])
    assert result.rc == 0, result
    assert result.lines == ["a-red-ball-original.png", "a-red-ball.png"]
    assert ("imagegen: saved a-red-ball-original.png (the image as sent, before keying)\n"
            in result.stderr)
    assert (tmp_path / "a-red-ball-original.png").read_bytes() == raw
    assert open_image(tmp_path / "a-red-ball.png").mode == "RGBA"
    # A second run never overwrites either: both take the next free name.
    again = run(["generate", "a red ball", *SMALL, "--chroma-key", "--keep-original"])
    assert again.lines == ["a-red-ball-2-original.png", "a-red-ball-2.png"]


@pytest.mark.parametrize("args, message", [
    (["--keep-original"], "--keep-original: keeps the image as sent beside the keyed one; "
     "only with --chroma-key"),
    (["--keep-partials"], "--keep-partials: only a stream has partial images to keep; add "
     "--partial-images N"),
], ids=["keep-original-without-chroma-key", "keep-partials-without-partials"])
def test_a_keep_option_with_nothing_to_keep_is_refused(run, standin, tmp_path, args,
                                                       message):
    result = run(["generate", "a red ball", *SMALL, *args])
    assert result.rc == 2, result
    assert result.stderr == f"imagegen: error: {message}\n"
    assert standin.requests == []


@pytest.mark.compat
def test_variation_takes_no_chroma_key_and_its_help_lists_only_what_it_takes(
        run, standin, tmp_path):
    # It was silently ignored: a variation has no prompt to ask for a key colour.
    Image.new("RGB", (256, 256), (30, 90, 160)).save(tmp_path / "icon.png")
    for flag in ("--chroma-key", "--keep-partials", "--keep-original"):
        result = run(["variation", "--image", "icon.png", flag])
        assert result.rc == 2, result
        assert result.stderr.startswith(f"imagegen: error: unknown option '{flag}'")
    assert standin.requests == []
    shown = run(["variation", "--help"]).stdout
    for flag in ("--chroma-key", "--key-color", "--keep-partials", "--keep-original",
                 "--stream", "--prompt", "--quality"):
        assert flag not in shown
    for flag in ("--image", "--out", "--downscale-max-dim", "--sidecar", "--dry-run"):
        assert flag in shown


@pytest.mark.parametrize("noise", [6, 12])
def test_chroma_key_clears_an_uneven_background(run, standin, tmp_path, noise):
    # A real render's background is never exactly the key: here a gradient of
    # +-noise per channel across it and noise on every pixel. All of it goes;
    # the subject stays whole.
    standin.configure(chroma_noise=noise)
    result = run(["generate", "a red ball", *SMALL, "--chroma-key"])
    assert result.rc == 0, result
    raw = Image.open(io.BytesIO(base64.b64decode(json.loads(
        run(["generate", "a red ball", *SMALL, "--chroma-key", "--json", "--no-save"]
            ).stdout)["data"][0]["b64_json"]))).convert("RGB")
    assert raw.getpixel((0, 0)) != raw.getpixel((1023, 0))   # the background is uneven
    image = open_image(tmp_path / "a-red-ball.png")
    alpha = image.getchannel("A")
    width, height = image.size
    background = [alpha.getpixel((x, y)) for x in range(0, width, 8)
                  for y in range(0, height, 8)
                  if math.hypot(x + 0.5 - width / 2, y + 0.5 - height / 2) >
                  min(width, height) // 4 + 4]
    assert max(background) == 0, f"{sum(1 for a in background if a)} background pixels kept"
    assert image.getpixel((512, 320)) == (*CHROMA_SUBJECT, 255)


def test_chroma_key_alpha_follows_the_distance_to_the_key(run, standin, tmp_path):
    result = run(["generate", "a red ball", *SMALL, "--chroma-key"])
    assert result.rc == 0, result
    image = open_image(tmp_path / "a-red-ball.png")
    width, height, radius = 1024, 640, 160
    cx, cy = width // 2, height // 2
    partial = 0
    # Along the row and the column through the centre, both ways, every alpha is
    # the one src/chroma.c gives the stand-in's pixel (default tolerance 12, softness 10).
    line = ([(cx + dx, cy) for dx in range(-radius - 4, radius + 5)]
            + [(cx, cy + dy) for dy in range(-radius - 4, radius + 5)])
    for x, y in line:
        source = chroma_pixel(x, y, width, height, GREEN)
        want = expected_alpha(source, GREEN)
        got = image.getpixel((x, y))[3]
        assert abs(got - want) <= 1, ((x, y), source, got, want)
        partial += 0 < got < 255
    assert partial >= 4, "the antialiased edge has no half-transparent pixels"
    # Nothing outside the disc's edge is visible, everything well inside is opaque.
    alpha = image.getchannel("A")
    left, top, right, bottom = alpha.getbbox()
    assert cx - radius - 1 <= left and right <= cx + radius + 1
    assert cy - radius - 1 <= top and bottom <= cy + radius + 1
    inner = int((radius - 2) / math.sqrt(2))
    core = alpha.crop((cx - inner, cy - inner, cx + inner, cy + inner))
    assert core.getextrema() == (255, 255)


def test_chroma_key_removes_green_spill_from_the_rim(run, standin, tmp_path):
    result = run(["generate", "a red ball", *SMALL, "--chroma-key"])
    assert result.rc == 0, result
    image = open_image(tmp_path / "a-red-ball.png")
    red, green, blue, alpha = image.split()
    # No visible pixel anywhere has more green than its red or blue.
    excess = ImageChops.subtract(green, ImageChops.lighter(red, blue))
    visible = alpha.point(lambda a: 255 if a else 0)
    assert ImageChops.multiply(excess, visible).getbbox() is None
    # The rim the stand-in tinted (200, 70, 40) and its blended edge were really there:
    # the source's edge pixels have far more green than red.
    assert chroma_pixel(512 + 160, 320, 1024, 640, GREEN) == (50, 209, 10)
    assert image.getpixel((512 + 160, 320))[3] > 0


def test_key_color_magenta_keys_out_magenta_and_keeps_the_subject(run, standin, tmp_path):
    result = run(["generate", "a red ball", *SMALL, "--chroma-key",
                  "--key-color", "#FF00FF"])
    assert result.rc == 0, result
    assert KEY_INSTRUCTION.format("#FF00FF") in only_body(standin)["prompt"]
    image = open_image(tmp_path / "a-red-ball.png")
    assert image.mode == "RGBA"
    assert [image.getpixel(c)[3] for c in [(0, 0), (1023, 639), (512, 0)]] == [0, 0, 0]
    # The subject (200, 40, 40) has no magenta tint: removing spill must leave it as it is.
    assert image.getpixel((512, 320)) == (*CHROMA_SUBJECT, 255)
    assert image.getpixel((512 + 100, 320)) == (*CHROMA_SUBJECT, 255)


def test_key_color_alone_means_chroma_key(run, standin, tmp_path):
    result = run(["generate", "a red ball", *SMALL, "--key-color", "#FF00FF"])
    assert result.rc == 0, result
    assert KEY_INSTRUCTION.format("#FF00FF") in only_body(standin)["prompt"]
    image = open_image(tmp_path / "a-red-ball.png")
    assert image.mode == "RGBA", "the key colour was asked for but not removed"
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((512, 320))[3] == 255


def test_chroma_key_as_webp_has_alpha(run, standin, tmp_path):
    result = run(["generate", "a red ball", *SMALL, "--chroma-key", "--format", "webp"])
    assert result.rc == 0, result
    assert result.stdout == "a-red-ball.webp\n"
    assert only_body(standin)["output_format"] == "webp"
    image = open_image(tmp_path / "a-red-ball.webp")
    assert (image.format, image.mode, image.size) == ("WEBP", "RGBA", (1024, 640))
    assert [image.getpixel(c)[3] for c in [(0, 0), (1023, 639), (512, 0)]] == [0, 0, 0]
    assert image.getpixel((512, 320))[3] == 255
    assert close(image.getpixel((512, 320))[:3], CHROMA_SUBJECT, 8)


def test_chroma_key_applies_to_edits(run, standin, tmp_path):
    Image.new("RGB", (64, 48), (30, 90, 160)).save(tmp_path / "photo.png")
    result = run(["edit", "--image", "photo.png", "cut out the ball", *SMALL,
                  "--chroma-key"])
    assert result.rc == 0, result
    [request] = [r for r in standin.requests if r["path"] == "/v1/images/edits"]
    assert KEY_INSTRUCTION.format("#00FF00") in request["body"]["prompt"]
    image = open_image(tmp_path / "photo-edit.png")
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((512, 320)) == (*CHROMA_SUBJECT, 255)


def test_chroma_key_with_a_stream_keys_the_final_image(run, standin, tmp_path):
    result = run(["generate", "a red ball", *SMALL, "--chroma-key",
                  "--partial-images", "1"])
    assert result.rc == 0, result
    assert files_in(tmp_path) == ["a-red-ball.png"]
    image = open_image(tmp_path / "a-red-ball.png")
    assert (image.mode, image.getpixel((0, 0))[3]) == ("RGBA", 0)


@pytest.mark.parametrize("args, words", [
    (["--chroma-key", "--format", "jpeg"], ["jpeg"]),
    (["--chroma-key", "--out", "ball.jpg"], ["jpeg"]),
    (["--chroma-key", "--background", "transparent"], ["--background"]),
    (["--chroma-key", "--key-color", "green"], ["--key-color", "green"]),
    (["--chroma-key", "--key-color", "#00FF0"], ["--key-color"]),
], ids=["jpeg", "jpg-out", "transparent", "colour-name", "five-digits"])
def test_chroma_key_conflicts_are_refused_before_any_request(run, standin, tmp_path, args,
                                                             words):
    result = run(["generate", "a red ball", *SMALL, *args])
    assert result.rc == 2, result
    for word in words:
        assert word in result.stderr
    assert standin.stats()["requests"] == 0
    assert files_in(tmp_path) == []


# =========================================================================
# imagegen remove-bg IN


SUBJECT_BOX = (16, 12, 47, 35)  # inclusive
PROBE = (30, 20)                # a pixel of the subject given its own colour


def keyed_picture(path, background=GREEN, subject=CHROMA_SUBJECT, probe=None,
                  size=(64, 48), fmt=None):
    """A flat background with a rectangle of subject colour; the probe pixel gets
    its own colour when given."""
    image = Image.new("RGB", size, background)
    ImageDraw.Draw(image).rectangle(SUBJECT_BOX, fill=subject)
    if probe is not None:
        image.putpixel(PROBE, probe)
    image.save(path, format=fmt)
    return path


def test_remove_bg_writes_in_nobg_png_with_the_background_transparent(run, standin,
                                                                      tmp_path):
    keyed_picture(tmp_path / "ball.png")
    result = run(["remove-bg", "ball.png"])
    assert result.rc == 0, result
    assert result.stdout == "ball-nobg.png\n"
    assert files_in(tmp_path) == ["ball-nobg.png", "ball.png"]
    image = open_image(tmp_path / "ball-nobg.png")
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (64, 48))
    for corner in [(0, 0), (63, 0), (0, 47), (63, 47), (15, 20), (48, 20)]:
        assert image.getpixel(corner)[3] == 0, corner
    for inside in [(16, 12), (47, 35), (30, 20), (40, 30)]:
        assert image.getpixel(inside) == (*CHROMA_SUBJECT, 255), inside
    assert standin.stats()["requests"] == 0  # local work: no API
    assert temp_files(tmp_path) == []
    # 32x24 of the 64x48 pixels are the subject: the rest, 75%, is keyed.
    assert "imagegen: keyed 75% of the pixels\n" in result.stderr
    assert "warning" not in result.stderr


def test_remove_bg_never_overwrites_the_default_name(run, tmp_path):
    keyed_picture(tmp_path / "ball.png")
    (tmp_path / "ball-nobg.png").write_bytes(b"mine")
    result = run(["remove-bg", "ball.png"])
    assert result.rc == 0, result
    assert result.stdout == "ball-nobg-2.png\n"
    assert (tmp_path / "ball-nobg.png").read_bytes() == b"mine"
    assert open_image(tmp_path / "ball-nobg-2.png").mode == "RGBA"


@pytest.mark.parametrize("key_args", [[], ["--key-color", "auto"]], ids=["default", "auto"])
def test_auto_key_samples_the_border(run, tmp_path, key_args):
    keyed_picture(tmp_path / "card.png", background=MAGENTA, subject=(40, 200, 40))
    result = run(["remove-bg", "card.png", *key_args])
    assert result.rc == 0, result
    assert "FF00FF" in result.stderr.upper()
    image = open_image(tmp_path / "card-nobg.png")
    assert image.getpixel((0, 0))[3] == image.getpixel((63, 47))[3] == 0
    assert image.getpixel((30, 20)) == (40, 200, 40, 255)


def test_auto_key_takes_the_border_median_not_a_stray_pixel(run, tmp_path):
    path = keyed_picture(tmp_path / "card.png", background=MAGENTA, subject=(40, 200, 40))
    image = Image.open(path)
    image.putpixel((0, 0), (255, 255, 255))  # a few stray border pixels
    image.putpixel((63, 0), (0, 0, 0))
    image.save(path)
    result = run(["remove-bg", "card.png"])
    assert result.rc == 0, result
    out = open_image(tmp_path / "card-nobg.png")
    assert out.getpixel((10, 47))[3] == 0
    assert out.getpixel((30, 20))[3] == 255


def test_a_given_key_colour_is_used_instead_of_the_border(run, tmp_path):
    keyed_picture(tmp_path / "card.png", background=MAGENTA, subject=GREEN)
    result = run(["remove-bg", "card.png", "--key-color", "#00FF00"])
    assert result.rc == 0, result
    image = open_image(tmp_path / "card-nobg.png")
    assert image.getpixel((0, 0)) == (*MAGENTA, 255)   # the magenta border stays
    assert image.getpixel((30, 20))[3] == 0            # the green subject goes
    # Keyed as asked, but the border says that is not a background.
    assert ("imagegen: warning: only 0% of the border of 'card.png' is near the key "
            "colour: it has no flat background of that colour, and keying may cut into "
            "the picture\n") in result.stderr
    assert "imagegen: keyed 25% of the pixels\n" in result.stderr


def test_remove_bg_out_webp_writes_webp_with_alpha(run, tmp_path):
    keyed_picture(tmp_path / "ball.png")
    result = run(["remove-bg", "ball.png", "--out", "cut.webp"])
    assert result.rc == 0, result
    assert result.stdout == "cut.webp\n"
    image = open_image(tmp_path / "cut.webp")
    assert (image.format, image.mode) == ("WEBP", "RGBA")
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((30, 20))[3] == 255
    assert close(image.getpixel((30, 20))[:3], CHROMA_SUBJECT, 8)


def test_remove_bg_reads_a_jpeg(run, tmp_path):
    keyed_picture(tmp_path / "ball.jpg", fmt="JPEG")
    result = run(["remove-bg", "ball.jpg"])
    assert result.rc == 0, result
    assert result.stdout == "ball-nobg.png\n"
    image = open_image(tmp_path / "ball-nobg.png")
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((30, 20))[3] == 255


@pytest.mark.parametrize("args, message", [
    (["ball.png", "--out", "cut.jpg"], "cut.jpg"),
    (["ball.png", "--out", "cut.jpeg"], "cut.jpeg"),
    (["ball.png", "--out", "cut.gif"], "cut.gif"),
    (["missing.png"], "missing.png"),
    ([], "input"),
    (["ball.png", "ball.png"], "input"),
    (["ball.png", "--key-color", "green"], "--key-color"),
    (["ball.png", "--tolerance", "101"], "--tolerance"),
    (["ball.png", "--softness", "-1"], "--softness"),
], ids=["jpg", "jpeg", "gif", "missing", "none", "two", "bad-key", "tolerance", "softness"])
def test_remove_bg_refusals_exit_2_and_write_nothing(run, tmp_path, args, message):
    keyed_picture(tmp_path / "ball.png")
    result = run(["remove-bg", *args])
    assert result.rc == 2, result
    assert result.stdout == ""
    assert message in result.stderr
    assert files_in(tmp_path) == ["ball.png"]


def test_an_existing_out_is_refused_unless_force(run, tmp_path):
    keyed_picture(tmp_path / "ball.png")
    (tmp_path / "cut.png").write_bytes(b"mine")
    refused = run(["remove-bg", "ball.png", "--out", "cut.png"])
    assert refused.rc == 2, refused
    assert "cut.png" in refused.stderr and "--force" in refused.stderr
    assert (tmp_path / "cut.png").read_bytes() == b"mine"
    forced = run(["remove-bg", "ball.png", "--out", "cut.png", "--force"])
    assert forced.rc == 0, forced
    assert open_image(tmp_path / "cut.png").mode == "RGBA"


@pytest.mark.parametrize("probe, options, tolerance, softness", [
    ((40, 200, 40), [], 12, 10),
    ((40, 200, 40), ["--tolerance", "5", "--softness", "30"], 5, 30),
    ((40, 200, 40), ["--tolerance", "20"], 20, 10),
    ((40, 200, 40), ["--tolerance", "10", "--softness", "0"], 10, 0),
    ((40, 200, 40), ["--tolerance", "0", "--softness", "50"], 0, 50),
    ((90, 160, 70), ["--softness", "25"], 12, 25),
    ((90, 160, 70), ["--tolerance", "2.5", "--softness", "40"], 2.5, 40),
    ((0, 230, 0), [], 12, 10),
], ids=["default", "soft", "wide-tolerance", "hard-edge", "all-ramp", "softer",
        "fractional", "near-key"])
def test_tolerance_and_softness_set_the_alpha_of_a_known_pixel(run, tmp_path, probe,
                                                               options, tolerance,
                                                               softness):
    keyed_picture(tmp_path / "ball.png", probe=probe)
    result = run(["remove-bg", "ball.png", "--key-color", "#00FF00", *options])
    assert result.rc == 0, result
    image = open_image(tmp_path / "ball-nobg.png")
    want = expected_alpha(probe, GREEN, tolerance, softness)
    got = image.getpixel(PROBE)[3]
    assert abs(got - want) <= 1, (probe, options, got, want)
    # The rest of the picture is unaffected by the probe.
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((40, 30)) == (*CHROMA_SUBJECT, 255)


def test_different_tolerances_give_different_alphas(run, tmp_path):
    keyed_picture(tmp_path / "ball.png", probe=(40, 200, 40))
    alphas = []
    for tolerance in ("2", "8", "14"):
        out = f"t{tolerance}.png"
        result = run(["remove-bg", "ball.png", "--tolerance", tolerance, "--out", out])
        assert result.rc == 0, result
        alphas.append(open_image(tmp_path / out).getpixel(PROBE)[3])
    assert alphas[0] > alphas[1] > alphas[2]


def test_a_half_transparent_pixel_has_the_key_taken_out_of_its_colour(run, tmp_path):
    probe = (40, 200, 40)
    keyed_picture(tmp_path / "ball.png", probe=probe)
    result = run(["remove-bg", "ball.png"])
    assert result.rc == 0, result
    fraction = key_fraction(probe, GREEN)
    assert 0 < fraction < 1
    got = open_image(tmp_path / "ball-nobg.png").getpixel(PROBE)
    assert close(got[:3], unmixed(probe, GREEN, fraction)), got
    assert abs(got[3] - lround(fraction * 255)) <= 1


@pytest.mark.parametrize("probe", [(120, 220, 100), (40, 200, 40)],
                         ids=["opaque", "half-transparent"])
def test_despill_caps_the_key_channel_at_the_others(run, tmp_path, probe):
    keyed_picture(tmp_path / "ball.png", probe=probe)
    plain = run(["remove-bg", "ball.png", "--out", "plain.png"])
    despilled = run(["remove-bg", "ball.png", "--out", "despilled.png", "--despill"])
    assert plain.rc == despilled.rc == 0, (plain, despilled)
    before = open_image(tmp_path / "plain.png").getpixel(PROBE)
    after = open_image(tmp_path / "despilled.png").getpixel(PROBE)
    assert before[1] > max(before[0], before[2]), before   # green spill without --despill
    assert after[1] == max(after[0], after[2]), after       # capped with it
    assert (after[0], after[2], after[3]) == (before[0], before[2], before[3])
    # A subject without spill is left alone.
    assert open_image(tmp_path / "despilled.png").getpixel((40, 30)) == (*CHROMA_SUBJECT,
                                                                          255)


def test_the_man_page_describes_every_option_of_remove_bg(run):
    text = (REPO / "doc" / "imagegen.1").read_text().replace("\\-", "-")
    start = text.index(".SS remove-bg\n")
    section = text[start:text.index("\n.S", start + 1)]
    options = re.findall(r"(--[a-z-]+)", run(["remove-bg", "--help"]).stdout)
    assert "--despill" in options
    assert [o for o in options if o not in section and o != "--help"] == []
