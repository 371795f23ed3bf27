"""`imagegen generate` against every fault the stand-in injects: retries, their limits
and delays, errors that must not be retried, broken answers, timeouts and Ctrl-C.
After each run no temp file may remain and no final name may hold a partial image."""

import email.utils
import re
import signal
import socket
import subprocess
import time

import pytest
from PIL import Image

from conftest import BIN, assert_no_key_in_output, assert_no_key_leak, clean_env, files_in, temp_files, wait_for_temp_file

PROMPT = "a lighthouse at dusk"
NAME = "a-lighthouse-at-dusk.png"
FAST = ["generate", PROMPT, "--size", "1024x640", "--backoff", "0.05"]
REQUEST_ID = re.compile(r"req_[0-9a-f]{32}")


@pytest.fixture
def folder(tmp_path):
    """The test's working folder; afterwards, no temp file and no partial image."""
    yield tmp_path
    assert temp_files(tmp_path) == []
    for name in files_in(tmp_path):
        with Image.open(tmp_path / name) as image:
            image.load()  # a partial image fails to decode
        assert image.size == (1024, 640), name


def request_times(standin):
    return [r["time"] for r in standin.requests]


RETRY_WARNING = re.compile(r"^imagegen: warning: .* \[request (req_[0-9a-f]{32})\]; "
                           r"retrying in (\d+\.\d) s \(attempt (\d+) of \d+\)$", re.M)


def reported_delays(standin, stderr):
    """The delays the tool said it would wait before each retry, in order; each
    warning names the answer it retries after, the one just before it."""
    warnings = RETRY_WARNING.findall(stderr)
    ids = [r["request_id"] for r in standin.requests]
    assert [(request_id, int(attempt)) for request_id, _, attempt in warnings] == \
        [(ids[k], k + 2) for k in range(len(ids) - 1)], stderr
    return [float(delay) for _, delay, _ in warnings]


def assert_waited(standin, delays):
    """The stand-in saw each retry no sooner than the delay the tool reported
    (shown to 0.1 s) after the request before it."""
    times = request_times(standin)
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert len(gaps) == len(delays), (gaps, delays)
    for gap, delay in zip(gaps, delays):
        assert gap >= delay - 0.05, (gaps, delays)


def assert_backoff(delays, base):
    """Exponential backoff from `base`: the k-th delay is base * 2**k less up to a
    quarter of jitter (each shown to 0.1 s)."""
    for k, delay in enumerate(delays):
        assert base * 2 ** k * 0.75 - 0.05 <= delay <= base * 2 ** k + 0.05, delays


# --- transient errors are retried


@pytest.mark.parametrize("fault", ["500", "502", "503", "408", "409"])
def test_server_errors_are_retried_then_succeed(run, standin, folder, fault):
    standin.configure(fault=fault, fault_count=2)
    result = run(FAST)
    assert result.rc == 0, result
    assert result.lines == [NAME]
    assert files_in(folder) == [NAME]
    assert standin.stats()["requests"] == 3


@pytest.mark.parametrize("fault", ["500", "502", "503", "408", "409"])
@pytest.mark.parametrize("limit", [["--max-attempts", "1"], ["--retries", "0"]],
                         ids=["max-attempts-1", "retries-0"])
def test_server_errors_without_retries_fail(run, standin, folder, fault, limit):
    standin.configure(fault=fault, fault_count=2)
    result = run([*FAST, *limit])
    assert result.rc == 1, result
    assert result.stdout == ""
    assert files_in(folder) == []
    assert standin.stats()["requests"] == 1
    assert fault in result.stderr


def test_default_is_three_attempts(run, standin, folder):
    standin.configure(fault="503")
    result = run(FAST)
    assert result.rc == 1, result
    assert files_in(folder) == []
    assert standin.stats()["requests"] == 3
    # The last answer's message and request id are shown.
    assert "The engine is currently overloaded" in result.stderr
    assert REQUEST_ID.search(result.stderr)


def test_default_backoff_waits_about_half_a_second_then_doubles(run, standin, folder):
    standin.configure(fault="503", fault_count=2)
    result = run(["generate", PROMPT, "--size", "1024x640"])
    assert result.rc == 0, result
    delays = reported_delays(standin, result.stderr)
    assert len(delays) == 2, result
    assert_backoff(delays, 0.5)   # 0.375-0.5 s, then 0.75-1 s
    assert delays[1] > delays[0]
    assert_waited(standin, delays)


