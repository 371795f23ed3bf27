"""Streaming (`--stream`, `--partial-images N`) against the stand-in: the request
bodies (generate JSON, edit multipart and JSON, batch), partial images saved as
NAME.partial-K.ext while the stream runs and removed after the final image unless
--keep-partials, the final image under its normal name, usage from the completed
events, n=2, every stream fault of the stand-in, and edits' image_edit.* events."""

import base64
import json
import subprocess
import time

import pytest
from PIL import Image

from conftest import BIN, LEDGER, assert_no_key_in_output, clean_env, files_in, open_image, temp_files

SMALL = ["--size", "1024x640"]  # the fewest pixels gpt-image-2 takes: a quick image
GENERATIONS = "/v1/images/generations"
EDITS = "/v1/images/edits"
PROMPT = "a paper boat on a pond"
SLUG = "a-paper-boat-on-a-pond"


def pixels(path):
    """What a picture shows, whatever its file carries besides: mode, size, pixels."""
    image = open_image(path)
    return image.mode, image.size, image.tobytes()


def bodies(standin, path=GENERATIONS):
    return [r["body"] for r in standin.requests if r["path"] == path]


def only_body(standin, path=GENERATIONS):
    [body] = bodies(standin, path)
    return body


def partial_names(stem, count, ext="png"):
    return [f"{stem}.partial-{k}.{ext}" for k in range(count)]


def reference(run, tmp_path, args, folder="reference"):
    """The same request without streaming, saved in its own folder: the images
    and usage a stream must reproduce.  Returns (paths, response JSON)."""
    result = run([*args, "--out-dir", folder, "--json", "--no-metadata"])
    assert result.rc == 0, result
    paths = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / folder).iterdir())
    return paths, result.json


@pytest.fixture
def photo(tmp_path):
    """A small PNG to edit."""
    path = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (30, 90, 160)).save(path, format="PNG")
    return path


# --- the request


