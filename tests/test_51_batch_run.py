"""`imagegen batch` runs against the stand-in: concurrency reached and never
exceeded, 429s waited out by the whole batch, --rpm and the rate-limit headers
pacing launches, quota exhaustion, --fail-fast, failed jobs in the summary and
retried 5xx answers."""

import json
import re
import subprocess
import threading

import pytest
from PIL import Image

from conftest import (BIN, assert_no_key_leak, batch_files, clean_env, files_in, is_batch_extra,
                      temp_files)

SMALL = ["--size", "1024x640"]
OUT = ["--out-dir", "out"]
FAST = ["--backoff", "0.05"]


def prompts(count):
    return [f"job {i}" for i in range(1, count + 1)]


def names(count, width=2):
    return [f"{i:0{width}d}-job-{i}.png" for i in range(1, count + 1)]


def images_in(folder):
    """The images saved in folder (every one must decode fully), sorted."""
    found = sorted(name for name in files_in(folder) if not is_batch_extra(name))
    for name in found:
        with Image.open(folder / name) as image:
            image.load()
            assert image.size == (1024, 640), name
    assert temp_files(folder) == []
    return found


def request_times(standin):
    return sorted(r["time"] for r in standin.requests
                  if r["path"] == "/v1/images/generations")


def sent_prompts(standin):
    return [r["body"]["prompt"] for r in standin.requests
            if r["path"] == "/v1/images/generations"]


def json_lines(result):
    return {o["index"]: o for o in map(json.loads, result.lines)}


def request_ids(standin, prompt):
    """The request ids of the answers to `prompt`'s generation requests, in order."""
    return [r["request_id"] for r in standin.requests
            if r["path"] == "/v1/images/generations" and r["body"]["prompt"] == prompt]


def only_request_id(standin, prompt):
    """The request id of `prompt`'s one generation request."""
    [request_id] = request_ids(standin, prompt)
    return request_id


# The errors the stand-in's faults give, as imagegen words them with the id of the
# answer they came in.
QUOTA_ERROR = ("HTTP 429 insufficient_quota (code insufficient_quota): You exceeded your "
               "current quota, please check your plan and billing details. [request {}]")
SIZE_ERROR = ("HTTP 400 invalid_request_error (code invalid_value, param size): Invalid "
              "value: '1000x1000'. Supported values are: '1024x1024', '1024x1536', "
              "'1536x1024', and 'auto'. [request {}]")
OVERLOADED_ERROR = ("HTTP 503 server_error: The engine is currently overloaded, please "
                    "try again later. [request {}]")
MODERATION_ERROR = ("HTTP 400 image_generation_user_error (code moderation_blocked): Your "
                    "request was rejected by the safety system. If you believe this is an "
                    "error, contact us and include the request ID {0}. [request {0}]")


def named(i):
    """How a failure names job i of prompts(): its number and the start of its prompt."""
    return f'job {i} ("job {i}")'


def failure_summary(errors):
    """The list a batch ends stderr with: {job number: its error}."""
    count = len(errors)
    return (f"imagegen: error: {count} job{'s' if count > 1 else ''} failed:\n"
            + "".join(f"  {named(i)}: {errors[i]}\n" for i in sorted(errors)))


