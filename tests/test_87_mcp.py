"""imagegen mcp: the MCP server over stdio, driven by the official MCP TypeScript
SDK's client (tests/mcp/drive.mjs, the SDK at the version tests/mcp's lock file
names) against the stand-in; malformed messages are written raw."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from conftest import (BIN, WRAPPER, assert_no_key_leak, clean_env, temp_files,
                      wait_for_temp_file)

MCP_DIR = Path(__file__).parent / "mcp"
NODE = shutil.which("node")


def sdk_missing():
    """Why the SDK client cannot run here, or None."""
    if not NODE:
        return "node is missing (make deps installs nodejs)"
    if not (MCP_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        log = MCP_DIR / "npm-ci.log"
        why = log.read_text(errors="replace").strip().splitlines()[:3] if log.exists() else []
        return ("the MCP SDK is not installed in tests/mcp (make deps runs npm ci; "
                f"it needs the npm registry){': ' + ' '.join(why) if why else ''}")
    return None


@pytest.fixture
def sdk():
    """The official SDK client must be there to drive the server. Where the npm
    registry cannot be reached the tests that need it are skipped, loudly; in CI
    (CI=true) they fail, so CI never passes without them."""
    why = sdk_missing()
    if why and os.environ.get("CI"):
        pytest.fail(why)
    if why:
        pytest.skip(why)


def mcp_env(standin, args=(), extra=None):
    env = clean_env(standin, extra)
    env["IMAGEGEN_MCP"] = json.dumps([*WRAPPER, BIN, "mcp", *args])
    return env


def drive(standin, root, *steps, args=(), extra=None, stdin=None, timeout=120):
    """Runs drive.mjs in root; returns (the JSON lines it printed, stderr)."""
    done = subprocess.run(
        [NODE, str(MCP_DIR / "drive.mjs"), *steps], cwd=root,
        env=mcp_env(standin, args, extra), input=stdin, capture_output=True, text=True,
        timeout=timeout * (10 if WRAPPER else 1))
    assert done.returncode == 0, f"drive.mjs failed:\n{done.stdout}\n{done.stderr}"
    assert_no_key_leak(done.stdout, "the MCP client's output")
    assert_no_key_leak(done.stderr, "the server's stderr")
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def call(standin, root, name, arguments, **kw):
    lines, err = drive(standin, root, "call", name, json.dumps(arguments), **kw)
    return lines[1], err


def text_of(result):
    return "\n".join(c["text"] for c in result["content"] if c["type"] == "text")


def png(path, size=(64, 48), color=(200, 30, 30)):
    Image.new("RGB", size, color).save(path)
    return path


def help_flags(command="generate"):
    """The long flags `imagegen COMMAND --help` lists, first name of each."""
    out = subprocess.run([BIN, command, "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"^\s+(?:-\w, )?--([a-z][a-z0-9-]*)", out, re.M))


# Flags of generate that the server holds (connection, printing, the terminal).
SERVER_HELD = {"prompt-file", "no-save", "json", "dry-run", "quiet", "confirm-above", "yes",
               "no-history", "profile", "verbose", "provider", "base-url", "deployment",
               "api-version", "timeout", "max-attempts", "retries", "backoff", "help"}


def test_the_sdk_client_initialises_and_lists_every_tool(standin, tmp_path, sdk):
    lines, _ = drive(standin, tmp_path, "list")
    hello, listed = lines
    assert hello["server"]["name"] == "imagegen"
    assert hello["capabilities"]["tools"] == {"listChanged": False}
    names = [t["name"] for t in listed["tools"]]
    assert names == ["generate_image", "edit_image", "generate_batch", "estimate_cost",
                     "image_info", "list_models"]
    assert standin.requests == []


def test_the_input_schema_is_generate_s_option_table(standin, tmp_path, sdk):
    lines, _ = drive(standin, tmp_path, "list")
    tools = {t["name"]: t for t in lines[1]["tools"]}
    schema = tools["generate_image"]["inputSchema"]
    flags = {name.replace("_", "-") for name in schema["properties"]}
    # Every option of the command is an argument, less what the server holds.
    assert flags == help_flags() - SERVER_HELD
    assert schema["required"] == ["prompt"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["n"] == {"type": "integer", "description": props["n"]["description"],
                          "minimum": 1, "maximum": 10}
    assert props["output_format"]["enum"] == ["png", "jpeg", "webp", "gif", "svg"]
    assert "gpt-image-2" in props["model"]["examples"]
    assert props["max_cost"]["type"] == "number"
    edit = tools["edit_image"]["inputSchema"]
    assert edit["required"] == ["prompt", "image"]
    assert edit["properties"]["image"]["type"] == "array"
    assert set(edit["properties"]) == set(props) | {"image", "mask", "markup"}
    batch = tools["generate_batch"]["inputSchema"]
    assert batch["required"] == ["jobs"]
    held = SERVER_HELD | {"input", "concurrency", "rpm", "batch-api", "no-wait", "cancel",
                          "batch-size", "poll"}
    assert {n.replace("_", "-") for n in batch["properties"]} == \
        help_flags("batch") - held | {"jobs"}
    assert batch["properties"]["force"]["description"] == "redo every job and replace its files"


def test_generate_image_saves_inside_the_root_and_returns_links_and_cost(standin, tmp_path,
                                                                        sdk):
    root = tmp_path / "root"
    root.mkdir()
    lines, err = drive(standin, tmp_path, "call", "generate_image",
                       json.dumps({"prompt": "a red fox", "size": "1024x1024",
                                   "quality": "low"}), args=["--root", str(root)])
    outcome = lines[1]
    result = outcome["result"]
    assert result["isError"] is False
    data = result["structuredContent"]
    assert [f["path"] for f in data["files"]] == ["a-red-fox.png"]
    assert data["files"][0]["uri"] == f"file://{root / 'a-red-fox.png'}"
    assert data["model"] == "gpt-image-2"
    assert data["cost"]["estimate"] is True and data["cost"]["usd"] > 0
    assert data["usage"]["output_tokens"] > 0
    links = [c for c in result["content"] if c["type"] == "resource_link"]
    assert links == [{"type": "resource_link", "uri": data["files"][0]["uri"],
                      "name": "a-red-fox.png", "mimeType": "image/png"}]
    assert Image.open(root / "a-red-fox.png").size == (1024, 1024)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]
    # One request, as the command line would send it.
    assert len(standin.requests) == 1
    body = standin.requests[0]["body"]
    assert (body["prompt"], body["model"], body["size"], body["quality"]) == \
        ("a red fox", "gpt-image-2", "1024x1024", "low")
    assert "generate_image: 1 image with gpt-image-2" in err


def test_a_bad_argument_gets_the_command_line_s_message(standin, tmp_path, run, sdk):
    result, _ = call(standin, tmp_path, "generate_image", {"prompt": "x", "size": "13x13"})
    cli = run(["generate", "--size", "13x13", "x"])
    assert cli.rc == 2
    assert result["result"]["isError"] is True
    message = cli.stderr.strip().removeprefix("imagegen: error: ").removeprefix("imagegen: ")
    assert message in text_of(result["result"])
    assert standin.requests == []


def test_arguments_are_checked_by_type_and_range(standin, tmp_path, sdk):
    for arguments, message in [
            ({"prompt": "x", "n": 11}, "n: '11' is not a whole number from 1 to 10"),
            ({"prompt": "x", "n": "2"}, "n: expected a whole number"),
            ({"prompt": "x", "colour": "red"}, "unknown argument 'colour'"),
            ({"prompt": "   "}, "prompt"),
            ({}, "prompt")]:
        result, _ = call(standin, tmp_path, "generate_image", arguments)
        assert result["result"]["isError"] is True, arguments
        assert message in text_of(result["result"]), (arguments, text_of(result["result"]))
    assert standin.requests == []


def test_paths_that_leave_the_root_are_refused(standin, tmp_path, sdk):
    root = tmp_path / "root"
    root.mkdir()
    outside = png(tmp_path / "outside.png")
    (root / "link").symlink_to(tmp_path)
    (root / "in.png").symlink_to(outside)
    cases = [
        ("generate_image", {"prompt": "x", "out": "../x.png"}, "out: '../x.png'"),
        ("generate_image", {"prompt": "x", "out": str(tmp_path / "x.png")}, "out: "),
        ("generate_image", {"prompt": "x", "out_dir": "link/sub"}, "out_dir: 'link/sub'"),
        ("generate_image", {"prompt": "x", "out_dir": "a/../../b"}, "out_dir: 'a/../../b'"),
        ("generate_image", {"prompt": "x", "prefix": "../escape"}, "outside the root"),
        ("edit_image", {"prompt": "x", "image": [str(outside)]}, "image: "),
        ("edit_image", {"prompt": "x", "image": ["in.png"]}, "image: 'in.png'"),
        ("image_info", {"paths": ["../outside.png"]}, "paths: '../outside.png'"),
    ]
    for tool, arguments, message in cases:
        result, _ = call(standin, tmp_path, tool, arguments, args=["--root", str(root)])
        text = text_of(result["result"])
        assert result["result"]["isError"] is True, (tool, arguments, text)
        assert message in text and "outside the root folder" in text, (arguments, text)
    assert standin.requests == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside.png", "root"]
    assert sorted(p.name for p in root.iterdir()) == ["in.png", "link"]


def test_edit_image_sends_the_inputs_as_the_edit_command_does(standin, tmp_path, sdk):
    png(tmp_path / "photo.png", size=(1024, 1024))
    result, _ = call(standin, tmp_path, "edit_image",
                     {"prompt": "add a hat", "image": ["photo.png"], "quality": "low"})
    assert result["result"]["isError"] is False, text_of(result["result"])
    assert [f["path"] for f in result["result"]["structuredContent"]["files"]] == \
        ["photo-edit.png"]
    assert (tmp_path / "photo-edit.png").exists()
    assert len(standin.requests) == 1
    assert standin.requests[0]["path"] == "/v1/images/edits"


def test_estimate_cost_sends_nothing_and_names_the_files(standin, tmp_path, run, sdk):
    result, _ = call(standin, tmp_path, "estimate_cost",
                     {"prompt": "a lighthouse", "size": "1024x1024", "quality": "high",
                      "n": 2})
    data = result["result"]["structuredContent"]
    assert data["files"] == ["a-lighthouse-1.png", "a-lighthouse-2.png"]
    assert data["n"] == 2 and data["endpoint"] == "images/generations"
    dry = run(["generate", "--dry-run", "--json", "--size", "1024x1024", "--quality", "high",
               "--n", "2", "a lighthouse"])
    assert dry.rc == 0
    assert data["estimate"]["usd"] == pytest.approx(dry.json["estimate"]["usd"])
    assert standin.requests == []
    assert not list(tmp_path.glob("*.png"))


def test_max_cost_refuses_a_call_estimated_above_it(standin, tmp_path, sdk):
    result, _ = call(standin, tmp_path, "generate_image",
                     {"prompt": "x", "quality": "high", "size": "1024x1024",
                      "max_cost": 0.001})
    assert result["result"]["isError"] is True
    assert "max_cost $0.0010: the request is estimated at" in text_of(result["result"])
    assert "nothing was sent" in text_of(result["result"])
    # The server's own cap holds for calls that give none.
    result, _ = call(standin, tmp_path, "generate_image",
                     {"prompt": "x", "quality": "high", "size": "1024x1024"},
                     args=["--max-cost", "0.001"])
    assert result["result"]["isError"] is True
    assert standin.requests == []


def test_an_api_error_is_a_tool_error_with_its_message(standin, tmp_path, sdk):
    standin.configure(fault="moderation")
    result, _ = call(standin, tmp_path, "generate_image", {"prompt": "x"})
    assert result["result"]["isError"] is True
    assert "moderation_blocked" in text_of(result["result"]) or \
        "safety system" in text_of(result["result"])
    assert not list(tmp_path.glob("*.png"))


def test_image_info_and_list_models(standin, tmp_path, sdk):
    result, _ = call(standin, tmp_path, "generate_image",
                     {"prompt": "a quiet harbour", "quality": "low", "size": "1024x1024"})
    assert result["result"]["isError"] is False
    info, _ = call(standin, tmp_path, "image_info", {"paths": ["a-quiet-harbour.png"]})
    record = info["result"]["structuredContent"]["files"][0]
    assert record["file"] == "a-quiet-harbour.png" and record["format"] == "png"
    assert record["metadata"]["Description"] == "a quiet harbour"
    assert record["metadata"]["imagegen:model"] == "gpt-image-2"
    missing, _ = call(standin, tmp_path, "image_info", {"paths": ["nope.png"]})
    assert missing["result"]["isError"] is True
    models, _ = call(standin, tmp_path, "list_models", {})
    names = [m["name"] for m in models["result"]["structuredContent"]["models"]]
    assert "gpt-image-2" in names and "gpt-image-2.6-sunburst" in names


def test_an_unknown_tool_is_a_protocol_error(standin, tmp_path, sdk):
    result, _ = call(standin, tmp_path, "make_coffee", {})
    assert result["error"]["code"] == -32602
    assert "Unknown tool: make_coffee" in result["error"]["message"]


def test_progress_names_each_partial_image_and_saved_file(standin, tmp_path):
    """Read raw: the SDK client hands notifications on a turn later than the
    answer, so one that lands in the same read as the answer is dropped there."""
    replies = raw_session(standin, tmp_path, [INIT, json.dumps({
        "jsonrpc": "2.0", "id": "g1", "method": "tools/call",
        "params": {"name": "generate_image", "_meta": {"progressToken": "tok"},
                   "arguments": {"prompt": "a comet", "partial_images": 2,
                                 "quality": "low", "size": "1024x1024"}}})])
    progress = [r["params"] for r in replies if r.get("method") == "notifications/progress"]
    assert all(p["progressToken"] == "tok" for p in progress)
    messages = [p["message"] for p in progress]
    assert [m for m in messages if not m.startswith(("waiting", "receiving"))] == [
        "partial image 1 of image 1: a-comet.partial-0.png",
        "partial image 2 of image 1: a-comet.partial-1.png",
        "saved a-comet.png"]
    values = [p["progress"] for p in progress]
    assert values == list(range(1, len(values) + 1))   # increasing, as the spec requires
    # Every notification comes before the answer.
    assert [r.get("id") for r in replies][-1] == "g1"
    assert replies[-1]["result"]["isError"] is False
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["a-comet.png"]


def test_a_call_without_a_progress_token_gets_no_notifications(standin, tmp_path):
    replies = raw_session(standin, tmp_path, [INIT, json.dumps({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "generate_image", "arguments": {"prompt": "a comet",
                                                           "partial_images": 1}}})])
    assert [r.get("id") for r in replies] == [1, 2]


def test_inline_previews_are_small_jpegs(standin, tmp_path, sdk):
    import base64
    import io
    result, _ = call(standin, tmp_path, "generate_image",
                     {"prompt": "a kite", "quality": "low", "size": "1536x1024"},
                     args=["--inline-previews"])
    images = [c for c in result["result"]["content"] if c["type"] == "image"]
    assert len(images) == 1 and images[0]["mimeType"] == "image/jpeg"
    preview = Image.open(io.BytesIO(base64.b64decode(images[0]["data"])))
    assert preview.size == (256, 171)


def test_calls_in_flight_at_once_share_the_loop(standin, tmp_path, sdk):
    """Two calls, both answers held until both requests are in: one server
    process had both in flight at once."""
    standin.configure(hold_body=0.3, hold_count=2)
    import threading
    outcome = {}

    def client():
        outcome["lines"] = drive(standin, tmp_path, "call",
                                 "generate_image", json.dumps({"prompt": "one",
                                                               "size": "1024x1024"}),
                                 "generate_image", json.dumps({"prompt": "two",
                                                               "size": "1024x1024"}))[0]

    thread = threading.Thread(target=client)
    thread.start()
    assert standin.wait_held(2), "both requests were not in flight at once"
    standin.release()
    thread.join(60)
    results = outcome["lines"][1:]
    assert [r["result"]["structuredContent"]["files"][0]["path"] for r in results] == \
        ["one.png", "two.png"]
    assert standin.stats()["peak_inflight"] == 2


def test_a_cancel_aborts_the_transfer_and_leaves_nothing(standin, tmp_path, sdk):
    standin.configure(hold_body=0.5)
    proc = subprocess.Popen(
        [NODE, str(MCP_DIR / "drive.mjs"), "cancel", "generate_image",
         json.dumps({"prompt": "a slow ship", "size": "1024x1024"})],
        cwd=tmp_path, env=mcp_env(standin), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert standin.wait_held(1), "the answer never started"
        # The temp file holds bytes of the answer when the cancel comes.
        assert wait_for_temp_file(tmp_path), "no temp file while the answer was held"
        out, err = proc.communicate("cancel\n", timeout=60)
        held = standin.stats()["held"]
    finally:
        proc.kill()
        standin.release()
    assert proc.returncode == 0, err
    assert held == 1           # aborted while the answer was held, not after
    lines = [json.loads(line) for line in out.splitlines()]
    assert "the test gave up" in lines[1]["error"]["message"]
    assert lines[2]["result"]["isError"] is False     # still serving
    assert "cancelled: interrupted" in err
    assert temp_files(tmp_path) == []
    assert not list(tmp_path.glob("*.png"))


def read_until(stream, text, timeout=30.0):
    """Reads stream's lines until one holds text; False if none did in time."""
    import select
    import time
    deadline = time.monotonic() + timeout * (10 if WRAPPER else 1)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.1)
        if ready:
            line = stream.readline()
            if not line:
                return False
            if text in line:
                return True
    return False


