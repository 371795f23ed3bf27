"""Shared fixtures for the integration tests: the stand-in server and a helper
that runs the imagegen binary in a clean environment (curl tests/http/testenv style)."""

import contextlib
import copy
import functools
import hashlib
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)

from standin import Standin  # noqa: E402  (needs the path above)

# A distinctive key: if any part of the tool ever prints it, the helper notices.
KEY = "sk-test-imagegen-SECRET-5f3c9a7e21d04b6b"
REPO = Path(TESTS_DIR).parent
BIN = os.environ.get("IMAGEGEN_BIN", str(REPO / "build" / "imagegen"))
# A command to run the binary under (make check-valgrind sets valgrind's).
WRAPPER = shlex.split(os.environ.get("IMAGEGEN_WRAPPER", ""))


# The images part of OpenAI's published OpenAPI spec, as ../shared/reference has it,
# vendored so a clone without ../shared runs every test (test_00 checks the copy).
VENDORED_SPEC = Path(TESTS_DIR) / "reference" / "openai-images-openapi.json"
SHARED_SPEC = REPO.parent / "shared" / "reference" / "openai-images-openapi.json"


def _find_spec():
    """The API reference: where IMAGEGEN_SPEC says, else the vendored copy."""
    return Path(os.environ.get("IMAGEGEN_SPEC") or VENDORED_SPEC)




# Temp files of the atomic writer are hidden dot-files: `.NAME.tmp-XXXXXX`.
TEMP_FILE = re.compile(r"^\..*\.tmp-.*")
ESCAPE = "\x1b["


@dataclass
class Result:
    """What one run of the binary did."""

    args: list
    rc: int
    stdout: str
    stderr: str
    elapsed: float
    cwd: Path = field(repr=False)

    @property
    def json(self):
        """stdout parsed as JSON, or None when it does not parse."""
        try:
            return json.loads(self.stdout)
        except ValueError:
            return None

    @property
    def lines(self):
        """The lines of stdout."""
        return self.stdout.splitlines()

    def __str__(self):
        return (f"imagegen {' '.join(self.args)!r} -> rc={self.rc}\n"
                f"--- stdout\n{self.stdout[:4000]}\n--- stderr\n{self.stderr[:4000]}")


