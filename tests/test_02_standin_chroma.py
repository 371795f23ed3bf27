"""Tests of the stand-in's chroma-key pictures: a prompt that asks for a "solid
#RRGGBB chroma-key background" (what `imagegen --chroma-key` appends) gets a flat
background of exactly that colour with a known subject on it, so the tool's local
background removal can be checked pixel by pixel."""

import base64
import io
import json
import math
import os
import sys
import urllib.request

import pytest
from PIL import Image

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)

from standin import (CHROMA_SUBJECT, chroma_key_color, chroma_pixel,  # noqa: E402
                     chroma_spilled)
from standin_fixtures import standin_fixtures  # noqa: E402

KEY = "sk-test-chroma-0123456789"
GREEN = (0, 255, 0)
MAGENTA = (255, 0, 255)


def instruction(color):
    """The sentence imagegen appends (src/cli.c, chroma_instruction), for a key."""
    return (f"Background: a perfectly flat, uniform, solid {color} chroma-key background "
            "filling the whole frame, with no shadows, gradients, texture, reflections or "
            f"lighting falloff on it; keep the subject's edges crisp and use no {color} "
            "anywhere in the subject.")


def chroma_prompt(color="#00FF00", subject="a red ball"):
    return f"{subject}\n{instruction(color)}"


server, standin = standin_fixtures(KEY)


def post(standin, path, body, content_type="application/json"):
    request = urllib.request.Request(
        standin.url + path, data=body,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.headers, response.read()


def generate(standin, **params):
    body = {"model": "gpt-image-2", "size": "1024x640", **params}
    _, raw = post(standin, "/images/generations", json.dumps(body).encode())
    return json.loads(raw)


def decode(b64):
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


def expected_picture(key, width, height):
    """The whole picture chroma_pixel describes, as an RGB image."""
    image = Image.new("RGB", (width, height))
    image.putdata([chroma_pixel(x, y, width, height, key)
                   for y in range(height) for x in range(width)])
    return image


def read_sse_payloads(raw):
    payloads = []
    for block in raw.decode().replace("\r\n", "\n").split("\n\n"):
        data = [line[len("data: "):] for line in block.split("\n")
                if line.startswith("data: ")]
        if data:
            payloads.append(json.loads("\n".join(data)))
    return payloads


# --- which prompts get a chroma-key picture


@pytest.mark.parametrize("prompt, key", [
    (chroma_prompt("#00FF00"), GREEN),
    (chroma_prompt("#FF00FF"), MAGENTA),
    (chroma_prompt("#00ff00"), GREEN),
    (chroma_prompt("#0A1B2C"), (10, 27, 44)),
    ("use a solid #123456 chroma-key background please", (0x12, 0x34, 0x56)),
    ("a red ball on a green background", None),
    ("solid 00FF00 chroma-key background", None),
    ("solid #00FF0 chroma-key background", None),
    ("", None),
], ids=["green", "magenta", "lower-case", "any-colour", "inside-text", "plain-prompt",
        "no-hash", "five-digits", "empty"])
def test_the_key_colour_is_read_from_the_prompt(prompt, key):
    assert chroma_key_color(prompt) == key


@pytest.mark.parametrize("key, spilled", [
    (GREEN, (200, 70, 40)),
    (MAGENTA, (230, 40, 70)),
    ((0, 0, 255), (200, 40, 70)),
])
def test_the_rim_takes_on_the_key_tint(key, spilled):
    assert chroma_spilled(key) == spilled


# --- the picture


@pytest.mark.parametrize("color, key", [("#00FF00", GREEN), ("#FF00FF", MAGENTA)])
def test_every_pixel_of_a_chroma_png_is_the_documented_one(standin, color, key):
    [item] = generate(standin, prompt=chroma_prompt(color), size="1024x640")["data"]
    image = decode(item["b64_json"])
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (1024, 640))
    assert image.tobytes() == expected_picture(key, 1024, 640).tobytes()


def test_chroma_ignored_answers_a_chroma_prompt_with_an_ordinary_picture(standin):
    # A model that does not follow the key instruction: the picture has no key
    # colour anywhere near its border (what --chroma-key must notice).
    standin.configure(chroma_ignored=True)
    [item] = generate(standin, prompt=chroma_prompt())["data"]
    image = decode(item["b64_json"]).convert("RGB")
    assert image.tobytes() != expected_picture(GREEN, 1024, 640).tobytes()
    border = [image.getpixel((x, y)) for x in range(0, 1024, 7) for y in (0, 639)]
    assert all(math.dist(pixel, GREEN) > 100 for pixel in border)