def raw_session(standin, tmp_path, messages, args=()):
    """Writes lines to the server as they are; returns what came back on stdout."""
    done = subprocess.run([*WRAPPER, BIN, "mcp", *args], cwd=tmp_path, env=clean_env(standin),
                          input="".join(m + "\n" for m in messages), capture_output=True,
                          text=True, timeout=60 * (10 if WRAPPER else 1))
    assert done.returncode == 0, done.stderr
    assert_no_key_leak(done.stdout + done.stderr, "the MCP session")
    # stdout carries protocol messages only: every line is one.
    return [json.loads(line) for line in done.stdout.splitlines()]


INIT = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                   "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                              "clientInfo": {"name": "raw", "version": "0"}}})


def test_malformed_messages_get_json_rpc_errors(standin, tmp_path):
    replies = raw_session(standin, tmp_path, [
        json.dumps({"jsonrpc": "2.0", "id": 0, "method": "tools/list"}),
        INIT,
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"jsonrpc": "1.0", "id": 2, "method": "ping"}),
        json.dumps({"jsonrpc": "2.0", "id": 3}),
        json.dumps({"jsonrpc": "2.0", "id": 4, "method": "resources/list"}),
        json.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                    "params": {"name": "generate_image", "arguments": [1]}}),
        json.dumps({"jsonrpc": "2.0", "id": 6, "method": "ping"}),
    ])
    errors = [(r.get("id"), r.get("error", {}).get("code")) for r in replies]
    assert errors == [(0, -32600), (1, None), (None, -32700), (None, -32600),
                      (2, -32600), (3, -32600), (4, -32601), (5, -32602), (6, None)]
    assert replies[1]["result"]["protocolVersion"] == "2025-06-18"
    assert replies[-1]["result"] == {}
    assert standin.requests == []