def clean_env(standin, overrides=None):
    """The environment a run gets: no OPENAI_* but the stand-in's key and URL, no
    AZURE_OPENAI_*, IMAGEGEN_PROVIDER or NO_COLOR; `overrides` adds variables, and a None value removes one."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("OPENAI_", "AZURE_OPENAI_"))
           and name not in ("NO_COLOR", "IMAGEGEN_PROVIDER")}
    env["OPENAI_API_KEY"] = KEY
    env["OPENAI_BASE_URL"] = standin.url
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


# libvips' own leak check (VIPS_LEAK=1): at vips_shutdown it lists every VipsObject,
# VipsArea, tracked allocation, open file and thread still alive, and what is left in
# its error buffer.  Valgrind cannot see those as lost (libvips keeps a table of
# every live object), so every run through `run` has the check on.
VIPS_LEAK_REPORT = re.compile(r"^(\d+ objects alive:|\d+ VipsArea alive|memory: \d+ "
                              r"allocations|files: \d+ open|threads: |error buffer: )", re.M)
VIPS_HIGH_WATER = re.compile(r"^memory: high-water mark [^\n]*\n", re.M)
# ... and in leak mode libvips also prints its thread pool's peak on stdout.
VIPS_THREADSET = re.compile(r"^vips_threadset_free: peak of \d+ threads\n", re.M)


def without_vips_leak_report(stderr):
    """stderr of a run with VIPS_LEAK=1, checked for libvips' leak report and with
    its closing high-water line (written whenever libvips was used) taken out."""
    report = VIPS_LEAK_REPORT.search(stderr)
    assert report is None, f"libvips reports a leak:\n{stderr[report.start():][:3000]}"
    return VIPS_HIGH_WATER.sub("", stderr)


def assert_no_key_leak(text, where):
    assert KEY not in text, f"the API key appeared on {where}"
    # Also a long fragment of it: a half-redacted key is still a leak.
    assert KEY[8:30] not in text, f"part of the API key appeared on {where}"


def assert_no_key_in_output(*outputs, names=("stdout", "stderr")):
    """What a run started without `run` (subprocess.run, Popen.communicate(), a
    pseudo-terminal) wrote, each output bytes or str, named by `names`: checked for
    the key as `run` checks its own.  Returns the outputs as given, so a call can
    wrap communicate(): `out, err = assert_no_key_in_output(*p.communicate())`."""
    assert len(outputs) == len(names), (len(outputs), names)
    for output, name in zip(outputs, names):
        assert output is not None, f"{name} was not captured, so it cannot be checked"
        if isinstance(output, bytes):
            output = output.decode("utf-8", errors="replace")
        assert_no_key_leak(output, name)
    return outputs


def assert_no_key_in_files(folder):
    """No file under folder holds the key, or a long part of it, in any form it
    could be written in: images and their text chunks, GIF comments, SVG
    metadata, manifests, sidecars, index.html, thumbnails."""
    needles = [KEY.encode(), KEY[8:30].encode(), KEY.encode("utf-16-le")]
    for path in Path(folder).rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, f"the API key is in {path}"


@pytest.fixture(autouse=True)
def no_key_in_written_files(tmp_path):
    """Every test's folder, whatever ran in it (the run helper, Popen, a batch):
    checked for the key once the test is done."""
    yield
    assert_no_key_in_files(tmp_path)


class XdgDirs:
    def __init__(self, root):
        self.config = root / "config"
        self.state = root / "state"

    @property
    def history(self):
        return self.state / "imagegen" / "history.db"

    def write_prices(self, table):
        folder = self.config / "imagegen"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "prices.json"
        path.write_text(table if isinstance(table, str) else json.dumps(table))
        return path


@pytest.fixture(autouse=True)
def xdg(tmp_path_factory, monkeypatch):
    """Each test's own config and state folders (the user's price table, the spend
    history), never the machine's; checked for the key afterwards too."""
    dirs = XdgDirs(tmp_path_factory.mktemp("xdg"))
    dirs.config.mkdir()
    dirs.state.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(dirs.config))
    monkeypatch.setenv("XDG_STATE_HOME", str(dirs.state))
    yield dirs
    assert_no_key_in_files(dirs.config.parent)


def temp_files(folder):
    """Hidden temp files left anywhere under folder."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob(".*")
                  if TEMP_FILE.match(p.name))


def wait_for_temp_file(folder, timeout=20.0):
    """Waits until a temp file holds bytes: it is created before the first body bytes
    are written to it, so its existence alone says nothing of its content."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for temp in temp_files(folder):
            try:
                if (folder / temp).stat().st_size > 0:
                    return True
            except FileNotFoundError:
                pass
        time.sleep(0.01)
    return False


# The job ledger a batch keeps in its folder (SQLite, hidden).
LEDGER = ".imagegen/ledger.db"


def ledger_jobs(folder):
    """The entries of the job ledger in folder (each with its "state"), read with
    Python's own SQLite; [] when there is none."""
    path = Path(folder) / LEDGER
    if not path.exists():
        return []
    # Read only, but not opened mode=ro: a read-only WAL reader leaves its -shm
    # file behind, and tests compare the folder's files.
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT key, state, entry FROM jobs").fetchall()
    return [{**json.loads(entry), "key": key, "state": state} for key, state, entry in rows]


def is_batch_extra(name):
    """What a batch writes beside its images: the ledger and the gallery."""
    return (name == "index.html" or name.startswith(("thumbs/", ".imagegen/")))


def batch_files(folder):
    """files_in(folder) without the gallery a batch writes (index.html, thumbs/)."""
    return [name for name in files_in(folder)
            if name != "index.html" and not name.startswith("thumbs/")]


