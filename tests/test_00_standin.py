"""Tests of the stand-in server itself: it is test equipment, so it must be right."""

import base64
import binascii
import contextlib
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from PIL import Image

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)

from standin_fixtures import Reply, fetch, standin_fixtures  # noqa: E402

# The older models and variations: a compatible server of the seeds' days.
pytestmark = pytest.mark.compat

KEY = "sk-test-0123456789abcdef"


server, standin = standin_fixtures(KEY)


def call(url, body=None, *, key=KEY, raw=None, timeout=10):
    """POST body as JSON (or raw bytes), or GET when there is neither."""
    if raw is None and body is not None:
        raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=raw, headers=headers)
    return fetch(request, timeout)


def generate(standin, prompt="a lighthouse at dusk", *, key=KEY, timeout=10, **params):
    body = {"model": "gpt-image-2", "prompt": prompt, **params}
    return call(standin.url + "/images/generations", body, key=key, timeout=timeout)


def small(standin, prompt="a small picture", **params):
    """A quick generation: a tiny image, for tests about everything but images."""
    return generate(standin, prompt, size="64x64", **params)


def control(standin, action, body=None):
    """GET /_control/ACTION, or POST body to it."""
    return call(f"{standin.origin}/_control/{action}", body, key=None)


def decode(item):
    return Image.open(io.BytesIO(base64.b64decode(item["b64_json"], validate=True)))


def connect(standin):
    """A persistent HTTP connection to the stand-in, closed on leaving a with block."""
    return contextlib.closing(http.client.HTTPConnection("127.0.0.1", standin.port,
                                                         timeout=10))