def test_an_unknown_protocol_version_gets_the_newest(standin, tmp_path):
    replies = raw_session(standin, tmp_path, [INIT.replace("2025-06-18", "1999-01-01")])
    assert replies[0]["result"]["protocolVersion"] == "2025-11-25"


def test_options_the_server_takes_are_checked(run):
    result = run(["mcp", "stray"])
    assert result.rc == 2
    assert "mcp takes no arguments ('stray')" in result.stderr
    result = run(["mcp", "--root", "/nonexistent/root"])
    assert result.rc == 2
    assert "--root: cannot enter '/nonexistent/root'" in result.stderr


def test_sigterm_mid_answer_ends_the_call_as_an_error_and_leaves_nothing(standin, tmp_path):
    import signal
    standin.configure(hold_body=0.5)
    proc = subprocess.Popen([*WRAPPER, BIN, "mcp"], cwd=tmp_path, env=clean_env(standin),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write(INIT + "\n" + json.dumps({
            "jsonrpc": "2.0", "id": 9, "method": "tools/call",
            "params": {"name": "generate_image", "arguments": {"prompt": "a slow ship"}}})
            + "\n")
        proc.stdin.flush()
        assert standin.wait_held(1) and wait_for_temp_file(tmp_path)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60 * (10 if WRAPPER else 1))
    finally:
        proc.kill()
        standin.release()
    assert proc.returncode == 130, err
    replies = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in replies] == [1, 9]
    assert replies[1]["result"]["isError"] is True
    text = text_of(replies[1]["result"])
    # The answer had begun: the image was made, and is billed.
    assert text.startswith("interrupted\ncost: ") and \
        text.endswith(", billed though it was interrupted"), text
    assert temp_files(tmp_path) == [] and not list(tmp_path.glob("*.png"))


