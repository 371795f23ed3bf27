"""Tests of the stand-in's Files and Batch API (image batches): it is test equipment,
so it must be right.  Every answer is also held to the batch spec after each test
(standin_fixtures.batch_answer_errors), and every line a batch runs to the images
spec (conftest.answer_errors)."""

import base64
import contextlib
import hashlib
import http.client
import io
import json
import os
import re
import secrets
import sys
import time
import urllib.request

import pytest
from PIL import Image

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)

from standin import BATCH_FILE_LIMIT, convert_knobs  # noqa: E402
from standin_fixtures import (SHARED_BATCH_SPEC, VENDORED_BATCH_SPEC,  # noqa: E402
                              batch_answer_errors, fetch, standin_fixtures)

KEY = "sk-test-batches-0123456789abcdef"
GENERATIONS, EDITS = "/v1/images/generations", "/v1/images/edits"
DAY, MONTH = 24 * 3600, 30 * 24 * 3600
MAX_POLLS = 20  # every loop over polls stops here

server, standin = standin_fixtures(KEY)


# --- requests


def call(standin, method, path, body=None, *, raw=None, content_type="application/json",
         key=KEY, timeout=10):
    """METHOD /v1PATH with body as JSON (or raw bytes); the Reply."""
    if raw is None and body is not None:
        raw = json.dumps(body).encode()
    headers = {"Content-Type": content_type} if raw is not None else {}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(standin.url + path, data=raw, headers=headers,
                                     method=method)
    return fetch(request, timeout)


def multipart(fields=(), files=()):
    """(body, content type): fields are (name, text), files (name, filename, bytes)."""
    boundary = "----batch-test-" + secrets.token_hex(8)
    chunks = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
              f"{value}\r\n".encode() for name, value in fields]
    for name, filename, data in files:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                      f'filename="{filename}"\r\nContent-Type: application/octet-stream'
                      f"\r\n\r\n".encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def upload(standin, data, purpose="batch", filename="requests.jsonl", fields=(),
           key=KEY):
    pairs = [("purpose", purpose)] if purpose is not None else []
    raw, content_type = multipart([*pairs, *fields], [("file", filename, data)])
    return call(standin, "POST", "/files", raw=raw, content_type=content_type, key=key)


def jsonl(lines):
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def line(custom_id, url=GENERATIONS, **body):
    """A batch input line; its body a small generation unless given."""
    body = body or {"model": "gpt-image-2", "prompt": f"batch picture {custom_id}",
                    "size": "1024x640", "quality": "low"}
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def lines(count, prefix="r"):
    return [line(f"{prefix}{i}") for i in range(count)]


def create(standin, file_id, endpoint=GENERATIONS, **extra):
    return call(standin, "POST", "/batches", {"input_file_id": file_id,
                                              "endpoint": endpoint,
                                              "completion_window": "24h", **extra})


def new_batch(standin, requests, endpoint=GENERATIONS, **extra):
    """Upload the lines (or bytes) and create a batch of them; its Batch."""
    data = requests if isinstance(requests, bytes) else jsonl(requests)
    uploaded = upload(standin, data)
    assert uploaded.status == 200, uploaded.body
    created = create(standin, uploaded.json()["id"], endpoint, **extra)
    assert created.status == 200, created.body
    return created.json()


def poll(standin, batch_id):
    reply = call(standin, "GET", f"/batches/{batch_id}")
    assert reply.status == 200, reply.body
    return reply.json()


def polls(standin, batch_id, count):
    return [poll(standin, batch_id) for _ in range(count)]


def run_to_end(standin, batch_id):
    """Poll until the batch ends (bounded); every Batch seen, in order."""
    seen = []
    for _ in range(MAX_POLLS):
        seen.append(poll(standin, batch_id))
        if seen[-1]["status"] in ("completed", "failed", "expired", "cancelled"):
            return seen
    raise AssertionError(f"the batch did not end in {MAX_POLLS} polls: {seen[-1]}")


def content(standin, file_id):
    reply = call(standin, "GET", f"/files/{file_id}/content")
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert reply.body.endswith(b"\n")
    return [json.loads(text) for text in reply.body.splitlines()]


def by_id(entries):
    return {entry["custom_id"]: entry for entry in entries}


def png_of(item):
    image = Image.open(io.BytesIO(base64.b64decode(item["b64_json"], validate=True)))
    image.load()
    return image


def png_bytes(width=300, height=200):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def assert_error(reply, status, param=None, code=None):
    assert reply.status == status, reply.body
    error = reply.error()
    assert set(error) >= {"message", "type", "param", "code"}
    if param is not None:
        assert error["param"] == param, error
    if code is not None:
        assert error["code"] == code, error
    return error


BATCH_FIELDS = ["id", "object", "endpoint", "errors", "input_file_id", "completion_window",
                "status", "output_file_id", "error_file_id", "created_at",
                "in_progress_at", "expires_at", "finalizing_at", "completed_at",
                "failed_at", "expired_at", "cancelling_at", "cancelled_at",
                "request_counts", "usage", "metadata"]


# --- files