def post_on(connection, body, key=KEY):
    """Send a generation on an open connection; returns the response, body unread."""
    connection.request("POST", "/v1/images/generations", json.dumps(body),
                       {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    return connection.getresponse()


def wait_until_idle(standin, timeout=5.0):
    """Wait for requests the server is still working on (after a client gave up)."""
    deadline = time.monotonic() + timeout
    while standin.stats()["inflight"] and time.monotonic() < deadline:
        time.sleep(0.02)


# --- authentication


def test_missing_key_is_refused_with_401(standin):
    reply = generate(standin, key=None)
    assert reply.status == 401
    assert reply.error()["code"] == "invalid_api_key"


def test_wrong_key_is_refused_without_echoing_it(standin):
    wrong = "sk-wrong-key-0123456789"
    reply = generate(standin, key=wrong)
    assert reply.status == 401
    error = reply.error()
    assert error == {"message": error["message"], "type": "invalid_request_error",
                     "param": None, "code": "invalid_api_key"}
    assert error["message"].startswith("Incorrect API key provided")
    assert wrong not in reply.body.decode()


def test_echo_key_quotes_the_wrong_key_whole_as_some_servers_do(standin):
    # For testing that a client never prints a key a server echoes back.
    standin.configure(echo_key=True)
    wrong = "sk-wrong-key-0123456789"
    reply = generate(standin, key=wrong)
    assert reply.status == 401
    assert reply.error()["message"] == (f"Incorrect API key provided: Bearer {wrong}. You "
                                        "can find your API key in your account settings.")


# --- successful generations


def test_default_generation_is_a_1024_square_png_with_usage(standin):
    reply = generate(standin, "a red fox in the snow, watercolour")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    response = reply.json()
    assert isinstance(response["created"], int)
    assert response["background"] == "opaque"
    assert response["output_format"] == "png"
    assert response["quality"] == "medium"
    assert response["size"] == "1024x1024"
    usage = response["usage"]
    assert usage["input_tokens_details"] == {"text_tokens": usage["input_tokens"],
                                             "image_tokens": 0}
    assert usage["output_tokens_details"]["image_tokens"] == usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    [item] = response["data"]
    image = decode(item)
    assert (image.format, image.size, image.mode) == ("PNG", (1024, 1024), "RGB")
    assert len(base64.b64decode(item["b64_json"])) > 100_000


@pytest.mark.parametrize("output_format, background, pil_format, mode", [
    ("png", "transparent", "PNG", "RGBA"),
    ("webp", "transparent", "WEBP", "RGBA"),
    ("webp", "auto", "WEBP", "RGB"),
    ("jpeg", "opaque", "JPEG", "RGB"),
])
def test_format_and_background_are_honoured(standin, output_format, background,
                                             pil_format, mode):
    reply = generate(standin, "a glass teapot", size="640x400",
                     output_format=output_format, background=background)
    response = reply.json()
    assert response["output_format"] == output_format
    assert response["background"] == ("transparent" if background == "transparent"
                                      else "opaque")
    image = decode(response["data"][0])
    assert (image.format, image.size, image.mode) == (pil_format, (640, 400), mode)
    if mode == "RGBA":
        assert image.getchannel("A").getextrema() == (0, 255)


@pytest.mark.parametrize("size, expected", [
    ("auto", (1024, 1024)),
    ("1536x864", (1536, 864)),
    ("100x37", (100, 37)),
])
def test_size_is_honoured(standin, size, expected):
    response = generate(standin, "a paper boat", size=size).json()
    assert decode(response["data"][0]).size == expected
    assert response["size"] == "{}x{}".format(*expected)


# The models OpenAI has shut down took fixed sizes only, and the compatible server
# of their days holds them to those lists (standin.HISTORICAL_SIZES): a client
# that sends one of them another size must see the API's 400.
SIZES_OF_THEIR_DAYS = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "gpt-image-1": ("1024x1024", "1536x1024", "1024x1536", "auto"),
    "gpt-image-1-mini": ("1024x1024", "1536x1024", "1024x1536", "auto"),
    "gpt-image-1.5": ("1024x1024", "1536x1024", "1024x1536", "auto"),
}
OFF_THEIR_LISTS = {
    "dall-e-2": ("1024x1536", "128x128", "auto"),
    "dall-e-3": ("512x512", "1536x1024", "auto"),
    "gpt-image-1": ("256x256", "1792x1024", "640x400"),
    "gpt-image-1-mini": ("512x512", "1024x1792", "2048x2048"),
    "gpt-image-1.5": ("256x256", "1024x1792", "1536x864"),
}


@pytest.mark.parametrize("model, size", [(model, size) for model, sizes
                                         in SIZES_OF_THEIR_DAYS.items() for size in sizes])
def test_a_shut_down_model_takes_each_size_of_its_list(standin, model, size):
    body = {"model": model, "prompt": "a paper boat", "size": size, "quality": "low"}
    if model.startswith("dall-e"):
        body.update(response_format="b64_json", quality="standard")
    reply = call(standin.url + "/images/generations", body)
    assert reply.status == 200, reply.body[:300]
    expected = (1024, 1024) if size == "auto" else tuple(map(int, size.split("x")))
    assert decode(reply.json()["data"][0]).size == expected


@pytest.mark.parametrize("model, size", [(model, size) for model, sizes
                                         in OFF_THEIR_LISTS.items() for size in sizes])
def test_a_shut_down_model_refuses_a_size_off_its_list(standin, model, size):
    reply = call(standin.url + "/images/generations",
                 {"model": model, "prompt": "a paper boat", "size": size})
    assert reply.status == 400
    error = reply.error()
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error", "size", "invalid_value")
    assert f"'{size}'" in error["message"]
    assert all(f"'{listed}'" in error["message"] for listed in SIZES_OF_THEIR_DAYS[model])


def test_dalle_without_a_size_makes_a_1024_square(standin):
    for model in ("dall-e-2", "dall-e-3"):
        reply = call(standin.url + "/images/generations",
                     {"model": model, "prompt": "a paper boat", "response_format": "b64_json"})
        assert reply.status == 200, reply.body[:300]
        assert decode(reply.json()["data"][0]).size == (1024, 1024)


def test_a_servers_own_model_takes_any_size(standin):
    reply = call(standin.url + "/images/generations",
                 {"model": "studio-image-1", "prompt": "a paper boat", "size": "100x37"})
    assert reply.status == 200, reply.body[:300]
    assert decode(reply.json()["data"][0]).size == (100, 37)


def test_largest_size_is_drawn(standin):
    # How fast it is drawn is measured in bench/, not asserted here.
    response = generate(standin, "a city skyline at night", size="3840x2160").json()
    assert decode(response["data"][0]).size == (3840, 2160)


def test_images_depend_on_the_prompt_only(standin):
    first = small(standin, "a green apple").json()["data"][0]["b64_json"]
    again = small(standin, "a green apple").json()["data"][0]["b64_json"]
    other = small(standin, "a blue pear").json()["data"][0]["b64_json"]
    assert first == again
    assert first != other


def test_n_images_are_distinct(standin):
    response = small(standin, "three kittens", n=3).json()
    images = [item["b64_json"] for item in response["data"]]
    assert len(images) == 3 == len(set(images))
    assert all(decode(item).size == (64, 64) for item in response["data"])


def test_usage_grows_with_pixels_and_quality(standin):
    def output_tokens(**params):
        return small(standin, "tokens", **params).json()["usage"]["output_tokens"]
    assert output_tokens(quality="low") < output_tokens(quality="medium") \
        < output_tokens(quality="high")
    assert small(standin, "tokens", quality="auto").json()["quality"] == "medium"
    assert output_tokens(n=2) == 2 * output_tokens(n=1)


# --- validation


def test_unknown_parameter_is_refused(standin):
    reply = small(standin, colour="red")
    assert reply.status == 400
    assert reply.error() == {"message": "Unknown parameter: 'colour'.",
                             "type": "invalid_request_error", "param": "colour",
                             "code": "unknown_parameter"}


@pytest.mark.parametrize("params, param", [
    ({"n": 0}, "n"),
    ({"n": 11}, "n"),
    ({"n": "2"}, "n"),
    ({"n": True}, "n"),
    ({"quality": "ultra"}, "quality"),
    ({"response_format": "png"}, "response_format"),
    ({"output_format": "gif"}, "output_format"),
    ({"moderation": "none"}, "moderation"),
    ({"background": "green"}, "background"),
    ({"style": "cubist"}, "style"),
    ({"output_compression": 101}, "output_compression"),
    ({"output_compression": -1}, "output_compression"),
    ({"partial_images": 4}, "partial_images"),
    ({"stream": "yes"}, "stream"),
    ({"size": "large"}, "size"),
    ({"size": "0x100"}, "size"),
    ({"size": 1024}, "size"),
    ({"user": 42}, "user"),
    ({"prompt": 7}, "prompt"),
    ({"background": "transparent", "output_format": "jpeg"}, "background"),
])
def test_invalid_values_are_refused(standin, params, param):
    reply = generate(standin, **params)
    assert reply.status == 400
    error = reply.error()
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error", param, "invalid_value")


def test_missing_prompt_is_refused(standin):
    reply = call(standin.url + "/images/generations", {"model": "gpt-image-2"})
    assert reply.status == 400
    assert reply.error()["param"] == "prompt"


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
def test_body_must_be_a_json_object(standin, raw):
    reply = call(standin.url + "/images/generations", raw=raw)
    assert reply.status == 400
    assert reply.error()["type"] == "invalid_request_error"


def test_null_means_default(standin):
    reply = small(standin, n=None, quality=None, output_format=None)
    assert reply.status == 200
    assert len(reply.json()["data"]) == 1


def test_streaming_answers_with_server_sent_events(standin):
    """The stream forms and faults are tested in test_01_standin_edits.py."""
    reply = small(standin, stream=True)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/event-stream")
    assert "Content-Length" not in reply.headers
    assert reply.body.startswith(b"event: image_generation.completed\ndata: {")
    assert reply.body.endswith(b"\n\n")


def test_streaming_is_refused_for_dalle(standin):
    reply = call(standin.url + "/images/generations",
                 {"model": "dall-e-2", "prompt": "x", "stream": True})
    assert reply.status == 400
    assert reply.error()["param"] == "stream"


# --- dall-e models


def test_dalle2_answers_with_urls_that_download(standin):
    reply = call(standin.url + "/images/generations",
                 {"model": "dall-e-2", "prompt": "a robot", "size": "256x256", "n": 2})
    response = reply.json()
    assert set(response) == {"created", "data"}
    urls = [item["url"] for item in response["data"]]
    assert len(set(urls)) == 2
    assert all(url.startswith(f"{standin.origin}/files/") for url in urls)
    download = call(urls[0], key=None)
    assert download.status == 200
    assert download.headers["Content-Type"] == "image/png"
    assert "x-request-id" in download.headers
    image = Image.open(io.BytesIO(download.body))
    assert (image.format, image.size) == ("PNG", (256, 256))
    assert call(f"{standin.origin}/files/0123456789abcdef.png", key=None).status == 404


def test_dalle3_b64_json_is_png_with_revised_prompt(standin):
    response = call(standin.url + "/images/generations", {
        "model": "dall-e-3", "prompt": "a castle", "size": "1792x1024",
        "response_format": "b64_json", "quality": "hd", "style": "natural",
    }).json()
    [item] = response["data"]
    assert "a castle" in item["revised_prompt"]
    assert decode(item).format == "PNG"
    assert decode(item).size == (1792, 1024)
    assert "usage" not in response


def test_model_defaults_to_dalle2_unless_a_gpt_parameter_is_used(standin):
    url = standin.url + "/images/generations"
    plain = call(url, {"prompt": "a dog", "size": "256x256"}).json()
    assert "url" in plain["data"][0]
    gpt = call(url, {"prompt": "a dog", "size": "1024x1024", "output_format": "webp"}).json()
    assert decode(gpt["data"][0]).format == "WEBP"
    assert "usage" in gpt


# --- faults


@pytest.mark.parametrize("fault, status, type_, code", [
    ("500", 500, "server_error", None),
    ("502", 502, "server_error", None),
    ("503", 503, "server_error", None),
    ("quota", 429, "insufficient_quota", "insufficient_quota"),
    ("moderation", 400, "image_generation_user_error", "moderation_blocked"),
    ("moderation_details", 400, "image_generation_user_error", "moderation_blocked"),
    ("400", 400, "invalid_request_error", "invalid_value"),
])
def test_error_faults(standin, fault, status, type_, code):
    standin.configure(fault=fault)
    reply = small(standin)
    assert reply.status == status
    error = reply.error()
    assert (error["type"], error["code"]) == (type_, code)
    assert "x-should-retry" not in reply.headers
    if fault.startswith("moderation"):
        assert reply.headers["x-request-id"] in error["message"]
        details = {"stage": "input", "categories": ["violence"]}
        expected = {"moderation_details": details} if fault == "moderation_details" else {}
        assert {k: v for k, v in error.items()
                if k not in ("message", "type", "param", "code")} == expected
    if fault == "400":
        assert error["param"] == "size"


def test_rate_limit_fault_sends_retry_headers(standin):
    standin.configure(fault="429", retry_after="2", retry_after_ms="1500")
    reply = small(standin)
    assert reply.status == 429
    assert reply.error()["type"] == "requests"
    assert reply.error()["code"] == "rate_limit_exceeded"
    assert reply.headers["retry-after"] == "2"
    assert reply.headers["retry-after-ms"] == "1500"
    assert reply.headers["x-ratelimit-remaining-requests"] == "0"
    assert int(reply.headers["x-ratelimit-limit-requests"]) > 0
    assert reply.headers["x-ratelimit-reset-requests"].endswith("s")


def test_rate_limit_fault_defaults(standin):
    standin.configure(fault="429")
    reply = small(standin)
    assert reply.headers["retry-after"] == "1"
    assert "retry-after-ms" not in reply.headers


@pytest.mark.parametrize("should_retry", ["true", "false"])
def test_should_retry_header_on_faults(standin, should_retry):
    standin.configure(fault="503", should_retry=should_retry)
    assert small(standin).headers["x-should-retry"] == should_retry
    standin.configure(fault=None)
    assert "x-should-retry" not in small(standin).headers


def test_reset_fault_resets_the_connection(standin):
    standin.configure(fault="reset")
    body = json.dumps({"model": "gpt-image-2", "prompt": "x", "size": "64x64"}).encode()
    head = (f"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", standin.port), timeout=5) as sock:
        sock.sendall(head.encode() + body)
        with pytest.raises(ConnectionResetError):
            while sock.recv(65536):  # a clean close (FIN) would end the loop instead
                pass


