"""The engine driven with no command-line code (tests/engine/drive_engine.c links only
src/engine and the layers below): a generation against the stand-in, with every event
a front end needs (saved, partial, warning, finished) and nothing on stdout from the
engine itself."""

import json
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, WRAPPER, clean_env, files_in, open_image

DRIVER = Path(BIN).parent / "tests" / "drive_engine"


def drive(standin, tmp_path, *args):
    if not DRIVER.exists():
        pytest.skip(f"{DRIVER} is not built")
    completed = subprocess.run([*WRAPPER, str(DRIVER), "out", *args],
                               env=clean_env(standin), capture_output=True, timeout=120,
                               cwd=tmp_path)
    events = [json.loads(line) for line in completed.stdout.decode().splitlines()]
    return completed, events


def test_the_engine_alone_generates_and_reports_each_saved_image(standin, tmp_path):
    completed, events = drive(standin, tmp_path, "2")
    assert completed.returncode == 0, completed
    saved = [e for e in events if e["event"] == "saved"]
    assert [e["index"] for e in saved] == [0, 1]
    assert [e["path"] for e in saved] == ["out/a-red-fox-in-the-snow-1.png",
                                          "out/a-red-fox-in-the-snow-2.png"]
    [finished] = [e for e in events if e["event"] == "finished"]
    assert finished["state"] == "done" and finished["output_tokens"] > 0
    assert events[-1] == finished
    assert files_in(tmp_path / "out") == ["a-red-fox-in-the-snow-1.png",
                                          "a-red-fox-in-the-snow-2.png"]
    assert open_image(tmp_path / "out/a-red-fox-in-the-snow-1.png").size == (1024, 640)
    [request] = standin.requests
    assert request["body"]["model"] == "gpt-image-2" and request["body"]["n"] == 2


def test_the_engine_alone_streams_partial_images_as_events(standin, tmp_path):
    completed, events = drive(standin, tmp_path, "1", "stream")
    assert completed.returncode == 0, completed
    kinds = [e["event"] for e in events]
    assert kinds.count("partial") == 2
    assert kinds.index("partial") < kinds.index("saved") < kinds.index("finished")
    assert [e["k"] for e in events if e["event"] == "partial"] == [0, 1]
    # Partial files are gone once the final image is saved (no --keep-partials).
    assert files_in(tmp_path / "out") == ["a-red-fox-in-the-snow.png"]


def test_the_engine_alone_reports_warnings_through_its_sink(standin, tmp_path):
    # A retry is worth a warning: the engine hands it to the front end instead of
    # printing it.
    standin.configure(fault="429", fault_count=1, retry_after="0")
    completed, events = drive(standin, tmp_path, "1")
    assert completed.returncode == 0, completed
    warnings = [e["text"] for e in events if e["event"] == "warning"]
    assert len(warnings) == 1 and "retrying" in warnings[0] and "429" in warnings[0]
    assert b"retrying" not in completed.stderr
    assert len(standin.requests) == 2


def test_the_engine_alone_reports_a_failed_job(standin, tmp_path):
    standin.configure(fault="400", fault_count=1)
    completed, events = drive(standin, tmp_path, "1")
    assert completed.returncode == 1, completed
    [finished] = [e for e in events if e["event"] == "finished"]
    assert finished["state"] == "failed" and "400" in finished["error"]
    assert not any(e["event"] == "saved" for e in events)
    assert files_in(tmp_path) == []