def test_generate_batch_runs_the_jobs_and_a_second_call_pays_nothing(standin, tmp_path, sdk):
    arguments = {"jobs": ["a cat", "a dog", {"prompt": "a cow", "id": "cow", "n": 2}],
                 "out_dir": "farm", "size": "1024x1024", "quality": "low"}
    result, _ = call(standin, tmp_path, "generate_batch", arguments)
    data = result["result"]["structuredContent"]
    assert result["result"]["isError"] is False, text_of(result["result"])
    assert (data["folder"], data["done"], data["failed"], data["resumed"], data["images"]) \
        == ("farm", 3, 0, 0, 4)
    assert [j["files"] for j in data["jobs"]] == [
        ["farm/01-a-cat.png"], ["farm/02-a-dog.png"], ["farm/cow-1.png", "farm/cow-2.png"]]
    assert data["gallery"] == "farm/index.html" and (tmp_path / "farm/index.html").exists()
    assert data["cost"]["usd"] > 0
    links = [c["name"] for c in result["result"]["content"] if c["type"] == "resource_link"]
    assert links == ["01-a-cat.png", "02-a-dog.png", "cow-1.png", "cow-2.png"]
    assert len(standin.requests) == 3
    # The same call again: the ledger knows every job; nothing is sent or paid.
    again, _ = call(standin, tmp_path, "generate_batch", arguments)
    data = again["result"]["structuredContent"]
    assert (data["done"], data["resumed"], data["cost"]["usd"]) == (0, 3, 0)
    assert [j["status"] for j in data["jobs"]] == ["done"] * 3
    assert len(standin.requests) == 3


