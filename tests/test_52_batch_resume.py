"""`imagegen batch` resumes from its manifest and never pays twice: reruns send only
the jobs not done, a changed job is redone, --force redoes all, Ctrl-C (SIGINT,
SIGTERM) lets the jobs in flight finish, and after kill -9 no final name holds a
partial image and a rerun sends exactly the jobs whose images were not saved."""

import json
import os
import select
import signal
import subprocess
import time

import pytest
from PIL import Image

from conftest import (BIN, LEDGER, assert_no_key_leak, batch_files, clean_env, files_in,
                      is_batch_extra, ledger_jobs, temp_files)

SMALL = ["--size", "1024x640"]
OUT = ["--out-dir", "out"]
MANIFEST = "imagegen-manifest.json"   # the old format, imported once


def prompts(count):
    return [f"job {i}" for i in range(1, count + 1)]


def names(count):
    return [f"{i:02d}-job-{i}.png" for i in range(1, count + 1)]


def decodes(path):
    try:
        with Image.open(path) as image:
            image.load()
            return image.size == (1024, 640)
    except OSError:
        return False


def images_in(folder):
    """The final-named images in folder (temp files and the manifest left out); each
    one must decode fully."""
    found = sorted(name for name in files_in(folder)
                   if not is_batch_extra(name) and not name.startswith("."))
    for name in found:
        assert decodes(folder / name), f"{name} is not a whole image"
    return found


def sent_prompts(standin):
    return sorted(r["body"]["prompt"] for r in standin.requests
                  if r["path"] == "/v1/images/generations")


def write_jobs(folder, *lines):
    text = "".join((json.dumps(line) if isinstance(line, dict) else line) + "\n"
                   for line in lines)
    (folder / "jobs.jsonl").write_text(text, encoding="utf-8")


def start(standin, folder, args):
    return subprocess.Popen([BIN, *args], cwd=folder, env=clean_env(standin),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def wait_for_requests(standin, count, timeout=10):
    deadline = time.monotonic() + timeout
    while standin.stats()["requests"] < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert standin.stats()["requests"] >= count, standin.stats()


def finish(process, timeout=15):
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stdout, stderr = stdout.decode(errors="replace"), stderr.decode(errors="replace")
    assert_no_key_leak(stdout, "stdout")
    assert_no_key_leak(stderr, "stderr")
    return stdout, stderr


# --- reruns


def test_rerunning_a_finished_batch_sends_nothing(run, standin, tmp_path):
    args = ["batch", *prompts(4), *SMALL, *OUT]
    assert run(args).rc == 0
    assert (tmp_path / "out" / LEDGER).is_file()
    before = {name: (tmp_path / "out" / name).read_bytes() for name in names(4)}
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0
    assert "4 jobs done by an earlier run" in result.stderr
    assert images_in(tmp_path / "out") == names(4)
    assert {name: (tmp_path / "out" / name).read_bytes() for name in names(4)} == before


def test_the_ledger_records_every_job(run, standin, tmp_path):
    write_jobs(tmp_path, "job 1", {"prompt": "job 2", "id": "two"})
    assert run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT]).rc == 0
    entries = ledger_jobs(tmp_path / "out")
    assert len(entries) == 2
    assert sorted(e["prompt"] for e in entries) == ["job 1", "job 2"]
    assert all(e["state"] == "done" for e in entries)
    assert all(e["usage"]["total_tokens"] > 0 for e in entries)
    assert temp_files(tmp_path) == []


def test_a_rerun_sends_only_the_failed_jobs(run, standin, tmp_path):
    args = ["batch", *prompts(4), "--concurrency", "1", *SMALL, *OUT]
    standin.configure(fault="400", fault_count=1)
    assert run(args).rc == 1
    assert images_in(tmp_path / "out") == names(4)[1:]
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert sent_prompts(standin) == ["job 1"]
    # The three done before are listed first (a rerun lists the whole batch), then
    # the one made now.
    assert result.lines == [f"out/{name}" for name in names(4)[1:] + names(1)]
    assert images_in(tmp_path / "out") == names(4)


def test_a_rerun_sends_only_the_jobs_added(run, standin, tmp_path):
    assert run(["batch", *prompts(3), *SMALL, *OUT]).rc == 0
    standin.reset()
    result = run(["batch", *prompts(5), *SMALL, *OUT])
    assert result.rc == 0, result
    assert sent_prompts(standin) == ["job 4", "job 5"]
    assert images_in(tmp_path / "out") == names(5)