def test_backoff_sets_the_first_delay(run, standin, folder):
    standin.configure(fault="503", fault_count=2)
    result = run(["generate", PROMPT, "--size", "1024x640", "--backoff", "0.3"])
    assert result.rc == 0, result
    delays = reported_delays(standin, result.stderr)
    assert len(delays) == 2, result
    assert_backoff(delays, 0.3)   # 0.225-0.3 s, then 0.45-0.6 s
    assert delays[1] > delays[0]
    assert_waited(standin, delays)


def test_quiet_hides_retry_warnings(run, standin, folder):
    standin.configure(fault="503", fault_count=1)
    result = run([*FAST, "-q"])
    assert result.rc == 0, result
    assert result.stderr == ""
    assert result.lines == [NAME]


def test_more_attempts_outlast_more_failures(run, standin, folder):
    standin.configure(fault="500", fault_count=4)
    result = run([*FAST, "--max-attempts", "5"])
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 5
    assert files_in(folder) == [NAME]


def test_retries_n_means_n_plus_one_attempts(run, standin, folder):
    standin.configure(fault="502")
    result = run([*FAST, "--retries", "3"])
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 4


def test_retried_request_sends_the_same_body(run, standin, folder):
    standin.configure(fault="503", fault_count=1)
    assert run(FAST).rc == 0
    first, second = standin.requests
    assert first["body"] == second["body"]
    assert first["headers"]["authorization"] == second["headers"]["authorization"]


# --- server-given delays


def test_429_retry_after_is_honoured(run, standin, folder):
    standin.configure(fault="429", fault_count=1, retry_after="1")
    result = run(FAST)
    assert result.rc == 0, result
    assert files_in(folder) == [NAME]
    first, second = request_times(standin)
    assert second - first >= 0.9
    assert reported_delays(standin, result.stderr) == [1.0]
    assert result.elapsed >= 0.9


def test_429_retry_after_ms_is_honoured(run, standin, folder):
    standin.configure(fault="429", fault_count=1, retry_after=None, retry_after_ms="800")
    result = run(FAST)
    assert result.rc == 0, result
    first, second = request_times(standin)
    assert second - first >= 0.7
    assert reported_delays(standin, result.stderr) == [0.8]
    assert result.elapsed >= 0.7


def test_429_retry_after_ms_wins_over_retry_after(run, standin, folder):
    standin.configure(fault="429", fault_count=1, retry_after="20", retry_after_ms="300")
    result = run(FAST)
    assert result.rc == 0, result
    assert reported_delays(standin, result.stderr) == [0.3]   # not 20 s
    assert_waited(standin, [0.3])


def test_429_retry_after_as_an_http_date_is_honoured(run, standin, folder):
    # A date in whole seconds, three on: the tool waits from its own clock's second
    # (some time between the two requests) to that date, never --backoff's 0.05 s.
    date = int(time.time()) + 3
    standin.configure(fault="429", fault_count=1,
                      retry_after=email.utils.formatdate(date, usegmt=True))
    result = run(FAST)
    assert result.rc == 0, result
    [delay] = reported_delays(standin, result.stderr)
    first, second = request_times(standin)
    assert delay == int(delay) and delay >= 1, result
    assert date - int(second) <= delay <= date - int(first), (delay, first, second)
    assert_waited(standin, [delay])


def test_429_fractional_retry_after_is_honoured(run, standin, folder):
    standin.configure(fault="429", fault_count=1, retry_after="1.2")
    result = run(FAST)
    assert result.rc == 0, result
    first, second = request_times(standin)
    assert second - first >= 1.1
    assert reported_delays(standin, result.stderr) == [1.2]


def test_429_without_a_delay_is_retried_with_backoff(run, standin, folder):
    standin.configure(fault="429", fault_count=1, retry_after=None)
    result = run(FAST)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 2


def test_429_every_time_gives_up_after_the_attempts(run, standin, folder):
    standin.configure(fault="429", retry_after=None, retry_after_ms="50")
    result = run(FAST)
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 3
    assert files_in(folder) == []
    assert "429" in result.stderr


def test_x_should_retry_false_stops_retries_on_a_500(run, standin, folder):
    standin.configure(fault="500", should_retry="false")
    result = run(FAST)
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 1
    assert files_in(folder) == []


def test_x_should_retry_true_on_a_500_still_retries(run, standin, folder):
    standin.configure(fault="500", fault_count=1, should_retry="true")
    result = run(FAST)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 2


