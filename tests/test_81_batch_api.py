"""The OpenAI Batch API under `imagegen batch --batch-api` (issue 13): the requests as
JSONL lines keyed by the ledger, uploaded through the Files API and made into batches
that the stand-in runs with the API's life cycle; results decoded into the folder as
the synchronous path saves them, priced at the Batch discount; a kill at any moment
and a rerun never making a second batch; --no-wait, --cancel, failed lines, expired
and failed batches, split inputs and edits in the JSON form."""

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import BIN, KEY, assert_no_key_in_output, clean_env, files_in, ledger_jobs

SLOW_DISK = Path(BIN).parent / "tests" / "libslow_disk.so"

MODEL = ["--model", "gpt-image-2", "--size", "1024x1024", "--quality", "low"]
OUT = ["--out-dir", "out"]
FAST = ["--batch-api", "--poll", "0.02"]
PROMPTS = ["a red fox", "a blue whale", "a green frog", "a yellow bird", "a grey cat"]


def jobs_file(folder, prompts=PROMPTS, extra=None):
    path = Path(folder) / "jobs.jsonl"
    path.write_text("".join(json.dumps({"prompt": p, **(extra or {})}) + "\n"
                            for p in prompts))
    return path


def batches(standin):
    """Every batch the stand-in holds, oldest first."""
    return list(reversed(standin.list_batches(limit=100)["data"]))


def input_lines(standin, batch):
    data = standin.api_file(batch["input_file_id"]).data
    return [json.loads(line) for line in data.decode().splitlines()]


def requests_to(standin, method, prefix):
    return [r for r in standin.requests
            if r["method"] == method and r["path"].split("?")[0].startswith(prefix)]


def images_in(folder):
    return sorted(name for name in files_in(folder)
                  if name.endswith(".png") and not name.startswith(("thumbs/", ".")))


def remote_rows(folder):
    with sqlite3.connect(Path(folder) / ".imagegen" / "ledger.db") as db:
        rows = db.execute("SELECT part, state, record FROM remote").fetchall()
    return [{"part": p, "state": s, **json.loads(r)} for p, s, r in rows]