def test_a_changed_job_is_redone_and_the_others_are_not(run, standin, tmp_path):
    write_jobs(tmp_path, "job 1", {"prompt": "job 2", "id": "two"}, "job 3")
    args = ["batch", "--input", "jobs.jsonl", *SMALL, *OUT]
    assert run(args).rc == 0
    standin.reset()
    write_jobs(tmp_path, "job 1", {"prompt": "job 2", "id": "two", "quality": "low"},
               "job 3")
    result = run(args)
    assert result.rc == 0, result
    [body] = [r["body"] for r in standin.requests]
    assert (body["prompt"], body["quality"]) == ("job 2", "low")
    # The jobs done before are listed first, then the one redone.
    *earlier, path = result.lines
    assert earlier == ["out/01-job-1.png", "out/03-job-3.png"]
    assert path not in earlier and decodes(tmp_path / path)
    # Run once more: now nothing is left to do.
    standin.reset()
    assert run(args).rc == 0
    assert standin.stats()["requests"] == 0


def test_a_changed_job_never_replaces_its_earlier_image_unasked(run, standin, tmp_path):
    write_jobs(tmp_path, {"prompt": "job 1", "out": "hero.webp"})
    args = ["batch", "--input", "jobs.jsonl", *SMALL, *OUT]
    assert run(args).rc == 0
    earlier = (tmp_path / "out/hero.webp").read_bytes()
    inode = (tmp_path / "out/hero.webp").stat().st_ino
    standin.reset()
    write_jobs(tmp_path, {"prompt": "job 1", "out": "hero.webp", "quality": "low"})
    # A changed request is a new job.  hero.webp holds the earlier job's image,
    # which was paid for: it is kept, and a silent hero-2.webp would leave the
    # stale image under the name the user relies on.  So the run is refused
    # before anything is sent, saying why and how to replace it.
    result = run(args)
    assert result.rc == 2, result
    assert standin.stats()["requests"] == 0
    assert "'out/hero.webp' already exists" in result.stderr, result.stderr
    assert "--force" in result.stderr
    assert "an earlier run made it for a job whose request was different; it is kept" \
        in result.stderr
    assert (tmp_path / "out/hero.webp").read_bytes() == earlier
    # Asked to, it replaces it.
    result = run([*args, "--force"])
    assert result.rc == 0, result
    assert result.lines == ["out/hero.webp"]
    assert standin.requests[0]["body"]["quality"] == "low"
    assert (tmp_path / "out/hero.webp").stat().st_ino != inode
    assert [n for n in batch_files(tmp_path / "out") if n.endswith(".webp")] == ["hero.webp"]


def test_a_changed_command_line_option_redoes_every_job(run, standin, tmp_path):
    assert run(["batch", *prompts(3), *SMALL, *OUT]).rc == 0
    standin.reset()
    earlier = {name: (tmp_path / "out" / name).read_bytes() for name in names(3)}
    result = run(["batch", *prompts(3), "--quality", "low", *SMALL, *OUT])
    assert result.rc == 0, result
    assert sent_prompts(standin) == prompts(3)
    assert all(r["body"]["quality"] == "low" for r in standin.requests)
    # New jobs: the earlier images stay as they were, the new ones beside them.
    assert sorted(result.lines) == [f"out/{n[:-4]}-2.png" for n in names(3)]
    assert {name: (tmp_path / "out" / name).read_bytes() for name in names(3)} == earlier
    # The earlier jobs, their lines the same but their requests not, are
    # superseded; their files stay theirs.
    status = run(["status", "--json", "out"]).json
    assert {k: v for k, v in status["states"].items() if v} == {"done": 3, "superseded": 3}
    assert sorted((e["state"], e["files"]) for e in status["entries"]) == sorted(
        [("done", [f"{n[:-4]}-2.png"]) for n in names(3)] +
        [("superseded", [n]) for n in names(3)])


def test_a_job_whose_image_was_deleted_is_redone(run, standin, tmp_path):
    args = ["batch", *prompts(3), *SMALL, *OUT]
    assert run(args).rc == 0
    (tmp_path / "out/02-job-2.png").unlink()
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert sent_prompts(standin) == ["job 2"]
    assert images_in(tmp_path / "out") == names(3)


