"""The job ledger (an SQLite database in the batch folder's .imagegen/): jobs keyed
by what they send, so that lines inserted, deleted or moved never make a rerun pay
again; ids unique; a job with any saved image never sent again; an old JSON
manifest imported once."""

import contextlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import (BIN, LEDGER, assert_no_key_in_output, batch_files, clean_env,
                      ledger_jobs, open_image, temp_files)

SMALL = ["--size", "1024x640"]
OUT = ["--out-dir", "out"]
# Faults preloaded into imagegen (tests/faults/, built by tests/meson.build).
DISK_FULL = Path(BIN).parent / "tests" / "libdisk_full.so"
SLOW_DISK = Path(BIN).parent / "tests" / "libslow_disk.so"


def write_jobs(folder, *lines):
    path = folder / "jobs.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n"
                            for line in lines))
    return "jobs.jsonl"


def sent_prompts(standin):
    return [r["body"]["prompt"] for r in standin.requests
            if r["path"] == "/v1/images/generations"]


def images(folder):
    return [name for name in batch_files(folder) if not name.startswith(".imagegen/")]


def test_the_ledger_is_sqlite_in_wal_mode_in_a_hidden_folder(run, standin, tmp_path):
    assert run(["batch", "a cat", "a dog", *SMALL, *OUT]).rc == 0
    path = tmp_path / "out" / LEDGER
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        owners = dict(db.execute("SELECT name, job FROM files").fetchall())
    assert sorted(owners) == ["01-a-cat.png", "02-a-dog.png"]
    jobs = {e["key"]: e for e in ledger_jobs(tmp_path / "out")}
    assert {jobs[k]["prompt"] for k in owners.values()} == {"a cat", "a dog"}


def test_inserting_a_line_at_the_top_sends_only_that_line(run, standin, tmp_path):
    prompts = [f"job {i}" for i in range(1, 6)]
    args = ["batch", "--input", "jobs.jsonl", *SMALL, *OUT]
    write_jobs(tmp_path, *prompts)
    assert run(args).rc == 0
    before = {n: (tmp_path / "out" / n).read_bytes() for n in images(tmp_path / "out")}
    standin.reset()
    write_jobs(tmp_path, "a new first job", *prompts)
    result = run(args)
    assert result.rc == 0, result
    assert sent_prompts(standin) == ["a new first job"]
    assert "5 jobs done by an earlier run" in result.stderr
    # Nothing was renamed or replaced; the new job took a free name.
    after = {n: (tmp_path / "out" / n).read_bytes() for n in images(tmp_path / "out")}
    assert {n: after[n] for n in before} == before
    # The images done before are listed (the batch's, in its order), then the new one.
    assert result.lines == [f"out/{n:02d}-job-{n}.png" for n in range(1, 6)] + [
        "out/01-a-new-first-job.png"]


def test_deleting_and_reordering_lines_sends_nothing(run, standin, tmp_path):
    prompts = [f"job {i}" for i in range(1, 6)]
    args = ["batch", "--input", "jobs.jsonl", *SMALL, *OUT]
    write_jobs(tmp_path, *prompts)
    assert run(args).rc == 0
    standin.reset()
    write_jobs(tmp_path, "job 5", "job 1", "job 4", "job 2")   # job 3 deleted
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0
    assert "4 jobs done by an earlier run" in result.stderr


def test_two_identical_lines_are_two_jobs_and_a_third_is_one_more(run, standin, tmp_path):
    args = ["batch", "--input", "jobs.jsonl", *SMALL, *OUT]
    write_jobs(tmp_path, "a cat", "a cat")
    result = run(args)
    assert result.rc == 0, result
    assert sent_prompts(standin) == ["a cat", "a cat"]
    assert sorted(result.lines) == ["out/01-a-cat.png", "out/02-a-cat.png"]
    standin.reset()
    write_jobs(tmp_path, "a cat", "a cat", "a cat")
    result = run(args)
    assert result.rc == 0, result
    assert sent_prompts(standin) == ["a cat"]
    assert "2 jobs done by an earlier run" in result.stderr
    assert result.lines == ["out/01-a-cat.png", "out/02-a-cat.png", "out/03-a-cat.png"]


def test_a_job_is_known_by_what_it_sends_not_by_its_id_or_out(run, standin, tmp_path):
    # id and out are names, not part of the job: renaming the out of the same
    # request, or adding an id, sends nothing; the image stays where it is.
    args = ["batch", "--input", "jobs.jsonl", *SMALL, *OUT]
    write_jobs(tmp_path, {"prompt": "a cat", "out": "cat.png"},
               {"prompt": "a dog", "out": "dog1.png"}, {"prompt": "a dog", "out": "dog2.png"})
    result = run(args)
    assert result.rc == 0, result
    assert sorted(sent_prompts(standin)) == ["a cat", "a dog", "a dog"]
    cat = (tmp_path / "out" / "cat.png").read_bytes()
    standin.reset()
    write_jobs(tmp_path, {"prompt": "a cat", "out": "kitty.png"},
               {"prompt": "a dog", "out": "dog1.png"}, {"prompt": "a dog", "out": "dog2.png"})
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0
    assert "3 jobs done by an earlier run" in result.stderr
    assert ("job 1: done by an earlier run as 'out/cat.png'; its \"out\" is now "
            "'kitty.png', and the image stays where it is") in result.stderr, result.stderr
    assert (tmp_path / "out" / "cat.png").read_bytes() == cat
    assert not (tmp_path / "out" / "kitty.png").exists()
    write_jobs(tmp_path, {"id": "c", "prompt": "a cat", "out": "kitty.png"},
               {"id": "d", "prompt": "a dog", "out": "dog1.png"},
               {"prompt": "a dog", "out": "dog2.png"})
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0
    assert "3 jobs done by an earlier run" in result.stderr


def fnv1a(data, h=14695981039346656037):
    for byte in data:
        h = ((h ^ byte) * 1099511628211) % 2**64
    return h


def test_a_ledger_keyed_by_id_and_out_as_before_is_rekeyed_and_not_paid_again(
        run, standin, tmp_path):
    # Ledgers of earlier versions keyed a job by its request, id and out
    # (REQUEST-NAMES-N); such a job is found, rekeyed by content, not sent.
    write_jobs(tmp_path, {"id": "c", "prompt": "a cat", "out": "cat.png"})
    args = ["batch", "--input", "jobs.jsonl", *SMALL, *OUT]
    assert run(args).rc == 0
    [entry] = ledger_jobs(tmp_path / "out")
    names = fnv1a(b"2:8:" + b"c" + b"cat.png")
    old = f"{entry['hash']}-{names:016x}-1"
    with contextlib.closing(sqlite3.connect(tmp_path / "out" / LEDGER)) as db, db:
        for table, column in (("jobs", "key"), ("files", "job"), ("images", "job")):
            db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?",
                       (old, entry["key"]))
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0
    assert [e["key"] for e in ledger_jobs(tmp_path / "out")] == [entry["key"]]
    with contextlib.closing(sqlite3.connect(tmp_path / "out" / LEDGER)) as db:
        assert db.execute("SELECT DISTINCT job FROM files").fetchall() == [(entry["key"],)]