def test_stream_flag_sends_stream_true(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--stream"])
    assert result.rc == 0, result
    body = only_body(standin)
    assert body["stream"] is True
    assert body.get("partial_images", 0) == 0
    assert result.stdout == f"{SLUG}.png\n"
    assert files_in(tmp_path) == [f"{SLUG}.png"]


@pytest.mark.parametrize("count", [0, 1, 2, 3])
def test_partial_images_n_implies_stream_and_sends_partial_images(run, standin, tmp_path,
                                                                  count):
    result = run(["generate", PROMPT, *SMALL, "--partial-images", count, "--keep-partials"])
    assert result.rc == 0, result
    body = only_body(standin)
    assert (body["stream"], body["partial_images"]) == (True, count)
    assert result.stdout == f"{SLUG}.png\n"
    assert files_in(tmp_path) == sorted([f"{SLUG}.png", *partial_names(SLUG, count)])


@pytest.mark.parametrize("args", [
    ["--partial-images", "4"],
    ["--partial-images", "-1"],
    ["--model", "dall-e-3", "--stream"],
    ["--model", "dall-e-2", "--partial-images", "1"],
], ids=["partial-4", "partial-negative", "dall-e-3", "dall-e-2"])
def test_streams_the_api_refuses_are_refused_before_any_request(run, standin, tmp_path,
                                                                args):
    result = run(["generate", PROMPT, *args])
    assert result.rc == 2, result
    assert standin.stats()["requests"] == 0
    assert files_in(tmp_path) == []
    if args[0] == "--partial-images":
        expected = f"--partial-images: '{args[1]}' is not a whole number from 0 to 3"
    else:
        expected = f"--stream: only the GPT image models take it, not {args[1]}"
    assert result.stderr == f"imagegen: error: {expected}\n"


# --- partial and final files


def test_kept_partials_are_valid_images_of_the_final_size_and_format(run, standin,
                                                                    tmp_path):
    result = run(["generate", PROMPT, "--size", "1536x1024", "--partial-images", "3",
                  "--keep-partials"])
    assert result.rc == 0, result
    assert result.lines == [f"{SLUG}.png"]  # partials are not results: not on stdout
    final = open_image(tmp_path / f"{SLUG}.png")
    assert (final.format, final.size) == ("PNG", (1536, 1024))
    shown = []
    for name in partial_names(SLUG, 3):
        partial = open_image(tmp_path / name)
        assert (partial.format, partial.size) == ("PNG", (1536, 1024)), name
        shown.append(partial.convert("RGB").tobytes())
    # Three different stages, none of them the final picture.
    assert len(set(shown)) == 3
    assert final.convert("RGB").tobytes() not in shown
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("fmt, ext, pil_format", [("jpeg", "jpg", "JPEG"),
                                                   ("webp", "webp", "WEBP")])
def test_partials_take_the_output_format(run, standin, tmp_path, fmt, ext, pil_format):
    result = run(["generate", PROMPT, *SMALL, "--format", fmt, "--partial-images", "2",
                  "--keep-partials"])
    assert result.rc == 0, result
    assert files_in(tmp_path) == sorted([f"{SLUG}.{ext}", *partial_names(SLUG, 2, ext)])
    for name in files_in(tmp_path):
        image = open_image(tmp_path / name)
        assert (image.format, image.size) == (pil_format, (1024, 640)), name


def test_partials_are_removed_once_the_final_image_is_saved(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--partial-images", "3"])
    assert result.rc == 0, result
    assert result.stdout == f"{SLUG}.png\n"
    assert files_in(tmp_path) == [f"{SLUG}.png"]
    assert "partial" in result.stderr  # progress on stderr as they arrive


def test_partials_appear_while_the_stream_runs_and_go_at_the_end(standin, tmp_path):
    standin.configure(stream_interval=0.4)
    process = subprocess.Popen([BIN, "generate", PROMPT, *SMALL, "--partial-images", "2"],
                               cwd=tmp_path, env=clean_env(standin),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    seen = {}
    final_while_partial = False
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        for name in partial_names(SLUG, 2):
            path = tmp_path / name
            if name not in seen and path.exists():
                # Written atomically: whenever the name exists, the image is whole.
                seen[name] = open_image(path).size
                final_while_partial |= (tmp_path / f"{SLUG}.png").exists()
        time.sleep(0.02)
    stdout, stderr = assert_no_key_in_output(*process.communicate(timeout=30))
    assert process.returncode == 0, stderr.decode()
    assert seen == {name: (1024, 640) for name in partial_names(SLUG, 2)}
    assert not final_while_partial, "the final name existed before the stream completed"
    assert stdout.decode() == f"{SLUG}.png\n"
    assert files_in(tmp_path) == [f"{SLUG}.png"]


def test_final_image_is_the_completed_events_picture(run, standin, tmp_path):
    [expected], _ = reference(run, tmp_path, ["generate", PROMPT, *SMALL])
    result = run(["generate", PROMPT, *SMALL, "--partial-images", "2"])
    assert result.rc == 0, result
    assert pixels(tmp_path / f"{SLUG}.png") == pixels(tmp_path / expected)


def test_out_names_the_final_image_and_its_partials(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--partial-images", "1", "--keep-partials",
                  "--out", "pics/boat.webp"])
    assert result.rc == 0, result
    assert result.stdout == "pics/boat.webp\n"
    assert files_in(tmp_path) == ["pics/boat.partial-0.webp", "pics/boat.webp"]


# --- usage from the completed events


def test_usage_is_taken_from_the_completed_event(run, standin, tmp_path):
    _, plain = reference(run, tmp_path, ["generate", PROMPT, *SMALL])
    result = run(["generate", PROMPT, *SMALL, "--partial-images", "1", "--sidecar"])
    assert result.rc == 0, result
    usage = plain["usage"]
    sidecar = json.loads((tmp_path / f"{SLUG}.json").read_text())
    assert sidecar["usage"] == usage   # with its input and output details
    assert f"tokens: {usage['total_tokens']}" in result.stderr


def test_n_2_streams_each_image_with_its_own_partials_and_adds_the_usages(run, standin,
                                                                          tmp_path):
    expected, plain = reference(run, tmp_path, ["generate", PROMPT, *SMALL, "--n", "2"])
    result = run(["generate", PROMPT, *SMALL, "--n", "2", "--partial-images", "1",
                  "--keep-partials"])
    assert result.rc == 0, result
    assert [b["n"] for b in bodies(standin)] == [2, 2]  # the reference, then the stream
    assert result.lines == [f"{SLUG}-1.png", f"{SLUG}-2.png"]
    assert sorted(p for p in files_in(tmp_path) if not p.startswith("reference/")) == [
        f"{SLUG}-1.partial-0.png", f"{SLUG}-1.png",
        f"{SLUG}-2.partial-0.png", f"{SLUG}-2.png"]
    # Image i of the stream is image i of the answer.
    assert [pixels(tmp_path / f"{SLUG}-{i}.png") for i in (1, 2)] == [
        pixels(tmp_path / path) for path in expected]
    assert f"tokens: {plain['usage']['total_tokens']}" in result.stderr


def test_n_2_stream_removes_every_partial_at_the_end(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--n", "2", "--partial-images", "2"])
    assert result.rc == 0, result
    assert files_in(tmp_path) == [f"{SLUG}-1.png", f"{SLUG}-2.png"]


# --- stream faults


@pytest.mark.parametrize("fault", ["stream_split", "stream_crlf", "stream_comments"])
@pytest.mark.parametrize("n", [1, 2])
def test_awkward_but_valid_streams_succeed(run, standin, tmp_path, fault, n):
    expected, plain = reference(run, tmp_path, ["generate", PROMPT, *SMALL, "--n", n])
    standin.configure(fault=fault)
    result = run(["generate", PROMPT, *SMALL, "--n", n, "--partial-images", "2"])
    assert result.rc == 0, result
    names = [f"{SLUG}.png"] if n == 1 else [f"{SLUG}-{i}.png" for i in (1, 2)]
    assert result.lines == names
    assert [p for p in files_in(tmp_path) if not p.startswith("reference/")] == names
    assert [pixels(tmp_path / name) for name in names] == [pixels(tmp_path / p)
                                                           for p in expected]
    assert f"tokens: {plain['usage']['total_tokens']}" in result.stderr
    assert temp_files(tmp_path) == []


def test_partial_indexes_a_server_should_not_send_never_name_a_file(run, standin,
                                                                    tmp_path):
    # partial_image_index goes into NAME.partial-K.png: -1, 10**15, "1", 0.5 and 3
    # (one past the API's 0 to 2) come in one partial image each; each is warned
    # about, in order, and not saved; the final image is saved as ever.
    standin.configure(fault="stream_odd_index")
    result = run(["generate", PROMPT, *SMALL, "--partial-images", "3", "--keep-partials"])
    assert result.rc == 0, result
    assert result.lines == [f"{SLUG}.png"]
    assert files_in(tmp_path) == [f"{SLUG}.png"]
    sent = [a["body"]["partial_image_index"] for a in standin.responses()
            if a.get("event") == "image_generation.partial_image"]
    assert len(sent) == 5   # each odd value went out (recorded before the fault)
    warned = [line for line in result.stderr.splitlines() if "partial_image_index" in line]
    assert warned == [f"imagegen: warning: a partial image with partial_image_index {shown} "
                      "was not saved (the API sends 0 to 2)"
                      for shown in ("-1", "1000000000000000", '"1"', "0.5", "3")], \
        result.stderr
    # No "partial image K saved: NAME" for any of them.
    assert " saved: " not in result.stderr, result.stderr
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("keep", [[], ["--keep-partials"]], ids=["default", "keep-partials"])
def test_a_final_image_before_its_partials_is_kept_and_late_partials_dropped(
        run, standin, tmp_path, keep):
    # The events: partial 0, the completed image, partials 1 and 2.  The final image
    # is the one saved; the two partials that come after it are stale and neither
    # replace it nor leave a file (kept or temporary) behind.
    standin.configure(fault="stream_final_early")
    result = run(["generate", PROMPT, *SMALL, "--partial-images", "3", *keep])
    assert result.rc == 0, result
    assert result.lines == [f"{SLUG}.png"]
    expected = [f"{SLUG}.png"] + ([f"{SLUG}.partial-0.png"] if keep else [])
    assert files_in(tmp_path) == sorted(expected)
    assert temp_files(tmp_path) == []
    [completed] = [a for a in standin.responses() if a.get("event", "").endswith("completed")]
    # The saved file is the completed event's image (as far as the stand-in keeps
    # its base64), whole.
    final = (tmp_path / f"{SLUG}.png").read_bytes()
    sent = completed["body"]["b64_json"].split("...")[0]
    assert base64.b64encode(final).decode().startswith(sent)
    assert open_image(tmp_path / f"{SLUG}.png").size == (1024, 640)
    if keep:
        assert (tmp_path / f"{SLUG}.partial-0.png").read_bytes() != final
    assert "partial image 1" not in result.stderr and "partial image 2" not in result.stderr


def test_completed_events_past_the_images_asked_for_leave_nothing_behind(run, standin,
                                                                         tmp_path):
    # 50 completed events for --n 1: a protocol error. The image asked for is
    # whole and paid for, so it is kept; the stream is read no further, none of
    # the extra data is left in hidden temp files, and the run fails (exit 1).
    standin.configure(fault="stream_extra_completed")
    result = run(["generate", PROMPT, *SMALL, "--stream"])
    assert result.rc == 1, result
    assert result.lines == [f"{SLUG}.png"]
    assert files_in(tmp_path) == [f"{SLUG}.png"]
    assert temp_files(tmp_path) == []
    assert ("bad stream: the server sent more completed images than the 1 asked for (a "
            "protocol error); the image saved before it is kept") in result.stderr, result
    open_image(tmp_path / f"{SLUG}.png")


def test_a_batch_job_whose_stream_breaks_protocol_keeps_its_image_and_is_not_paid_again(
        run, standin, tmp_path):
    standin.configure(fault="stream_extra_completed", fault_count=1)
    args = ["batch", "job 1", "job 2", *SMALL, "--stream", "--out-dir", "out",
            "--concurrency", "1"]
    result = run(args)
    assert result.rc == 1, result
    assert sorted(result.lines) == ["out/01-job-1.png", "out/02-job-2.png"]
    assert "1 job failed" in result.stderr
    assert "more completed images than the 1 asked for" in result.stderr
    standin.reset()
    result = run(args)
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0
    assert "2 jobs done by an earlier run" in result.stderr
    states = run(["status", "--json", "out"]).json["states"]
    assert (states["done"], states["failed"]) == (1, 1)


@pytest.mark.parametrize("fault, message", [
    ("stream_error", "The server had an error while processing your request"),
    ("stream_truncated", "ended before"),
    ("stream_malformed", "bad stream: an event ended inside a string"),
])
def test_broken_streams_fail_with_a_message_and_no_final_file(run, standin, tmp_path,
                                                              fault, message):
    standin.configure(fault=fault)
    result = run(["generate", PROMPT, *SMALL, "--partial-images", "2"])
    assert result.rc == 1, result
    assert result.stdout == ""
    assert message in result.stderr, result.stderr
    assert "imagegen: error: " in result.stderr
    assert not (tmp_path / f"{SLUG}.png").exists()
    assert temp_files(tmp_path) == []
    # Only partial images may be left, to show how far it got.
    assert set(files_in(tmp_path)) <= set(partial_names(SLUG, 2))


def test_a_stream_error_event_shows_its_code(run, standin, tmp_path):
    standin.configure(fault="stream_error")
    result = run(["generate", PROMPT, *SMALL, "--stream", "--out-dir", "pics"])
    assert result.rc == 1, result
    assert "error: the stream reported an error (server_error): The server had an error" \
        in result.stderr, result.stderr
    # The partial image it had before the error stays, to show how far it got; no final.
    assert files_in(tmp_path) == [f"pics/{SLUG}.partial-0.png"]


# --- edits


def test_multipart_edit_streams_image_edit_events(run, standin, tmp_path, photo):
    result = run(["edit", "--image", photo.name, "make it night", *SMALL,
                  "--partial-images", "2", "--keep-partials"])
    assert result.rc == 0, result
    request = [r for r in standin.requests if r["path"] == EDITS]
    assert len(request) == 1
    assert request[0]["content_type"].startswith("multipart/form-data")
    body = request[0]["body"]
    assert (body["stream"], body["partial_images"]) == ("true", "2")
    assert result.stdout == "photo-edit.png\n"
    assert files_in(tmp_path) == ["photo-edit.partial-0.png", "photo-edit.partial-1.png",
                                  "photo-edit.png", "photo.png"]
    for name in ("photo-edit.partial-0.png", "photo-edit.partial-1.png", "photo-edit.png"):
        assert open_image(tmp_path / name).size == (1024, 640), name
    assert "tokens" in result.stderr


def test_json_edit_streams_with_stream_true_and_partial_images(run, standin, tmp_path):
    result = run(["edit", "--image", "https://example.com/cat.png", "make it night",
                  "--size", "1024x1024", "--quality", "low", "--partial-images", "1"])
    assert result.rc == 0, result
    body = only_body(standin, EDITS)
    assert (body["stream"], body["partial_images"]) == (True, 1)
    assert result.stdout == "cat-edit.png\n"
    assert files_in(tmp_path) == ["cat-edit.png"]
    assert open_image(tmp_path / "cat-edit.png").size == (1024, 1024)


def test_edit_stream_split_at_awkward_places_gives_the_same_picture(run, standin, tmp_path,
                                                                     photo):
    plain = run(["edit", "--image", photo.name, "make it night", *SMALL, "--no-metadata",
                 "--out", "plain.png"])
    assert plain.rc == 0, plain
    standin.configure(fault="stream_split")
    result = run(["edit", "--image", photo.name, "make it night", *SMALL, "--stream",
                  "--out", "streamed.png"])
    assert result.rc == 0, result
    assert pixels(tmp_path / "streamed.png") == pixels(tmp_path / "plain.png")


def test_edit_stream_truncated_fails(run, standin, tmp_path, photo):
    standin.configure(fault="stream_truncated")
    result = run(["edit", "--image", photo.name, "make it night", *SMALL,
                  "--partial-images", "1"])
    assert result.rc == 1, result
    assert "ended before" in result.stderr
    assert not (tmp_path / "photo-edit.png").exists()
    assert temp_files(tmp_path) == []


# --- batch


def test_batch_jobs_stream_and_leave_only_final_images(run, standin, tmp_path):
    result = run(["batch", "red fox", "blue whale", *SMALL, "--partial-images", "1",
                  "--out-dir", "out", "--json", "--no-gallery"])
    assert result.rc == 0, result
    assert [(b["stream"], b["partial_images"]) for b in bodies(standin)] == [(True, 1)] * 2
    assert files_in(tmp_path / "out") == [LEDGER, "01-red-fox.png", "02-blue-whale.png"]
    lines = [json.loads(line) for line in result.lines]
    assert sorted(line["status"] for line in lines) == ["done", "done"]
    standin.reset()
    plain = run(["generate", "red fox", *SMALL, "--json", "--no-save"])
    fox = [line for line in lines if line["prompt"] == "red fox"][0]
    assert fox["usage"]["total_tokens"] == plain.json["usage"]["total_tokens"]


def test_a_batch_job_whose_stream_breaks_fails_alone(run, standin, tmp_path):
    standin.configure(fault="stream_truncated", fault_count=1)
    result = run(["batch", "red fox", "blue whale", *SMALL, "--stream",
                  "--concurrency", "1", "--out-dir", "out", "--no-gallery"])
    assert result.rc == 1, result
    assert "ended before" in result.stderr
    assert result.lines == ["out/02-blue-whale.png"]
    # The broken job may leave the partial image it got, never a final one.
    assert [p for p in files_in(tmp_path / "out") if ".partial-" not in p] == [
        LEDGER, "02-blue-whale.png"]
    assert temp_files(tmp_path) == []


# --- usage shapes the API may use, and partial images' tokens


@pytest.mark.parametrize("shape", ["split", "total", "each"])
def test_n_2_stream_usage_is_never_counted_twice(run, standin, tmp_path, shape):
    _, plain = reference(run, tmp_path, ["generate", PROMPT, *SMALL, "--n", "2"])
    standin.configure(stream_usage=shape)
    result = run(["generate", PROMPT, *SMALL, "--n", "2", "--stream", "--json"])
    assert result.rc == 0, result
    total = plain["usage"]["total_tokens"]
    assert f"tokens: {total} " in result.stderr, result
    assert result.json["usage"]["total_tokens"] == total


@pytest.mark.compat
def test_equal_usages_that_cannot_be_told_apart_count_once_with_a_warning(run, standin,
                                                                          tmp_path):
    """A server's own model has no price row to say what one image takes: two equal
    usages may be the total twice or each image's own; counted once, and said."""
    model = ["--model", "acme-image-7", "--size", "256x256"]
    _, plain = reference(run, tmp_path, ["generate", PROMPT, *model])
    standin.configure(stream_usage="each")
    result = run(["generate", PROMPT, *model, "--n", "2", "--stream", "--json"])
    assert result.rc == 0, result
    assert result.json["usage"]["total_tokens"] == plain["usage"]["total_tokens"]
    assert ("the stream's completed events carry the same usage, and whether it is each "
            "image's or the request's total is not documented: counted once"
            in result.stderr), result.stderr


def test_partial_images_are_billed_beside_the_usage(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--partial-images", "2", "--sidecar"])
    assert result.rc == 0, result
    assert "and 2 partial images billed at 100 output tokens each" in result.stderr
    sidecar = json.loads((tmp_path / f"{SLUG}.json").read_text())
    assert sidecar["partial_images"] == 2
    assert sidecar["partial_image_output_tokens"] == 200


def test_a_batch_counts_partial_images(run, standin, tmp_path):
    result = run(["batch", "a cat", "a dog", *SMALL, "--partial-images", "1", "--json",
                  "--out-dir", "out", "--no-gallery"])
    assert result.rc == 0, result
    lines = [json.loads(line) for line in result.lines]
    assert [line["partial_images"] for line in lines] == [1, 1]
    assert "partial images: 200 output tokens" in result.stderr