def test_truncate_fault_sends_half_of_the_promised_body(standin):
    standin.configure(fault="truncate")
    with connect(standin) as connection:
        response = post_on(connection, {"model": "gpt-image-2", "prompt": "x",
                                        "size": "64x64"})
        assert response.status == 200
        length = int(response.headers["Content-Length"])
        with pytest.raises(http.client.IncompleteRead) as caught:
            response.read()
        assert len(caught.value.partial) == length // 2


def test_invalid_json_fault(standin):
    standin.configure(fault="invalid_json")
    reply = small(standin)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(reply.body)


def test_invalid_b64_fault(standin):
    standin.configure(fault="invalid_b64")
    reply = small(standin, n=2)
    assert reply.status == 200
    items = reply.json()["data"]
    assert len(items) == 2
    with pytest.raises(binascii.Error):
        base64.b64decode(items[0]["b64_json"], validate=True)


def test_slow_fault_outlasts_the_client_timeout(standin):
    standin.configure(fault="slow", slow_seconds=1.0, fault_count=1)
    with pytest.raises((urllib.error.URLError, TimeoutError)) as caught:
        small(standin, timeout=0.3)
    reason = getattr(caught.value, "reason", caught.value)
    assert isinstance(reason, TimeoutError)
    wait_until_idle(standin)
    assert small(standin).status == 200