# --- errors that are never retried


def test_insufficient_quota_is_not_retried(run, standin, folder):
    standin.configure(fault="quota")
    result = run(FAST)
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 1
    assert "quota" in result.stderr.lower()
    assert files_in(folder) == []
    assert result.stdout == ""


def test_moderation_block_is_not_retried_and_says_so(run, standin, folder):
    # The envelope alone, as documented: no stage or categories to show.
    standin.configure(fault="moderation")
    result = run(FAST)
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 1
    assert "error: the API refused the request (HTTP 400 image_generation_user_error)" \
        in result.stderr, result.stderr
    assert "  code: moderation_blocked   param: -\n" in result.stderr
    assert "  hint: the safety system refused the request; rephrase the prompt " \
        "(not retried)\n" in result.stderr
    assert "moderation: stage" not in result.stderr
    assert REQUEST_ID.search(result.stderr)
    assert files_in(folder) == []


def test_moderation_details_when_a_server_sends_them_are_shown(run, standin, folder):
    standin.configure(fault="moderation_details")
    result = run(FAST)
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 1
    assert "  moderation: stage input, categories violence\n" in result.stderr, result.stderr
    assert files_in(folder) == []


def test_400_is_not_retried_and_shows_message_type_code_param_and_request_id(
        run, standin, folder):
    standin.configure(fault="400")
    result = run(FAST)
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 1
    err = result.stderr
    assert "Invalid value: '1000x1000'" in err
    assert "invalid_request_error" in err
    assert "invalid_value" in err
    assert re.search(r"\bsize\b", err)
    assert REQUEST_ID.search(err), err
    assert files_in(folder) == []


def test_wrong_key_401_fails_with_a_hint(run, standin, folder):
    wrong = "sk-wrong-0123456789abcdefghij"
    result = run(FAST, env={"OPENAI_API_KEY": wrong})
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 1
    assert "401" in result.stderr
    assert "OPENAI_API_KEY" in result.stderr
    assert wrong not in result.stderr + result.stdout
    assert files_in(folder) == []


@pytest.mark.parametrize("wrong", ["sk-wrong-0123456789abcdefghij",
                                   "0123456789abcdef0123456789abcdef"],
                         ids=["sk-key", "key-of-another-form"])
@pytest.mark.parametrize("command", [FAST, ["batch", PROMPT, "--size", "1024x640",
                                            "--out-dir", "out"]], ids=["generate", "batch"])
def test_a_key_the_server_quotes_in_its_message_is_redacted(run, standin, tmp_path, wrong,
                                                           command):
    # "Incorrect API key provided: Bearer sk-..." was printed in full.
    standin.configure(echo_key=True)
    result = run(command, env={"OPENAI_API_KEY": wrong})
    assert result.rc == 1, result
    [answer] = standin.responses()
    assert wrong in answer["body"]["error"]["message"]   # the server did quote it
    assert ("Incorrect API key provided: Bearer [redacted]. You can find your API key in "
            "your account settings.") in result.stderr
    output = result.stdout + result.stderr
    assert wrong not in output and wrong[6:22] not in output
    # Nor in what a batch keeps of the failure (its ledger, its gallery).
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert wrong[6:22].encode() not in path.read_bytes(), path


# --- broken transfers and answers


def test_connection_reset_is_retried(run, standin, folder):
    standin.configure(fault="reset", fault_count=1)
    result = run(FAST)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 2
    assert files_in(folder) == [NAME]


def test_connection_reset_every_time_fails(run, standin, folder):
    standin.configure(fault="reset")
    result = run(FAST)
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 3
    assert files_in(folder) == []


def test_truncated_body_is_retried_then_succeeds(run, standin, folder):
    standin.configure(fault="truncate", fault_count=1)
    result = run(FAST)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 2
    assert files_in(folder) == [NAME]


def test_truncated_body_every_time_leaves_no_file(run, standin, folder):
    standin.configure(fault="truncate")
    result = run(FAST)
    assert result.rc == 1, result
    assert files_in(folder) == []


def test_invalid_json_fails_without_files(run, standin, folder):
    standin.configure(fault="invalid_json")
    result = run(FAST)
    assert result.rc == 1, result
    assert result.stdout == ""
    assert files_in(folder) == []
    assert "imagegen: error: bad response: it ended inside a string\n" in result.stderr, \
        result.stderr