def files_in(folder):
    """Every regular file under folder (relative paths, sorted), temp files included."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*")
                  if p.is_file())


@pytest.fixture(scope="session")
def standin_server():
    with Standin(key=KEY) as server:
        yield server


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "compat: the stand-in plays a compatible server of the seeds' days "
                   "(every model and endpoint answered, the older rules): a test of a "
                   "model OpenAI shut down, of variations or of a server's own model")


@pytest.fixture
def standin(standin_server, request):
    """The session's stand-in with default config and no recorded requests: as
    strict as OpenAI today, or with @pytest.mark.compat a compatible server."""
    compat = bool(request.node.get_closest_marker("compat"))
    standin_server.reset(baseline={"compat": compat})
    yield standin_server
    # Whatever the test did, every answer it was given was one the API could give,
    # on the Files and Batch endpoints too.
    from standin_fixtures import batch_answer_errors   # it imports this module
    assert answer_errors(today_spec(), standin_server.responses()) == []
    assert batch_answer_errors(standin_server.responses()) == []
    standin_server.reset(baseline={})


@pytest.fixture
def run(standin, tmp_path):
    """run(args, env=None, cwd=None, stdin=None, timeout=60) -> Result.

    Runs `imagegen ARGS` in tmp_path (or cwd) with a clean environment; stdin is
    /dev/null unless given (str or bytes are piped in).  Every run is checked for
    the API key on stdout and stderr."""

    def run_imagegen(args, env=None, cwd=None, stdin=None, timeout=60):
        args = [str(a) for a in args]
        if isinstance(stdin, str):
            stdin = stdin.encode()
        started = time.monotonic()
        completed = subprocess.run(
            [*WRAPPER, BIN, *args], cwd=cwd or tmp_path,
            env=clean_env(standin, {"VIPS_LEAK": "1", **(env or {})}),
            input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True, timeout=timeout * (10 if WRAPPER else 1))
        elapsed = time.monotonic() - started
        result = Result(args, completed.returncode,
                        VIPS_THREADSET.sub("", completed.stdout.decode("utf-8",
                                                                      errors="replace")),
                        without_vips_leak_report(
                            completed.stderr.decode("utf-8", errors="replace")),
                        elapsed, Path(cwd or tmp_path))
        assert_no_key_leak(result.stdout, "stdout")
        assert_no_key_leak(result.stderr, "stderr")
        return result

    return run_imagegen


@functools.lru_cache(maxsize=1)
def _load_spec_text():
    return _find_spec().read_text(encoding="utf-8")


def load_spec():
    """The API reference (a fresh copy: callers may change it)."""
    return json.loads(_load_spec_text())


@pytest.fixture(scope="session")
def spec():
    return load_spec()


# --- helpers shared by the test files


def open_image(path):
    """The decoded picture at path (fully loaded, so a truncated file fails here)."""
    image = Image.open(path)
    image.load()
    return image


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


# The error envelope every API error answer has: the reference (images-api-2026-11.md
# §1, "parse the standard {"error":{message,type,param,code}} envelope") gives it;
# the OpenAPI subset has no schema for it.
ERROR_RESPONSE = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["message", "type"],
        "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                       "param": {"type": "string", "nullable": True},
                       "code": {"type": "string", "nullable": True},
                       # In no reference: only the moderation_details fault sends it.
                       "moderation_details": {
                           "type": "object",
                           "properties": {"stage": {"type": "string"},
                                          "categories": {"type": "array"}}}}}},
}
# Azure OpenAI's own errors (a missing deployment, a bad api-version, denied access)
# carry a code and a message, no type (Microsoft's REST reference, ErrorResponse).
AZURE_ERROR_RESPONSE = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "param": {"type": "string", "nullable": True},
                       "type": {"type": "string", "nullable": True},
                       "inner_error": {"type": "object"}}}},
}
# A stream that fails part-way: no reference documents the images stream's error
# event.  The stand-in sends what the SDKs' stream readers expect of any OpenAI
# stream: an `error` event whose data is the error envelope, with type "error".
STREAM_ERROR_EVENT = {
    "type": "object", "required": ["type", "error"],
    "properties": {"type": {"type": "string", "enum": ["error"]},
                   "error": ERROR_RESPONSE["properties"]["error"]},
}
STREAM_EVENT_SCHEMAS = {
    "image_generation.partial_image": "ImageGenPartialImageEvent",
    "image_generation.completed": "ImageGenCompletedEvent",
    "image_edit.partial_image": "ImageEditPartialImageEvent",
    "image_edit.completed": "ImageEditCompletedEvent",
}
IMAGE_PATHS = ("/images/generations", "/images/edits", "/images/variations")


def spec_of_today(spec):
    """The OpenAPI subset with its response schemas brought to the API of late 2026,
    each change as images-api-2026-11.md documents it: `size` is any WxH (§2.5),
    `output_format` may be gif or svg (§2.5, §4), a stream's usage has the same
    sub-objects as a response's (§4: output_tokens_details), and a completed event
    names the effective safety_identifier (§4)."""
    today = copy.deepcopy(spec)
    schemas = today["components"]["schemas"]
    for name in ("ImagesResponse", *STREAM_EVENT_SCHEMAS.values()):
        properties = schemas[name]["properties"]
        properties["size"] = {"type": "string", "pattern": r"auto|[1-9][0-9]*x[1-9][0-9]*"}
        properties["output_format"]["enum"] = [*properties["output_format"]["enum"],
                                               "gif", "svg"]
    schemas["ImagesUsage"]["properties"]["output_tokens_details"] = {
        "$ref": "#/components/schemas/ImageGenOutputTokensDetails"}
    for name in ("ImageGenCompletedEvent", "ImageEditCompletedEvent"):
        schemas[name]["properties"]["safety_identifier"] = {"type": "string"}
    return today


@functools.lru_cache(maxsize=1)
def today_spec():
    """spec_of_today of the reference, made once (never to be changed)."""
    return spec_of_today(load_spec())


def answer_errors(today, answers):
    """Where the stand-in's recorded answers (Standin.responses()) leave the API's
    response schemas: image answers against ImagesResponse, stream events against
    their event's schema, errors against the error envelope."""
    errors = []
    for number, answer in enumerate(answers, 1):
        path = answer["path"].split("?")[0]
        if not path.endswith(IMAGE_PATHS):
            continue   # the provenance check and control answers have no schema here
        where = f"answer {number} ({path}{', ' + answer['event'] if 'event' in answer else ''})"
        azure = answer.get("azure", False)
        if answer["status"] != 200:
            body = answer["body"]
            # On Azure, errors of the service itself have Azure's shape; errors the
            # model's checks find come back in OpenAI's envelope.
            schema = AZURE_ERROR_RESPONSE if azure and "type" not in body.get("error", {}) \
                else ERROR_RESPONSE
        elif "event" in answer:
            if answer["event"] == "error":
                schema = STREAM_ERROR_EVENT
            else:
                schema = {"$ref": "#/components/schemas/"
                                  + STREAM_EVENT_SCHEMAS[answer["event"]]}
        else:
            schema = {"$ref": "#/components/schemas/ImagesResponse"}
        errors.extend(schema_errors(today, schema, answer["body"], where))
    return errors