def test_fault_count_then_success(standin):
    standin.configure(fault="503", fault_count=2)
    assert [small(standin).status for _ in range(4)] == [503, 503, 200, 200]
    standin.configure(fault_count=1)  # configuring again restarts the count
    assert [small(standin).status for _ in range(2)] == [503, 200]


def test_fault_applies_after_key_and_validation(standin):
    standin.configure(fault="503", fault_count=1)
    assert small(standin, key="sk-bad").status == 401
    assert small(standin, n=99).status == 400
    assert small(standin).status == 503


def test_fail_rate_is_deterministic_for_a_seed(standin):
    def statuses():
        standin.configure(fail_rate=0.5, fail_seed=7)
        return [small(standin).status for _ in range(12)]
    first = statuses()
    assert set(first) == {200, 500}
    assert statuses() == first


def test_latency_delays_every_answer(standin):
    standin.configure(latency=0.2)
    started = time.monotonic()
    assert small(standin, key="sk-bad").status == 401
    assert time.monotonic() - started >= 0.2


def test_rpm_limit_refuses_requests_past_the_limit(standin):
    standin.configure(rpm_limit=2)
    assert [small(standin).status for _ in range(2)] == [200, 200]
    reply = small(standin)
    assert reply.status == 429
    assert reply.error()["code"] == "rate_limit_exceeded"
    assert 55 <= int(reply.headers["retry-after"]) <= 60
    assert reply.headers["x-ratelimit-limit-requests"] == "2"


