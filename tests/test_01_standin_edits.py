"""Tests of the stand-in's edits (multipart and JSON), variations and streams."""

import base64
import binascii
import contextlib
import hashlib
import http.client
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from PIL import Image

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)

from standin_fixtures import Reply as BaseReply, fetch, standin_fixtures  # noqa: E402

# The older models and variations: a compatible server of the seeds' days.
pytestmark = pytest.mark.compat

KEY = "sk-test-0123456789abcdef"
# A compatible server's own model (not in the stand-in's table): any size up to
# 8192 px, so the tests below whose size is incidental keep their images small.
OWN_MODEL = "studio-image-1"
OCTET_STREAM_MESSAGE = (
    "Invalid file 'image': unsupported mimetype ('application/octet-stream'). Supported "
    "file formats are 'image/jpeg', 'image/png', and 'image/webp'.")


server, standin = standin_fixtures(KEY)


# --- requests and replies


class Reply(BaseReply):
    def events(self):
        return read_sse(self.body)


def send(url, raw, content_type, key=KEY, timeout=10):
    headers = {"Content-Type": content_type} if content_type else {}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=raw, headers=headers)
    return fetch(request, timeout, Reply)


def image_bytes(width=64, height=48, color=(200, 40, 40), mode="RGB", fmt="PNG"):
    buffer = io.BytesIO()
    fill = color if mode != "RGBA" else (*color, 0)
    Image.new(mode, (width, height), fill).save(buffer, format=fmt)
    return buffer.getvalue()


def png(width=64, height=48, color=(200, 40, 40), mode="RGB"):
    return image_bytes(width, height, color, mode)


def mask_png(width=64, height=48):
    return png(width, height, (0, 0, 0), "RGBA")


def png_file(data=None, field="image", filename="in.png"):
    return (field, filename, "image/png", png() if data is None else data)


def multipart(fields=(), files=()):
    """(body, content type): fields are (name, text), files (name, filename,
    content type or None, bytes)."""
    boundary = "----standin-test-" + secrets.token_hex(8)
    chunks = []
    for name, value in fields:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                      f"\r\n\r\n{value}\r\n".encode())
    for name, filename, content_type, data in files:
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\n')
        if content_type is not None:
            head += f"Content-Type: {content_type}\r\n"
        chunks.append(head.encode() + b"\r\n" + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def edit_form(standin, fields=None, files=None, key=KEY, prompt="make it blue"):
    """A multipart edit; fields is a dict or list of pairs (prompt added unless
    given), files defaults to one PNG as `image`."""
    pairs = list(fields.items()) if isinstance(fields, dict) else list(fields or [])
    if prompt is not None and "prompt" not in dict(pairs):
        pairs.insert(0, ("prompt", prompt))
    raw, content_type = multipart(pairs, [png_file()] if files is None else files)
    return send(standin.url + "/images/edits", raw, content_type, key)


def edit_json(standin, images, key=KEY, **params):
    body = {"model": "gpt-image-2", "prompt": "make it blue", "images": images, **params}
    return send(standin.url + "/images/edits", json.dumps(body).encode(),
                "application/json", key)


def variation(standin, fields=None, files=None, key=KEY):
    pairs = list((fields or {}).items())
    files = [png_file(png(64, 64))] if files is None else files
    raw, content_type = multipart(pairs, files)
    return send(standin.url + "/images/variations", raw, content_type, key)


def generate(standin, **params):
    body = {"model": "gpt-image-2", "prompt": "a lighthouse", "size": "64x64", **params}
    return send(standin.url + "/images/generations", json.dumps(body).encode(),
                "application/json")


def decode(b64):
    return Image.open(io.BytesIO(base64.b64decode(b64, validate=True)))


def data_url(data, mimetype="image/png"):
    return f"data:{mimetype};base64," + base64.b64encode(data).decode()


def assert_invalid(reply, param, code=None):
    assert reply.status == 400, reply.body[:300]
    error = reply.error()
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    return error


# --- a small Server-Sent Events reader (the WHATWG rules the client must follow)


def read_sse(raw):
    """Events of a complete stream: dicts with event, data, id.  An event without
    its ending blank line (a cut stream) is dropped, as the spec says."""
    lines = re.split(r"\r\n|\r|\n", raw.decode("utf-8"))[:-1]  # last: unterminated
    events, data, name, last_id = [], [], None, None
    for line in lines:
        if not line:
            if data:
                events.append({"event": name or "message", "data": "\n".join(data),
                               "id": last_id})
            data, name = [], None
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            last_id = value
    return events


def payloads(events):
    return [json.loads(event["data"]) for event in events]


def names(events):
    return [event["event"] for event in events]


def stream_generation(standin, **params):
    return generate(standin, stream=True, **params)


def raw_post(standin, path, body, timeout=10):
    """POST JSON over a plain socket; returns (head, list of body chunks as read)."""
    raw = json.dumps(body).encode()
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}"
               f"\r\nContent-Type: application/json\r\nContent-Length: {len(raw)}\r\n\r\n")
    chunks = []
    with socket.create_connection(("127.0.0.1", standin.port), timeout=timeout) as sock:
        sock.sendall(request.encode() + raw)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, _ = data.partition(b"\r\n\r\n")
    # Chunks as the client read them, the head cut off the first.
    body_chunks, skip = [], len(head) + 4
    for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        body_chunks.append(chunk[skip:])
        skip = 0
    return head.decode(), body_chunks