def test_force_redoes_every_job_and_replaces_its_files(run, standin, tmp_path):
    write_jobs(tmp_path, "job 1", {"prompt": "job 2", "id": "two", "n": 2},
               {"prompt": "job 3", "out": "three.webp"})
    args = ["batch", "--input", "jobs.jsonl", *SMALL, *OUT]
    assert run(args).rc == 0
    first = batch_files(tmp_path / "out")
    assert first == [LEDGER, "01-job-1.png", "three.webp", "two-1.png", "two-2.png"]
    standin.reset()
    result = run([*args, "--force"])
    assert result.rc == 0, result
    assert sent_prompts(standin) == prompts(3)
    assert batch_files(tmp_path / "out") == first
    assert sorted(result.lines) == ["out/01-job-1.png", "out/three.webp",
                                    "out/two-1.png", "out/two-2.png"]
    standin.reset()
    assert run(args).rc == 0
    assert standin.stats()["requests"] == 0


def test_json_lists_resumed_jobs_as_done_with_the_same_keys(run, standin, tmp_path):
    assert run(["batch", *prompts(3), *SMALL, *OUT]).rc == 0
    standin.reset()
    result = run(["batch", *prompts(4), "--json", *SMALL, *OUT])
    assert result.rc == 0, result
    lines = {o["index"]: o for o in map(json.loads, result.lines)}
    assert sorted(lines) == [1, 2, 3, 4]
    for i in (1, 2, 3):
        assert lines[i]["status"] == "done"
        assert lines[i]["files"] == [f"out/{names(3)[i - 1]}"]
        assert lines[i]["usage"]["total_tokens"] > 0
    assert lines[4]["status"] == "done"
    assert sent_prompts(standin) == ["job 4"]
    keys = {i: set(o) - {"resumed", "id"} for i, o in lines.items()}
    assert keys[1] == keys[4], keys  # one schema for every job
    assert {"index", "prompt", "status", "files", "usage", "error", "attempts"} <= keys[1]


def test_a_corrupt_manifest_is_refused_before_any_request(run, standin, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / MANIFEST).write_text("{not json")
    result = run(["batch", *prompts(2), *SMALL, *OUT])
    assert result.rc == 2, result
    assert MANIFEST in result.stderr
    assert standin.stats()["requests"] == 0


def test_a_rerun_from_another_directory_sends_nothing(run, standin, tmp_path):
    # The manifest must find the saved images wherever the command runs from.
    assert run(["batch", *prompts(3), *SMALL, "--out-dir", "out"]).rc == 0
    (tmp_path / "elsewhere").mkdir()
    standin.reset()
    result = run(["batch", *prompts(3), *SMALL, "--out-dir", str(tmp_path / "out")],
                 cwd=tmp_path / "elsewhere")
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0
    assert images_in(tmp_path / "out") == names(3)


def test_a_rerun_prints_every_image_of_the_batch_as_the_first_run_did(run, standin,
                                                                     tmp_path):
    # stdout lists the batch's images whoever made them: `imagegen batch ... | xargs`
    # sees the same files on a rerun with nothing left to do.
    first = run(["batch", *prompts(2), *SMALL, *OUT])
    assert first.rc == 0, first
    assert sorted(first.lines) == [f"out/{name}" for name in names(2)]
    standin.reset()
    again = run(["batch", *prompts(2), *SMALL, *OUT])
    assert again.rc == 0, again
    assert standin.stats()["requests"] == 0
    assert again.lines == [f"out/{name}" for name in names(2)]   # in the batch's order
    # A job added: the earlier ones are listed first, then the one made now.
    more = run(["batch", *prompts(3), *SMALL, *OUT])
    assert more.rc == 0, more
    assert sent_prompts(standin) == ["job 3"]
    assert more.lines == [f"out/{name}" for name in names(3)]


def test_an_id_that_looks_like_a_job_number_does_not_share_its_record(run, standin,
                                                                      tmp_path):
    write_jobs(tmp_path, "job 1", {"prompt": "job 2", "id": "#1"})
    args = ["batch", "--input", "jobs.jsonl", *SMALL, *OUT]
    assert run(args).rc == 0
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0


# --- Ctrl-C


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM],
                         ids=["SIGINT", "SIGTERM"])