def test_a_duplicate_id_is_refused_naming_both_lines(run, standin, tmp_path):
    write_jobs(tmp_path, {"id": "a", "prompt": "cat"}, "a dog",
               {"id": "a", "prompt": "dog", "n": 2})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 2, result
    assert standin.stats()["requests"] == 0
    assert result.stderr == ("imagegen: error: line 3: the id 'a' is already the id of "
                             "line 1; each job needs its own\n")
    assert not (tmp_path / "out").exists()


def test_a_job_with_one_of_two_images_saved_is_never_sent_again(run, standin, tmp_path):
    # What kill -9 between a job's two renames leaves: the ledger says "saving",
    # with the first image recorded and on disk, the second never saved.
    args = ["batch", "a cat", "--n", "2", *SMALL, *OUT]
    assert run(args).rc == 0
    folder = tmp_path / "out"
    first = (folder / "01-a-cat-1.png").read_bytes()
    (folder / "01-a-cat-2.png").unlink()
    with contextlib.closing(sqlite3.connect(folder / LEDGER)) as db, db:
        [(key, entry)] = db.execute("SELECT key, entry FROM jobs").fetchall()
        entry = json.loads(entry)
        entry.update(state="saving", files=["01-a-cat-1.png"])
        db.execute("UPDATE jobs SET state = 'saving', entry = ? WHERE key = ?",
                   (json.dumps(entry), key))
        db.execute("DELETE FROM files WHERE name = '01-a-cat-2.png'")
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0     # paid once: never again
    assert (folder / "01-a-cat-1.png").read_bytes() == first


def test_an_old_manifest_is_imported_once_and_its_jobs_not_paid_again(run, standin,
                                                                      tmp_path):
    # A folder from before the ledger: the run that made it is replayed from its
    # manifest, which is then read once into the new ledger.
    assert run(["batch", "job 1", "job 2", *SMALL, *OUT]).rc == 0
    folder = tmp_path / "out"
    old = {f"#{e['index']}": {k: v for k, v in e.items() if k != "key"}
           for e in ledger_jobs(folder)}
    (folder / LEDGER).unlink()
    (folder / ".imagegen").rmdir()
    (folder / "imagegen-manifest.json").write_text(json.dumps({"version": 1, "jobs": old}))
    standin.reset()
    result = run(["batch", "job 1", "job 2", "job 3", *SMALL, *OUT])
    assert result.rc == 0, result
    assert sent_prompts(standin) == ["job 3"]
    assert "2 jobs done by an earlier run" in result.stderr
    with contextlib.closing(sqlite3.connect(folder / LEDGER)) as db:
        assert db.execute("SELECT value FROM meta WHERE name = 'imported'").fetchone() \
            == ("imagegen-manifest.json",)
    # Once: a manifest changed afterwards is not read again.
    (folder / "imagegen-manifest.json").write_text("{not json")
    standin.reset()
    result = run(["batch", "job 1", "job 2", "job 3", *SMALL, *OUT])
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0


def test_a_ledger_that_is_not_a_database_is_refused_before_any_request(run, standin,
                                                                       tmp_path):
    (tmp_path / "out" / ".imagegen").mkdir(parents=True)
    (tmp_path / "out" / LEDGER).write_bytes(b"this is not SQLite" * 100)
    result = run(["batch", "a cat", *SMALL, *OUT])
    assert result.rc == 2, result
    assert standin.stats()["requests"] == 0
    assert "the job ledger" in result.stderr and "not a database" in result.stderr, \
        result.stderr


def test_a_dry_run_writes_no_ledger(run, standin, tmp_path):
    result = run(["batch", "a cat", *SMALL, *OUT, "--dry-run"])
    assert result.rc == 0, result
    assert not (tmp_path / "out").exists()


def has_open(process, path, timeout=30):
    """Whether the running process has path open, waiting up to timeout seconds
    or until it ends."""
    deadline = time.monotonic() + timeout
    fds = Path(f"/proc/{process.pid}/fd")
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError):
            if any(os.path.realpath(fd) == str(path) for fd in fds.iterdir()):
                return True
        time.sleep(0.01)
    return False


def wait_requests(standin, count, timeout=30):
    """Waits (up to timeout seconds) until the stand-in has count requests."""
    deadline = time.monotonic() + timeout
    while standin.stats()["requests"] < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return standin.stats()["requests"]