# --- multipart edits


def assert_auto_size(size, width, height):
    """size auto on gpt-image-2: the input's shape, in 16-px steps, about a megapixel
    (within the model's pixel bounds)."""
    w, h = map(int, size.split("x"))
    assert w % 16 == 0 and h % 16 == 0, size
    assert 655360 <= w * h <= 8294400 and abs(w * h - 1024 * 1024) < 0.1 * 1024 * 1024, size
    assert abs(w / h - width / height) < 0.02 * width / height, size


def test_multipart_edit_with_one_image(standin):
    reply = edit_form(standin, {"model": "gpt-image-2"},
                      [png_file(png(96, 64))])
    assert reply.status == 200, reply.body[:300]
    response = reply.json()
    assert_auto_size(response["size"], 96, 64)
    assert (response["output_format"], response["background"]) == ("png", "opaque")
    assert response["quality"] == "medium"
    [item] = response["data"]
    image = decode(item["b64_json"])
    assert (image.format, "%dx%d" % image.size) == ("PNG", response["size"])
    usage = response["usage"]
    details = usage["input_tokens_details"]
    assert details["image_tokens"] > 0
    assert usage["input_tokens"] == details["text_tokens"] + details["image_tokens"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_multipart_edit_with_two_images_and_explicit_size(standin):
    files = [png_file(png(color=(1, 2, 3)), "image[]", "a.png"),
             png_file(png(color=(4, 5, 6)), "image[]", "b.png")]
    reply = edit_form(standin, {"model": OWN_MODEL, "size": "128x96", "output_format": "webp",
                                "n": "2"}, files)
    assert reply.status == 200, reply.body[:300]
    response = reply.json()
    assert len(response["data"]) == 2
    assert all(decode(item["b64_json"]).format == "WEBP" for item in response["data"])
    assert decode(response["data"][0]["b64_json"]).size == (128, 96)
    one = edit_form(standin, {"model": OWN_MODEL}).json()["usage"]["input_tokens_details"]
    assert response["usage"]["input_tokens_details"]["image_tokens"] == 2 * one["image_tokens"]


def test_sixteen_images_are_accepted_and_seventeen_refused(standin):
    files = [png_file(png(16, 16, (i, i, i)), "image[]", f"{i}.png") for i in range(17)]
    assert edit_form(standin, files=files[:16]).status == 200
    error = assert_invalid(edit_form(standin, files=files), "image",
                           "array_above_max_length")
    assert "16" in error["message"]


def test_edit_output_depends_on_prompt_and_input_bytes(standin):
    def first(color=(9, 9, 9), prompt="make it blue"):
        reply = edit_form(standin, files=[png_file(png(color=color))], prompt=prompt)
        return reply.json()["data"][0]["b64_json"]
    assert first() == first()
    assert first() != first(color=(10, 9, 9))
    assert first() != first(prompt="make it red")
    plain = generate(standin, prompt="make it blue", size="64x48").json()
    assert first() != plain["data"][0]["b64_json"]


@pytest.mark.parametrize("fmt, mimetype", [("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_jpeg_and_webp_inputs_are_accepted(standin, fmt, mimetype):
    data = image_bytes(fmt=fmt)
    reply = edit_form(standin, files=[("image", "in.img", mimetype, data)])
    assert reply.status == 200, reply.body[:300]


def test_octet_stream_image_is_refused_like_the_api(standin):
    reply = edit_form(standin, files=[("image", "in.png", "application/octet-stream",
                                       png())])
    assert assert_invalid(reply, "image", "unsupported_file_mimetype")["message"] == \
        OCTET_STREAM_MESSAGE


def test_file_part_without_content_type_is_refused(standin):
    reply = edit_form(standin, files=[("image", "in.png", None, png())])
    assert assert_invalid(reply, "image", "unsupported_file_mimetype")


def test_undecodable_image_is_refused(standin):
    reply = edit_form(standin, files=[("image", "in.png", "image/png",
                                       b"\x89PNG\r\n\x1a\nnot really")])
    assert_invalid(reply, "image", "invalid_image_format")
    whole = png()
    truncated = whole[: len(whole) // 2]  # cut inside the image data
    reply = edit_form(standin, files=[("image", "in.png", "image/png", truncated)])
    assert_invalid(reply, "image", "invalid_image_format")


def test_content_type_must_match_the_bytes(standin):
    reply = edit_form(standin, files=[("image", "in.jpg", "image/jpeg", png())])
    assert "PNG" in assert_invalid(reply, "image", "invalid_image_format")["message"]


def test_mask_checks(standin):
    image = png_file(png(64, 48))

    def with_mask(data, content_type="image/png"):
        return edit_form(standin, files=[image, ("mask", "m.png", content_type, data)])

    assert with_mask(mask_png(64, 48)).status == 200
    error = assert_invalid(with_mask(mask_png(32, 32)), "mask", "invalid_image_dimensions")
    assert "32x32" in error["message"] and "64x48" in error["message"]
    error = assert_invalid(with_mask(png(64, 48)), "mask", "invalid_image_format")
    assert "alpha" in error["message"]
    assert_invalid(with_mask(image_bytes(64, 48, fmt="JPEG"), "image/jpeg"), "mask",
                   "invalid_image_format")
    twice = [image, ("mask", "m.png", "image/png", mask_png()),
             ("mask", "m.png", "image/png", mask_png())]
    assert_invalid(edit_form(standin, files=twice), "mask", "duplicate_parameter")


def test_mask_applies_to_the_first_of_several_images(standin):
    files = [png_file(png(64, 48), "image[]"), png_file(png(100, 100), "image[]"),
             ("mask", "m.png", "image/png", mask_png(64, 48))]
    assert edit_form(standin, files=files).status == 200


@pytest.mark.parametrize("fields, param, code", [
    ({"colour": "red"}, "colour", "unknown_parameter"),
    ({"n": "abc"}, "n", "invalid_value"),
    ({"n": "11"}, "n", "invalid_value"),
    ({"n": "0"}, "n", "invalid_value"),
    ({"quality": "ultra"}, "quality", "invalid_value"),
    ({"stream": "maybe"}, "stream", "invalid_value"),
    ({"partial_images": "4"}, "partial_images", "invalid_value"),
    ({"input_fidelity": "medium"}, "input_fidelity", "invalid_value"),
    ({"output_compression": "101"}, "output_compression", "invalid_value"),
    ({"size": "huge"}, "size", "invalid_value"),
    ({"background": "transparent", "output_format": "jpeg"}, "background", "invalid_value"),
    ({"prompt": ""}, "prompt", "invalid_value"),
    ([("prompt", "a"), ("prompt", "b")], "prompt", "duplicate_parameter"),
])
def test_multipart_text_fields_are_checked(standin, fields, param, code):
    assert_invalid(edit_form(standin, fields), param, code)


def test_multipart_typed_fields_are_converted(standin):
    reply = edit_form(standin, {"n": "2", "quality": "high", "moderation": "low",
                                "input_fidelity": "high", "user": "u-1",
                                "output_compression": "50", "output_format": "jpeg",
                                "stream": "false", "partial_images": "0"})
    assert reply.status == 200, reply.body[:300]
    response = reply.json()
    assert len(response["data"]) == 2
    assert response["quality"] == "high"
    assert decode(response["data"][0]["b64_json"]).format == "JPEG"


def test_prompt_and_image_are_required(standin):
    assert_invalid(edit_form(standin, prompt=None), "prompt", "missing_required_parameter")
    assert_invalid(edit_form(standin, files=[]), "image", "missing_required_parameter")


def test_file_and_text_fields_cannot_swap(standin):
    assert_invalid(edit_form(standin, {"image": "cat.png"}, files=[]), "image")
    reply = edit_form(standin, prompt=None,
                      files=[png_file(), ("prompt", "p.txt", "text/plain", b"hi")])
    assert_invalid(reply, "prompt")


def test_image_and_image_brackets_cannot_be_mixed(standin):
    reply = edit_form(standin, files=[png_file(), png_file(field="image[]")])
    assert_invalid(reply, "image")


def test_edit_needs_key_before_body_checks(standin):
    assert edit_form(standin, {"colour": "red"}, key=None).status == 401
    assert edit_form(standin, {"colour": "red"}, key="sk-wrong-0123456789").status == 401


@pytest.mark.parametrize("raw, content_type", [
    (b"--x\r\nno headers here", "multipart/form-data; boundary=x"),
    (b"anything", "multipart/form-data"),
    (b"prompt=x", "application/x-www-form-urlencoded"),
    (b"{broken", "application/json"),
])
def test_unparseable_edit_bodies_are_refused(standin, raw, content_type):
    reply = send(standin.url + "/images/edits", raw, content_type)
    assert reply.status == 400
    assert reply.error()["type"] == "invalid_request_error"
    [request] = standin.requests
    assert request["body"] is None


# --- dall-e-2 edits


def dalle_edit(standin, files, **fields):
    return edit_form(standin, {"model": "dall-e-2", "size": "256x256", **fields}, files)


@pytest.mark.parametrize("model, size", [("dall-e-2", "300x300"), ("dall-e-2", "auto"),
                                         ("gpt-image-1.5", "64x64"),
                                         ("gpt-image-1-mini", "1792x1024")])
def test_an_edit_keeps_to_its_models_sizes(standin, model, size):
    # A model OpenAI has shut down took its fixed sizes only (a server's own any).
    files = [png_file(png(64, 64))]
    error = assert_invalid(edit_form(standin, {"model": model, "size": size}, files),
                           "size", "invalid_value")
    assert f"'{size}'" in error["message"]


def test_an_edit_for_a_servers_own_model_takes_any_size(standin):
    reply = edit_form(standin, {"model": OWN_MODEL, "size": "300x200"},
                      [png_file(png(64, 64))])
    assert reply.status == 200, reply.body[:300]
    assert decode(reply.json()["data"][0]["b64_json"]).size == (300, 200)


def test_dalle2_edit_answers_with_urls(standin):
    reply = dalle_edit(standin, [png_file(png(64, 64))], n="2")
    assert reply.status == 200, reply.body[:300]
    response = reply.json()
    assert set(response) == {"created", "data"}
    [first, second] = [item["url"] for item in response["data"]]
    assert first != second
    download = send(first, None, None, key=None)
    image = Image.open(io.BytesIO(download.body))
    assert (download.status, image.format, image.size) == (200, "PNG", (256, 256))
    b64 = dalle_edit(standin, [png_file(png(64, 64))], response_format="b64_json").json()
    assert decode(b64["data"][0]["b64_json"]).size == (256, 256)
    default = edit_form(standin, {"model": "dall-e-2", "response_format": "b64_json"},
                        [png_file(png(64, 64))]).json()
    assert decode(default["data"][0]["b64_json"]).size == (1024, 1024)


def test_dalle2_edit_rules(standin):
    square = png_file(png(64, 64))
    assert_invalid(dalle_edit(standin, [square, square]), "image")
    assert_invalid(dalle_edit(standin, [png_file(png(64, 48))]), "image")
    jpeg = ("image", "in.jpg", "image/jpeg", image_bytes(64, 64, fmt="JPEG"))
    assert_invalid(dalle_edit(standin, [jpeg]), "image", "invalid_image_format")
    big = io.BytesIO()
    Image.new("RGB", (1200, 1200)).save(big, format="PNG", compress_level=0)
    assert len(big.getvalue()) > 4 * 1024 * 1024
    assert_invalid(dalle_edit(standin, [png_file(big.getvalue())]), "image",
                   "file_too_large")
    assert_invalid(dalle_edit(standin, [square], stream="true"), "stream")
    # The same large file is fine for a GPT image model.
    assert edit_form(standin, files=[png_file(big.getvalue())]).status == 200


# --- JSON edits


def test_json_edit_with_https_url(standin):
    url = "https://example.com/source-image.png"
    reply = edit_json(standin, [{"image_url": url}])
    assert reply.status == 200, reply.body[:300]
    response = reply.json()
    assert response["size"] == "1024x1024"  # size auto, nothing decodable
    assert response["usage"]["input_tokens_details"]["image_tokens"] == 765
    [request] = standin.requests
    assert request["body"]["images"] == [{"image_url": url}]
    assert request["content_type"] == "application/json"


def test_json_edit_with_data_url(standin):
    url = data_url(png(80, 48))
    reply = edit_json(standin, [{"image_url": url}])
    assert reply.status == 200, reply.body[:300]
    assert_auto_size(reply.json()["size"], 80, 48)
    [request] = standin.requests
    recorded = request["body"]["images"][0]["image_url"]
    assert recorded == f"{url[:100]}...({len(url)} chars)"


def test_json_edit_with_file_id_and_mask(standin):
    reply = edit_json(standin, [{"file_id": "file-abc123"}], mask={"file_id": "file-m1"},
                      size="1024x1536")
    assert reply.status == 200, reply.body[:300]
    assert decode(reply.json()["data"][0]["b64_json"]).size == (1024, 1536)


def test_json_edit_with_mixed_references(standin):
    images = [{"image_url": data_url(image_bytes(64, 48, fmt="WEBP"), "image/webp")},
              {"image_url": "https://example.com/b.png"}, {"file_id": "file-xyz"}]
    reply = edit_json(standin, images, mask={"image_url": data_url(mask_png(64, 48))},
                      n=2, output_format="jpeg")
    assert reply.status == 200, reply.body[:300]
    response = reply.json()
    assert_auto_size(response["size"], 64, 48)
    assert len(response["data"]) == 2
    assert response["usage"]["input_tokens_details"]["image_tokens"] > 2 * 765
    # Different references give different pictures.
    other = edit_json(standin, images[:2], n=2, output_format="jpeg").json()
    assert other["data"][0]["b64_json"] != response["data"][0]["b64_json"]


@pytest.mark.parametrize("images, extra, param, code", [
    ([], {}, "images", "empty_array"),
    ([{"file_id": "file-a"}] * 17, {}, "images", "array_above_max_length"),
    ("file-a", {}, "images", "invalid_value"),
    (["https://example.com/a.png"], {}, "images[0]", "invalid_value"),
    ([{"image_url": "https://e.com/a.png", "file_id": "file-a"}], {}, "images[0]",
     "invalid_value"),
    ([{}], {}, "images[0]", "invalid_value"),
    ([{"url": "https://e.com/a.png"}], {}, "images[0].url", "unknown_parameter"),
    ([{"image_url": "http://e.com/a.png"}], {}, "images[0].image_url", "invalid_value"),
    ([{"image_url": "ftp://e.com/a.png"}], {}, "images[0].image_url", "invalid_value"),
    ([{"image_url": "data:image/png;base64,@@@"}], {}, "images[0].image_url",
     "invalid_value"),
    ([{"image_url": "data:image/png,plain"}], {}, "images[0].image_url", "invalid_value"),
    ([{"image_url": "data:image/png;base64,aGVsbG8="}], {}, "images[0].image_url",
     "invalid_image_format"),
    ([{"file_id": "abc"}], {}, "images[0].file_id", "invalid_value"),
    ([{"file_id": "file-a"}], {"response_format": "url"}, "response_format",
     "unknown_parameter"),
    ([{"file_id": "file-a"}], {"image": "x"}, "image", "unknown_parameter"),
    ([{"file_id": "file-a"}], {"model": "dall-e-2"}, "model", "invalid_value"),
    ([{"file_id": "file-a"}], {"quality": "standard"}, "quality", "invalid_value"),
    ([{"file_id": "file-a"}], {"n": "2"}, "n", "invalid_value"),
    ([{"file_id": "file-a"}], {"mask": {"file_id": "bad"}}, "mask.file_id",
     "invalid_value"),
])
def test_json_edit_checks(standin, images, extra, param, code):
    assert_invalid(edit_json(standin, images, **extra), param, code)


def test_json_edit_data_url_mimetype(standin):
    url = "data:application/octet-stream;base64," + base64.b64encode(png()).decode()
    assert_invalid(edit_json(standin, [{"image_url": url}]), "images[0].image_url",
                   "unsupported_file_mimetype")


def test_json_edit_requires_prompt_and_images(standin):
    raw = json.dumps({"images": [{"file_id": "file-a"}]}).encode()
    reply = send(standin.url + "/images/edits", raw, "application/json")
    assert_invalid(reply, "prompt", "missing_required_parameter")
    raw = json.dumps({"prompt": "x"}).encode()
    reply = send(standin.url + "/images/edits", raw, "application/json")
    assert_invalid(reply, "images", "missing_required_parameter")


def test_json_edit_mask_checks_with_data_urls(standin):
    image = [{"image_url": data_url(png(64, 48))}]
    wrong_size = {"image_url": data_url(mask_png(32, 32))}
    assert_invalid(edit_json(standin, image, mask=wrong_size), "mask.image_url",
                   "invalid_image_dimensions")
    no_alpha = {"image_url": data_url(png(64, 48))}
    assert_invalid(edit_json(standin, image, mask=no_alpha), "mask.image_url",
                   "invalid_image_format")
    # Against an image the stand-in does not fetch, only the mask's own checks apply.
    url = [{"image_url": "https://example.com/a.png"}]
    assert edit_json(standin, url, mask=wrong_size).status == 200
    assert_invalid(edit_json(standin, url, mask=no_alpha), "mask.image_url")


# --- variations


def test_variation_answers_with_urls_and_b64(standin):
    reply = variation(standin, {"n": "2", "size": "256x256"})
    assert reply.status == 200, reply.body[:300]
    response = reply.json()
    assert set(response) == {"created", "data"}
    urls = [item["url"] for item in response["data"]]
    assert len(set(urls)) == 2
    image = Image.open(io.BytesIO(send(urls[1], None, None, key=None).body))
    assert (image.format, image.size) == ("PNG", (256, 256))
    response = variation(standin, {"model": "dall-e-2", "response_format": "b64_json",
                                   "size": "512x512", "user": "u"}).json()
    assert decode(response["data"][0]["b64_json"]).size == (512, 512)
    assert "usage" not in response


def test_variation_depends_on_the_input(standin):
    def first(color):
        files = [png_file(png(64, 64, color))]
        return variation(standin, {"response_format": "b64_json", "size": "256x256"},
                         files).json()["data"][0]["b64_json"]
    assert first((1, 1, 1)) == first((1, 1, 1)) != first((2, 1, 1))


@pytest.mark.parametrize("fields, files, param, code", [
    ({}, [png_file(png(64, 48))], "image", "invalid_value"),
    ({}, [("image", "a.jpg", "image/jpeg", image_bytes(64, 64, fmt="JPEG"))], "image",
     "unsupported_file_mimetype"),
    ({}, [("image", "a.webp", "image/png", image_bytes(64, 64, fmt="WEBP"))], "image",
     "invalid_image_format"),
    ({"model": "gpt-image-1"}, None, "model", "invalid_value"),
    ({"size": "300x300"}, None, "size", "invalid_value"),
    ({"size": "1536x1024"}, None, "size", "invalid_value"),
    ({"n": "11"}, None, "n", "invalid_value"),
    ({"response_format": "png"}, None, "response_format", "invalid_value"),
    ({"prompt": "x"}, None, "prompt", "unknown_parameter"),
    ({"stream": "true"}, None, "stream", "unknown_parameter"),
    ({}, [], "image", "missing_required_parameter"),
    ({}, [png_file(png(64, 64)), png_file(png(64, 64))], "image", "duplicate_parameter"),
])
def test_variation_checks(standin, fields, files, param, code):
    assert_invalid(variation(standin, fields, files), param, code)


def test_variation_needs_multipart(standin):
    reply = send(standin.url + "/images/variations", b'{"image": "x"}', "application/json")
    assert reply.status == 400
    assert reply.error()["code"] == "invalid_content_type"


# --- recording


def test_multipart_recording_format(standin):
    first, second, mask = png(64, 48, (1, 1, 1)), png(64, 48, (2, 2, 2)), mask_png()
    files = [("image[]", "a.png", "image/png", first),
             ("image[]", "b.png", "image/png", second),
             ("mask", "m.png", "image/png", mask)]
    assert edit_form(standin, {"n": "2", "model": "gpt-image-2"}, files).status == 200
    [request] = standin.requests
    assert request["path"] == "/v1/images/edits"
    assert request["content_type"].startswith("multipart/form-data; boundary=")
    assert request["content_type"] == request["headers"]["content-type"]
    assert request["body"] == {
        "prompt": "make it blue", "n": "2", "model": "gpt-image-2",
        "files": [{"field": field, "filename": filename, "content_type": content_type,
                   "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                  for field, filename, content_type, data in files]}
    assert f"<{len(first)} bytes>" in request["raw"]
    assert 'name="mask"; filename="m.png"' in request["raw"]
    assert "IHDR" not in request["raw"]


def test_refused_requests_are_recorded_too(standin):
    edit_form(standin, {"colour": "red"}, key="sk-bad")
    variation(standin, {"n": "99"})
    first, second = standin.requests
    assert first["headers"]["authorization"] == "Bearer sk-bad"
    assert first["body"]["colour"] == "red"
    assert second["path"] == "/v1/images/variations"
    assert second["body"]["n"] == "99"
    assert second["body"]["files"][0]["field"] == "image"


# --- faults on the new endpoints


@pytest.mark.parametrize("fault, status", [("503", 503), ("429", 429), ("quota", 429),
                                           ("moderation", 400), ("500", 500)])
def test_error_faults_apply_to_edits_and_variations(standin, fault, status):
    standin.configure(fault=fault, fault_count=3)
    replies = [edit_form(standin), edit_json(standin, [{"file_id": "file-a"}]),
               variation(standin), edit_form(standin)]
    assert [reply.status for reply in replies] == [status] * 3 + [200]
    assert all(reply.headers["x-request-id"].startswith("req_") for reply in replies)


def test_body_faults_apply_to_edits_and_variations(standin):
    standin.configure(fault="invalid_b64")
    with pytest.raises(binascii.Error):
        base64.b64decode(edit_form(standin).json()["data"][0]["b64_json"], validate=True)
    reply = variation(standin, {"response_format": "b64_json"})
    with pytest.raises(binascii.Error):
        base64.b64decode(reply.json()["data"][0]["b64_json"], validate=True)
    standin.configure(fault="invalid_json")
    with pytest.raises(ValueError):
        edit_form(standin).json()
    standin.configure(fault="truncate")
    raw, content_type = multipart([("prompt", "x")], [png_file()])
    with contextlib.closing(http.client.HTTPConnection("127.0.0.1", standin.port,
                                                       timeout=10)) as connection:
        connection.request("POST", "/v1/images/edits", raw,
                           {"Authorization": f"Bearer {KEY}", "Content-Type": content_type})
        response = connection.getresponse()
        with pytest.raises(http.client.IncompleteRead):
            response.read()


def test_reset_and_rpm_limit_apply_to_variations(standin):
    standin.configure(fault="reset", fault_count=1)
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        variation(standin)
    assert variation(standin).status == 200
    standin.configure(fault=None, rpm_limit=1)
    assert [variation(standin).status for _ in range(2)] == [200, 429]


def test_stream_faults_skip_and_do_not_count_plain_requests(standin):
    standin.configure(fault="stream_error", fault_count=1)
    assert edit_form(standin).status == 200
    assert variation(standin).status == 200
    assert generate(standin).status == 200
    events = stream_generation(standin).events()
    assert names(events)[-1] == "error"
    assert names(stream_generation(standin).events()) == ["image_generation.completed"]


# --- streams


def check_event(payload, kind, size="64x64", output_format="png"):
    assert payload["size"] == size
    assert (payload["quality"], payload["background"]) == ("medium", "opaque")
    assert payload["output_format"] == output_format
    assert isinstance(payload["created_at"], int)
    image = decode(payload["b64_json"])
    assert image.format == output_format.upper()
    assert image.size == tuple(map(int, size.split("x")))
    assert payload["type"].startswith(kind + ".")


def test_generation_stream(standin):
    reply = stream_generation(standin, partial_images=2)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/event-stream")
    assert "Content-Length" not in reply.headers
    assert reply.headers["Connection"] == "close"
    assert reply.headers["x-request-id"].startswith("req_")
    events = reply.events()
    assert names(events) == ["image_generation.partial_image"] * 2 + [
        "image_generation.completed"]
    partial0, partial1, completed = payloads(events)
    assert [p["type"] for p in payloads(events)] == names(events)
    assert (partial0["partial_image_index"], partial1["partial_image_index"]) == (0, 1)
    for payload in (partial0, partial1, completed):
        check_event(payload, "image_generation")
    assert len({partial0["b64_json"], partial1["b64_json"], completed["b64_json"]}) == 3
    plain = generate(standin, partial_images=2).json()
    assert completed["b64_json"] == plain["data"][0]["b64_json"]
    assert completed["usage"] == plain["usage"]
    assert "usage" not in partial0 and "partial_image_index" not in completed
    assert reply.body.startswith(b"event: image_generation.partial_image\ndata: {")


def test_stream_without_partials_is_one_event(standin):
    events = stream_generation(standin, partial_images=0).events()
    assert names(events) == ["image_generation.completed"]


def well_formed_usage(usage):
    """A completed event's usage, as any response's: every count a whole number,
    the details adding up to their totals, input and output to the total.  What
    the counts cover when n > 1 (this image's, or the request's) is no claim: no
    reference documents it, so the stand-in can send either (stream_usage)."""
    assert set(usage) == {"input_tokens", "input_tokens_details", "output_tokens",
                          "output_tokens_details", "total_tokens"}, usage
    counts = [usage["input_tokens"], usage["output_tokens"], usage["total_tokens"],
              *usage["input_tokens_details"].values(),
              *usage["output_tokens_details"].values()]
    assert all(type(count) is int and count >= 0 for count in counts), usage
    assert set(usage["input_tokens_details"]) == {"text_tokens", "image_tokens"}, usage
    assert set(usage["output_tokens_details"]) == {"text_tokens", "image_tokens"}, usage
    assert sum(usage["input_tokens_details"].values()) == usage["input_tokens"], usage
    assert sum(usage["output_tokens_details"].values()) == usage["output_tokens"], usage
    assert usage["input_tokens"] + usage["output_tokens"] == usage["total_tokens"], usage
    assert usage["output_tokens"] > 0, usage   # each completed event is an image


@pytest.mark.parametrize("shape", ["split", "total"])
def test_stream_of_several_images(standin, shape):
    standin.configure(stream_usage=shape)
    events = stream_generation(standin, n=2, partial_images=1).events()
    assert names(events) == ["image_generation.partial_image",
                             "image_generation.completed"] * 2
    items = payloads(events)
    assert [item.get("partial_image_index") for item in items] == [0, None, 0, None]
    assert items[1]["b64_json"] != items[3]["b64_json"]
    plain = generate(standin, n=2).json()
    assert [items[1]["b64_json"], items[3]["b64_json"]] == [
        item["b64_json"] for item in plain["data"]]
    for completed in (items[1], items[3]):
        well_formed_usage(completed["usage"])


@pytest.mark.parametrize("partial_images", [1, 3])
def test_the_odd_index_fault_sends_each_odd_index_once_for_each_image(standin,
                                                                     partial_images):
    # However many partial images were asked for, each image gets one for each odd
    # value, in order; 3 is the first index past the API's 0 to 2.
    standin.configure(fault="stream_odd_index")
    events = stream_generation(standin, n=2, partial_images=partial_images).events()
    assert names(events) == (["image_generation.partial_image"] * 5
                             + ["image_generation.completed"]) * 2
    items = payloads(events)
    assert [item.get("partial_image_index") for item in items] == \
        [-1, 10 ** 15, "1", 0.5, 3, None] * 2
    for item in items:
        check_event(item, "image_generation")   # real images, the fault aside
    without = stream_generation(standin, n=1, partial_images=0).events()
    assert names(without) == ["image_generation.completed"]


def test_stream_in_webp_with_transparency(standin):
    events = stream_generation(standin, partial_images=1, output_format="webp",
                               background="transparent").events()
    for payload in payloads(events):
        assert payload["background"] == "transparent"
        image = decode(payload["b64_json"])
        assert (image.format, image.mode) == ("WEBP", "RGBA")


def test_multipart_edit_stream(standin):
    reply = edit_form(standin, {"model": OWN_MODEL, "stream": "true", "partial_images": "1",
                                "size": "64x64"})
    assert reply.status == 200, reply.body[:300]
    events = reply.events()
    assert names(events) == ["image_edit.partial_image", "image_edit.completed"]
    for payload in payloads(events):
        check_event(payload, "image_edit")
    usage = payloads(events)[1]["usage"]
    assert usage["input_tokens_details"]["image_tokens"] > 0


def test_json_edit_stream(standin):
    reply = edit_json(standin, [{"file_id": "file-a"}], stream=True, partial_images=3,
                      size="1024x1024", quality="low")
    events = reply.events()
    assert names(events) == ["image_edit.partial_image"] * 3 + ["image_edit.completed"]
    assert [p.get("partial_image_index") for p in payloads(events)] == [0, 1, 2, None]


def test_stream_works_with_curl(standin):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("no curl")
    body = json.dumps({"model": "gpt-image-2", "prompt": "x", "size": "64x64",
                       "stream": True, "partial_images": 1})
    completed = subprocess.run(
        [curl, "-sS", "-N", "--fail-with-body", "-H", f"Authorization: Bearer {KEY}",
         "-H", "Content-Type: application/json", "-d", body,
         standin.url + "/images/generations"], capture_output=True, timeout=20)
    assert completed.returncode == 0, completed.stderr
    assert names(read_sse(completed.stdout)) == ["image_generation.partial_image",
                                                 "image_generation.completed"]


def test_stream_crlf(standin):
    standin.configure(fault="stream_crlf")
    reply = stream_generation(standin, partial_images=1)
    assert reply.body.count(b"\r\n") == 6
    assert b"\n" not in reply.body.replace(b"\r\n", b"")
    assert names(reply.events()) == ["image_generation.partial_image",
                                     "image_generation.completed"]
    assert [decode(p["b64_json"]).size for p in payloads(reply.events())] == [(64, 64)] * 2


def test_stream_split_arrives_in_awkward_pieces(standin):
    standin.configure(fault="stream_split", stream_interval=0)
    head, chunks = raw_post(standin, "/v1/images/generations", {
        "model": "gpt-image-2", "prompt": "x", "size": "64x64", "stream": True,
        "partial_images": 1})
    assert head.startswith("HTTP/1.1 200")
    assert "content-length" not in head.lower()
    assert len(chunks) > 12  # the pieces really came as separate reads
    pairs = zip(chunks, chunks[1:])
    assert any(a.endswith(b"\r") and b.startswith(b"\n") for a, b in pairs)
    assert any(a.endswith(b"da") for a in chunks)  # cut inside a field name
    body = b"".join(chunks)
    assert b"\r\n" in body and re.search(rb"[^\r]\n", body)  # events in both line ends
    events = read_sse(body)
    assert names(events) == ["image_generation.partial_image", "image_generation.completed"]
    payload = payloads(events)[-1]
    assert decode(payload["b64_json"]).size == (64, 64)
    standin.configure(fault=None)
    plain = generate(standin, prompt="x").json()
    assert payload["b64_json"] == plain["data"][0]["b64_json"]


def test_stream_error_event(standin):
    standin.configure(fault="stream_error")
    reply = edit_form(standin, {"model": OWN_MODEL, "stream": "true", "size": "64x64"})
    events = reply.events()
    assert names(events) == ["image_edit.partial_image", "error"]
    partial, error = payloads(events)
    assert partial["partial_image_index"] == 0
    assert error["type"] == "error"
    assert error["error"]["type"] == "server_error"
    assert error["error"]["code"] and error["error"]["message"]
    assert reply.headers["x-request-id"] in error["error"]["message"]


def test_stream_truncated_after_a_partial(standin):
    standin.configure(fault="stream_truncated")
    reply = stream_generation(standin, partial_images=2, n=2)
    assert reply.status == 200
    assert names(reply.events()) == ["image_generation.partial_image"] * 2
    assert reply.body.endswith(b"\n\n")


def test_stream_malformed_data_line(standin):
    standin.configure(fault="stream_malformed")
    events = stream_generation(standin, partial_images=1, n=2).events()
    assert names(events) == ["image_generation.partial_image",
                             "image_generation.completed"] * 2
    json.loads(events[0]["data"])
    with pytest.raises(ValueError):
        json.loads(events[1]["data"])
    assert json.loads(events[3]["data"])["type"] == "image_generation.completed"


def test_stream_comments_and_ids(standin):
    standin.configure(fault="stream_comments")
    reply = stream_generation(standin, partial_images=2)
    assert reply.body.count(b": keep-alive\n\n") == 2
    assert reply.body.startswith(b"id: 0\nevent: image_generation.partial_image\n:")
    events = reply.events()
    assert names(events) == ["image_generation.partial_image"] * 2 + [
        "image_generation.completed"]
    assert [event["id"] for event in events] == ["0", "1", "2"]
    assert all(json.loads(event["data"]) for event in events)


def test_stream_truncate_and_invalid_b64_faults(standin):
    standin.configure(fault="truncate")
    normal_length = 0
    reply = stream_generation(standin, partial_images=1)
    assert reply.status == 200
    standin.configure(fault=None)
    normal_length = len(stream_generation(standin, partial_images=1).body)
    assert len(reply.body) == normal_length // 2
    assert not reply.body.endswith(b"\n\n")
    standin.configure(fault="invalid_b64")
    for payload in payloads(stream_generation(standin, partial_images=1).events()):
        with pytest.raises(binascii.Error):
            base64.b64decode(payload["b64_json"], validate=True)
    standin.configure(fault="invalid_json")
    events = stream_generation(standin).events()
    with pytest.raises(ValueError):
        json.loads(events[0]["data"])


def test_error_faults_come_before_a_stream(standin):
    standin.configure(fault="503", fault_count=1)
    reply = stream_generation(standin)
    assert reply.status == 503
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.error()["type"] == "server_error"
    assert stream_generation(standin).status == 200


def test_latency_before_the_first_event_and_interval_between_events(standin):
    standin.configure(latency=0.2, stream_interval=0.15)
    body = json.dumps({"model": "gpt-image-2", "prompt": "x", "size": "64x64",
                       "stream": True, "partial_images": 2})
    with contextlib.closing(http.client.HTTPConnection("127.0.0.1", standin.port,
                                                       timeout=10)) as connection:
        started = time.monotonic()
        connection.request("POST", "/v1/images/generations", body,
                           {"Authorization": f"Bearer {KEY}",
                            "Content-Type": "application/json"})
        response = connection.getresponse()
        arrivals = []
        for line in iter(response.readline, b""):
            if line.startswith(b"event:"):
                arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 3
    assert arrivals[0] >= 0.2
    assert arrivals[1] - arrivals[0] >= 0.12 and arrivals[2] - arrivals[1] >= 0.12
    assert standin.stats()["inflight"] == 0


def test_stream_interval_knob_is_checked(standin):
    with pytest.raises(ValueError, match="stream_interval"):
        standin.configure(stream_interval=-1)
    standin.configure(stream_interval="0.01")
    assert standin.config.stream_interval == 0.01