def test_a_batch_reports_each_job_as_progress_of_the_whole(standin, tmp_path):
    replies = raw_session(standin, tmp_path, [INIT, json.dumps({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "generate_batch", "_meta": {"progressToken": 7},
                   "arguments": {"jobs": ["one", "two", "three"], "out_dir": "b",
                                 "size": "1024x1024", "quality": "low"}}})])
    progress = [r["params"] for r in replies if r.get("method") == "notifications/progress"]
    assert [(p["progress"], p["total"]) for p in progress] == [(1, 3), (2, 3), (3, 3)]
    assert sorted(p["message"] for p in progress) == ["job 1: done", "job 2: done",
                                                     "job 3: done"]
    assert replies[-1]["id"] == 2 and replies[-1]["result"]["isError"] is False


def test_bad_jobs_are_refused_before_sending(standin, tmp_path, sdk):
    png(tmp_path / "outside.png")
    root = tmp_path / "root"
    root.mkdir()
    for arguments, message in [
            ({"jobs": []}, "jobs: expected a list of prompts or job objects"),
            ({"jobs": ["a", 3]}, "jobs[1]: expected a prompt or a job object"),
            ({"jobs": ["a", {"prompt": "b", "colour": "red"}]}, "jobs[1]: "),
            ({"jobs": ["a"], "out_dir": "../elsewhere"}, "out_dir: '../elsewhere' is outside"),
            ({"jobs": [{"prompt": "b", "image": "../outside.png"}], "out_dir": "b"},
             "image: '../outside.png' is outside"),
            ({"jobs": ["a"], "max_cost": 0.0001, "quality": "high"},
             "max_cost $0.0001: the batch is estimated at")]:
        result, _ = call(standin, tmp_path, "generate_batch", arguments,
                         args=["--root", str(root)])
        assert result["result"]["isError"] is True, arguments
        assert message in text_of(result["result"]), (arguments, text_of(result["result"]))
    assert standin.requests == []