@pytest.mark.parametrize("n", ["1", "2"])
def test_invalid_base64_fails_without_files(run, standin, folder, n):
    standin.configure(fault="invalid_b64")
    result = run([*FAST, "--n", n])
    assert result.rc == 1, result
    assert result.stdout == ""
    assert files_in(folder) == []
    assert "base64" in result.stderr


def test_invalid_base64_into_an_out_dir_leaves_no_temp_files(run, standin, folder):
    standin.configure(fault="invalid_b64")
    result = run([*FAST, "--n", "2", "--out-dir", "pics"])
    assert result.rc == 1, result
    assert files_in(folder) == []


def test_slow_reply_past_the_timeout_fails_quickly(run, standin, folder):
    standin.configure(fault="slow", slow_seconds=20)
    result = run([*FAST, "--timeout", "1", "--max-attempts", "1"])
    # Failed, not saved: it gave up before the reply (20 s away) came.
    assert result.rc == 1, result
    # curl's own words, with the time it measured (which a loaded machine stretches).
    assert re.search(r"error: request failed: Operation timed out after \d+ milliseconds",
                     result.stderr), result.stderr
    assert standin.stats()["requests"] == 1
    assert files_in(folder) == []


def test_slow_reply_once_is_retried_after_the_timeout(run, standin, folder):
    standin.configure(fault="slow", slow_seconds=20, fault_count=1)
    result = run([*FAST, "--timeout", "1"])
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 2
    assert files_in(folder) == [NAME]


def test_an_unreachable_server_fails_with_exit_1(run, standin, folder):
    result = run([*FAST, "--max-attempts", "2", "--base-url", "http://127.0.0.1:9/v1"])
    assert result.rc == 1, result
    assert files_in(folder) == []
    # Connection failures are retried like 5xx, then reported with curl's reason.
    assert "(attempt 2 of 2)" in result.stderr, result.stderr
    assert "error: request failed: Failed to connect to 127.0.0.1 port 9" in result.stderr
    assert result.stdout == ""


# --- advice on what failed (issue 15)


def free_port():
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_base_url_without_v1_gets_a_hint(run, standin, folder):
    result = run([*FAST, "--base-url", standin.origin])
    assert result.rc == 1, result
    assert "HTTP 404" in result.stderr
    assert (f"  hint: the base URL {standin.origin} has no /v1, where the API is: try "
            f"OPENAI_BASE_URL={standin.origin}/v1 (or --base-url)\n") in result.stderr
    # With /v1, a 404 (a model the server does not have) gets no such hint.
    other = run([*FAST, "--model", "my-server-model"])
    assert other.rc == 1 and "HTTP 404" in other.stderr, other
    assert "has no /v1" not in other.stderr


def test_a_refused_connection_hints_at_the_base_url_and_says_the_attempts(run, standin,
                                                                           folder):
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = run([*FAST, "--base-url", url])
    assert result.rc == 1, result
    lines = result.stderr.splitlines()
    error = next(i for i, x in enumerate(lines) if x.startswith("imagegen: error: "))
    assert "Failed to connect" in lines[error], lines
    assert lines[error + 1:] == [
        "  gave up after 3 attempts, as many as allowed (--max-attempts sets how many)",
        f"  hint: nothing answered at {url}: check OPENAI_BASE_URL or --base-url "
        "('imagegen config' shows where it is set) and that the server is up"]


def test_timeouts_say_they_may_be_billed_and_what_to_do(run, standin, folder):
    standin.configure(fault="slow", slow_seconds=20)
    result = run([*FAST, "--timeout", "0.5"])
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 3
    assert "  gave up after 3 attempts, as many as allowed" in result.stderr
    assert ("  hint: 3 attempts timed out after 0.5 s (--timeout): a server may bill a "
            "generation that timed out all the same; give a larger --timeout (an image at "
            "high quality can take minutes), or --stream with --partial-images to see it "
            "coming\n") in result.stderr


def test_an_error_after_retries_says_how_many_attempts_it_took(run, standin, folder):
    standin.configure(fault="503")
    result = run([*FAST, "--max-attempts", "2"])
    assert result.rc == 1, result
    assert result.stderr.endswith("  gave up after 2 attempts, as many as allowed "
                                  "(--max-attempts sets how many)\n"), result.stderr
    once = run([*FAST, "--max-attempts", "1"])
    assert "attempts" not in once.stderr.split("imagegen: error:")[1]