def test_one_interrupt_lets_the_jobs_in_flight_finish_and_a_rerun_does_the_rest(
        run, standin, tmp_path, signum):
    args = ["batch", *prompts(10), "--concurrency", "3", *SMALL, *OUT]
    standin.configure(latency=1.0)
    process = start(standin, tmp_path, args)
    wait_for_requests(standin, 3)
    time.sleep(0.3)
    assert process.poll() is None
    process.send_signal(signum)
    stdout, stderr = finish(process)
    assert process.returncode == 130, stderr
    # The three in flight were paid for: they finished and were saved.
    assert standin.stats()["requests"] == 3
    saved = images_in(tmp_path / "out")
    assert saved == names(3)
    assert sorted(stdout.splitlines()) == [f"out/{name}" for name in saved]
    assert "7 jobs not sent" in stderr
    assert temp_files(tmp_path) == []
    # The same command again sends exactly the seven not sent.
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert sent_prompts(standin) == sorted(prompts(10)[3:])
    assert images_in(tmp_path / "out") == names(10)


def test_a_second_interrupt_aborts_the_jobs_in_flight(run, standin, tmp_path):
    args = ["batch", *prompts(6), "--concurrency", "3", *SMALL, *OUT]
    standin.configure(latency=3.0)
    process = start(standin, tmp_path, args)
    wait_for_requests(standin, 3)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    time.sleep(0.2)
    assert process.poll() is None, "one interrupt must wait for the jobs in flight"
    process.send_signal(signal.SIGINT)
    stdout, stderr = finish(process)
    assert process.returncode == 130, stderr
    assert stdout == ""
    # Had it waited for the three replies (3 s away), their images would be here.
    assert images_in(tmp_path / "out") == []
    assert temp_files(tmp_path) == []
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert sent_prompts(standin) == sorted(prompts(6))
    assert images_in(tmp_path / "out") == names(6)


def read_until(process, text, timeout=20):
    """What the process writes on stderr until a whole line holding text appears in
    it (or it ends): a line can come in two reads."""
    said = b""
    deadline = time.monotonic() + timeout
    while (text.encode() not in said or not said.endswith(b"\n")) and \
            time.monotonic() < deadline:
        if select.select([process.stderr], [], [], 0.1)[0]:
            chunk = os.read(process.stderr.fileno(), 65536)
            if not chunk:
                break
            said += chunk
    return said.decode(errors="replace")


def test_the_first_interrupt_says_what_it_waits_for(run, standin, tmp_path):
    # Three answers held half-way: the three in flight are the ones it waits for.
    standin.configure(hold_body=0.5, hold_count=3)
    process = start(standin, tmp_path, ["batch", *prompts(10), "--concurrency", "3",
                                        *SMALL, *OUT])
    try:
        assert standin.wait_held(3)
        process.send_signal(signal.SIGINT)
        said = read_until(process, "^C again aborts")
        # Said while the three are still held: before any of them could finish.
        assert "imagegen: stopping: 3 in flight will finish; ^C again aborts\n" in said
        assert process.poll() is None
    finally:
        standin.release()
    stdout, stderr = finish(process)
    assert process.returncode == 130, stderr
    assert len(stdout.splitlines()) == 3
    assert "imagegen: 7 jobs not sent; run the same command again to finish" in stderr
    assert standin.stats()["requests"] == 3


def test_after_a_second_interrupt_the_summary_counts_every_job_left(run, standin, tmp_path):
    standin.configure(hold_body=0.5, hold_count=3)
    args = ["batch", *prompts(10), "--concurrency", "3", *SMALL, *OUT]
    process = start(standin, tmp_path, args)
    try:
        assert standin.wait_held(3)
        process.send_signal(signal.SIGINT)
        said = read_until(process, "^C again aborts")
        assert "stopping: 3 in flight will finish" in said
        process.send_signal(signal.SIGINT)
        stdout, stderr = finish(process)
    finally:
        standin.release()
    assert process.returncode == 130, stderr
    assert stdout == ""
    # Seven never sent and the three in flight aborted: all ten are left.
    assert ("imagegen: 10 jobs left: 7 not sent, 3 interrupted in flight (the server may "
            "bill them all the same); run the same command again to finish\n") in stderr
    assert "7 jobs not sent" not in stderr
    standin.reset()
    assert run(args).rc == 0
    assert sorted(sent_prompts(standin)) == sorted(prompts(10))


def test_interrupt_json_lines_mark_the_jobs_not_sent(standin, tmp_path):
    standin.configure(latency=0.8)
    process = start(standin, tmp_path, ["batch", *prompts(5), "--concurrency", "2",
                                        "--json", *SMALL, *OUT])
    wait_for_requests(standin, 2)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = finish(process)
    assert process.returncode == 130, stderr
    lines = {o["index"]: o for o in map(json.loads, stdout.splitlines())}
    assert sorted(lines) == [1, 2, 3, 4, 5]
    assert [lines[i]["status"] for i in (1, 2)] == ["done", "done"]
    assert [lines[i]["status"] for i in (3, 4, 5)] == ["not sent"] * 3


