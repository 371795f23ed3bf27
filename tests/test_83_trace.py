"""--verbose (issue 14): each HTTP exchange traced on stderr: the request's head and
the answer's headers with every secret redacted, then method, URL, status, time and
request id; never a body, never a key (the run helper checks the canary key in
every run's output)."""

import re

import pytest

from conftest import KEY

SMALL = ["--size", "1024x1024", "--quality", "low"]
VERSION = "2025-04-01-preview"


def trace(result):
    return [x for x in result.stderr.splitlines() if re.match(r"imagegen: [<>*] ", x)]


def test_verbose_traces_the_exchange_without_the_key(run, standin):
    result = run(["generate", "-v", *SMALL, "a red fox"])
    assert result.rc == 0, result
    lines = trace(result)
    assert "imagegen: > POST /v1/images/generations HTTP/1.1" in lines
    assert "imagegen: > Authorization: [REDACTED]" in lines
    assert "imagegen: > Content-Type: application/json" in lines
    assert "imagegen: < HTTP/1.1 200 OK" in lines
    [request] = standin.requests
    [end] = [x for x in lines if x.startswith("imagegen: * ")]
    assert re.fullmatch(r"imagegen: \* POST http://127\.0\.0\.1:\d+/v1/images/generations: "
                        r"HTTP 200 in \d+\.\d{3} s, request id req_\w+", end), end
    assert KEY not in result.stderr
    # No body: the prompt and the base64 of the image stay out of the trace.
    assert not [x for x in lines if "a red fox" in x or "b64_json" in x]


def test_without_verbose_nothing_is_traced(run, standin):
    result = run(["generate", *SMALL, "a red fox"])
    assert result.rc == 0, result
    assert trace(result) == []


def test_each_attempt_is_traced(run, standin):
    standin.configure(fault="503", fault_count=1)
    result = run(["generate", "--verbose", *SMALL, "--backoff", "0", "a red fox"])
    assert result.rc == 0, result
    ends = [x for x in trace(result) if x.startswith("imagegen: * ")]
    assert [re.search(r"HTTP (\d+)", x).group(1) for x in ends] == ["503", "200"]


def test_base_url_credentials_are_redacted_in_the_trace(run, standin):
    url = standin.url.replace("http://", "http://someone:hunter2secret@")
    result = run(["generate", "-v", *SMALL, "--base-url", url, "a red fox"])
    assert result.rc == 0, result
    assert "hunter2secret" not in result.stderr and "someone" not in result.stderr
    assert any("[REDACTED]@127.0.0.1" in x for x in trace(result))


def test_the_azure_api_key_header_is_redacted(run, standin):
    standin.configure(provider="azure")
    env = {"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None,
           "AZURE_OPENAI_ENDPOINT": standin.origin, "AZURE_OPENAI_API_KEY": KEY,
           "OPENAI_API_VERSION": VERSION}
    result = run(["generate", "-v", *SMALL, "--model", "gpt-image-2", "a red fox"], env=env)
    assert result.rc == 0, result
    lines = trace(result)
    assert "imagegen: > api-key: [REDACTED]" in lines
    assert any(f"?api-version={VERSION}" in x for x in lines)


def test_a_batch_api_run_traces_its_files_and_batches_calls(run, standin):
    result = run(["batch", "-v", "a red fox", *SMALL, "--out-dir", "out", "--batch-api",
                  "--poll", "0.02"])
    assert result.rc == 0, result
    ends = [x for x in trace(result) if x.startswith("imagegen: * ")]
    assert any(re.search(r"\* POST \S+/v1/files: HTTP 200", x) for x in ends)
    assert any(re.search(r"\* POST \S+/v1/batches: HTTP 200", x) for x in ends)
    assert any(re.search(r"\* GET \S+/v1/files/[\w-]+/content: HTTP 200", x) for x in ends)
    # The uploaded JSONL (which holds the prompts) is a body: not traced.
    assert not [x for x in trace(result) if "a red fox" in x]


def test_a_connection_error_is_traced(run, standin):
    result = run(["generate", "-v", *SMALL, "--base-url", "http://127.0.0.1:9/v1",
                  "--max-attempts", "1", "a red fox"])
    assert result.rc == 1, result
    [end] = [x for x in trace(result) if x.startswith("imagegen: * ")]
    assert "POST http://127.0.0.1:9/v1/images/generations: " in end and " after " in end