def test_upload_retrieve_content_and_delete(standin):
    data = jsonl(lines(2))
    reply = upload(standin, data, filename="jobs.jsonl")
    assert reply.status == 200
    stored = reply.json()
    assert re.fullmatch(r"file-[A-Za-z0-9]{22}", stored["id"])
    assert stored == {"id": stored["id"], "object": "file", "bytes": len(data),
                      "created_at": stored["created_at"],
                      "expires_at": stored["created_at"] + MONTH,
                      "filename": "jobs.jsonl", "purpose": "batch", "status": "processed"}
    assert abs(stored["created_at"] - time.time()) < 60
    path = f"/files/{stored['id']}"
    assert call(standin, "GET", path).json() == stored
    reply = call(standin, "GET", path + "/content")
    assert (reply.status, reply.body) == (200, data)
    assert call(standin, "DELETE", path).json() == {"id": stored["id"], "object": "file",
                                                    "deleted": True}
    for method, where in (("GET", path), ("GET", path + "/content"), ("DELETE", path)):
        error = assert_error(call(standin, method, where), 404, param="id")
        assert error["message"] == f"No such File object: {stored['id']}"
    # Each request is recorded, the content download too.
    full = "/v1" + path
    assert [(r["method"], r["path"]) for r in standin.requests] == [
        ("POST", "/v1/files"), ("GET", full), ("GET", full + "/content"),
        ("DELETE", full), ("GET", full), ("GET", full + "/content"), ("DELETE", full)]
    [recorded] = [r for r in standin.requests if r["method"] == "POST"]
    assert recorded["body"] == {"purpose": "batch", "files": [{
        "field": "file", "filename": "jobs.jsonl", "content_type": "application/octet-stream",
        "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}]}
    assert standin.requests[1]["body"] is None
    stats = standin.stats()
    assert (stats["files"], stats["batches"], stats["batch_polls"]) == (1, 0, 0)


def test_other_purposes_and_expires_after(standin):
    plain = upload(standin, png_bytes(), purpose="vision", filename="ref.png").json()
    assert plain["purpose"] == "vision" and "expires_at" not in plain
    timed = upload(standin, b"{}", purpose="user_data", filename="x.json",
                   fields=[("expires_after[anchor]", "created_at"),
                           ("expires_after[seconds]", "3600")]).json()
    assert timed["expires_at"] == timed["created_at"] + 3600
    evals = upload(standin, b"{}\n", purpose="evals", filename="e.jsonl").json()
    assert evals["purpose"] == "evals"
    listed = call(standin, "GET", "/files").json()
    assert [item["id"] for item in listed["data"]] == [evals["id"], timed["id"],
                                                      plain["id"]]
    assert listed["has_more"] is False and listed["first_id"] == evals["id"]
    ascending = call(standin, "GET", "/files?order=asc&limit=2").json()
    assert [item["id"] for item in ascending["data"]] == [plain["id"], timed["id"]]
    assert ascending["has_more"] is True
    after = call(standin, "GET", f"/files?order=asc&after={timed['id']}").json()
    assert [item["id"] for item in after["data"]] == [evals["id"]]
    vision = call(standin, "GET", "/files?purpose=vision").json()
    assert [item["id"] for item in vision["data"]] == [plain["id"]]
    empty = call(standin, "GET", "/files?purpose=batch").json()
    assert empty == {"object": "list", "data": [], "first_id": None, "last_id": None,
                     "has_more": False}
    assert_error(call(standin, "GET", "/files?limit=0"), 400, "limit", "invalid_value")
    assert_error(call(standin, "GET", "/files?order=up"), 400, "order", "invalid_value")
    assert_error(call(standin, "GET", "/files?colour=red"), 400, "colour",
                 "unknown_parameter")


@pytest.mark.parametrize("fields, files, param, code", [
    ([], [("file", "a.jsonl", b"{}\n")], "purpose", "missing_required_parameter"),
    ([("purpose", "pictures")], [("file", "a.jsonl", b"{}\n")], "purpose",
     "invalid_value"),
    ([("purpose", "batch_output")], [("file", "a.jsonl", b"{}\n")], "purpose",
     "invalid_value"),
    ([("purpose", "batch")], [], "file", "missing_required_parameter"),
    ([("purpose", "batch"), ("file", "text")], [], "file", "invalid_value"),
    ([("purpose", "batch"), ("name", "x")], [("file", "a.jsonl", b"{}\n")], "name",
     "unknown_parameter"),
    ([("purpose", "batch"), ("purpose", "batch")], [("file", "a.jsonl", b"{}\n")],
     "purpose", "duplicate_parameter"),
    ([("purpose", "batch")], [("file", "a.jsonl", b"{}\n"), ("file", "b.jsonl", b"{}\n")],
     "file", "duplicate_parameter"),
    ([("purpose", "batch")], [("file", "requests.txt", b"{}\n")], "file",
     "invalid_file_format"),
    ([("purpose", "batch"), ("expires_after[anchor]", "now"),
      ("expires_after[seconds]", "3600")], [("file", "a.jsonl", b"{}\n")],
     "expires_after.anchor", "invalid_value"),
    ([("purpose", "batch"), ("expires_after[anchor]", "created_at"),
      ("expires_after[seconds]", "60")], [("file", "a.jsonl", b"{}\n")],
     "expires_after.seconds", "invalid_value"),
    ([("purpose", "batch"), ("expires_after[anchor]", "created_at"),
      ("expires_after[seconds]", "soon")], [("file", "a.jsonl", b"{}\n")],
     "expires_after.seconds", "invalid_value"),
    ([("purpose", "batch"), ("expires_after[anchor]", "created_at")],
     [("file", "a.jsonl", b"{}\n")], "expires_after.seconds",
     "missing_required_parameter"),
])
def test_upload_checks(standin, fields, files, param, code):
    raw, content_type = multipart(fields, files)
    assert_error(call(standin, "POST", "/files", raw=raw, content_type=content_type), 400,
                 param, code)
    assert standin.stats()["files"] == 0


def test_upload_needs_multipart(standin):
    assert_error(call(standin, "POST", "/files", {"purpose": "batch"}), 400,
                 code="invalid_content_type")


def test_batch_file_size_limit(standin):
    assert standin.config.batch_file_max_bytes == BATCH_FILE_LIMIT == 200 * 1024 * 1024
    standin.configure(batch_file_max_bytes=100)
    error = assert_error(upload(standin, b"x" * 101), 400, "file", "file_too_large")
    assert "100 bytes" in error["message"]
    assert upload(standin, b"x" * 100).status == 200
    # The limit is the Batch API's: other purposes take bigger files.
    assert upload(standin, b"x" * 101, purpose="user_data", filename="a.bin").status == 200
    assert standin.stats()["files"] == 2


# --- the lifecycle


def test_a_batch_runs_to_completed_with_output_and_error_files(standin):
    requests = [*lines(3),
                line("bad-size", model="gpt-image-2", prompt="x", size="10x10"),
                line("streamed", model="gpt-image-2", prompt="x", size="1024x640",
                     stream=True)]
    created = new_batch(standin, requests, metadata={"job": "nightly"})
    assert list(created) == BATCH_FIELDS
    assert re.fullmatch(r"batch_[0-9a-f]{32}", created["id"])
    assert created["status"] == "validating" and created["errors"] is None
    assert created["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert all(created[name] is None for name in BATCH_FIELDS if name.endswith("_at")
               and name != "created_at")
    assert created["metadata"] == {"job": "nightly"}
    assert created["completion_window"] == "24h" and created["endpoint"] == GENERATIONS
    seen = polls(standin, created["id"], 5)
    assert [b["status"] for b in seen] == ["validating", "in_progress", "finalizing",
                                           "completed", "completed"]
    assert [b["request_counts"] for b in seen] == [
        {"total": 0, "completed": 0, "failed": 0},
        {"total": 5, "completed": 2, "failed": 0},
        {"total": 5, "completed": 3, "failed": 2},
        {"total": 5, "completed": 3, "failed": 2},
        {"total": 5, "completed": 3, "failed": 2}]
    done = seen[-1]
    assert done == seen[-2]
    assert done["model"] == "gpt-image-2" and "model" not in seen[0]
    assert done["expires_at"] == done["created_at"] + DAY
    times = [done[name] for name in ("created_at", "in_progress_at", "finalizing_at",
                                     "completed_at")]
    assert times == sorted(times) and all(isinstance(t, int) for t in times)
    assert (done["failed_at"], done["expired_at"], done["cancelling_at"],
            done["cancelled_at"], done["errors"]) == (None, None, None, None, None)

    output = call(standin, "GET", f"/files/{done['output_file_id']}").json()
    assert output["purpose"] == "batch_output" and "expires_at" not in output
    assert output["filename"] == f"{done['id']}_output.jsonl"
    outputs = content(standin, done["output_file_id"])
    assert sorted(by_id(outputs)) == ["r0", "r1", "r2"]
    usage = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    for entry in outputs:
        assert set(entry) == {"id", "custom_id", "response", "error"}
        assert re.fullmatch(r"batch_req_[0-9a-f]{32}", entry["id"])
        assert entry["error"] is None
        response = entry["response"]
        assert response["status_code"] == 200
        assert response["request_id"].startswith("req_")
        body = response["body"]
        assert (body["size"], body["quality"], body["output_format"]) == (
            "1024x640", "low", "png")
        [item] = body["data"]
        image = png_of(item)
        assert (image.format, image.size) == ("PNG", (1024, 640))
        for name in usage:
            usage[name] += body["usage"][name]
    # The same picture as the synchronous endpoint draws for the same request.
    sync = call(standin, "POST", "/images/generations", requests[0]["body"]).json()
    assert by_id(outputs)["r0"]["response"]["body"]["data"] == sync["data"]
    assert {name: done["usage"][name] for name in usage} == usage
    assert done["usage"]["input_tokens_details"] == {"cached_tokens": 0}
    assert done["usage"]["output_tokens_details"] == {"reasoning_tokens": 0}

    errors = by_id(content(standin, done["error_file_id"]))
    assert sorted(errors) == ["bad-size", "streamed"]
    for custom_id, param in (("bad-size", "size"), ("streamed", "stream")):
        entry = errors[custom_id]
        assert entry["error"] is None and entry["response"]["status_code"] == 400
        assert entry["response"]["body"]["error"]["param"] == param
    stats = standin.stats()
    assert (stats["files"], stats["batches"], stats["batch_polls"]) == (1, 1, 5)


def test_output_lines_are_not_in_input_order(standin):
    # The API does not keep the input's order; nor does the stand-in.
    requests = [line(f"job-{i}", model="gpt-image-2", prompt="x", size="10x10")
                for i in range(8)]
    batch = new_batch(standin, requests)
    done = run_to_end(standin, batch["id"])[-1]
    assert done["output_file_id"] is None     # no line succeeded: no output file
    order = [entry["custom_id"] for entry in content(standin, done["error_file_id"])]
    assert sorted(order) == sorted(r["custom_id"] for r in requests)
    assert order != [r["custom_id"] for r in requests]


def test_batch_steps_set_how_many_polls_each_phase_lasts(standin):
    standin.configure(batch_steps=2, batch_line_errors=1.0)
    batch = new_batch(standin, lines(3))
    seen = polls(standin, batch["id"], 8)
    assert [b["status"] for b in seen] == ["validating", "validating", "in_progress",
                                           "in_progress", "finalizing", "finalizing",
                                           "completed", "completed"]
    assert [b["request_counts"]["failed"] for b in seen] == [0, 0, 1, 2, 3, 3, 3, 3]
    standin.configure(batch_steps=0)
    quick = new_batch(standin, lines(3))
    assert quick["status"] == "validating"
    done = poll(standin, quick["id"])
    assert done["status"] == "completed" and done["request_counts"]["failed"] == 3
    assert done["in_progress_at"] and done["finalizing_at"] and done["completed_at"]
    # The knobs of a batch are those in force when it was created.
    standin.configure(batch_steps=5, batch_line_errors=[])
    assert poll(standin, batch["id"])["status"] == "completed"


def test_json_edit_lines(standin):
    data_url = "data:image/png;base64," + base64.b64encode(png_bytes(300, 200)).decode()
    requests = [
        line("url", EDITS, model="gpt-image-2", prompt="make it red",
             images=[{"image_url": data_url}]),
        line("file", EDITS, model="gpt-image-2", prompt="make it red", size="1024x1024",
             images=[{"file_id": "file-abc123"}], quality="low"),
        line("form-field", EDITS, model="gpt-image-2", prompt="make it red",
             image=data_url),
        line("no-images", EDITS, model="gpt-image-2", prompt="make it red"),
    ]
    batch = new_batch(standin, requests, endpoint=EDITS)
    done = run_to_end(standin, batch["id"])[-1]
    assert done["request_counts"] == {"total": 4, "completed": 2, "failed": 2}
    outputs = by_id(content(standin, done["output_file_id"]))
    [item] = outputs["url"]["response"]["body"]["data"]
    width, height = png_of(item).size
    assert abs(width / height - 1.5) < 0.05     # an edit of size auto: the input's shape
    [item] = outputs["file"]["response"]["body"]["data"]
    assert png_of(item).size == (1024, 1024)
    errors = by_id(content(standin, done["error_file_id"]))
    assert errors["form-field"]["response"]["body"]["error"]["code"] == "unknown_parameter"
    assert errors["no-images"]["response"]["body"]["error"]["param"] == "images"


def test_todays_rules_apply_to_every_line(standin):
    requests = [line("no-model", prompt="x", size="1024x640"),
                line("old-model", model="dall-e-3", prompt="x")]
    # Two models in one file fail the batch; one line each, then.
    for request, status, code in ((requests[0], 400, "missing_required_parameter"),
                                  (requests[1], 404, "model_not_found")):
        batch = new_batch(standin, [request])
        done = run_to_end(standin, batch["id"])[-1]
        [entry] = content(standin, done["error_file_id"])
        assert entry["response"]["status_code"] == status
        assert entry["response"]["body"]["error"]["code"] == code


@pytest.mark.compat
def test_a_compatible_servers_lines_keep_their_models_sizes(standin):
    # dall-e-3 took 1024x1024, 1792x1024 and 1024x1792 only, in a batch too.
    batch = new_batch(standin, [line("odd-size", model="dall-e-3", prompt="x",
                                     size="512x512")])
    done = run_to_end(standin, batch["id"])[-1]
    [entry] = content(standin, done["error_file_id"])
    assert entry["response"]["status_code"] == 400
    error = entry["response"]["body"]["error"]
    assert (error["param"], error["code"]) == ("size", "invalid_value")


@pytest.mark.parametrize("data, code, number, param", [
    (b"", "empty_file", None, None),
    (b"\n", "empty_file", None, None),
    (jsonl(lines(1)) + b"{not json\n", "invalid_json_line", 2, None),
    (jsonl(lines(1)) + b"\n" + jsonl(lines(1, "s")), "invalid_json_line", 2, None),
    (b"[1, 2]\n", "invalid_json_line", 1, None),
    (b"\xff\xfe\n", "invalid_json_line", 1, None),
    (jsonl([{**line("a"), "priority": 1}]), "unknown_parameter", 1, "priority"),
    (jsonl([{k: v for k, v in line("a").items() if k != "custom_id"}]),
     "missing_required_parameter", 1, "custom_id"),
    (jsonl([{k: v for k, v in line("a").items() if k != "body"}]),
     "missing_required_parameter", 1, "body"),
    (jsonl([line("a"), line("b"), line("a")]), "duplicate_custom_id", 3, "custom_id"),
    (jsonl([{**line("a"), "custom_id": ""}]), "invalid_value", 1, "custom_id"),
    (jsonl([{**line("a"), "custom_id": 7}]), "invalid_value", 1, "custom_id"),
    (jsonl([{**line("a"), "method": "GET"}]), "invalid_value", 1, "method"),
    (jsonl([line("a"), line("b", EDITS)]), "invalid_url", 2, "url"),
    (jsonl([line("a", "/images/generations")]), "invalid_url", 1, "url"),
    (jsonl([{**line("a"), "body": "prompt=x"}]), "invalid_value", 1, "body"),
    (jsonl([line("a"), line("b", model="gpt-image-2.5-flare", prompt="x")]),
     "mismatched_model", 2, "body.model"),
])
def test_a_bad_input_file_fails_the_batch(standin, data, code, number, param):
    batch = new_batch(standin, data)
    assert batch["status"] == "validating"
    seen = run_to_end(standin, batch["id"])
    assert [b["status"] for b in seen] == ["validating", "failed"]
    failed = seen[-1]
    assert failed["errors"]["object"] == "list"
    assert failed["errors"]["data"][0] == {"code": code, "message": failed["errors"][
        "data"][0]["message"], "param": param, "line": number}
    assert failed["failed_at"] >= failed["created_at"]
    assert (failed["in_progress_at"], failed["output_file_id"], failed["error_file_id"],
            failed["completed_at"]) == (None, None, None, None)
    assert failed["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert poll(standin, batch["id"]) == failed


def test_every_bad_line_is_listed(standin):
    data = b"".join([b"nope\n", jsonl([line("a")]), b"[]\n", jsonl([line("a")])])
    failed = run_to_end(standin, new_batch(standin, data)["id"])[-1]
    assert [(e["code"], e["line"]) for e in failed["errors"]["data"]] == [
        ("invalid_json_line", 1), ("invalid_json_line", 3), ("duplicate_custom_id", 4)]


def test_batch_outcome_failed(standin):
    standin.configure(batch_outcome="failed")
    failed = run_to_end(standin, new_batch(standin, lines(2))["id"])[-1]
    assert failed["status"] == "failed"
    [error] = failed["errors"]["data"]
    assert error["code"] == "token_limit_exceeded" and error["line"] is None
    assert "gpt-image-2" in error["message"]


def test_batch_outcome_expired(standin):
    standin.configure(batch_outcome="expired")
    batch = new_batch(standin, lines(4))
    seen = run_to_end(standin, batch["id"])
    assert [b["status"] for b in seen] == ["validating", "in_progress", "expired"]
    expired = seen[-1]
    assert expired["expired_at"] == expired["expires_at"] == expired["created_at"] + DAY
    assert expired["finalizing_at"] is None and expired["completed_at"] is None
    assert expired["request_counts"] == {"total": 4, "completed": 2, "failed": 2}
    outputs = by_id(content(standin, expired["output_file_id"]))
    errors = by_id(content(standin, expired["error_file_id"]))
    assert sorted(outputs) == ["r0", "r1"] and sorted(errors) == ["r2", "r3"]
    for entry in errors.values():
        assert entry["response"] is None
        assert entry["error"] == {"code": "batch_expired", "message": "This request could "
                                  "not be executed before the completion window expired."}


def test_cancel_keeps_what_ran(standin):
    standin.configure(batch_steps=2)
    batch = new_batch(standin, lines(4))
    seen = polls(standin, batch["id"], 3)
    assert seen[-1]["status"] == "in_progress"
    assert seen[-1]["request_counts"] == {"total": 4, "completed": 1, "failed": 0}
    reply = call(standin, "POST", f"/batches/{batch['id']}/cancel")
    cancelling = reply.json()
    assert cancelling["status"] == "cancelling" and cancelling["cancelling_at"]
    assert call(standin, "POST", f"/batches/{batch['id']}/cancel").json() == cancelling
    cancelled = poll(standin, batch["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] >= cancelled["cancelling_at"]
    assert cancelled["request_counts"] == {"total": 4, "completed": 1, "failed": 3}
    [kept] = content(standin, cancelled["output_file_id"])
    assert kept["custom_id"] == "r0" and kept["response"]["status_code"] == 200
    errors = content(standin, cancelled["error_file_id"])
    assert sorted(e["custom_id"] for e in errors) == ["r1", "r2", "r3"]
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}
    assert poll(standin, batch["id"]) == cancelled
    error = assert_error(call(standin, "POST", f"/batches/{batch['id']}/cancel"), 409)
    assert "cancelled" in error["message"]


def test_cancel_while_validating_and_after_the_end(standin):
    batch = new_batch(standin, lines(2))
    assert call(standin, "POST", f"/batches/{batch['id']}/cancel").json()[
        "status"] == "cancelling"
    cancelled = poll(standin, batch["id"])
    assert cancelled["status"] == "cancelled"
    assert (cancelled["output_file_id"], cancelled["error_file_id"]) == (None, None)
    assert cancelled["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    standin.configure(batch_steps=0, batch_line_errors=1.0)
    done = new_batch(standin, lines(1))
    assert poll(standin, done["id"])["status"] == "completed"
    assert_error(call(standin, "POST", f"/batches/{done['id']}/cancel"), 409)
    assert_error(call(standin, "POST", "/batches/batch_nope/cancel"), 404, "batch_id")
    assert_error(call(standin, "GET", "/batches/batch_nope"), 404, "batch_id")


@pytest.mark.parametrize("knob, failing", [
    (["r1", "r3", "not-a-line"], ["r1", "r3"]),
    ("r0", ["r0"]),
    (0.5, ["r1", "r3"]),
    (1.0, ["r0", "r1", "r2", "r3"]),
])
def test_batch_line_errors(standin, knob, failing):
    standin.configure(batch_line_errors=knob)
    done = run_to_end(standin, new_batch(standin, lines(4))["id"])[-1]
    assert done["request_counts"] == {"total": 4, "completed": 4 - len(failing),
                                      "failed": len(failing)}
    errors = by_id(content(standin, done["error_file_id"]))
    assert sorted(errors) == failing
    for entry in errors.values():
        response = entry["response"]
        assert response["status_code"] == 400 and entry["error"] is None
        assert response["body"]["error"]["code"] == "moderation_blocked"
        assert response["request_id"] in response["body"]["error"]["message"]
    if len(failing) < 4:
        outputs = by_id(content(standin, done["output_file_id"]))
        assert sorted(outputs) == sorted({"r0", "r1", "r2", "r3"} - set(failing))
    else:
        assert done["output_file_id"] is None


def test_output_expires_after(standin):
    standin.configure(batch_line_errors=1.0)
    batch = new_batch(standin, lines(1), output_expires_after={"anchor": "created_at",
                                                               "seconds": 7200})
    done = run_to_end(standin, batch["id"])[-1]
    stored = call(standin, "GET", f"/files/{done['error_file_id']}").json()
    assert stored["expires_at"] == stored["created_at"] + 7200


# --- create and list


def test_create_batch_checks(standin):
    file_id = upload(standin, jsonl(lines(1))).json()["id"]
    vision = upload(standin, png_bytes(), purpose="vision", filename="a.png").json()["id"]
    good = {"input_file_id": file_id, "endpoint": GENERATIONS, "completion_window": "24h"}
    cases = [
        ({k: v for k, v in good.items() if k != "input_file_id"}, 400, "input_file_id",
         "missing_required_parameter"),
        ({k: v for k, v in good.items() if k != "completion_window"}, 400,
         "completion_window", "missing_required_parameter"),
        ({**good, "input_file_id": "file-nothere"}, 404, "input_file_id", None),
        ({**good, "input_file_id": vision}, 400, "input_file_id", "invalid_value"),
        ({**good, "endpoint": "/v1/images/variations"}, 400, "endpoint", "invalid_value"),
        ({**good, "endpoint": "/v1/chat/completions"}, 400, "endpoint", "invalid_value"),
        ({**good, "completion_window": "48h"}, 400, "completion_window", "invalid_value"),
        ({**good, "metadata": {f"k{i}": "v" for i in range(17)}}, 400, "metadata",
         "object_above_max_properties"),
        ({**good, "metadata": {"k" * 65: "v"}}, 400, "metadata", "string_above_max_length"),
        ({**good, "metadata": {"k": "v" * 513}}, 400, "metadata.k",
         "string_above_max_length"),
        ({**good, "metadata": {"k": 1}}, 400, "metadata.k", "invalid_value"),
        ({**good, "metadata": ["k"]}, 400, "metadata", "invalid_value"),
        ({**good, "output_expires_after": {"anchor": "created_at", "seconds": 60}}, 400,
         "output_expires_after.seconds", "invalid_value"),
        ({**good, "output_expires_after": {"seconds": 3600}}, 400,
         "output_expires_after.anchor", "missing_required_parameter"),
        ({**good, "stream": True}, 400, "stream", "unknown_parameter"),
        ({**good, "endpoint": 5}, 400, "endpoint", "invalid_value"),
    ]
    for body, status, param, code in cases:
        assert_error(call(standin, "POST", "/batches", body), status, param, code)
    assert_error(call(standin, "POST", "/batches", raw=b"{nope"), 400)
    assert_error(call(standin, "POST", "/batches", raw=b"[]"), 400)
    assert standin.stats()["batches"] == 0
    created = call(standin, "POST", "/batches", {**good, "metadata": {
        f"k{i}": "v" * 512 for i in range(16)}})
    assert created.status == 200 and len(created.json()["metadata"]) == 16
    assert call(standin, "POST", "/batches", {**good, "metadata": None}).json()[
        "metadata"] is None
    assert standin.stats()["batches"] == 2


def test_list_batches_pages_newest_first(standin):
    file_id = upload(standin, jsonl(lines(1))).json()["id"]
    empty = call(standin, "GET", "/batches").json()
    assert empty == {"object": "list", "data": [], "first_id": None, "last_id": None,
                     "has_more": False}
    ids = [create(standin, file_id).json()["id"] for _ in range(5)]
    newest = list(reversed(ids))
    first = call(standin, "GET", "/batches?limit=2").json()
    assert [b["id"] for b in first["data"]] == newest[:2]
    assert (first["first_id"], first["last_id"], first["has_more"]) == (
        newest[0], newest[1], True)
    second = call(standin, "GET", f"/batches?limit=2&after={first['last_id']}").json()
    assert [b["id"] for b in second["data"]] == newest[2:4] and second["has_more"]
    third = call(standin, "GET", f"/batches?limit=2&after={second['last_id']}").json()
    assert [b["id"] for b in third["data"]] == newest[4:] and not third["has_more"]
    assert [b["id"] for b in call(standin, "GET", "/batches").json()["data"]] == newest
    # Listing is no poll: the batches stay where they were.
    assert {b["status"] for b in call(standin, "GET", "/batches").json()["data"]} == {
        "validating"}
    assert standin.stats()["batch_polls"] == 0
    for query, param, code in (("limit=0", "limit", "invalid_value"),
                               ("limit=101", "limit", "invalid_value"),
                               ("limit=ten", "limit", "invalid_value"),
                               ("order=asc", "order", "unknown_parameter"),
                               ("limit=1&limit=2", "limit", "duplicate_parameter")):
        assert_error(call(standin, "GET", f"/batches?{query}"), 400, param, code)
    assert call(standin, "GET", "/batches?limit=100").status == 200


# --- limits


def test_a_batch_of_50000_requests_runs_and_one_more_fails(standin):
    """The default limit, at full size (the lines fail fast: no pictures drawn)."""
    standin.configure(batch_steps=0, batch_line_errors=1.0)
    body = {"model": "gpt-image-2", "prompt": "x", "size": "1024x640"}
    rows = [json.dumps({"custom_id": f"r{i}", "method": "POST", "url": GENERATIONS,
                        "body": body}).encode() + b"\n" for i in range(50_001)]
    too_many = run_to_end(standin, new_batch(standin, b"".join(rows))["id"])[-1]
    assert too_many["status"] == "failed"
    assert [e["code"] for e in too_many["errors"]["data"]] == ["too_many_requests"]
    done = run_to_end(standin, new_batch(standin, b"".join(rows[:-1]))["id"])[-1]
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 50_000, "completed": 0, "failed": 50_000}


def test_the_request_limit_is_a_knob(standin):
    standin.configure(batch_max_requests=3, batch_line_errors=1.0)
    failed = run_to_end(standin, new_batch(standin, lines(4))["id"])[-1]
    assert failed["errors"]["data"][0]["code"] == "too_many_requests"
    assert run_to_end(standin, new_batch(standin, lines(3))["id"])[-1]["status"] == \
        "completed"


def test_a_file_over_the_limit_fails_its_batch(standin):
    # Uploaded under the limit, the limit lowered before the batch: validation
    # checks the size again.
    file_id = upload(standin, jsonl(lines(2))).json()["id"]
    standin.configure(batch_file_max_bytes=10)
    failed = run_to_end(standin, create(standin, file_id).json()["id"])[-1]
    assert failed["errors"]["data"][0]["code"] == "file_too_large"


# --- authentication, faults, Azure mode


def test_every_endpoint_needs_the_key(standin):
    file_id = upload(standin, jsonl(lines(1))).json()["id"]
    batch_id = create(standin, file_id).json()["id"]
    raw, content_type = multipart([("purpose", "batch")], [("file", "a.jsonl", b"{}\n")])
    requests = [("POST", "/files", raw, content_type), ("GET", "/files", None, None),
                ("GET", f"/files/{file_id}", None, None),
                ("GET", f"/files/{file_id}/content", None, None),
                ("DELETE", f"/files/{file_id}", None, None),
                ("POST", "/batches", json.dumps({"input_file_id": file_id}).encode(),
                 "application/json"),
                ("GET", "/batches", None, None), ("GET", f"/batches/{batch_id}", None, None),
                ("POST", f"/batches/{batch_id}/cancel", None, None)]
    for key in (None, "sk-wrong-0123456789"):
        for method, path, body, media in requests:
            reply = call(standin, method, path, raw=body, content_type=media, key=key)
            assert_error(reply, 401, code="invalid_api_key")
            if key:
                assert key not in reply.body.decode()
    stats = standin.stats()
    assert (stats["files"], stats["batches"], stats["batch_polls"]) == (1, 1, 0)
    assert poll(standin, batch_id)["status"] == "validating"  # the first poll
    assert call(standin, "GET", f"/files/{file_id}").status == 200


def test_stats_show_the_batch_counts_once_the_api_is_used(standin):
    assert "batches" not in standin.stats()
    call(standin, "GET", "/batches", key=None)
    assert standin.stats()["batches"] == 0


def test_faults_apply_where_fault_paths_say(standin):
    # By default a fault is the image endpoints' only.
    standin.configure(fault="500")
    assert upload(standin, jsonl(lines(1))).status == 200
    standin.configure(fault="500", fault_count=1, fault_paths=["POST /v1/files"])
    assert_error(upload(standin, jsonl(lines(1))), 500)
    file_id = upload(standin, jsonl(lines(1))).json()["id"]
    assert standin.stats()["files"] == 2          # the refused upload stored nothing
    # Image requests are not in these fault_paths.
    standin.configure(fault="500", fault_paths=["/v1/batches*"])
    generated = call(standin, "POST", "/images/generations", lines(1)[0]["body"])
    assert generated.status == 200
    assert_error(create(standin, file_id), 500)
    standin.configure(fault="429", fault_count=1, retry_after="3", should_retry="true")
    reply = create(standin, file_id)
    assert_error(reply, 429, code="rate_limit_exceeded")
    assert (reply.headers["retry-after"], reply.headers["x-should-retry"]) == ("3", "true")
    assert standin.stats()["batches"] == 0
    batch_id = create(standin, file_id).json()["id"]
    # Faults of image bodies and streams do not apply, nor count.
    standin.configure(fault="invalid_b64", fault_count=1, fault_paths=["/v1/*"])
    assert poll(standin, batch_id)["status"] == "validating"
    standin.configure(fault="stream_error", fault_count=1, fault_paths=["/v1/*"])
    assert poll(standin, batch_id)["status"] == "in_progress"
    standin.configure(fault=None, fault_paths=["images"])
    assert standin.stats()["batch_polls"] == 2


def test_a_reset_after_create_leaves_the_batch_made(standin):
    """A connection lost after the server acted: the client's retry makes a second
    batch unless it looks first (GET /v1/batches, its metadata)."""
    file_id = upload(standin, jsonl(lines(1))).json()["id"]
    standin.configure(fault="reset", fault_count=1, fault_paths=["POST /v1/batches"])
    body = json.dumps({"input_file_id": file_id, "endpoint": GENERATIONS,
                       "completion_window": "24h", "metadata": {"job": "j1"}})
    with contextlib.closing(http.client.HTTPConnection("127.0.0.1", standin.port,
                                                       timeout=10)) as connection:
        connection.request("POST", "/v1/batches", body, {
            "Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            connection.getresponse().read()
    assert standin.stats()["batches"] == 1
    [made] = call(standin, "GET", "/batches").json()["data"]
    assert made["metadata"] == {"job": "j1"}


def test_truncate_invalid_json_and_slow_on_downloads_and_polls(standin):
    data = jsonl(lines(2))
    file_id = upload(standin, data).json()["id"]
    batch_id = create(standin, file_id).json()["id"]
    standin.configure(fault="truncate", fault_count=1, fault_paths=["GET /v1/files/*"])
    with contextlib.closing(http.client.HTTPConnection("127.0.0.1", standin.port,
                                                       timeout=10)) as connection:
        connection.request("GET", f"/v1/files/{file_id}/content",
                           headers={"Authorization": f"Bearer {KEY}"})
        response = connection.getresponse()
        assert response.status == 200
        assert int(response.headers["Content-Length"]) == len(data)
        with pytest.raises(http.client.IncompleteRead) as cut:
            response.read()
        assert cut.value.partial == data[:len(data) // 2]
    assert call(standin, "GET", f"/files/{file_id}/content").body == data
    standin.configure(fault="invalid_json", fault_count=1, fault_paths=["GET /v1/batches/*"])
    broken = call(standin, "GET", f"/batches/{batch_id}")
    assert broken.status == 200
    with pytest.raises(ValueError):
        broken.json()
    standin.configure(fault="slow", slow_seconds=0.3, fault_count=1)
    started = time.monotonic()
    assert poll(standin, batch_id)["status"] == "in_progress"  # the broken poll counted
    assert time.monotonic() - started >= 0.3


def test_azure_mode_has_no_files_or_batches(standin):
    standin.configure(provider="azure")
    reply = call(standin, "GET", "/batches")
    assert reply.status == 404 and reply.error()["code"] == "404"


def test_batch_knobs_are_checked():
    assert convert_knobs({"batch_line_errors": "a, b"}) == {"batch_line_errors": ("a", "b")}
    assert convert_knobs({"batch_line_errors": 1}) == {"batch_line_errors": 1.0}
    assert convert_knobs({"fault_paths": "images,POST /v1/files"}) == {
        "fault_paths": ("images", "POST /v1/files")}
    for knobs in ({"batch_outcome": "cancelled"}, {"batch_line_errors": 1.5},
                  {"batch_line_errors": [1]}, {"batch_steps": -1},
                  {"batch_max_requests": 0}, {"fault_paths": ["files"]},
                  {"batch_file_max_bytes": "big"}):
        with pytest.raises(ValueError):
            convert_knobs(knobs)


def test_control_api_sets_batch_knobs(standin):
    request = urllib.request.Request(
        f"{standin.origin}/_control/config",
        data=json.dumps({"batch_steps": 0, "batch_outcome": "expired",
                         "fault_paths": ["/v1/files"]}).encode(),
        headers={"Content-Type": "application/json"})
    config = fetch(request).json()
    assert (config["batch_steps"], config["batch_outcome"], config["fault_paths"]) == (
        0, "expired", ["/v1/files"])
    standin.reset()
    assert standin.config.batch_outcome == "completed"


# --- the spec and the check of the answers


def test_the_vendored_batch_spec_is_the_shared_one():
    if not SHARED_BATCH_SPEC.is_file():
        pytest.skip(f"no {SHARED_BATCH_SPEC} to compare tests/reference/ with")
    assert VENDORED_BATCH_SPEC.read_bytes() == SHARED_BATCH_SPEC.read_bytes(), \
        "tests/reference/openai-batch-openapi.json differs from ../shared: copy it again"


def test_the_batch_answer_check_finds_answers_the_api_would_not_give(standin):
    stored = upload(standin, jsonl(lines(1))).json()
    batch = create(standin, stored["id"]).json()
    good = standin.responses()
    assert [a["operation"] for a in good] == ["createFile", "createBatch"]
    assert batch_answer_errors(good) == []

    def changed(number, **fields):
        answer = dict(good[number], body={**good[number]["body"], **fields})
        return [answer]

    bad = [
        changed(0, status=None),                      # required, not nullable
        changed(0, purpose="pictures"),
        changed(0, bytes="12"),
        changed(0, colour="red"),                     # not a property
        changed(1, status="running"),
        changed(1, request_counts={"total": 1}),
        changed(1, metadata={"k": 1}),
        changed(1, created_at=None),
        [dict(good[1], request={**good[1]["request"], "completion_window": "1h"})],
        [{"path": "/v1/batches", "status": 400, "body": {"error": {"message": "no"}}}],
        [{"path": "/v1/batches", "status": 200, "body": batch}],   # no operation
    ]
    for answers in bad:
        assert batch_answer_errors(answers), answers
    line_good = {"id": "batch_req_abc", "custom_id": "a", "error": None,
                 "response": {"status_code": 400, "request_id": "req_1",
                              "body": {"error": {"message": "m", "type": "t",
                                                 "param": None, "code": None}}}}
    download = {"path": "/v1/files/file-x/content", "status": 200, "body": "...",
                "operation": "downloadFile", "endpoint": GENERATIONS, "lines": [line_good]}
    assert batch_answer_errors([download]) == []
    for broken in ({**line_good, "id": "req_abc"}, {**line_good, "response": None},
                   {k: v for k, v in line_good.items() if k != "error"},
                   {**line_good, "response": {**line_good["response"], "body": {
                       "created": 1, "data": "x"}, "status_code": 200}}):
        assert batch_answer_errors([{**download, "lines": [broken]}]), broken


def test_batch_lines_are_kept_for_the_images_check(standin):
    standin.configure(batch_steps=0, batch_line_errors=["r1"])
    batch = new_batch(standin, lines(2))
    poll(standin, batch["id"])
    kept = [a for a in standin.responses() if a.get("batch") == batch["id"]]
    assert sorted((a["path"], a["status"]) for a in kept) == [(GENERATIONS, 200),
                                                              (GENERATIONS, 400)]
