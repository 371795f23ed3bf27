"""kill -9 at many moments, and a rerun after each: the ledger's promise under
fire.  Counted by the stand-in, no job with a saved image is ever sent again, and
no final name ever holds part of an image.  Bounded: 50 kills at moments drawn
from a fixed seed, then one run to the end."""

import json
import random
import signal
import subprocess
import time

from PIL import Image

from conftest import BIN, assert_no_key_in_output, clean_env, files_in

KILLS = 50
JOBS = [{"prompt": f"job {i}", "n": 1 if i % 2 else 2} for i in range(1, 7)]
ARGS = ["batch", "--input", "jobs.jsonl", "--size", "1024x640", "--concurrency", "3",
        "--sidecar", "--downscale-max-dim", "64"]


def saved_jobs(folder):
    """The jobs with an image under its final name, each checked whole."""
    saved = set()
    for name in files_in(folder):
        if name.startswith((".", "thumbs/")):
            continue
        if name.endswith(".json"):
            json.loads((folder / name).read_text())   # sidecars are whole too
            continue
        if not name.endswith(".png"):
            continue
        with Image.open(folder / name) as image:
            image.load()   # a final name never holds part of an image (or copy)
        if "-web" not in name:
            saved.add(int(name.split("-")[0]))
    return saved


def run_killed(standin, tmp_path, args, moment, from_first_request):
    """One batch run, killed with SIGKILL `moment` seconds after it starts (or,
    from_first_request, after its first request arrives: a loaded machine's
    slower start-up does not push every kill before the work); the jobs it
    sent."""
    standin.reset(baseline={})
    standin.configure(latency=0.05)
    process = subprocess.Popen([BIN, *args], cwd=tmp_path, env=clean_env(standin),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while (from_first_request and not standin.requests and process.poll() is None
           and time.monotonic() < deadline):
        time.sleep(0.005)
    time.sleep(moment)
    process.send_signal(signal.SIGKILL)
    assert_no_key_in_output(*process.communicate(timeout=20))
    return [int(r["body"]["prompt"].split()[1]) for r in standin.requests
            if r["path"] == "/v1/images/generations"]


def test_kill_9_at_fifty_moments_never_pays_twice(standin, tmp_path):
    (tmp_path / "jobs.jsonl").write_text("".join(json.dumps(j) + "\n" for j in JOBS))
    moments = random.Random(20261201)
    kills = rounds = mid_run = 0
    # Rounds of the same batch in a new folder each: killed again and again (a
    # rerun after each kill) until every job is saved, then run once to the end.
    while kills < KILLS:
        rounds += 1
        folder = tmp_path / f"out-{rounds}"
        args = [*ARGS, "--out-dir", folder.name]
        while kills < KILLS:
            before = saved_jobs(folder) if folder.exists() else set()
            if before == set(range(1, 7)):
                break
            # One kill in four from the start (the plan, the ledger's making,
            # the sweep), the others from the first request on.
            sent = run_killed(standin, tmp_path, args, moments.uniform(0.0, 0.3),
                              kills % 4 != 0)
            kills += 1
            after = saved_jobs(folder) if folder.exists() else set()
            mid_run += bool(after - before) and len(after) < 6
            again = sorted(set(sent) & before)
            assert not again, f"kill {kills}: jobs {again} had a saved image and were sent again"
        before = saved_jobs(folder) if folder.exists() else set()
        standin.reset(baseline={})
        result = subprocess.run([BIN, *args], cwd=tmp_path, env=clean_env(standin),
                                stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        assert_no_key_in_output(result.stdout, result.stderr)
        assert result.returncode == 0, result.stderr.decode()
        assert saved_jobs(folder) == set(range(1, 7))
        final = {int(r["body"]["prompt"].split()[1]) for r in standin.requests
                 if r["path"] == "/v1/images/generations"}
        assert not final & before, "the run to the end paid again for a saved job"
    # The moments were spread: many kills landed after some images were saved and
    # before the rest.
    assert rounds >= 3 and mid_run >= 10, (rounds, mid_run)