def test_background_is_exactly_the_key_and_the_centre_the_subject(standin):
    image = decode(generate(standin, prompt=chroma_prompt(), size="1536x1024")
                   ["data"][0]["b64_json"]).convert("RGB")
    width, height = image.size
    radius = min(width, height) // 4
    for corner in [(0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1),
                   (width // 2, 0), (0, height // 2)]:
        assert image.getpixel(corner) == GREEN, corner
    assert image.getpixel((width // 2, height // 2)) == CHROMA_SUBJECT
    # Everything farther than radius + 1 from the centre is the key, nothing else.
    outside = {image.getpixel((x, y))
               for x in range(0, width, 7) for y in range(0, height, 7)
               if math.hypot(x + 0.5 - width / 2, y + 0.5 - height / 2) > radius + 1}
    assert outside == {GREEN}


def test_the_edge_blends_from_the_spilled_rim_into_the_key(standin):
    image = decode(generate(standin, prompt=chroma_prompt(), size="1024x640")
                   ["data"][0]["b64_json"])
    cx, cy, radius = 512, 320, 160
    row = [image.getpixel((cx + dx, cy)) for dx in range(radius - 10, radius + 4)]
    # The pixel cx + dx has its centre at distance d = dx + 0.5.
    assert row[:4] == [CHROMA_SUBJECT] * 4                 # d <= r - 6.5: inside
    assert row[4:9] == [(200, 70, 40)] * 5                 # r - 6 < d < r - 1: the rim
    assert row[9] == (150, 116, 30)                        # d = r - 0.5: 3/4 covered
    assert row[10] == (50, 209, 10)                        # d = r + 0.5: 1/4 covered
    assert row[11:] == [GREEN] * 3                         # d > r + 1: the key


def test_jpeg_and_webp_chroma_pictures_are_close_to_the_documented_pixels(standin):
    for fmt in ("jpeg", "webp"):
        image = decode(generate(standin, prompt=chroma_prompt(), output_format=fmt,
                                output_compression=95)["data"][0]["b64_json"])
        assert image.format == fmt.upper()
        for x, y in [(0, 0), (1023, 639), (512, 320), (20, 600)]:
            got = image.convert("RGB").getpixel((x, y))
            want = chroma_pixel(x, y, 1024, 640, GREEN)
            assert max(abs(a - b) for a, b in zip(got, want)) <= 12, (fmt, x, y, got)


def test_every_image_of_n_is_a_chroma_picture(standin):
    items = generate(standin, prompt=chroma_prompt(), n=2)["data"]
    expected = expected_picture(GREEN, 1024, 640).tobytes()
    assert [decode(item["b64_json"]).tobytes() for item in items] == [expected, expected]


def test_a_plain_prompt_still_gets_a_textured_picture(standin):
    image = decode(generate(standin, prompt="a red ball")["data"][0]["b64_json"])
    corners = {image.getpixel(p) for p in [(0, 0), (1023, 0), (0, 639), (1023, 639)]}
    assert corners != {GREEN}
    assert len(set(image.getdata())) > 100


def test_a_streamed_chroma_generation_completes_with_the_chroma_picture(standin):
    body = {"model": "gpt-image-2", "size": "1024x640", "prompt": chroma_prompt(),
            "stream": True, "partial_images": 1}
    headers, raw = post(standin, "/images/generations", json.dumps(body).encode())
    assert headers["Content-Type"].startswith("text/event-stream")
    partial, completed = read_sse_payloads(raw)
    assert completed["type"] == "image_generation.completed"
    assert decode(completed["b64_json"]).tobytes() == \
        expected_picture(GREEN, 1024, 640).tobytes()
    assert decode(partial["b64_json"]).size == (1024, 640)


def test_a_chroma_edit_gets_the_chroma_picture_of_the_requested_size(standin):
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (10, 20, 30)).save(buffer, format="PNG")
    boundary = "chromaboundary"
    parts = [(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
              f"{value}\r\n").encode()
             for name, value in [("model", "gpt-image-2"), ("size", "1024x1024"),
                                 ("prompt", chroma_prompt("#FF00FF"))]]
    parts.append((f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
                  f'filename="in.png"\r\nContent-Type: image/png\r\n\r\n').encode()
                 + buffer.getvalue() + b"\r\n")
    raw = b"".join(parts) + f"--{boundary}--\r\n".encode()
    _, reply = post(standin, "/images/edits", raw,
                    f"multipart/form-data; boundary={boundary}")
    image = decode(json.loads(reply)["data"][0]["b64_json"])
    assert image.size == (1024, 1024)
    assert image.tobytes() == expected_picture(MAGENTA, 1024, 1024).tobytes()