@contextlib.contextmanager
def batch_behind_a_slow_disk(standin, tmp_path, jobs):
    """A batch (one slot) whose image fsyncs wait at a gate until open_gate();
    yields (process, open_gate). The gate opens and the run ends either way."""
    assert SLOW_DISK.exists(), f"{SLOW_DISK} is not built (tests/meson.build)"
    gate = tmp_path / "gate"
    env = clean_env(standin, {
        "LD_PRELOAD": str(SLOW_DISK), "IMAGEGEN_TEST_GATE": str(gate),
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
    process = subprocess.Popen([BIN, "batch", *jobs, *SMALL, *OUT, "--concurrency", "1"],
                               cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield process, gate.touch
    finally:
        gate.touch()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_disk_slower_than_the_network_holds_launches_back(standin, tmp_path):
    # One slot; the first image's fsync waits at a gate. Jobs keep coming back
    # to be committed behind it, but no more than 2 x 1 + 1 wait there: after
    # three requests, launching pauses (each waiting job holds an open file)
    # until the disk catches up, and then every job is done.
    jobs = [f"job {i}" for i in range(1, 6)]
    with batch_behind_a_slow_disk(standin, tmp_path, jobs) as (process, open_gate):
        wait_requests(standin, 3)
        time.sleep(1.0)   # time enough for a fourth, were it to be sent
        sent_while_blocked = standin.stats()["requests"]
        open_gate()
        _, stderr = assert_no_key_in_output(*process.communicate(timeout=60))
    assert sent_while_blocked == 3
    assert process.returncode == 0, stderr.decode()
    assert standin.stats()["requests"] == 5
    assert len(ledger_jobs(tmp_path / "out")) == 5


def test_a_run_waits_for_one_that_is_making_the_ledger_at_the_same_moment(standin,
                                                                         tmp_path):
    # Two runs starting at once on a new folder: one has just made the ledger
    # and holds it while it sets it up. Turning on WAL is answered "locked" at
    # once, without SQLite's busy wait; the second run waits its turn instead
    # of exiting 2 with "database is locked". (SQLite skips the busy wait where
    # waiting could deadlock: here the other run is the one holding the lock
    # to write.)
    ledger = tmp_path / "out" / LEDGER
    ledger.parent.mkdir(parents=True)
    other = sqlite3.connect(ledger, isolation_level=None)
    other.execute("CREATE TABLE setting_up (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO setting_up VALUES (1)")
    process = subprocess.Popen([BIN, "batch", "a cat", *SMALL, *OUT], cwd=tmp_path,
                               env=clean_env(standin), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if has_open(process, ledger):
            time.sleep(0.5)
        other.execute("COMMIT")
        other.close()
        _, stderr = assert_no_key_in_output(*process.communicate(timeout=60))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr.decode()
    assert [e["prompt"] for e in ledger_jobs(tmp_path / "out")] == ["a cat"]


def test_two_runs_with_different_jobs_in_one_folder_keep_all_their_records(standin,
                                                                           tmp_path):
    # Both run at once (each answer held until all four requests are in flight);
    # each records its own jobs in the one ledger, so a rerun of either pays nothing.
    standin.configure(hold_body=0.5, hold_count=4)
    runs = [["batch", "a cat", "a dog", *SMALL, *OUT, "--concurrency", "2"],
            ["batch", "a cow", "a hen", *SMALL, *OUT, "--concurrency", "2"]]
    processes = [subprocess.Popen([BIN, *args], cwd=tmp_path, env=clean_env(standin),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for args in runs]
    try:
        if not standin.wait_held(4, timeout=30):
            standin.release()
            said = [assert_no_key_in_output(*process.communicate(timeout=60))[1].decode()
                    for process in processes]
            pytest.fail(f"the two runs were not in flight at once: {said}")
        standin.release()
        for process in processes:
            _, stderr = assert_no_key_in_output(*process.communicate(timeout=60))
            assert process.returncode == 0, stderr.decode()
    finally:
        standin.release()
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert sorted(e["prompt"] for e in ledger_jobs(tmp_path / "out")) == [
        "a cat", "a cow", "a dog", "a hen"]
    standin.reset()
    for args in runs:
        result = subprocess.run([BIN, *args], cwd=tmp_path, env=clean_env(standin),
                                stdin=subprocess.DEVNULL, capture_output=True)
        assert_no_key_in_output(result.stdout, result.stderr)
        assert result.returncode == 0, result.stderr.decode()
    assert standin.stats()["requests"] == 0


# --- every name reserved before sending: partials and sidecars too


def test_a_partial_name_that_is_another_jobs_image_is_refused_before_sending(run, standin,
                                                                             tmp_path):
    # B1: job 2's partial image would be job 1's image.
    write_jobs(tmp_path, {"id": "x.partial-0", "prompt": "first job"},
               {"id": "x", "prompt": "second job"})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT, "--partial-images", "1",
                  "--concurrency", "1"])
    assert result.rc == 2, result
    assert standin.stats()["requests"] == 0
    assert result.stderr == ("imagegen: error: line 2: 'out/x.partial-0.png' would also "
                             "be written by line 1\n")


def test_a_sidecar_never_replaces_a_file_that_is_not_its_own(run, standin, tmp_path):
    # B7: the user's NAME.json beside a derived name moves the job to a free name;
    # an explicit "out" whose sidecar name is taken is refused.
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "01-a-cat.json").write_text("the user's notes")
    result = run(["batch", "a cat", *SMALL, *OUT, "--sidecar"])
    assert result.rc == 0, result
    assert result.lines == ["out/01-a-cat-2.png"]
    assert (tmp_path / "out" / "01-a-cat.json").read_text() == "the user's notes"
    assert json.loads((tmp_path / "out" / "01-a-cat-2.json").read_text())["prompt"] == "a cat"
    write_jobs(tmp_path, {"prompt": "a dog", "out": "01-a-cat.png"})
    standin.reset()
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT, "--sidecar"])
    assert result.rc == 2, result
    assert standin.stats()["requests"] == 0
    assert (tmp_path / "out" / "01-a-cat.json").read_text() == "the user's notes"


def test_a_job_named_like_the_ledger_cannot_touch_it(run, standin, tmp_path):
    # The ledger lives in .imagegen/, which no job name can reach.
    write_jobs(tmp_path, {"id": "imagegen-manifest", "prompt": "a cat"},
               {"out": ".imagegen/ledger.db", "prompt": "a dog"})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 2, result
    assert standin.stats()["requests"] == 0


def test_a_users_partial_file_is_never_replaced_or_deleted(run, standin, tmp_path):
    # B8: an existing a-dog.partial-0.png stays; the stream's partials go beside a
    # free name, and an --out whose partial name is taken is refused.
    (tmp_path / "a-dog.partial-0.png").write_bytes(b"the user's file")
    result = run(["generate", "a dog", *SMALL, "--partial-images", "1"])
    assert result.rc == 0, result
    assert result.lines == ["a-dog-2.png"]
    assert (tmp_path / "a-dog.partial-0.png").read_bytes() == b"the user's file"
    standin.reset()
    result = run(["generate", "a dog", *SMALL, "--partial-images", "1", "--out", "a-dog.png"])
    assert result.rc == 2, result
    assert result.stderr == ("imagegen: error: --out: a file that 'a-dog.png' brings beside "
                             "it (a partial image, the sidecar or a copy) already exists "
                             "(use --force to overwrite it)\n")
    assert standin.stats()["requests"] == 0
    assert (tmp_path / "a-dog.partial-0.png").read_bytes() == b"the user's file"
    assert not (tmp_path / "a-dog.png").exists()


# --- claims: two runs on one folder never send the same job