# --- kill -9


def test_after_kill_9_no_final_name_is_partial_and_a_rerun_sends_only_the_unsaved(
        run, standin, tmp_path):
    count = 12
    args = ["batch", *prompts(count), "--concurrency", "4", *SMALL, *OUT]
    standin.configure(latency=0.5)
    process = start(standin, tmp_path, args)
    # Kill while the second wave is in flight: the first four are saved by then.
    wait_for_requests(standin, 8)
    time.sleep(0.2)
    process.kill()
    stdout, _ = finish(process)
    folder = tmp_path / "out"
    # Every file under a final name is a whole image (images_in checks each one);
    # temp files may remain after kill -9, but hidden.
    saved = images_in(folder)
    assert len(saved) >= 4
    for line in stdout.splitlines():
        assert line[len("out/"):] in saved, line
    sent_before = sent_prompts(standin)
    saved_prompts = sorted(f"job {int(name.split('-')[0])}" for name in saved)
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    # Exactly the jobs without a saved image are sent: none twice, none lost.
    expected = sorted(set(prompts(count)) - set(saved_prompts))
    assert sent_prompts(standin) == expected
    assert set(sent_before) | set(expected) == set(prompts(count))
    final = images_in(folder)
    assert final == names(count)


def kill_during_a_write(standin, workdir, args):
    """Starts the batch in workdir and kills it while an image is being written:
    the third answer stops half-way through its body (the hold knobs) until the
    kill, after at least one image was saved."""
    folder = workdir / "out"
    standin.configure(hold_body=0.5, hold_after=2)
    process = start(standin, workdir, args)
    try:
        assert standin.wait_held(), "no answer was held"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
                folder.is_dir() and temp_files(folder) and images_in_flight(folder)):
            time.sleep(0.005)
        assert temp_files(folder), "no image was being written when the kill came"
        assert images_in_flight(folder), "no image was saved before the kill"
        process.kill()
        finish(process)
    finally:
        standin.release()
        if process.poll() is None:   # a failed check: never left sending into the next test
            process.kill()
            finish(process)


def test_after_kill_9_during_writes_no_final_name_is_partial(run, standin, tmp_path):
    count = 8
    args = ["batch", *prompts(count), "--concurrency", "4", "--size", "2048x2048",
            "--output-format", "png", *OUT]
    workdir = tmp_path
    kill_during_a_write(standin, workdir, args)
    folder = workdir / "out"
    for name in files_in(folder):
        if is_batch_extra(name) or name.startswith("."):
            continue
        with Image.open(folder / name) as image:
            image.load()
            assert image.size == (2048, 2048)
    ledger_jobs(folder)   # the ledger reads back whole (SQLite rolls back what was cut)
    done = {name for name in files_in(folder)
            if name.endswith(".png") and not name.startswith(("thumbs/", "."))}
    assert 0 < len(done) < count
    left = temp_files(folder)
    assert left   # kill -9 leaves temp files, only ever hidden ones
    standin.reset()
    result = run(args, cwd=workdir)
    assert result.rc == 0, result
    # The rerun sweeps what the killed run left (its pid is gone), and only that.
    assert temp_files(folder) == []
    assert f"removed {len(left)} temp file" in result.stderr, result.stderr
    resent = {f"{int(p.split()[1]):02d}-job-{p.split()[1]}.png"
              for p in sent_prompts(standin)}
    assert not resent & done, "an image already saved was paid for again"
    assert len(sent_prompts(standin)) == count - len(done)


def images_in_flight(folder):
    """Some final-named image is there already."""
    return any(name.endswith(".png") and not name.startswith(".")
               for name in files_in(folder))


def test_an_existing_out_name_from_elsewhere_is_refused(run, standin, tmp_path):
    # hero.webp was not made by this batch (no manifest names it): it is the user's.
    (tmp_path / "out").mkdir()
    (tmp_path / "out/hero.webp").write_bytes(b"the user's own picture")
    write_jobs(tmp_path, {"prompt": "job 1", "out": "hero.webp"})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 2, result
    assert standin.stats()["requests"] == 0
    assert "hero.webp" in result.stderr and "--force" in result.stderr, result.stderr
    assert (tmp_path / "out/hero.webp").read_bytes() == b"the user's own picture"