def resolve(spec, schema):
    while "$ref" in schema:
        node = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def schema_errors(spec, schema, value, where):
    """Errors of value against a subset of JSON Schema (the parts the spec uses)."""
    schema = resolve(spec, schema)
    if value is None:
        ok = schema.get("nullable") or schema.get("type") == "null" or any(
            resolve(spec, s).get("type") == "null" for s in schema.get("anyOf", []))
        return [] if ok else [f"{where}: null is not allowed"]
    if "anyOf" in schema:
        branches = [schema_errors(spec, s, value, where) for s in schema["anyOf"]]
        return [] if any(not b for b in branches) else [f"{where}: {value!r} fits no anyOf"]
    errors = []
    kind = schema.get("type")
    checks = {"string": lambda v: isinstance(v, str),
              "integer": lambda v: type(v) is int,
              "number": lambda v: type(v) in (int, float),
              "boolean": lambda v: type(v) is bool,
              "object": lambda v: isinstance(v, dict),
              "array": lambda v: isinstance(v, list),
              "null": lambda v: v is None}
    if kind and not checks[kind](value):
        return [f"{where}: {value!r} is not {kind}"]
    if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{where}: {value!r} < {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{where}: {value!r} > {schema['maximum']}")
    if kind == "array" and "items" in schema:
        for index, item in enumerate(value):
            errors.extend(schema_errors(spec, schema["items"], item, f"{where}[{index}]"))
    if kind == "object":
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: missing required {name!r}")
        for name, item in value.items():
            if name not in properties:
                errors.append(f"{where}: {name!r} is not a property")
            else:
                errors.extend(schema_errors(spec, properties[name], item,
                                            f"{where}.{name}"))
    return errors