def test_an_image_call_waits_while_a_batch_runs(standin, tmp_path):
    """The batch's first answer is held: the generate_image call sent meanwhile
    is not sent until the batch has ended, then runs."""
    standin.configure(hold_body=0.3)
    proc = subprocess.Popen([*WRAPPER, BIN, "mcp", "-j", "1"], cwd=tmp_path,
                            env=clean_env(standin), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write(INIT + "\n" + json.dumps({
            "jsonrpc": "2.0", "id": "b", "method": "tools/call",
            "params": {"name": "generate_batch", "arguments": {
                "jobs": ["one", "two"], "out_dir": "b", "size": "1024x1024"}}}) + "\n")
        proc.stdin.flush()
        assert standin.wait_held(1)
        proc.stdin.write(json.dumps({
            "jsonrpc": "2.0", "id": "g", "method": "tools/call",
            "params": {"name": "generate_image", "arguments": {"prompt": "alone"}}}) + "\n")
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": "m", "method": "tools/call",
                                     "params": {"name": "list_models"}}) + "\n")
        proc.stdin.flush()
        # list_models is answered at once; the image call waits its turn.
        first = json.loads(proc.stdout.readline())
        assert first.get("id") == 1, first
        assert json.loads(proc.stdout.readline())["id"] == "m"
        assert len(standin.requests) == 1
        standin.release()
        out, err = proc.communicate("", timeout=60 * (10 if WRAPPER else 1))
    finally:
        proc.kill()
        standin.release()
    replies = [json.loads(line) for line in out.splitlines()]
    assert [r.get("id") for r in replies] == ["b", "g"]
    assert [r["path"] for r in standin.requests] == ["/v1/images/generations"] * 3
    assert [r["body"]["prompt"] for r in standin.requests] == ["one", "two", "alone"]
    assert "generate_image waits its turn: a batch is running" in err