def released_after_a_failure(standin, tmp_path, args):
    """Runs `imagegen batch --json ARGS` and releases the held answers only once its
    stdout has reported a failed job: whatever it launches after that failure, it
    launched knowing of it.  Returns (exit status, JSON lines by index, stderr)."""
    process = subprocess.Popen([BIN, "batch", "--json", *args], cwd=tmp_path,
                               env=clean_env(standin), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    stderr = []
    drain = threading.Thread(target=lambda: stderr.append(process.stderr.read()))
    drain.start()
    try:
        for line in process.stdout:
            lines.append(json.loads(line))
            if lines[-1]["status"] == "failed":
                assert standin.wait_held(2, timeout=30), "the other answers were not held"
                standin.release()
        process.wait(timeout=60)
    finally:
        standin.release()
        if process.poll() is None:
            process.kill()
            process.wait()
        drain.join()
    assert_no_key_leak(json.dumps(lines), "stdout")
    assert_no_key_leak(stderr[0], "stderr")
    return process.returncode, {o["index"]: o for o in lines}, stderr[0]


# --- concurrency


def held_while(standin, count, action):
    """Runs action() while the first `count` answers are held mid-body; True when
    all `count` were held at once (so that many requests were in flight)."""
    reached = []

    def release_when_held():
        reached.append(standin.wait_held(count, timeout=30))
        standin.configure(hold_body=-1)   # on a timeout, hold nothing more
        standin.release()

    releaser = threading.Thread(target=release_when_held)
    releaser.start()
    try:
        result = action()
    finally:
        standin.release()
        releaser.join()
    return reached == [True], result


@pytest.mark.parametrize("args, expected", [
    ([], 5),
    (["--concurrency", "1"], 1),
    (["--concurrency", "3"], 3),
    (["--workers", "4"], 4),
    (["--concurrency", "12"], 12),
], ids=["default-5", "concurrency-1", "concurrency-3", "workers-4", "concurrency-12"])
def test_concurrency_is_reached_and_never_exceeded(run, standin, tmp_path, args, expected):
    # The first `expected` answers wait half-way through their bodies until all of
    # them are there: `expected` requests were in flight at once, whatever the
    # machine's load; the stand-in's peak shows no more ever were.
    standin.configure(latency=0.4, hold_body=0.1, hold_count=expected)
    count = 2 * expected + 1 if expected > 1 else 3
    reached, result = held_while(
        standin, expected, lambda: run(["batch", *prompts(count), *args, *SMALL, *OUT]))
    assert result.rc == 0, result
    assert reached, f"{expected} requests were never in flight at once"
    assert standin.stats()["peak_inflight"] <= expected
    assert standin.stats()["requests"] == count
    assert images_in(tmp_path / "out") == names(count)
    # Waves of `expected` requests: about ceil(count / expected) latencies.
    waves = -(-count // expected)
    assert result.elapsed >= waves * 0.4 - 0.05


def test_forty_jobs_at_concurrency_20_run_in_two_full_waves(run, standin, tmp_path):
    # How close to the ideal time is measured by bench/, not asserted here.
    standin.configure(latency=0.5, hold_body=0.1, hold_count=20)
    reached, result = held_while(
        standin, 20, lambda: run(["batch", *prompts(40), "--concurrency", "20", *SMALL, *OUT]))
    assert result.rc == 0, result
    assert reached, "20 requests were never in flight at once"
    assert standin.stats()["peak_inflight"] <= 20
    assert standin.stats()["requests"] == 40
    assert images_in(tmp_path / "out") == names(40)
    assert result.elapsed >= 1.0, result.elapsed  # two waves of 0.5 s each


# --- 429: the whole batch waits


def test_a_429_pauses_every_launch_until_retry_after(run, standin, tmp_path):
    # The whole first wave (--concurrency 3) gets 429, so no success can launch a
    # job before the first 429 is read.  Those answers came back 0.2 s after the
    # wave: nothing more was launched for the next second, although the slots were
    # free and six jobs had never been sent.
    standin.configure(latency=0.2, fault="429", fault_count=3, retry_after="1")
    result = run(["batch", *prompts(9), "--concurrency", "3", *SMALL, *OUT])
    assert result.rc == 0, result
    assert images_in(tmp_path / "out") == names(9)
    assert standin.stats()["requests"] == 12
    times = sorted(request_times(standin))
    later = times[3:]
    assert min(later) - times[2] >= 0.2 + 0.9, [t - times[0] for t in times]
    assert result.elapsed >= 1.2


@pytest.mark.compat
def test_a_429_with_retry_after_ms_pauses_the_batch(run, standin, tmp_path):
    # Both of the first wave get 429 (as above: no success launches early).
    standin.configure(latency=0.1, fault="429", fault_count=2, retry_after=None,
                      retry_after_ms="700")
    result = run(["batch", *prompts(6), "--concurrency", "2", *SMALL, *OUT])
    assert result.rc == 0, result
    assert images_in(tmp_path / "out") == names(6)
    times = sorted(request_times(standin))
    later = times[2:]   # after the first wave of two (--concurrency 2)
    assert min(later) - times[1] >= 0.1 + 0.6, [t - times[0] for t in times]


def test_a_429_storm_is_waited_out_and_every_job_completes(run, standin, tmp_path):
    standin.configure(latency=0.1, fault="429", fault_count=6, retry_after="1")
    result = run(["batch", *prompts(8), "--concurrency", "4", *SMALL, *OUT])
    assert result.rc == 0, result
    assert images_in(tmp_path / "out") == names(8)
    assert standin.stats()["requests"] == 14
    assert result.elapsed >= 1.0
    assert sorted(set(sent_prompts(standin))) == sorted(prompts(8))


def test_429s_halve_the_requests_in_flight_and_successes_win_them_back(run, standin,
                                                                       tmp_path):
    # The first wave of four all get 429: the batch cuts to two in flight.  Two
    # successes win back a third slot, three more a fourth; the last four answers are
    # held half-way until all four are in flight at once, which only a batch that
    # won its slots back can reach.
    standin.configure(latency=0.05, fault="429", fault_count=4, retry_after=None,
                      retry_after_ms="200", hold_body=0.5, hold_after=12, hold_count=4)
    reached, result = held_while(standin, 4, lambda: run(
        ["batch", *prompts(16), "--concurrency", "4", *SMALL, *OUT]))
    assert result.rc == 0, result
    assert images_in(tmp_path / "out") == names(16)
    assert standin.stats()["requests"] == 20
    arrivals = standin.arrivals()
    assert len(arrivals) == 20
    # Each request stays 50 ms at the stand-in: without the cut, the four retries of
    # the first wave would be there at once.  They went two at a time.
    assert max(arrivals[4:8]) <= 2, arrivals
    assert reached, "four requests were never in flight again after the cut"


def test_the_rate_limit_headers_pace_launches_before_a_429(run, standin, tmp_path):
    # One request a second, announced in x-ratelimit-remaining/reset-requests: the
    # client waits for the reset instead of running into 429s.
    standin.configure(rpm_limit=60, rpm_mode="bucket", ratelimit_headers=True)
    result = run(["batch", *prompts(3), "--concurrency", "1", *SMALL, *OUT])
    assert result.rc == 0, result
    assert images_in(tmp_path / "out") == names(3)
    assert standin.stats()["requests"] == 3  # no 429 was answered
    first, second, third = request_times(standin)
    assert second - first >= 0.8
    assert third - second >= 0.8


def test_a_stated_request_limit_paces_launches_with_requests_to_spare(run, standin,
                                                                     tmp_path):
    # As the API sends them on every answer: a limit of 120 a minute, with most of it
    # remaining.  The first wave goes at once; from the first answer on, launches
    # keep to one every half second, so the limit is never reached.
    standin.configure(rpm_limit=120, rpm_mode="window", ratelimit_headers=True)
    result = run(["batch", *prompts(6), "--concurrency", "4", *SMALL, *OUT])
    assert result.rc == 0, result
    assert images_in(tmp_path / "out") == names(6)
    assert standin.stats()["requests"] == 6   # no 429 was answered
    times = request_times(standin)
    gaps = [later - earlier for earlier, later in zip(times[3:], times[4:])]
    assert min(gaps) >= 0.45, gaps


# --- --rpm


def test_rpm_spaces_the_launches(run, standin, tmp_path):
    result = run(["batch", *prompts(4), "--rpm", "120", "--concurrency", "4",
                  *SMALL, *OUT])
    assert result.rc == 0, result
    assert images_in(tmp_path / "out") == names(4)
    times = request_times(standin)
    assert len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.45, gaps
    assert result.elapsed >= 1.45


def test_rpm_also_spaces_retries(run, standin, tmp_path):
    standin.configure(fault="503", fault_count=1)
    result = run(["batch", *prompts(2), "--rpm", "120", *FAST, *SMALL, *OUT])
    assert result.rc == 0, result
    times = request_times(standin)
    assert len(times) == 3
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.45, gaps


# --- quota, failures, --fail-fast


def test_exhausted_quota_stops_the_batch_after_the_jobs_in_flight(run, standin, tmp_path):
    standin.configure(latency=0.3, fault="quota")
    result = run(["batch", *prompts(8), "--concurrency", "3", *SMALL, *OUT])
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 3  # only the three in flight, none retried
    assert "quota" in result.stderr.lower()
    assert "5 jobs not sent" in result.stderr
    assert result.stdout == ""
    assert images_in(tmp_path / "out") == []


def test_jobs_in_flight_when_quota_runs_out_are_still_saved(standin, tmp_path):
    # The first request runs out of quota; the other two of the first wave are held
    # half-way through their bodies until the failure has been reported, so none of
    # them can finish first and make room for a fourth launch.
    standin.configure(fault="quota", fault_count=1, hold_body=0.5, hold_count=2)
    rc, by_index, stderr = released_after_a_failure(
        standin, tmp_path, [*prompts(8), "--concurrency", "3", *SMALL, *OUT])
    assert rc == 1, stderr
    assert len(request_times(standin)) == 3, stderr   # nothing launched after the 429
    assert "5 jobs not sent" in stderr, stderr
    failed = [o for o in by_index.values() if o["status"] == "failed"]
    assert len(failed) == 1 and "quota" in failed[0]["error"].lower(), by_index
    saved = images_in(tmp_path / "out")
    assert len(saved) == 2
    assert sorted(p for o in by_index.values() for p in o["files"]) == \
        [f"out/{name}" for name in saved]


def test_quota_json_lines_show_failed_and_not_sent_jobs(run, standin, tmp_path):
    # Both of the first wave run out of quota: they are launched together, and the
    # answers wait a second, so the second request is sent before the first answer
    # is in, even under valgrind.  The three jobs behind them are never sent.
    standin.configure(latency=1.0, fault="quota")
    result = run(["batch", *prompts(5), "--concurrency", "2", "--json", *SMALL, *OUT])
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 2
    assert standin.stats()["statuses"] == {"429": 2}
    errors = {i: QUOTA_ERROR.format(only_request_id(standin, f"job {i}")) for i in (1, 2)}
    lines = json_lines(result)
    assert sorted(lines) == [1, 2, 3, 4, 5]
    for i in (1, 2):
        assert lines[i] == {"index": i, "prompt": f"job {i}", "status": "failed",
                            "files": [], "usage": None, "error": errors[i],
                            "attempts": 1}, lines[i]
    for i in (3, 4, 5):
        # Never sent: no attempt made.  The loop stopped them, hence "interrupted".
        assert lines[i] == {"index": i, "prompt": f"job {i}", "status": "not sent",
                            "files": [], "usage": None, "error": "interrupted",
                            "attempts": 0}, lines[i]
    for i in (1, 2):
        assert f"imagegen: error: {named(i)}: {errors[i]}\n" in result.stderr
    assert result.stderr.endswith(
        "imagegen: error: the account is out of quota; the remaining jobs were not sent\n"
        + failure_summary(errors)
        + "imagegen: 3 jobs not sent; run the same command again to finish\n"), result
    assert images_in(tmp_path / "out") == []


def test_a_failed_job_does_not_stop_the_others_and_is_listed_in_the_summary(
        run, standin, tmp_path):
    standin.configure(fault="400", fault_count=1)
    result = run(["batch", *prompts(4), "--concurrency", "1", *SMALL, *OUT])
    assert result.rc == 1, result
    # A 400 is not retried, and the next jobs are sent after it, in order.
    assert sent_prompts(standin) == prompts(4)
    assert standin.stats()["statuses"] == {"400": 1, "200": 3}
    assert images_in(tmp_path / "out") == names(4)[1:]
    assert result.lines == [f"out/{name}" for name in names(4)[1:]]
    error = SIZE_ERROR.format(only_request_id(standin, "job 1"))
    assert f"imagegen: error: {named(1)}: {error}\n" in result.stderr
    assert result.stderr.endswith(failure_summary({1: error})), result


def test_jobs_that_fail_every_attempt_are_listed_with_their_errors(run, standin, tmp_path):
    standin.configure(fault="503")
    result = run(["batch", *prompts(2), "--json", *FAST, *SMALL, *OUT])
    assert result.rc == 1, result
    # Three attempts each, and three more in the second round (a 503 may pass).
    assert standin.stats()["statuses"] == {"503": 12}
    ids = {i: request_ids(standin, f"job {i}") for i in (1, 2)}
    assert [len(ids[i]) for i in (1, 2)] == [6, 6], ids
    # Each job fails with its last answer's error; the ones before it were retried.
    errors = {i: OVERLOADED_ERROR.format(ids[i][5]) for i in (1, 2)}
    lines = json_lines(result)
    assert sorted(lines) == [1, 2]
    for i in (1, 2):
        assert lines[i] == {"index": i, "prompt": f"job {i}", "status": "failed",
                            "files": [], "usage": None, "error": errors[i],
                            "attempts": 6}, lines[i]
        for first, attempt in [(0, 2), (0, 3), (3, 2), (3, 3)]:
            retried = re.escape(f"imagegen: warning: job {i}: "
                                + OVERLOADED_ERROR.format(ids[i][first + attempt - 2]))
            assert re.search(rf"^{retried}; retrying in \d+\.\d s "
                             rf"\(attempt {attempt} of 3\)$", result.stderr, re.M), result
        went_again = re.escape(f"imagegen: job {i}: failed after 3 attempts ("
                               + OVERLOADED_ERROR.format(ids[i][2]))
        assert re.search(rf"^{went_again}\); it goes again at the end of the run$",
                         result.stderr, re.M), result
        # Said with the attempts it took (the JSON line has them as "attempts").
        assert (f"imagegen: error: {named(i)}: {errors[i]} (after 6 attempts, the last 3 "
                "at the end of the run)\n" in result.stderr)
    assert result.stderr.endswith(failure_summary(
        {i: errors[i] + " (after 6 attempts, the last 3 at the end of the run)"
         for i in errors})), result


def test_a_moderation_block_fails_only_that_job(run, standin, tmp_path):
    standin.configure(fault="moderation", fault_count=1)
    result = run(["batch", *prompts(3), "--concurrency", "1", *SMALL, *OUT])
    assert result.rc == 1, result
    assert sent_prompts(standin) == prompts(3)   # the block is not retried
    assert standin.stats()["statuses"] == {"400": 1, "200": 2}
    error = MODERATION_ERROR.format(only_request_id(standin, "job 1"))
    assert f"imagegen: error: {named(1)}: {error}\n" in result.stderr
    assert result.stderr.endswith(failure_summary({1: error})), result
    assert images_in(tmp_path / "out") == names(3)[1:]
    assert result.lines == [f"out/{name}" for name in names(3)[1:]]


def test_fail_fast_stops_launching_after_the_first_failure(run, standin, tmp_path):
    standin.configure(fault="400", fault_count=1)
    result = run(["batch", *prompts(5), "--concurrency", "1", "--fail-fast",
                  *SMALL, *OUT])
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 1
    assert "fail-fast" in result.stderr
    assert "4 jobs not sent" in result.stderr
    assert result.stdout == ""
    assert images_in(tmp_path / "out") == []


def test_fail_fast_lets_the_jobs_in_flight_finish(standin, tmp_path):
    standin.configure(fault="400", fault_count=1, hold_body=0.5, hold_count=2)
    rc, by_index, stderr = released_after_a_failure(
        standin, tmp_path, [*prompts(6), "--concurrency", "3", "--fail-fast", *SMALL, *OUT])
    assert rc == 1, stderr
    assert len(request_times(standin)) == 3, stderr   # the rest were never launched
    assert "3 jobs not sent" in stderr, stderr
    assert sorted(o["status"] for o in by_index.values()) == \
        ["done", "done", "failed", "not sent", "not sent", "not sent"]
    assert len(images_in(tmp_path / "out")) == 2


def test_without_fail_fast_every_job_is_tried(run, standin, tmp_path):
    standin.configure(fault="400", fault_count=2)
    result = run(["batch", *prompts(5), "--concurrency", "1", *SMALL, *OUT])
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 5
    assert len(images_in(tmp_path / "out")) == 3
    assert "2 jobs failed" in result.stderr


def test_server_errors_on_a_fifth_of_requests_are_retried_until_every_job_is_done(
        run, standin, tmp_path):
    # Seed 13 fails draws 4, 6, 9, 16 and 18 of the first 35: five 500s, each retried.
    standin.configure(latency=0.2, fail_rate=0.2, fail_seed=13)
    result = run(["batch", *prompts(20), "--concurrency", "10", *FAST, *SMALL, *OUT])
    assert result.rc == 0, result
    assert images_in(tmp_path / "out") == names(20)
    assert standin.stats()["requests"] == 25
    assert sorted(set(sent_prompts(standin))) == sorted(prompts(20))


# --- what a batch says of each job (issue 15)


def test_off_a_terminal_each_finished_job_gets_a_line_with_its_files_tokens_and_cost(
        run, standin, tmp_path):
    result = run(["batch", *prompts(3), "--concurrency", "1", "--json", *SMALL, *OUT])
    assert result.rc == 0, result
    lines = json_lines(result)
    said = [x for x in result.stderr.splitlines() if re.match(r"imagegen: \[\d+/3\] ", x)]
    # One line a job, in the order they finished (one at a time: 1, 2, 3).
    assert said == [f"imagegen: [{i}/3] {named(i)} done: {names(3)[i - 1]}, "
                    f"{lines[i]['usage']['total_tokens']} tokens, "
                    f"${lines[i]['cost']['usd']:.4f}" for i in (1, 2, 3)], result.stderr
    # Each said before the summary.
    stderr = result.stderr
    assert stderr.index(said[-1]) < stderr.index("imagegen: done: 3 images from 3 of 3 jobs")


def test_a_failed_job_is_named_by_its_line_and_the_start_of_its_prompt(run, standin,
                                                                       tmp_path):
    long = "a quiet harbour at dawn with fishing boats and gulls overhead"
    (tmp_path / "jobs.jsonl").write_text(json.dumps({"prompt": long}) + "\n\n"
                                         + json.dumps({"prompt": "a\nkite"}) + "\n")
    standin.configure(fault="400", fault_count=2)
    result = run(["batch", "--input", "jobs.jsonl", "--concurrency", "1", *SMALL, *OUT])
    assert result.rc == 1, result
    first = f'job 1 (line 1, "{long[:32].rstrip()}...")'
    second = 'job 2 (line 3, "a kite")'   # a control character shown as a space
    errors = [x for x in result.stderr.splitlines() if "HTTP 400" in x]
    assert [x.split(": HTTP 400")[0] for x in errors] == [
        f"imagegen: error: {first}", f"imagegen: error: {second}",
        f"  {first}", f"  {second}"], result.stderr


# --- the second round (issue 15: an unattended batch loses no job it could finish) ---

@pytest.mark.parametrize("fault", ["reset", "truncate", "503", "429"])
def test_a_job_that_failed_only_transiently_goes_again_at_the_end(run, standin, tmp_path,
                                                                   fault):
    # One attempt a job: the first job's fails, the others are sent, then it goes
    # once more and is done: nothing lost, exit 0.
    standin.configure(fault=fault, fault_count=1, retry_after="0")
    result = run(["batch", *prompts(4), *SMALL, *OUT, "--concurrency", "1",
                  "--max-attempts", "1", "--no-gallery"])
    assert result.rc == 0, result
    sent = [r["body"]["prompt"] for r in standin.requests]
    assert sent == ["job 1", "job 2", "job 3", "job 4", "job 1"]
    assert re.search(r"^imagegen: job 1: failed after 1 attempt \(.+\); it goes again at "
                     r"the end of the run$", result.stderr, re.M), result.stderr
    assert ("second round: 1 job that failed only for a passing reason (the connection, a "
            "429 or 5xx, an answer cut short) is sent once more") in result.stderr
    assert "1 job went again at the end of the run, and was done" in result.stderr
    assert len([f for f in batch_files(tmp_path / "out") if f.endswith(".png")]) == 4


def test_a_job_that_fails_again_in_the_second_round_fails_once(run, standin, tmp_path):
    # Three 503s: both jobs' only attempts, then the first's second round.
    standin.configure(fault="503", fault_count=3)
    result = run(["batch", *prompts(2), *SMALL, *OUT, "--concurrency", "1",
                  "--max-attempts", "1", "--no-gallery", "--json"])
    assert result.rc == 1, result
    sent = [r["body"]["prompt"] for r in standin.requests]
    assert sent == ["job 1", "job 2", "job 1", "job 2"]      # never a third round
    # One JSON line a job, its end as it finally was.
    lines = [json.loads(line) for line in result.lines]
    assert sorted((line["index"], line["status"]) for line in lines) == \
        [(1, "failed"), (2, "done")]
    assert "2 jobs went again at the end of the run, and 1 of them were done" in result.stderr


@pytest.mark.parametrize("fault", ["400", "quota", "moderation"])
def test_a_lasting_failure_never_goes_again(run, standin, tmp_path, fault):
    standin.configure(fault=fault, fault_count=1)
    result = run(["batch", *prompts(3), *SMALL, *OUT, "--concurrency", "1", "--no-gallery"])
    assert result.rc == 1, result
    assert "second round" not in result.stderr
    sent = [r["body"]["prompt"] for r in standin.requests]
    # A quota error stops the run; the others fail that one job only.
    assert sent == (["job 1"] if fault == "quota" else ["job 1", "job 2", "job 3"])


def test_fail_fast_takes_no_second_round(run, standin, tmp_path):
    standin.configure(fault="503", fault_count=1)
    result = run(["batch", *prompts(3), *SMALL, *OUT, "--concurrency", "1",
                  "--max-attempts", "1", "--fail-fast", "--no-gallery"])
    assert result.rc == 1, result
    assert "second round" not in result.stderr
    assert [r["body"]["prompt"] for r in standin.requests] == ["job 1"]