def start(standin, folder, args):
    return subprocess.Popen([BIN, *args], cwd=folder, env=clean_env(standin),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_a_batch_api_run_makes_one_batch_and_saves_every_image(run, standin, tmp_path):
    jobs = jobs_file(tmp_path, PROMPTS[:3])
    result = run(["batch", "--input", jobs, *MODEL, *OUT, *FAST, "--json"])
    assert result.rc == 0, result
    assert images_in(tmp_path / "out") == ["01-a-red-fox.png", "02-a-blue-whale.png",
                                           "03-a-green-frog.png"]
    for name in images_in(tmp_path / "out"):
        with Image.open(tmp_path / "out" / name) as image:
            assert image.size == (1024, 1024)
    # No image request went synchronously: the server ran them in the batch.
    assert not requests_to(standin, "POST", "/v1/images/")
    [batch] = batches(standin)
    assert batch["status"] == "completed"
    assert batch["endpoint"] == "/v1/images/generations"
    assert batch["completion_window"] == "24h"
    assert batch["metadata"]["imagegen_part"].startswith("imagegen-")
    [upload] = requests_to(standin, "POST", "/v1/files")
    assert upload["body"]["purpose"] == "batch"
    assert upload["body"]["files"][0]["filename"].endswith(".jsonl")
    # Each line is keyed by the ledger's job key and sends what the job sends.
    lines = input_lines(standin, batch)
    keys = {job["prompt"]: job["key"] for job in ledger_jobs(tmp_path / "out")}
    assert [line["custom_id"] for line in lines] == [keys[p] for p in PROMPTS[:3]]
    for line, prompt in zip(lines, PROMPTS[:3]):
        assert line["method"] == "POST" and line["url"] == "/v1/images/generations"
        assert line["body"]["prompt"] == prompt
        assert line["body"]["model"] == "gpt-image-2"
        assert line["body"]["quality"] == "low"
    # Priced at the Batch discount: half the synchronous rates.
    objects = [json.loads(x) for x in result.stdout.splitlines()]
    assert {o["status"] for o in objects} == {"done"}
    for o in objects:
        assert o["cost"]["batch_api"] is True
        usage = o["usage"]
        full = (usage["input_tokens"] * 5 + usage["output_tokens"] * 30) / 1e6
        assert o["cost"]["usd"] == pytest.approx(full / 2)
    assert "through the Batch API" in result.stderr
    assert "at the Batch price" in result.stderr
    assert {job["state"] for job in ledger_jobs(tmp_path / "out")} == {"done"}
    [row] = remote_rows(tmp_path / "out")
    assert row["state"] == "closed" and row["batch_id"] == batch["id"]
    assert row["status"] == "completed"
    # The input file it wrote before uploading is gone; nothing else is left.
    assert not [n for n in files_in(tmp_path / "out") if n.endswith(".jsonl")]


def test_the_spend_history_records_batch_api_requests(run, standin, tmp_path, xdg):
    result = run(["batch", "a red fox", "a blue whale", *MODEL, *OUT, *FAST])
    assert result.rc == 0, result
    with sqlite3.connect(xdg.history) as db:
        rows = db.execute("SELECT batch_api, request_id, usd FROM spend").fetchall()
    assert len(rows) == 2
    assert all(batch_api == 1 and request_id and usd > 0 for batch_api, request_id, usd in rows)


def test_a_rerun_after_the_batch_is_collected_sends_nothing(run, standin, tmp_path):
    args = ["batch", *PROMPTS[:2], *MODEL, *OUT, *FAST]
    assert run(args).rc == 0
    before = len(standin.requests)
    again = run(args)
    assert again.rc == 0, again
    assert "2 jobs done by an earlier run" in again.stderr
    assert len(standin.requests) == before
    assert len(batches(standin)) == 1


def test_no_wait_submits_and_the_same_command_collects(run, standin, tmp_path):
    args = ["batch", *PROMPTS[:3], *MODEL, *OUT, *FAST]
    first = run([*args, "--no-wait"])
    assert first.rc == 0, first
    assert images_in(tmp_path / "out") == []
    assert "3 jobs are in Batch API batches that have not ended" in first.stderr
    assert standin.stats()["batch_polls"] == 0
    [batch] = batches(standin)
    status = run(["status", "out"])
    assert f"Batch API: {batch['id']} (3 jobs): submitted" in status.stdout
    # The synchronous path never sends a job a batch holds.
    sync = run(["batch", *PROMPTS[:3], *MODEL, *OUT])
    assert sync.rc == 1, sync
    assert "3 jobs are in Batch API batches, not sent again" in sync.stderr
    assert not requests_to(standin, "POST", "/v1/images/")
    second = run(args)
    assert second.rc == 0, second
    assert len(images_in(tmp_path / "out")) == 3
    assert len(batches(standin)) == 1
    assert standin.stats()["files"] == 1
    status = run(["status", "out", "--json"]).stdout
    [part] = json.loads(status)["batch_api"]
    assert part["batch_id"] == batch["id"]
    assert (part["state"], part["status"], part["jobs"]) == ("closed", "completed", 3)


def test_new_lines_go_in_a_new_batch_beside_the_open_one(run, standin, tmp_path):
    assert run(["batch", *PROMPTS[:2], *MODEL, *OUT, *FAST, "--no-wait"]).rc == 0
    result = run(["batch", *PROMPTS[:3], *MODEL, *OUT, *FAST])
    assert result.rc == 0, result
    assert len(images_in(tmp_path / "out")) == 3
    first, second = batches(standin)
    assert len(input_lines(standin, first)) == 2
    assert [line["body"]["prompt"] for line in input_lines(standin, second)] == [PROMPTS[2]]


def test_a_large_input_is_split_into_batches(run, standin, tmp_path):
    result = run(["batch", *PROMPTS, *MODEL, *OUT, *FAST, "--batch-size", "2"])
    assert result.rc == 0, result
    made = batches(standin)
    assert [len(input_lines(standin, b)) for b in made] == [2, 2, 1]
    assert len({b["metadata"]["imagegen_part"] for b in made}) == 3
    assert len(images_in(tmp_path / "out")) == 5


def test_an_input_over_the_byte_limit_is_split_into_batches(run, standin, tmp_path):
    # The API's 200 MB, made small (a test knob): two lines fit in a file, three not.
    limit = 500    # each line is about 210 bytes
    result = run(["batch", *PROMPTS[:3], *MODEL, *OUT, *FAST],
                 env={"IMAGEGEN_BATCH_MAX_BYTES": str(limit)})
    assert result.rc == 0, result
    made = batches(standin)
    files = [standin.api_file(b["input_file_id"]).data for b in made]
    assert [len(input_lines(standin, b)) for b in made] == [2, 1]
    assert all(len(data) <= limit for data in files)
    assert len(files[0]) + len(files[1].splitlines()[0]) + 1 > limit
    assert [line["body"]["prompt"] for b in made for line in input_lines(standin, b)] == \
        PROMPTS[:3]
    assert len(images_in(tmp_path / "out")) == 3
    # A limit that is no number of bytes is said and left at the API's.
    again = run(["batch", *PROMPTS[:3], *MODEL, *OUT, *FAST],
                env={"IMAGEGEN_BATCH_MAX_BYTES": "2kB"})
    assert again.rc == 0, again
    assert "IMAGEGEN_BATCH_MAX_BYTES: '2kB' is not a number of bytes" in again.stderr


def test_jobs_of_two_models_go_in_two_batches(run, standin, tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_text(json.dumps({"prompt": "a red fox"}) + "\n" +
                    json.dumps({"prompt": "a blue whale", "model": "gpt-image-2.5-flare"}) + "\n")
    result = run(["batch", "--input", path, *MODEL, *OUT, *FAST])
    assert result.rc == 0, result
    assert sorted(b["metadata"]["imagegen_model"] for b in batches(standin)) == [
        "gpt-image-2", "gpt-image-2.5-flare"]
    assert len(images_in(tmp_path / "out")) == 2


def test_edit_lines_go_in_the_json_form_with_data_urls(run, standin, tmp_path):
    source = tmp_path / "in.png"
    Image.new("RGB", (1024, 1024), (30, 90, 160)).save(source)
    path = tmp_path / "jobs.jsonl"
    path.write_text(json.dumps({"prompt": "add a hat", "image": "in.png"}) + "\n" +
                    json.dumps({"prompt": "add a scarf", "image": ["in.png", "in.png"]}) + "\n")
    result = run(["batch", "--input", path, "--model", "gpt-image-2", "--quality", "low",
                  *OUT, *FAST])
    assert result.rc == 0, result
    [batch] = batches(standin)
    assert batch["endpoint"] == "/v1/images/edits"
    lines = input_lines(standin, batch)
    assert [len(line["body"]["images"]) for line in lines] == [1, 2]
    for line in lines:
        assert line["url"] == "/v1/images/edits"
        for ref in line["body"]["images"]:
            assert ref["image_url"].startswith("data:image/png;base64,")
    assert len(images_in(tmp_path / "out")) == 2


def test_an_edit_line_with_a_file_id_sends_the_id(run, standin, tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_text(json.dumps({"prompt": "add a hat", "image": "file-abc123"}) + "\n" +
                    json.dumps({"prompt": "add a scarf",
                                "image": ["file-abc123", "file-def456"]}) + "\n")
    result = run(["batch", "--input", path, "--model", "gpt-image-2", "--quality", "low",
                  "--size", "1024x1024", *OUT, *FAST])
    assert result.rc == 0, result
    [batch] = batches(standin)
    assert batch["endpoint"] == "/v1/images/edits"
    lines = input_lines(standin, batch)
    assert [line["body"]["images"] for line in lines] == [
        [{"file_id": "file-abc123"}], [{"file_id": "file-abc123"}, {"file_id": "file-def456"}]]
    assert not requests_to(standin, "POST", "/v1/images/")
    assert len(images_in(tmp_path / "out")) == 2


def test_an_edit_line_with_a_mask_sends_it_as_a_data_url(run, standin, tmp_path):
    Image.new("RGB", (1024, 1024), (30, 90, 160)).save(tmp_path / "in.png")
    mask = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (256, 256, 768, 768))     # the part to paint: transparent
    mask.save(tmp_path / "mask.png")
    path = tmp_path / "jobs.jsonl"
    path.write_text(json.dumps({"prompt": "add a hat", "image": "in.png",
                                "mask": "mask.png"}) + "\n")
    result = run(["batch", "--input", path, "--model", "gpt-image-2", "--quality", "low",
                  *OUT, *FAST])
    assert result.rc == 0, result
    [batch] = batches(standin)
    [line] = input_lines(standin, batch)
    assert line["url"] == "/v1/images/edits"
    [image] = line["body"]["images"]
    assert image["image_url"].startswith("data:image/png;base64,")
    assert line["body"]["mask"]["image_url"].startswith("data:image/png;base64,")
    assert set(line["body"]["mask"]) == {"image_url"}
    [answer] = [r for r in standin.responses() if r.get("batch") == batch["id"]
                and r["path"] == "/v1/images/edits"]
    assert answer["status"] == 200, answer           # the stand-in checked the mask
    assert images_in(tmp_path / "out") == ["01-add-a-hat.png"]


@pytest.mark.parametrize("mode", [[], FAST])
def test_an_edit_line_of_seventeen_images_is_refused_before_sending(run, standin, tmp_path,
                                                                     mode):
    path = tmp_path / "jobs.jsonl"
    path.write_text(json.dumps({"prompt": "a red fox"}) + "\n" +
                    json.dumps({"prompt": "blend them",
                                "image": [f"file-img{i}" for i in range(17)]}) + "\n")
    result = run(["batch", "--input", path, "--model", "gpt-image-2", *OUT, *mode])
    assert result.rc == 2, result
    assert "imagegen: error: line 2: --image: 17 images; at most 16" in result.stderr, result
    assert not standin.requests
    assert not (tmp_path / "out").exists() or not images_in(tmp_path / "out")


def test_a_failed_line_is_reported_with_its_input_line_and_sent_again_next_time(
        run, standin, tmp_path):
    jobs = jobs_file(tmp_path, PROMPTS[:4])
    standin.configure(batch_line_errors=0.5)     # the second and fourth lines fail
    result = run(["batch", "--input", jobs, *MODEL, *OUT, *FAST, "--json"])
    assert result.rc == 1, result
    assert len(images_in(tmp_path / "out")) == 2
    assert "2 jobs failed" in result.stderr
    keys = {job["prompt"]: job["key"] for job in ledger_jobs(tmp_path / "out")}
    said = {i: f'job {i} (line {i}, "{PROMPTS[i - 1]}"): the Batch API refused it (line '
               f"{i} of the input, custom_id {keys[PROMPTS[i - 1]]}): HTTP 400 "
               f"image_generation_user_error (code moderation_blocked): Your request was "
               f"rejected by the safety system." for i in (2, 4)}
    failed = [x for x in result.stderr.splitlines() if "the Batch API refused it" in x]
    # Each said as it fails, and again in the summary's list.
    assert sorted(x.split("job ")[1][0] for x in failed) == ["2", "2", "4", "4"], failed
    for x in failed:
        assert x.lstrip().removeprefix("imagegen: error: ").startswith(
            said[int(x.split("job ")[1][0])]), x
    objects = {o["index"]: o for o in map(json.loads, result.stdout.splitlines())}
    assert {i: o["custom_id"] for i, o in objects.items()} == {
        i + 1: keys[p] for i, p in enumerate(PROMPTS[:4])}
    for i in (2, 4):
        assert objects[i]["status"] == "failed"
        assert said[i].startswith(f'job {i} (line {i}, "{PROMPTS[i - 1]}"): '
                                  + objects[i]["error"][:60])
    standin.configure(batch_line_errors=())
    again = run(["batch", "--input", jobs, *MODEL, *OUT, *FAST])
    assert again.rc == 0, again
    assert len(images_in(tmp_path / "out")) == 4
    assert [len(input_lines(standin, b)) for b in batches(standin)] == [4, 2]


def test_an_expired_batch_keeps_what_ran_and_the_rest_is_sent_again(run, standin, tmp_path):
    jobs = jobs_file(tmp_path, PROMPTS[:4])
    standin.configure(batch_outcome="expired")
    result = run(["batch", "--input", jobs, *MODEL, *OUT, *FAST])
    assert result.rc == 1, result
    assert len(images_in(tmp_path / "out")) == 2
    expired = [x for x in result.stderr.splitlines() if "batch_expired" in x]
    assert len(expired) >= 2
    assert all("run the same command again to send it in a new batch" in x for x in expired)
    standin.configure(batch_outcome="completed")
    again = run(["batch", "--input", jobs, *MODEL, *OUT, *FAST])
    assert again.rc == 0, again
    assert len(images_in(tmp_path / "out")) == 4
    assert [len(input_lines(standin, b)) for b in batches(standin)] == [4, 2]


def test_a_failed_batch_fails_its_jobs_with_the_reason(run, standin, tmp_path):
    standin.configure(batch_outcome="failed")
    result = run(["batch", *PROMPTS[:2], *MODEL, *OUT, *FAST])
    assert result.rc == 1, result
    assert images_in(tmp_path / "out") == []
    assert "token_limit_exceeded" in result.stderr
    assert [job["state"] for job in ledger_jobs(tmp_path / "out")] == ["failed", "failed"]


def test_cancel_cancels_and_collects_what_ran(run, standin, tmp_path):
    standin.configure(batch_steps=4)
    args = ["batch", *PROMPTS[:4], *MODEL, *OUT, *FAST]
    assert run([*args, "--no-wait"]).rc == 0
    [batch] = batches(standin)
    # Two polls into the run: validating ends, then a quarter of the lines ran.
    for _ in range(6):
        standin.retrieve_batch(batch["id"])
    result = run([*args, "--cancel"])
    assert result.rc == 1, result
    [cancel] = requests_to(standin, "POST", "/v1/batches/")
    assert cancel["path"] == f"/v1/batches/{batch['id']}/cancel"
    [batch] = batches(standin)
    assert batch["status"] == "cancelled"
    ran = batch["request_counts"]["completed"]
    assert 0 < ran < 4
    assert len(images_in(tmp_path / "out")) == ran
    assert "batch_cancelled" in result.stderr
    assert [row["state"] for row in remote_rows(tmp_path / "out")] == ["closed"]
    # Nothing is left to cancel, and no second batch was made.
    again = run([*args, "--cancel"])
    assert again.rc != 2, again
    assert len(batches(standin)) == 1


def test_a_kill_after_the_server_made_the_batch_never_makes_a_second(run, standin, tmp_path):
    """The batch is made and its answer is on its way when the kill comes: the
    ledger knows the uploaded file but not the batch; the rerun finds it."""
    standin.configure(fault="slow", slow_seconds=30, fault_paths=["POST /v1/batches"])
    args = ["batch", *PROMPTS[:3], *MODEL, *OUT, *FAST]
    process = start(standin, tmp_path, args)
    try:
        assert wait_until(lambda: standin.list_batches()["data"]), "no batch was made"
        process.kill()
        assert_no_key_in_output(*process.communicate(timeout=10))
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    [row] = remote_rows(tmp_path / "out")
    assert row["state"] == "uploaded" and "batch_id" not in row
    standin.configure(fault=None)
    result = run(args)
    assert result.rc == 0, result
    assert len(batches(standin)) == 1
    assert standin.stats()["batches"] == 1
    assert len(images_in(tmp_path / "out")) == 3


def test_a_lost_answer_to_the_create_is_found_not_made_again(run, standin, tmp_path):
    """The connection breaks after the server made the batch: the retry looks first."""
    standin.configure(fault="reset", fault_count=1, fault_paths=["POST /v1/batches"])
    result = run(["batch", *PROMPTS[:2], *MODEL, *OUT, *FAST])
    assert result.rc == 0, result
    assert standin.stats()["batches"] == 1
    assert len(images_in(tmp_path / "out")) == 2
    assert "looking for the batch" in result.stderr


def test_a_kill_during_the_upload_uploads_again_and_makes_one_batch(run, standin, tmp_path):
    standin.configure(fault="slow", slow_seconds=30, fault_paths=["POST /v1/files"])
    args = ["batch", *PROMPTS[:3], *MODEL, *OUT, *FAST]
    process = start(standin, tmp_path, args)
    try:
        assert wait_until(lambda: standin.stats().get("files", 0) == 1), "no upload came"
        process.kill()
        assert_no_key_in_output(*process.communicate(timeout=10))
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    [row] = remote_rows(tmp_path / "out")
    assert row["state"] == "written"
    standin.configure(fault=None)
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["batches"] == 1
    assert len(images_in(tmp_path / "out")) == 3


def test_a_kill_while_polling_and_a_rerun_collects_the_same_batch(run, standin, tmp_path):
    # The first poll comes at once, the next after --poll: the kill lands between.
    standin.configure(batch_steps=2)
    args = ["batch", *PROMPTS[:3], *MODEL, *OUT, "--batch-api"]
    process = start(standin, tmp_path, [*args, "--poll", "60"])
    try:
        assert wait_until(lambda: standin.stats().get("batch_polls", 0) >= 1), "no polls"
        process.send_signal(signal.SIGKILL)
        assert_no_key_in_output(*process.communicate(timeout=10))
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert images_in(tmp_path / "out") == []
    result = run([*args, "--poll", "0.02"])
    assert result.rc == 0, result
    assert standin.stats()["batches"] == 1
    assert len(images_in(tmp_path / "out")) == 3


def test_a_kill_while_collecting_keeps_what_was_saved_and_the_rerun_collects_the_rest(
        run, standin, tmp_path):
    """Two images are saved, the third waits on a slow disk when the kill comes: the
    rerun takes the rest from the same batch and leaves the first two as they are."""
    assert SLOW_DISK.exists(), f"{SLOW_DISK} is not built (tests/meson.build)"
    args = ["batch", *PROMPTS[:4], *MODEL, *OUT, *FAST, "--no-gallery"]
    env = clean_env(standin, {
        "LD_PRELOAD": str(SLOW_DISK), "IMAGEGEN_TEST_GATE": str(tmp_path / "gate"),
        "IMAGEGEN_TEST_GATE_AFTER": "2",
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
    process = subprocess.Popen([BIN, *args], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: len(images_in(tmp_path / "out")) >= 2), "nothing was saved"
        time.sleep(0.2)   # the third is held at the gate: nothing more comes
        assert len(images_in(tmp_path / "out")) == 2
        process.kill()
        assert_no_key_in_output(*process.communicate(timeout=10))
    finally:
        (tmp_path / "gate").touch()
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    kept = {name: (tmp_path / "out" / name).stat() for name in images_in(tmp_path / "out")}
    result = run(args)
    assert result.rc == 0, result
    assert "2 jobs done by an earlier run" in result.stderr
    assert len(images_in(tmp_path / "out")) == 4
    for name, before in kept.items():
        after = (tmp_path / "out" / name).stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert standin.stats()["batches"] == 1
    # (The two the kill came before recording are known by their reserved names.)
    status = json.loads(run(["status", "out", "--json"]).stdout)
    assert status["states"]["done"] == 4 and status["files_present"] == 4


def test_ctrl_c_while_polling_leaves_the_batch_to_a_rerun(run, standin, tmp_path):
    standin.configure(batch_steps=2)
    args = ["batch", *PROMPTS[:2], *MODEL, *OUT, "--batch-api"]
    process = start(standin, tmp_path, [*args, "--poll", "60"])
    try:
        assert wait_until(lambda: standin.stats().get("batch_polls", 0) >= 1), "no polls"
        process.send_signal(signal.SIGINT)
        out, err = assert_no_key_in_output(*process.communicate(timeout=10))
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 130, err
    assert "2 jobs are in Batch API batches that have not ended" in err
    result = run([*args, "--poll", "0.02"])
    assert result.rc == 0, result
    assert standin.stats()["batches"] == 1


def test_the_dry_run_estimates_at_half_price(run, standin, tmp_path):
    sync = run(["batch", *PROMPTS[:2], *MODEL, *OUT, "--dry-run"])
    batch = run(["batch", *PROMPTS[:2], *MODEL, *OUT, "--batch-api", "--dry-run"])
    assert sync.rc == batch.rc == 0

    def total(result):
        [line] = [x for x in result.stdout.splitlines() if x.startswith("# estimated cost")]
        return float(line.split("$")[1].split()[0])
    assert total(batch) == pytest.approx(total(sync) / 2, abs=0.0001)
    assert not standin.requests


@pytest.mark.parametrize("args, message", [
    (["--no-wait"], "--no-wait: only with --batch-api"),
    (["--cancel"], "--cancel: only with --batch-api"),
    (["--batch-size", "3"], "--batch-size: only with --batch-api"),
    (["--batch-api", "--stream"], "the Batch API does not stream"),
    (["--batch-api", "--fail-fast"], "--fail-fast does not apply"),
    (["--batch-api", "--batch-size", "50001"], "--batch-size"),
])
def test_batch_api_options_are_refused_where_they_do_not_apply(run, standin, tmp_path, args,
                                                               message):
    result = run(["batch", "a red fox", *MODEL, *OUT, *args])
    assert result.rc == 2, result
    assert message in result.stderr
    assert not standin.requests


def test_azure_is_refused(run, standin, tmp_path):
    result = run(["batch", "a red fox", "--provider", "azure", "--base-url",
                  standin.azure_url + "/v1", "--model", "gpt-image-2", *OUT, "--batch-api"],
                 env={"AZURE_OPENAI_API_KEY": KEY})
    assert result.rc == 2, result
    assert "the OpenAI Batch API only" in result.stderr


def test_a_batch_the_server_does_not_have_is_reported_and_cancel_forgets_it(
        run, standin, tmp_path):
    args = ["batch", *PROMPTS[:2], *MODEL, *OUT, *FAST]
    assert run([*args, "--no-wait"]).rc == 0
    standin.reset()   # another server, as far as imagegen can tell: no such batch
    lost = run(args)
    assert lost.rc == 1, lost
    assert "is --base-url or OPENAI_BASE_URL the server it was made at?" in lost.stderr
    assert not requests_to(standin, "POST", "/v1/files")   # nothing sent again meanwhile
    forget = run([*args, "--cancel"])
    assert "is not at this server: forgotten" in forget.stderr
    again = run(args)
    assert again.rc == 0, again
    assert len(images_in(tmp_path / "out")) == 2
    assert standin.stats()["batches"] == 1


def test_cancel_with_nothing_to_cancel_says_so(run, standin, tmp_path):
    assert run(["batch", "a red fox", *MODEL, *OUT, *FAST]).rc == 0
    result = run(["batch", "a red fox", *MODEL, *OUT, *FAST, "--cancel"])
    assert result.rc == 0, result
    assert "no batch of out to cancel" in result.stderr
    assert not requests_to(standin, "POST", "/v1/batches/")


def test_max_cost_weighs_the_batch_price_before_anything_is_sent(run, standin, tmp_path):
    dry = run(["batch", *PROMPTS, *MODEL, *OUT, "--batch-api", "--dry-run"])
    [line] = [x for x in dry.stdout.splitlines() if x.startswith("# estimated cost")]
    estimate = float(line.split("$")[1].split()[0])
    refused = run(["batch", *PROMPTS, *MODEL, *OUT, *FAST, "--max-cost",
                   f"{estimate * 0.9:.4f}"])
    assert refused.rc == 2, refused
    assert not standin.requests
    # Above the Batch price but below the synchronous one: sent.
    allowed = run(["batch", *PROMPTS, *MODEL, *OUT, *FAST, "--max-cost",
                   f"{estimate * 1.5:.4f}"])
    assert allowed.rc == 0, allowed
    assert len(images_in(tmp_path / "out")) == 5
