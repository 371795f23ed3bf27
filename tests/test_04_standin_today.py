"""The stand-in answers as OpenAI does today (../shared/reference/images-api-2026-11.md
§1.2, §2.0-§2.2, §3), and only the compat knob brings back a compatible server of the
seeds' days: model required, shut-down and unknown models and variations answered 404
model_not_found, the size rules of gpt-image-2 and later, no dall-e parameters, and
input_fidelity only where the 1.x models took it."""

import io
import json
import os
import sys
import urllib.request
import uuid

import pytest
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from standin_fixtures import fetch, standin_fixtures  # noqa: E402

KEY = "sk-test-today-0123456789"
server, standin = standin_fixtures(KEY)

SHUT_DOWN = ["dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1.5",
             "gpt-image-1.5-2025-12-16", "gpt-image-1-mini", "chatgpt-image-latest"]
LIVE = ["gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-2.5-sunburst",
        "gpt-image-2.5-flare-2026-09-08", "gpt-image-2.6-sunburst", "gpt-image-2.6-flare"]


def post(standin, path, body):
    request = urllib.request.Request(
        standin.url + path, data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"})
    return fetch(request)


def generate(standin, **body):
    return post(standin, "/images/generations", {"prompt": "a lighthouse", **body})


def form(fields, files):
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                      f"\r\n\r\n{value}\r\n".encode())
    for name, data in files:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                      f'filename="{name}.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
                      + data + b"\r\n")
    return b"".join(chunks) + f"--{boundary}--\r\n".encode(), boundary


def post_form(standin, path, fields, files):
    raw, boundary = form(fields, files)
    request = urllib.request.Request(
        standin.url + path, data=raw,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                 "Authorization": f"Bearer {KEY}"})
    return fetch(request)


def png(size=(64, 64), mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


def error_of(reply):
    return reply.status, reply.error().get("code"), reply.error().get("param")


def test_model_is_required(standin):
    assert error_of(generate(standin, size="1024x1024")) == \
        (400, "missing_required_parameter", "model")
    reply = post_form(standin, "/images/edits", {"prompt": "x"}, [("image", png())])
    assert error_of(reply) == (400, "missing_required_parameter", "model")


@pytest.mark.parametrize("model", SHUT_DOWN)
def test_a_shut_down_model_is_not_found(standin, model):
    reply = generate(standin, model=model, size="1024x1024")
    assert error_of(reply) == (404, "model_not_found", "model")
    assert model in reply.error()["message"]


@pytest.mark.parametrize("model", LIVE)
def test_a_live_model_is_answered(standin, model):
    reply = generate(standin, model=model, size="1024x640")
    assert reply.status == 200, reply.body[:300]


def test_an_unknown_model_is_not_found(standin):
    assert error_of(generate(standin, model="acme-image-7")) == \
        (404, "model_not_found", "model")


def test_variations_are_gone(standin):
    reply = post_form(standin, "/images/variations", {"model": "dall-e-2"},
                      [("image", png())])
    assert error_of(reply) == (404, "model_not_found", "model")


@pytest.mark.parametrize("size, words", [
    ("1000x1000", "multiples of 16"), ("4096x1024", "at most 3840"),
    ("3072x1008", "3:1"), ("512x512", "between 655360"), ("3840x2176", "between"),
])
def test_gpt_image_2_sizes_follow_the_rules(standin, size, words):
    reply = generate(standin, model="gpt-image-2", size=size)
    assert error_of(reply) == (400, "invalid_value", "size")
    assert words in reply.error()["message"]


@pytest.mark.parametrize("size", ["auto", "1024x640", "3840x2160", "2160x3840", "1024x1024"])
def test_gpt_image_2_takes_sizes_in_the_rules(standin, size):
    assert generate(standin, model="gpt-image-2", size=size).status == 200


def test_a_gif_frame_may_be_smaller_than_a_picture(standin):
    reply = generate(standin, model="gpt-image-2.6-flare", size="256x256",
                     output_format="gif", frame_count=2)
    assert reply.status == 200, reply.body[:300]


@pytest.mark.parametrize("extra, param", [
    ({"style": "vivid"}, "style"), ({"response_format": "url"}, "response_format"),
    ({"quality": "hd"}, "quality"), ({"quality": "standard"}, "quality"),
])
def test_dall_e_parameters_are_refused_on_gpt_image_models(standin, extra, param):
    reply = generate(standin, model="gpt-image-2", size="1024x1024", **extra)
    assert reply.status == 400 and reply.error()["param"] == param, reply.body[:300]


def test_input_fidelity_is_refused_from_gpt_image_2_on(standin):
    reply = post_form(standin, "/images/edits",
                      {"model": "gpt-image-2", "prompt": "x", "input_fidelity": "high"},
                      [("image", png())])
    assert error_of(reply) == (400, "unsupported_parameter", "input_fidelity")


def test_an_edit_with_size_auto_meets_the_pixel_minimum(standin):
    reply = post_form(standin, "/images/edits", {"model": "gpt-image-2", "prompt": "x"},
                      [("image", png((64, 48)))])
    assert reply.status == 200, reply.body[:300]
    w, h = map(int, reply.json()["size"].split("x"))
    assert w * h >= 655360 and w % 16 == 0 and h % 16 == 0


@pytest.mark.compat
@pytest.mark.parametrize("model", SHUT_DOWN + ["acme-image-7"])
def test_compat_answers_the_older_models(standin, model):
    size = "256x256" if model == "dall-e-2" else "1024x1024"
    assert generate(standin, model=model, size=size).status == 200


@pytest.mark.compat
def test_compat_keeps_the_older_defaults(standin):
    reply = generate(standin, size="256x256")   # no model: dall-e-2, as the spec had it
    assert reply.status == 200, reply.body[:300]
    reply = post_form(standin, "/images/variations", {"model": "dall-e-2"},
                      [("image", png())])
    assert reply.status == 200, reply.body[:300]


def test_compat_stays_for_the_test_that_asked_for_it(standin):
    standin.reset(baseline={"compat": True})
    standin.reset()
    assert standin.config.compat is True        # a reset in a compat test keeps it
    standin.reset(baseline={})
    assert standin.config.compat is False