def test_ratelimit_headers_on_success(standin):
    standin.configure(ratelimit_headers=True, rpm_limit=10)
    reply = small(standin)
    assert reply.status == 200
    assert reply.headers["x-ratelimit-limit-requests"] == "10"
    assert reply.headers["x-ratelimit-remaining-requests"] == "9"
    assert reply.headers["x-ratelimit-reset-requests"].endswith("s")
    standin.configure(ratelimit_headers=False)
    assert "x-ratelimit-limit-requests" not in small(standin).headers


def test_configure_refuses_unknown_knobs_and_bad_values(standin):
    with pytest.raises(ValueError, match="latncy"):
        standin.configure(latncy=1)
    with pytest.raises(ValueError, match="fault"):
        standin.configure(fault="explode")
    with pytest.raises(ValueError, match="fail_rate"):
        standin.configure(fail_rate=2)


# --- recording, request ids, stats


def test_requests_are_recorded_with_headers_and_body(standin):
    before = time.time()
    small(standin, "record me", key="sk-bad")
    call(standin.url + "/images/generations", raw=b"{broken")
    control(standin, "stats")
    first, second = standin.requests
    assert first["method"] == "POST"
    assert first["path"] == "/v1/images/generations"
    assert first["headers"]["authorization"] == "Bearer sk-bad"
    assert first["headers"]["content-type"] == "application/json"
    assert first["body"] == {"model": "gpt-image-2", "prompt": "record me", "size": "64x64"}
    assert json.loads(first["raw"]) == first["body"]
    assert before <= first["time"] <= time.time()
    assert (second["body"], second["raw"]) == (None, "{broken")
    standin.reset()
    assert standin.requests == []