def test_a_batch_gives_each_hint_once_and_each_failure_its_attempts(run, standin, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = run(["batch", "a", "b", "c", "--size", "1024x640", "--backoff", "0.05",
                  "--base-url", url, "--out-dir", "out", "--no-gallery"])
    assert result.rc == 1, result
    failed = [x for x in result.stderr.splitlines() if "Failed to connect" in x]
    # Two retry warnings each and word that it goes again, the second round's two
    # retry warnings and its failure, then the summary's list.
    assert len(failed) == 6 + 3 + 6 + 3 + 3, failed
    ended = [x for x in failed if "retrying" not in x and "goes again" not in x]
    assert len(ended) == 6 and all(
        x.endswith("(after 6 attempts, the last 3 at the end of the run)") for x in ended)
    hints = [x for x in result.stderr.splitlines() if "hint:" in x]
    assert hints == [f"  hint: nothing answered at {url}: check OPENAI_BASE_URL or "
                     "--base-url ('imagegen config' shows where it is set) and that the "
                     "server is up"]


# --- interruption


def test_sigint_exits_130_and_leaves_no_files(standin, folder):
    standin.configure(latency=30)
    process = subprocess.Popen([BIN, *FAST, "--n", "2"], cwd=folder,
                               env=clean_env(standin), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5
        while standin.stats()["requests"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        assert process.poll() is None, "imagegen ended before the reply"
        process.send_signal(signal.SIGINT)
        stdout, stderr = assert_no_key_in_output(*process.communicate(timeout=20))
        # It ended while the server still held the request: not by waiting.
        assert standin.stats()["inflight"] == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert stdout == b""
    assert_no_key_leak(stderr.decode(errors="replace"), "stderr")
    assert files_in(folder) == []


def test_sigint_during_a_retry_wait_exits_130(standin, folder):
    standin.configure(fault="429", retry_after="20")
    process = subprocess.Popen([BIN, *FAST], cwd=folder, env=clean_env(standin),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5
        while standin.stats()["requests"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        stdout, stderr = assert_no_key_in_output(*process.communicate(timeout=15))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # One request: it stopped waiting out the 20-s retry-after, sending nothing more.
    assert process.returncode == 130, stderr
    assert stdout == b""
    assert standin.stats()["requests"] == 1
    assert files_in(folder) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_an_image_is_written_leaves_nothing_partial(standin, folder, signum):
    # The answer stops half-way through its body until released: the image's temp
    # file exists and holds part of it when the signal lands.
    standin.configure(hold_body=0.5)
    process = subprocess.Popen([BIN, *FAST, "--size", "2048x2048", "--n", "2"], cwd=folder,
                               env=clean_env(standin), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert standin.wait_held(), "the answer was never held"
        assert wait_for_temp_file(folder), "no temp file with bytes while the body was half-sent"
        process.send_signal(signum)
        stdout, stderr = assert_no_key_in_output(*process.communicate(timeout=20))
        assert standin.stats()["held"] == 1   # it ended mid-body, not by finishing
    finally:
        standin.release()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr   # Ctrl-C and SIGTERM alike (README)
    assert stdout == b""
    assert files_in(folder) == []
    assert b"imagegen: error: interrupted; no image was saved\n" in stderr, stderr


@pytest.mark.parametrize("keep", [False, True], ids=["default", "keep-partials"])
def test_ctrl_c_during_a_stream_removes_its_partial_images(standin, folder, keep):
    # B11: the stream has sent its first partial image and waits before the next;
    # Ctrl-C then leaves no NAME.partial-K file (unless --keep-partials), and the
    # message says what is left.
    standin.configure(stream_interval=30)
    args = [*FAST, "--partial-images", "2", *(["--keep-partials"] if keep else [])]
    process = subprocess.Popen([BIN, *args], cwd=folder, env=clean_env(standin),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    partial = folder / f"{NAME[:-4]}.partial-0.png"
    try:
        deadline = time.monotonic() + 20
        while not partial.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert partial.exists(), "the first partial image was never saved"
        process.send_signal(signal.SIGINT)
        stdout, stderr = assert_no_key_in_output(*process.communicate(timeout=20))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert stdout == b""
    if keep:
        assert files_in(folder) == [partial.name]
        assert (b"imagegen: error: interrupted; no image was saved; partial images kept: "
                + partial.name.encode() + b"\n") in stderr, stderr
    else:
        assert files_in(folder) == []
        assert b"imagegen: error: interrupted; no image was saved\n" in stderr, stderr
    assert temp_files(folder) == []