def test_two_runs_with_the_same_jobs_pay_each_job_once(run, standin, tmp_path):
    standin.configure(hold_body=0.5, hold_count=2)
    args = ["batch", "a cat", "a dog", *SMALL, *OUT]
    first = subprocess.Popen([BIN, *args], cwd=tmp_path, env=clean_env(standin),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        # The first run has both jobs in flight, claimed in the ledger.
        assert standin.wait_held(2, timeout=30)
        second = run(args)
        assert second.rc == 1, second
        assert second.stdout == ""
        assert (f"2 jobs were left to another imagegen run (pid {first.pid}) that is "
                "making them") in second.stderr, second.stderr
        standin.release()
        _, stderr = assert_no_key_in_output(*first.communicate(timeout=60))
        assert first.returncode == 0, stderr.decode()
    finally:
        standin.release()
        if first.poll() is None:
            first.kill()
            first.wait()
    assert sorted(sent_prompts(standin)) == ["a cat", "a dog"]   # once each
    standin.reset()
    again = run(args)
    assert again.rc == 0, again
    assert standin.stats()["requests"] == 0
    assert "2 jobs done by an earlier run" in again.stderr


def test_the_claims_of_a_dead_run_are_taken_over(run, standin, tmp_path):
    # What kill -9 before the first answer leaves: a job claimed by a process that
    # is gone (a pid and start time no live process has), nothing saved.
    args = ["batch", "a cat", *SMALL, *OUT]
    assert run(args).rc == 0
    [cat] = ledger_jobs(tmp_path / "out")
    with contextlib.closing(sqlite3.connect(tmp_path / "out" / LEDGER)) as db, db:
        db.execute("DELETE FROM jobs WHERE key = ?", (cat["key"],))
        db.execute("DELETE FROM files WHERE job = ?", (cat["key"],))
        # On this host the process's liveness decides, whatever the lease says.
        db.execute("INSERT INTO claims (key, pid, started, claimed, host, lease) "
                   "VALUES (?, 999999, 12345, 0, ?, ?)",
                   (cat["key"], socket.gethostname(), int(time.time()) + 3600))
    (tmp_path / "out" / "01-a-cat.png").unlink()
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert sent_prompts(standin) == ["a cat"]
    # A run gives back its claims when it ends.
    with contextlib.closing(sqlite3.connect(tmp_path / "out" / LEDGER)) as db:
        assert db.execute("SELECT count(*) FROM claims").fetchone() == (0,)


def test_a_claim_from_another_host_is_honoured_until_its_lease_passes(run, standin,
                                                                     tmp_path):
    # A folder shared between machines: a claim made on another host names a
    # pid this host cannot check, so it holds until its lease runs out (a
    # live run renews it); then the job is taken over.
    args = ["batch", "a cat", "a dog", *SMALL, *OUT]
    assert run(args).rc == 0
    cat = [e for e in ledger_jobs(tmp_path / "out") if e["prompt"] == "a cat"][0]
    # What a run on another host leaves while it makes the job: the job
    # pending, its image not there yet, and its claim.
    with contextlib.closing(sqlite3.connect(tmp_path / "out" / LEDGER)) as db, db:
        db.execute("UPDATE jobs SET state = 'pending', entry = json_set(entry, '$.files', "
                   "json('[]')) WHERE key = ?", (cat["key"],))
        db.execute("DELETE FROM files WHERE job = ?", (cat["key"],))
        db.execute("INSERT INTO claims (key, pid, started, claimed, host, lease) "
                   "VALUES (?, ?, 0, 0, 'elsewhere.example', ?)",
                   (cat["key"], os.getpid(), int(time.time()) + 600))
    (tmp_path / "out" / "01-a-cat.png").unlink()
    standin.reset()
    result = run(args)
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 0
    assert ("1 job was left to another imagegen run (pid %d on elsewhere.example) that is "
            "making it" % os.getpid()) in result.stderr, result.stderr
    status = run(["status", "out"])
    assert status.lines[0] == "out: 2 jobs: 1 done, 1 claimed", status
    assert "being made by: imagegen pid %d on elsewhere.example" % os.getpid() in status.lines
    # The lease has passed: the run on the other host is gone (or lost the
    # folder); the job is sent.
    with contextlib.closing(sqlite3.connect(tmp_path / "out" / LEDGER)) as db, db:
        db.execute("UPDATE claims SET lease = ?", (int(time.time()) - 1,))
    result = run(args)
    assert result.rc == 0, result
    assert sent_prompts(standin) == ["a cat"]
    # This run's own claims carry its host and a lease ahead, given back at its end.
    with contextlib.closing(sqlite3.connect(tmp_path / "out" / LEDGER)) as db:
        assert db.execute("SELECT count(*) FROM claims").fetchone() == (0,)


def test_a_run_claims_its_jobs_with_its_host_and_a_lease_it_renews(standin, tmp_path):
    # Renewed every 2 minutes; here (IMAGEGEN_DEBUG_RENEW_MS) every 0.2 s,
    # while the answer is held.
    standin.configure(hold_body=0.5, hold_count=1)
    env = clean_env(standin, {"IMAGEGEN_DEBUG_RENEW_MS": "200"})
    process = subprocess.Popen([BIN, "batch", "a cat", *SMALL, *OUT], cwd=tmp_path,
                               env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert standin.wait_held(1, timeout=30), "the answer was never held"
        claims = "SELECT pid, host, lease FROM claims"
        with contextlib.closing(sqlite3.connect(tmp_path / "out" / LEDGER)) as db:
            [(pid, host, lease)] = db.execute(claims).fetchall()
        time.sleep(2.5)
        with contextlib.closing(sqlite3.connect(tmp_path / "out" / LEDGER)) as db:
            [(_, _, renewed)] = db.execute(claims).fetchall()
    finally:
        standin.release()
        process.wait(timeout=60)
    assert process.returncode == 0
    assert (pid, host) == (process.pid, socket.gethostname())
    assert time.time() + 300 < renewed <= time.time() + 600
    assert renewed >= lease + 2


def test_a_derived_folder_holding_another_batch_gets_a_new_name(run, standin, tmp_path):
    # B9: both batches derive a-red-car-a-blue-boat/, but the folder's ledger knows
    # none of the second's jobs: another batch, so it goes to ...-2.
    first = run(["batch", "A red car", "A blue boat", *SMALL])
    assert first.rc == 0, first
    made = (tmp_path / "a-red-car-a-blue-boat" / "01-a-red-car.png").read_bytes()
    second = run(["batch", "a red car!", "a blue boat?", *SMALL])
    assert second.rc == 0, second
    assert sorted(second.lines) == ["a-red-car-a-blue-boat-2/01-a-red-car.png",
                                    "a-red-car-a-blue-boat-2/02-a-blue-boat.png"]
    assert (tmp_path / "a-red-car-a-blue-boat" / "01-a-red-car.png").read_bytes() == made
    # A rerun of either finds its own folder, pays nothing and lists its images.
    standin.reset()
    assert run(["batch", "A red car", "A blue boat", *SMALL]).lines == [
        "a-red-car-a-blue-boat/01-a-red-car.png", "a-red-car-a-blue-boat/02-a-blue-boat.png"]
    assert run(["batch", "a red car!", "a blue boat?", *SMALL]).lines == sorted(second.lines)
    assert standin.stats()["requests"] == 0


def test_a_batch_sharing_a_job_with_the_folder_grows_it_and_replaces_nothing(
        run, standin, tmp_path):
    # The same batch, changed: it shares "A blue boat", so the folder is its own;
    # the new job takes a free name beside the earlier image, which stays.
    assert run(["batch", "A red car", "A blue boat", *SMALL]).rc == 0
    made = (tmp_path / "a-red-car-a-blue-boat" / "01-a-red-car.png").read_bytes()
    standin.reset()
    result = run(["batch", "a red car!", "A blue boat", *SMALL])
    assert result.rc == 0, result
    assert sent_prompts(standin) == ["a red car!"]
    # The job shared with the earlier batch is listed, then the new one's image.
    assert result.lines == ["a-red-car-a-blue-boat/02-a-blue-boat.png",
                            "a-red-car-a-blue-boat/01-a-red-car-2.png"]
    assert (tmp_path / "a-red-car-a-blue-boat" / "01-a-red-car.png").read_bytes() == made


def test_a_derived_folder_that_is_not_a_batchs_is_left_alone(run, standin, tmp_path):
    (tmp_path / "a-cat").mkdir()
    (tmp_path / "a-cat" / "notes.txt").write_text("mine")
    result = run(["batch", "a cat", *SMALL])
    assert result.rc == 0, result
    assert result.lines == ["a-cat-2/01-a-cat.png"]
    assert sorted(p.name for p in (tmp_path / "a-cat").iterdir()) == ["notes.txt"]


def test_only_temp_files_of_runs_that_are_gone_are_swept(run, standin, tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    folder = tmp_path / "out"
    folder.mkdir()
    dead = folder / f".01-a-cat.png.tmp-{gone.pid}-Ab3dE9"
    live = folder / f".01-a-cat.png.tmp-{os.getpid()}-Xy7wQ2"   # this test's: alive
    other = folder / ".notes.tmp-save"                            # not imagegen's
    for path in (dead, live, other):
        path.write_bytes(b"half an image")
    result = run(["batch", "a cat", *SMALL, *OUT])
    assert result.rc == 0, result
    assert not dead.exists()
    assert live.exists() and other.exists()
    assert "removed 1 temp file left by a run that was killed" in result.stderr


# --- a ledger that cannot be written




def test_a_plan_of_20000_lines_lists_every_job_and_sends_nothing(run, standin, tmp_path):
    # B17's behaviour (bench/ times it): 20,000 lines, with ids, repeated
    # lines and plain prompts, are planned in full, each job named, and
    # nothing is sent or written.
    lines = []
    for i in range(1, 20001):
        if i % 10 == 0:
            lines.append({"id": f"id-{i}", "prompt": f"job {i}"})
        elif i % 7 == 0:
            lines.append("a repeated line")
        else:
            lines.append(f"job {i}")
    write_jobs(tmp_path, *lines)
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT, "--dry-run"], timeout=120)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0
    headers = [line for line in result.lines if line.startswith("# job ")]
    assert len(headers) == 20000
    assert headers[9] == "# job 10: id-10"
    assert "# estimated cost of 20000 jobs to send: " in result.stdout
    assert "out/id-20000.png" in result.stdout and "out/19998-job-19998.png" in result.stdout
    assert "out/00007-a-repeated-line.png" in result.stdout
    assert not (tmp_path / "out").exists()


def ledger_transactions(stderr):
    """The write transactions a run's ledger took (IMAGEGEN_DEBUG_LEDGER)."""
    found = re.search(r"debug: the job ledger took (\d+) write transactions?\n", stderr)
    assert found, stderr
    return int(found.group(1))


def test_a_run_writes_its_start_in_one_transaction_whatever_its_size(run, standin,
                                                                     tmp_path):
    # B17: 40 jobs planned; the account is out of quota at the first. The
    # start (names, claims, pending jobs) is one transaction however many
    # jobs there are, the failed job's record another, and the 39 unsent
    # jobs giving their names back a third: 3 in all.
    standin.configure(fault="quota", fault_count=1)
    debug = {"IMAGEGEN_DEBUG_LEDGER": "1"}
    args = ["batch", "--input", "jobs.jsonl", *SMALL, *OUT, "--concurrency", "1"]
    write_jobs(tmp_path, *[f"job {i}" for i in range(1, 41)])
    result = run(args, env=debug)
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 1
    assert ledger_transactions(result.stderr) == 3
    # Each job's record is at most one more: 40 jobs, at most 41.
    standin.reset()
    result = run(args, env=debug)
    assert result.rc == 0, result
    assert 2 <= ledger_transactions(result.stderr) <= 41
    # A run with nothing to send writes its (empty) start, and a plan writes
    # nothing at all.
    result = run(args, env=debug)
    assert ledger_transactions(result.stderr) == 1
    result = run([*args, "--dry-run"], env=debug)
    assert ledger_transactions(result.stderr) == 0


def test_records_that_land_together_are_written_in_one_transaction(standin, tmp_path):
    # Eight answers arrive while the first image's fsync waits at a gate, so
    # when it opens, the eight jobs' records queue up behind their commits:
    # they are grouped, fewer transactions than jobs (not one each).
    assert SLOW_DISK.exists(), f"{SLOW_DISK} is not built (tests/meson.build)"
    gate = tmp_path / "gate"
    env = clean_env(standin, {
        "LD_PRELOAD": str(SLOW_DISK), "IMAGEGEN_TEST_GATE": str(gate),
        "IMAGEGEN_DEBUG_LEDGER": "1",
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
    jobs = [f"job {i}" for i in range(1, 9)]
    process = subprocess.Popen([BIN, "batch", *jobs, *SMALL, *OUT, "--concurrency", "8",
                                "--no-gallery"], cwd=tmp_path, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        assert wait_requests(standin, 8) == 8
        time.sleep(0.5)   # every answer in, every commit waiting behind the first
        gate.touch()
        _, stderr = process.communicate(timeout=60)
    finally:
        gate.touch()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr.decode()
    assert sorted(e["state"] for e in ledger_jobs(tmp_path / "out")) == ["done"] * 8
    # The start, and the eight records in fewer than eight.
    assert 2 <= ledger_transactions(stderr.decode()) < 1 + 8, stderr.decode()


def test_a_read_only_ledger_is_refused_naming_it_and_what_to_do(run, standin):
    # The batch folder and its .imagegen/ are read-only for the user: SQLite
    # cannot write the ledger nor make its -wal and -shm files. Nothing is
    # sent, and the message names the ledger and what to do, not SQLite's
    # bare "unable to open database file". Root writes anything, so as root
    # (CI) the runs are nobody's, in a folder nobody may enter.
    folder = Path(tempfile.mkdtemp(prefix="imagegen-read-only-"))
    try:
        folder.chmod(0o755)
        assert run(["batch", "a cat", *SMALL, *OUT], cwd=folder).rc == 0
        for path in (folder / "out" / ".imagegen", folder / "out"):
            path.chmod(0o555)
        env = clean_env(standin, {"XDG_CONFIG_HOME": str(folder),
                                  "XDG_STATE_HOME": str(folder / "state"),
                                  "IMAGEGEN_NO_HISTORY": "1"})
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):   # nobody cannot write root's logs
            if name in env:
                env[name] = ":".join(o for o in env[name].split(":")
                                     if not o.startswith("log_path="))
        as_user = (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
                   if os.geteuid() == 0 else [])
        standin.reset()
        for args in (["batch", "a cat", "a dog", *SMALL, *OUT], ["status", "out"]):
            completed = subprocess.run([*as_user, BIN, *args], cwd=folder, env=env,
                                       stdin=subprocess.DEVNULL, capture_output=True,
                                       timeout=60)
            stderr = completed.stderr.decode()
            assert completed.returncode == 2, stderr
            assert stderr == (
                "imagegen: error: the job ledger 'out/.imagegen/ledger.db' cannot be "
                "written: it or its folder 'out/.imagegen' is read-only for this user "
                "(SQLite keeps its -wal and -shm files beside it); make them writable, "
                "or run as their owner\n"), stderr
        assert standin.stats()["requests"] == 0
    finally:
        for path in (folder / "out", folder / "out" / ".imagegen"):
            if path.exists():
                path.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


def test_the_next_request_goes_out_while_the_last_image_is_still_being_written(standin,
                                                                              tmp_path):
    # One slot, two jobs; the first image's fsync waits at a gate that opens only
    # once the second request has arrived. A loop that did its own disk work
    # could never send it: the slot is refilled first, the commit is the worker's.
    with batch_behind_a_slow_disk(standin, tmp_path, ["job 1", "job 2"]) as (process,
                                                                            open_gate):
        sent_while_writing = wait_requests(standin, 2)
        open_gate()
        stdout, stderr = assert_no_key_in_output(*process.communicate(timeout=60))
    assert sent_while_writing == 2, "the second request waited for the first image's disk"
    assert process.returncode == 0, stderr.decode()
    assert stdout.decode().splitlines() == ["out/01-job-1.png", "out/02-job-2.png"]
    assert sorted(e["state"] for e in ledger_jobs(tmp_path / "out")) == ["done", "done"]


def test_a_full_disk_for_the_ledger_stops_the_run_and_never_exits_0(run, standin,
                                                                    tmp_path):
    # B5: the disk fills up once the first image is saved, so its "done" record
    # cannot be written.  A finished transfer's slot is refilled before its disk
    # work, so job 2 is already in flight (each answer takes 0.5 s, job 1's
    # records far less); it is saved, though neither of its records could be
    # written.  The run stops sending, says what was saved and exits 1; after
    # space is freed, the rerun knows job 2's image by the name reserved for it
    # and pays only for job 3.
    assert DISK_FULL.exists(), f"{DISK_FULL} is not built (tests/meson.build)"
    standin.configure(latency=0.5)
    args = ["batch", "job 1", "job 2", "job 3", *SMALL, *OUT, "--concurrency", "1"]
    env = {"LD_PRELOAD": str(DISK_FULL),
           # the sanitizer runtime need not come first for a test preload
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    result = run(args, env=env)
    assert result.rc == 1, result
    assert sent_prompts(standin) == ["job 1", "job 2"]
    assert ("imagegen: error: job 1: the job ledger: database or disk is full; no more "
            "jobs were sent\n") in result.stderr, result.stderr
    assert "done: 2 images from 2 of 3 jobs" in result.stderr
    assert "1 job not sent; run the same command again to finish" in result.stderr
    assert result.lines == ["out/01-job-1.png", "out/02-job-2.png"]
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert sent_prompts(standin) == ["job 3"]
    assert "2 jobs done by an earlier run (not sent again)" in result.stderr
    states = {e["prompt"]: e["state"] for e in ledger_jobs(tmp_path / "out")}
    assert states == {"job 1": "saving", "job 2": "saving", "job 3": "done"}
    # and the made-up record says what it is
    recovered = [e for e in ledger_jobs(tmp_path / "out") if e["prompt"] == "job 2"][0]
    assert recovered["recovered"] is True and recovered["files"] == ["02-job-2.png"]


def test_a_rerun_finishes_locally_the_sidecar_and_copy_a_kill_left_unmade(run, standin,
                                                                        tmp_path):
    # B3: a kill between an image taking its name and its sidecar or downscaled
    # copy being written leaves a paid job without them; the rerun makes them from
    # the image and the job's record, and sends nothing.
    args = ["batch", "job 1", "job 2", *SMALL, *OUT, "--sidecar", "--downscale-max-dim", "256"]
    first = run(args)
    assert first.rc == 0, first
    out = tmp_path / "out"
    sidecar = json.loads((out / "01-job-1.json").read_text())
    copy_text = open_image(out / "02-job-2-web.png").text
    (out / "01-job-1.json").unlink()
    (out / "02-job-2-web.png").unlink()
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0
    # What it made, each before its job's image (a rerun lists the batch's images).
    assert result.lines == ["out/01-job-1.json", "out/01-job-1.png", "out/02-job-2-web.png",
                            "out/02-job-2.png"]
    assert "2 jobs done by an earlier run (not sent again)" in result.stderr
    remade = json.loads((out / "01-job-1.json").read_text())
    # The same record, but for when it was made: the image's time.
    assert {k: v for k, v in remade.items() if k != "created"} == \
        {k: v for k, v in sidecar.items() if k != "created"}
    copy = open_image(out / "02-job-2-web.png")
    assert max(copy.size) == 256
    assert copy.text["Description"] == copy_text["Description"] == "job 2"
    # Nothing left to finish: the next rerun makes nothing, and lists the images.
    again = run(args)
    assert again.rc == 0 and again.lines == ["out/01-job-1.png", "out/02-job-2.png"], again


def test_a_disk_without_room_for_the_next_job_stops_the_run_before_sending(run, standin,
                                                                         tmp_path):
    # 1 MB free, and a 1024x640 image may take 2.6 MB: nothing is sent, exit 1.
    env = {"LD_PRELOAD": str(DISK_FULL), "IMAGEGEN_TEST_FREE_BYTES": "1000000",
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    result = run(["batch", "job 1", "job 2", *SMALL, *OUT], env=env)
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 0
    assert ("imagegen: error: the disk holding 'out' has 1.0 MB free, and the next job's "
            "images may need 3.3 MB; no more jobs were sent (free some space and run the "
            "same command again)\n") in result.stderr, result.stderr
    assert "2 jobs not sent; run the same command again to finish" in result.stderr


def test_an_image_that_cannot_be_written_for_a_full_disk_stops_the_run(run, standin,
                                                                      tmp_path):
    # The disk fills up once job 1's image is saved; job 2 is already in flight
    # (the slot is refilled before job 1's disk work) and its image cannot be
    # written. Nothing more is sent: job 3 would be paid for and lost too.
    env = {"LD_PRELOAD": str(DISK_FULL), "IMAGEGEN_TEST_FULL": "images",
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    standin.configure(latency=0.5)
    args = ["batch", "job 1", "job 2", "job 3", *SMALL, *OUT, "--concurrency", "1"]
    result = run(args, env=env)
    assert result.rc == 1, result
    assert sent_prompts(standin) == ["job 1", "job 2"]
    assert ("imagegen: error: the disk is full: an image could not be saved, so no more "
            "jobs were sent (free some space and run the same command again)\n"
            in result.stderr), result.stderr
    assert "No space left on device" in result.stderr
    assert result.lines == ["out/01-job-1.png"]
    assert "1 job not sent" in result.stderr
    assert temp_files(tmp_path) == []
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert sent_prompts(standin) == ["job 2", "job 3"]


def test_a_file_that_appears_at_the_name_meanwhile_is_kept_and_never_taken_for_the_jobs(
        standin, tmp_path):
    # While the request runs, a file appears at the name planned for its image:
    # the image takes the next free name, and the ledger moves the job's image
    # reservation there before the rename. The disk then fills up, so no record
    # of the job is written; the rerun knows the image by its new name, pays
    # nothing, and never lists the file that appeared as the job's.
    assert DISK_FULL.exists(), f"{DISK_FULL} is not built (tests/meson.build)"
    standin.configure(hold_body=0.5, hold_count=1)
    env = clean_env(standin, {
        "LD_PRELOAD": str(DISK_FULL),
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
    args = ["batch", "job 1", *SMALL, *OUT]
    process = subprocess.Popen([BIN, *args], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert standin.wait_held(1, timeout=30), "the answer was never held"
        (tmp_path / "out" / "01-job-1.png").write_bytes(b"not the job's")
        standin.release()
        stdout, stderr = assert_no_key_in_output(*process.communicate(timeout=60))
    finally:
        standin.release()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 1, stderr.decode()
    assert ("'out/01-job-1.png' appeared meanwhile; saving as 'out/01-job-1-2.png'"
            in stderr.decode()), stderr.decode()
    assert stdout.decode().splitlines() == ["out/01-job-1-2.png"]
    assert (tmp_path / "out" / "01-job-1.png").read_bytes() == b"not the job's"
    # The disk was full for the record: the job is as the start left it.
    assert [e["state"] for e in ledger_jobs(tmp_path / "out")] == ["pending"]
    standin.reset()
    result = subprocess.run([BIN, *args], cwd=tmp_path, env=clean_env(standin),
                            stdin=subprocess.DEVNULL, capture_output=True)
    assert_no_key_in_output(result.stdout, result.stderr)
    assert result.returncode == 0, result.stderr.decode()
    assert standin.stats()["requests"] == 0
    assert [e["files"] for e in ledger_jobs(tmp_path / "out")] == [["01-job-1-2.png"]]
    assert (tmp_path / "out" / "01-job-1.png").read_bytes() == b"not the job's"


def test_a_file_at_the_name_of_a_job_that_failed_is_not_taken_for_its_image(run, standin,
                                                                           tmp_path):
    # The job failed, so its name was never filled and is given back; a file put
    # there afterwards is someone else's: the rerun sends the job again and
    # saves its image beside it.
    standin.configure(fault="400", fault_count=1)
    args = ["batch", "job 1", *SMALL, *OUT]
    assert run(args).rc == 1
    (tmp_path / "out" / "01-job-1.png").write_bytes(b"someone else's")
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 1
    assert result.lines == ["out/01-job-1-2.png"]
    assert (tmp_path / "out" / "01-job-1.png").read_bytes() == b"someone else's"


def test_after_a_kill_an_image_another_prompt_made_is_not_taken_for_the_jobs(run, standin,
                                                                           tmp_path):
    # Killed with the request in flight: the job's name stays reserved. An image
    # of another prompt is then put at that name (another imagegen run); the
    # rerun sees by its record that it is not this job's, and sends the job.
    assert run(["generate", "a different prompt", *SMALL, "--out", "other.png"]).rc == 0
    standin.reset()
    standin.configure(hold_body=0.5, hold_count=1)
    process = subprocess.Popen([BIN, "batch", "job 1", *SMALL, *OUT], cwd=tmp_path,
                               env=clean_env(standin), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert standin.wait_held(1, timeout=30), "the answer was never held"
        process.kill()
        assert_no_key_in_output(*process.communicate(timeout=10))
    finally:
        standin.release()
        if process.poll() is None:
            process.kill()
            process.wait()
    (tmp_path / "other.png").rename(tmp_path / "out" / "01-job-1.png")
    standin.reset()
    result = run(["batch", "job 1", *SMALL, *OUT])
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 1
    assert result.lines == ["out/01-job-1-2.png"]
    assert open_image(tmp_path / "out" / "01-job-1.png").text["Description"] == \
        "a different prompt"


def kill_while_held(standin, tmp_path, args):
    """A batch killed with kill -9 while its one answer is held: its job is
    claimed and its names reserved, nothing saved."""
    standin.configure(hold_body=0.5, hold_count=1)
    process = subprocess.Popen([BIN, *args], cwd=tmp_path, env=clean_env(standin),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        assert standin.wait_held(1, timeout=30), "the answer was never held"
        process.kill()
        process.wait()
    finally:
        standin.release()
        if process.poll() is None:
            process.kill()
            process.wait()
    standin.reset()


def test_after_a_kill_a_file_with_no_record_at_the_reserved_name_is_not_the_jobs(
        run, standin, tmp_path):
    # A plain PNG (no imagegen record at all, as --no-metadata or another tool
    # writes) put at the name reserved for the killed job's image: nothing says
    # it is that image, so it is left alone and the job is sent again, its image
    # under a new name, with a warning.
    args = ["batch", "job 1", *SMALL, *OUT]
    kill_while_held(standin, tmp_path, args)
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8), "red").save(plain)
    made = plain.read_bytes()
    plain.rename(tmp_path / "out" / "01-job-1.png")
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 1
    assert "done by an earlier run" not in result.stderr
    assert ("job 1: 'out/01-job-1.png' is at the name reserved for this job's image, but "
            "nothing shows it is that image; it is left alone, and the job is sent with "
            "its image under a new name") in result.stderr, result.stderr
    assert result.lines == ["out/01-job-1-2.png"]
    assert (tmp_path / "out" / "01-job-1.png").read_bytes() == made
    status = run(["status", "--json", "out"]).json
    assert [(e["state"], e["files"]) for e in status["entries"]] == [
        ("done", ["01-job-1-2.png"])]
    # The name is no longer the job's: the ledger gave it back.
    with contextlib.closing(sqlite3.connect(tmp_path / "out" / LEDGER)) as db:
        assert db.execute("SELECT count(*) FROM files WHERE name = '01-job-1.png'"
                          ).fetchone() == (0,)


def test_after_a_kill_an_image_of_the_job_at_its_reserved_name_is_paid(run, standin,
                                                                       tmp_path):
    # What a kill between the image taking its name and the job's record
    # leaves: the image, whose embedded record carries the job's key, at the
    # reserved name. It is the job's: the rerun sends nothing.
    args = ["batch", "job 1", *SMALL, *OUT]
    assert run(args).rc == 0
    image = (tmp_path / "out" / "01-job-1.png").read_bytes()
    assert open_image(tmp_path / "out" / "01-job-1.png").text["imagegen:job"]
    shutil.rmtree(tmp_path / "out")
    kill_while_held(standin, tmp_path, args)
    (tmp_path / "out" / "01-job-1.png").write_bytes(image)
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0
    assert "1 job done by an earlier run" in result.stderr


def test_after_a_full_disk_an_image_with_no_metadata_is_known_by_the_file_it_is(
        run, standin, tmp_path):
    # --no-metadata: the image carries no record, so before it takes its name
    # the ledger notes which file it is (inode and size). The disk then fills
    # up and the job's record is never written; the rerun knows the image.
    assert DISK_FULL.exists(), f"{DISK_FULL} is not built (tests/meson.build)"
    args = ["batch", "job 1", *SMALL, *OUT, "--no-metadata"]
    env = {"LD_PRELOAD": str(DISK_FULL),
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    result = run(args, env=env)
    assert result.rc == 1, result
    assert result.lines == ["out/01-job-1.png"]
    assert [e["state"] for e in ledger_jobs(tmp_path / "out")] == ["pending"]
    # A copy of the folder holds the same bytes in other files (other inodes):
    # they are not the job's image, there.
    shutil.copytree(tmp_path / "out", tmp_path / "copy")
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0
    assert "1 job done by an earlier run" in result.stderr
    result = run(["batch", "job 1", *SMALL, "--out-dir", "copy", "--no-metadata"])
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 1
    assert result.lines == ["copy/01-job-1-2.png"]


# --- imagegen status


def test_status_shows_jobs_by_state_files_tokens_and_the_last_error(run, standin, tmp_path):
    standin.configure(fault="400", fault_count=1)
    assert run(["batch", "job 1", "job 2", *SMALL, *OUT, "--concurrency", "1"]).rc == 1
    result = run(["status", "out"])
    assert result.rc == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == "out: 2 jobs: 1 done, 1 failed"
    assert lines[1].startswith("images: 1 recorded, 1 present; tokens: ")
    assert lines[2].startswith("last error: job 1: ") and "Invalid value" in lines[2]
    status = run(["status", "--json", "out"]).json
    assert status["states"] == {"done": 1, "failed": 1, "interrupted": 0, "claimed": 0,
                                "pending": 0, "superseded": 0}
    assert sorted((e["index"], e["state"]) for e in status["entries"]) == [
        (1, "failed"), (2, "done")]
    assert status["tokens"] > 0
    assert standin.stats()["requests"] == 2   # status sends nothing


def test_status_shows_the_jobs_planned_and_never_sent_as_pending(run, standin, tmp_path):
    # The account is out of quota at the first job: the run stops, and the
    # other two, planned (recorded as pending with their claims), are never
    # sent.
    standin.configure(fault="quota", fault_count=1)
    args = ["batch", "job 1", "job 2", "job 3", *SMALL, *OUT, "--concurrency", "1"]
    result = run(args)
    assert result.rc == 1, result
    assert standin.stats()["requests"] == 1
    status = run(["status", "out"])
    assert status.lines[0] == "out: 3 jobs: 1 failed, 2 pending", status
    entries = run(["status", "--json", "out"]).json["entries"]
    assert sorted((e["index"], e["state"], e["files"]) for e in entries) == [
        (1, "failed", []), (2, "pending", []), (3, "pending", [])]
    assert "job 2" not in (tmp_path / "out" / "index.html").read_text()
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert run(["status", "out"]).lines[0] == "out: 3 jobs: 3 done"


def test_status_marks_a_replaced_job_superseded(run, standin, tmp_path):
    write_jobs(tmp_path, {"prompt": "job 1", "out": "hero.png"})
    args = ["batch", "--input", "jobs.jsonl", *SMALL, *OUT]
    assert run(args).rc == 0
    write_jobs(tmp_path, {"prompt": "job 1, bluer", "out": "hero.png"})
    assert run([*args, "--force"]).rc == 0
    status = run(["status", "--json", "out"]).json
    assert status["states"]["superseded"] == 1 and status["states"]["done"] == 1
    assert {e["prompt"]: e["state"] for e in status["entries"]} == {
        "job 1": "superseded", "job 1, bluer": "done"}


def test_a_changed_job_supersedes_the_earlier_one_and_keeps_its_files(run, standin,
                                                                      tmp_path):
    # The same line with a different request (a changed option): the earlier
    # job is superseded, its image kept; the same line as before again makes
    # it the current one once more, and pays for nothing.
    assert run(["batch", "a cat", *SMALL, *OUT]).rc == 0
    cat = (tmp_path / "out" / "01-a-cat.png").read_bytes()
    assert run(["batch", "a cat", "--quality", "low", *SMALL, *OUT]).rc == 0
    result = run(["status", "out"])
    assert result.lines[0] == "out: 2 jobs: 1 done, 1 superseded", result
    entries = run(["status", "--json", "out"]).json["entries"]
    assert sorted((e["state"], e["files"]) for e in entries) == [
        ("done", ["01-a-cat-2.png"]), ("superseded", ["01-a-cat.png"])]
    assert (tmp_path / "out" / "01-a-cat.png").read_bytes() == cat
    standin.reset()
    result = run(["batch", "a cat", *SMALL, *OUT])
    assert result.rc == 0 and standin.stats()["requests"] == 0, result
    entries = run(["status", "--json", "out"]).json["entries"]
    assert sorted((e["state"], e["files"]) for e in entries) == [
        ("done", ["01-a-cat.png"]), ("superseded", ["01-a-cat-2.png"])]
    # An id names the line, whatever its prompt; a line that is only new
    # (another prompt, no id) supersedes nothing.
    write_jobs(tmp_path, {"id": "hero", "prompt": "a dog"})
    assert run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT]).rc == 0
    write_jobs(tmp_path, {"id": "hero", "prompt": "a wet dog"}, "a bird")
    assert run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT]).rc == 0
    states = sorted((e["prompt"], e["state"])
                    for e in run(["status", "--json", "out"]).json["entries"])
    assert states == [("a bird", "done"), ("a cat", "done"), ("a cat", "superseded"),
                      ("a dog", "superseded"), ("a wet dog", "done")], states
    assert (tmp_path / "out" / "hero.png").exists() and (tmp_path / "out" / "hero-2.png").exists()


def test_status_without_a_ledger_says_so(run, standin, tmp_path):
    result = run(["status", "nowhere"])
    assert result.rc == 2, result
    assert result.stderr == ("imagegen: error: status: 'nowhere' holds no batch ledger "
                             "(nowhere/.imagegen/ledger.db)\n")