def test_recorded_raw_body_is_truncated(standin):
    small(standin, "x" * 70_000)
    [request] = standin.requests
    assert len(request["raw"]) == 64 * 1024
    assert len(request["body"]["prompt"]) == 70_000


def test_every_response_has_a_request_id(standin):
    replies = [small(standin), small(standin, key=None),
               call(standin.url + "/nowhere", {}),
               call(f"{standin.origin}/files/missing.png", key=None)]
    standin.configure(fault="500")
    replies.append(small(standin))
    assert [reply.status for reply in replies] == [200, 401, 404, 404, 500]
    ids = [reply.headers["x-request-id"] for reply in replies]
    assert all(request_id.startswith("req_") and len(request_id) > 8 for request_id in ids)
    assert len(set(ids)) == len(ids)
    # Each recorded request names its answer's id (downloads are kept apart).
    recorded = [r["request_id"] for r in standin.requests]
    assert recorded == [ids[0], ids[1], ids[2], ids[4]]
    assert [r["request_id"] for r in standin.downloads] == [ids[3]]


def test_unknown_api_paths_are_404_and_recorded(standin):
    reply = call(standin.url + "/images/nowhere", {"prompt": "x"})
    assert reply.status == 404
    assert reply.error()["type"] == "invalid_request_error"
    assert [r["path"] for r in standin.requests] == ["/v1/images/nowhere"]


def test_peak_inflight_equals_the_client_concurrency(standin):
    """Three workers, each sending three requests one after the other."""
    standin.configure(latency=0.1)
    statuses = []

    def worker():
        for _ in range(3):
            statuses.append(small(standin).status)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 9
    assert standin.stats() == {"requests": 9, "inflight": 0, "held": 0, "peak_inflight": 3,
                               "statuses": {"200": 9}}


def test_connection_is_kept_alive_across_requests(standin):
    body = {"model": "gpt-image-2", "prompt": "x", "size": "64x64"}
    with connect(standin) as connection:
        for key in ("sk-bad", KEY, KEY):
            response = post_on(connection, body, key)
            assert response.status == (401 if key == "sk-bad" else 200)
            assert json.loads(response.read())
            assert not response.will_close


# --- control API and program mode


def test_control_api_over_http(standin):
    assert control(standin, "config", {"fault": "503", "fault_count": "1"}).json()[
        "fault"] == "503"
    assert control(standin, "config").json()["fault_count"] == 1
    assert small(standin).status == 503
    assert small(standin).status == 200
    stats = control(standin, "stats").json()
    assert stats == {"requests": 2, "inflight": 0, "held": 0, "peak_inflight": 1,
                     "statuses": {"200": 1, "503": 1}}
    recorded = control(standin, "requests").json()
    assert [r["body"]["prompt"] for r in recorded] == ["a small picture"] * 2
    assert control(standin, "config", {"nonsense": 1}).status == 400
    assert control(standin, "reset", {}).status == 200
    assert control(standin, "requests").json() == []
    assert control(standin, "config").json()["fault"] is None


