"""Shared fixtures for the integration tests: the stand-in server and a helper
that runs the imagegen binary in a clean environment (curl tests/http/testenv style)."""

import hashlib
import json
import os
import re
import shlex
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


def assert_no_key_leak(text, where):
    assert KEY not in text, f"the API key appeared on {where}"
    # Also a long fragment of it: a half-redacted key is still a leak.
    assert KEY[8:30] not in text, f"part of the API key appeared on {where}"


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


def temp_files(folder):
    """Hidden temp files left anywhere under folder."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob(".*")
                  if TEMP_FILE.match(p.name))


def is_batch_extra(name):
    """What a batch writes beside its images: the manifest and the gallery."""
    return (name in ("imagegen-manifest.json", "index.html")
            or name.startswith("thumbs/"))


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
            [*WRAPPER, BIN, *args], cwd=cwd or tmp_path, env=clean_env(standin, env),
            input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True, timeout=timeout * (10 if WRAPPER else 1))
        elapsed = time.monotonic() - started
        result = Result(args, completed.returncode,
                        completed.stdout.decode("utf-8", errors="replace"),
                        completed.stderr.decode("utf-8", errors="replace"),
                        elapsed, Path(cwd or tmp_path))
        assert_no_key_leak(result.stdout, "stdout")
        assert_no_key_leak(result.stderr, "stderr")
        return result

    return run_imagegen


@pytest.fixture(scope="session")
def spec():
    with open(_find_spec(), encoding="utf-8") as stream:
        return json.load(stream)


# --- helpers shared by the test files


def open_image(path):
    """The decoded picture at path (fully loaded, so a truncated file fails here)."""
    image = Image.open(path)
    image.load()
    return image


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


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
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{where}: {value!r} < {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{where}: {value!r} > {schema['maximum']}")
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