def test_a_cancelled_batch_keeps_what_was_paid_and_the_next_call_sends_the_rest(
        standin, tmp_path, sdk):
    standin.configure(hold_body=0.3)
    arguments = {"jobs": ["one", "two", "three"], "out_dir": "b", "size": "1024x1024"}
    proc = subprocess.Popen(
        [NODE, str(MCP_DIR / "drive.mjs"), "cancel", "generate_batch", json.dumps(arguments)],
        cwd=tmp_path, env=mcp_env(standin, ["-j", "1"]), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert standin.wait_held(1)
        proc.stdin.write("cancel\n")
        proc.stdin.flush()
        assert read_until(proc.stderr, "cancel: generate_batch sends no more jobs")
        # The job in flight is paid for: it is let finish, and recorded.
        standin.release()
        out, err = proc.communicate(timeout=60 * (10 if WRAPPER else 1))
    finally:
        proc.kill()
        standin.release()
    assert proc.returncode == 0, err
    assert "cancelled: generate_batch; 1 of 3 jobs done" in err
    assert len(standin.requests) == 1
    assert sorted(p.name for p in (tmp_path / "b").glob("*.png")) == ["01-one.png"]
    again, _ = call(standin, tmp_path, "generate_batch", arguments)
    data = again["result"]["structuredContent"]
    assert (data["done"], data["resumed"]) == (2, 1)
    prompts = [r["body"]["prompt"] for r in standin.requests]
    assert prompts[0] == "one" and sorted(prompts[1:]) == ["three", "two"]


def test_a_batch_job_that_failed_transiently_goes_again_before_the_answer(standin, tmp_path):
    standin.configure(fault="503", fault_count=1)
    replies = raw_session(standin, tmp_path, [INIT, json.dumps({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "generate_batch", "arguments": {
            "jobs": ["one", "two"], "out_dir": "b", "size": "1024x1024"}}})],
        args=["-j", "1", "--max-attempts", "1"])
    data = replies[-1]["result"]["structuredContent"]
    assert (data["done"], data["failed"]) == (2, 0)
    assert [r["body"]["prompt"] for r in standin.requests] == ["one", "two", "one"]