def test_program_mode_writes_port_file_and_stops_on_sigterm(tmp_path):
    port_file = tmp_path / "standin.port"
    process = subprocess.Popen(
        [sys.executable, os.path.join(TESTS_DIR, "standin.py"), "--port-file",
         str(port_file), "--key", "sk-program-key"],
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(port_file.read_text())
        url = f"http://127.0.0.1:{port}/v1/images/generations"
        body = {"model": "gpt-image-2", "prompt": "x", "size": "1024x640"}
        assert call(url, body, key="sk-program-key").status == 200
        assert call(url, body).status == 401
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert stderr.strip() == f"standin listening on http://127.0.0.1:{port}/v1"


def test_the_vendored_spec_is_the_shared_one():
    from conftest import SHARED_SPEC, VENDORED_SPEC
    if not SHARED_SPEC.is_file():
        pytest.skip(f"no {SHARED_SPEC} to compare tests/reference/ with (a clone "
                    f"without ../shared runs on the vendored copy)")
    assert VENDORED_SPEC.read_bytes() == SHARED_SPEC.read_bytes(), \
        "tests/reference/openai-images-openapi.json differs from ../shared: copy it again"


# --- the answers are held to the API's response schemas


def test_the_answer_check_finds_answers_the_api_would_not_give(standin):
    # The check every test's answers go through (conftest.answer_errors) must fail
    # on what the API would not send.
    from conftest import answer_errors, today_spec
    good = {"created": 1, "data": [{"b64_json": "AAAA"}], "size": "1024x640",
            "output_format": "gif", "quality": "high", "background": "opaque"}
    bad = [
        {"data": []},                                      # no created
        {**good, "size": "big"},
        {**good, "output_format": "bmp"},
        {**good, "colour": "red"},                          # not a property
        {**good, "data": [{"b64_json": 5}]},
    ]
    path = "/v1/images/generations"
    assert answer_errors(today_spec(), [{"path": path, "status": 200, "body": good}]) == []
    for body in bad:
        assert answer_errors(today_spec(), [{"path": path, "status": 200, "body": body}]), body
    event = {"type": "image_generation.partial_image", "b64_json": "AAAA", "created_at": 1,
             "size": "1024x640", "quality": "low", "background": "opaque",
             "output_format": "png", "partial_image_index": 0}
    streamed = {"path": path, "status": 200, "event": event["type"], "body": event}
    assert answer_errors(today_spec(), [streamed]) == []
    del event["partial_image_index"]
    assert answer_errors(today_spec(), [streamed])
    error = {"path": path, "status": 400, "body": {"error": {"message": "no"}}}
    assert answer_errors(today_spec(), [error])            # no type


def test_every_kind_of_answer_is_recorded_for_the_check(standin):
    small(standin)
    standin.configure(fault="400")
    small(standin)
    standin.configure(fault=None)
    reply = small(standin, stream=True, partial_images=1)
    assert reply.status == 200
    kinds = [(a["status"], a.get("event")) for a in standin.responses()]
    assert kinds == [(200, None), (400, None), (200, "image_generation.partial_image"),
                     (200, "image_generation.completed")]
    # Kept short: the base64 is cut, its type and the shape are what is checked.
    assert all(len(json.dumps(a["body"])) < 2000 for a in standin.responses())


# --- the hold knobs: an answer stopped half-way until release()


def held_request(standin, results):
    thread = threading.Thread(target=lambda: results.append(small(standin)))
    thread.start()
    return thread


def test_a_held_answer_waits_half_way_until_released(standin):
    standin.configure(hold_body=0.5)
    results = []
    thread = held_request(standin, results)
    assert standin.wait_held(1, timeout=10)
    assert standin.stats()["held"] == 1 and results == []
    standin.release()
    thread.join(timeout=10)
    assert results[0].status == 200 and decode(results[0].json()["data"][0]).size == (64, 64)
    assert standin.stats()["held"] == 0


def test_an_answer_held_by_an_earlier_test_does_not_upset_the_next_ones_count(standin):
    # The earlier test's held answer ends after the reset that starts the next
    # test: that end must not be taken off the new test's count (a count of -1
    # made wait_held(1) wait out its timeout, under load).
    standin.configure(hold_body=0.5)
    results = []
    earlier = held_request(standin, results)
    assert standin.wait_held(1, timeout=10)
    standin.reset()                     # the next test begins; the old answer goes on
    earlier.join(timeout=10)
    assert results and results[0].status == 200
    standin.configure(hold_body=0.5)
    thread = held_request(standin, results)
    try:
        assert standin.wait_held(1, timeout=10), standin.stats()
    finally:
        standin.release()
        thread.join(timeout=10)
