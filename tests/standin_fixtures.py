"""What the stand-in's own tests share: a server per test module (with that
module's key) reset before each test, the reply of a raw HTTP call, and the check of
the Files and Batch API's answers and requests against that API's spec."""

import copy
import functools
import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import (AZURE_ERROR_RESPONSE, ERROR_RESPONSE, REPO, TESTS_DIR,
                      answer_errors, today_spec)
from standin import BATCH_TIMES, Standin


def standin_fixtures(key):
    """The `server` (one per module) and `standin` (reset per test) fixtures;
    a test module binds both names: `server, standin = standin_fixtures(KEY)`."""

    @pytest.fixture(scope="module")
    def server():
        with Standin(key=key) as running:
            yield running

    @pytest.fixture
    def standin(server, request):
        """The module's server, with default config and no recorded requests (a
        compatible server with @pytest.mark.compat); after the test, every answer it
        sent is held to the API's response schemas."""
        server.reset(baseline={"compat": bool(request.node.get_closest_marker("compat"))})
        yield server
        # Every answer the test was given is one the API could give.
        assert answer_errors(today_spec(), server.responses()) == []
        assert batch_answer_errors(server.responses()) == []

    return server, standin


# --- the Files and Batch API's spec, and the check of the stand-in's answers

# The files and batches part of OpenAI's OpenAPI spec, as ../shared/reference has it,
# vendored so a clone without ../shared runs every test (test_05 checks the copy).
VENDORED_BATCH_SPEC = Path(TESTS_DIR) / "reference" / "openai-batch-openapi.json"
SHARED_BATCH_SPEC = REPO.parent / "shared" / "reference" / "openai-batch-openapi.json"
BATCH_API_PATHS = re.compile(r"/v1/(files|batches)(/.*)?")

# The lines of a batch's input and output files: the subset has no schema for them.
# These are the upstream spec's BatchRequestInput and BatchRequestOutput (openai/
# openai-openapi; the batch guide's examples), every field required, as the guide's
# lines always carry them all.
BATCH_LINE_SCHEMAS = {
    "BatchRequestInput": {
        "type": "object", "required": ["custom_id", "method", "url", "body"],
        "properties": {"custom_id": {"type": "string"},
                       "method": {"type": "string", "enum": ["POST"]},
                       "url": {"type": "string"}, "body": {"type": "object"}}},
    "BatchRequestOutput": {
        "type": "object", "required": ["id", "custom_id", "response", "error"],
        "properties": {
            "id": {"type": "string", "pattern": "batch_req_[A-Za-z0-9]+"},
            "custom_id": {"type": "string"},
            "response": {"anyOf": [
                {"type": "object", "required": ["status_code", "request_id", "body"],
                 "properties": {"status_code": {"type": "integer"},
                                "request_id": {"type": "string"},
                                "body": {"type": "object"}}},
                {"type": "null"}]},
            "error": {"anyOf": [
                {"type": "object", "required": ["code", "message"],
                 "properties": {"code": {"type": "string"},
                                "message": {"type": "string"}}},
                {"type": "null"}]}}},
}


def find_batch_spec():
    """The Files and Batch API's spec: where IMAGEGEN_BATCH_SPEC says, else the
    vendored copy."""
    return Path(os.environ.get("IMAGEGEN_BATCH_SPEC") or VENDORED_BATCH_SPEC)


def batch_spec_as_sent(spec):
    """The subset's schemas with what the API's answers carry and they leave out:
    the Batch's fields not yet set are null (every example of the spec shows
    them so: errors, output_file_id, error_file_id and the *_at times); an empty
    list has null first_id and last_id; a file uploaded for `evals` (a purpose
    CreateFileRequest takes) says so in OpenAIFile.purpose; and the schemas of a
    batch file's lines (BATCH_LINE_SCHEMAS)."""
    sent = copy.deepcopy(spec)
    schemas = sent["components"]["schemas"]
    batch = schemas["Batch"]["properties"]
    for name in ("errors", "output_file_id", "error_file_id", *BATCH_TIMES):
        batch[name] = {"anyOf": [batch[name], {"type": "null"}]}
    for name in ("ListFilesResponse", "ListBatchesResponse"):
        properties = schemas[name]["properties"]
        for key in ("first_id", "last_id"):
            properties[key] = {"anyOf": [properties[key], {"type": "null"}]}
    purpose = schemas["OpenAIFile"]["properties"]["purpose"]
    purpose["enum"] = [*purpose["enum"], "evals"]
    schemas.update(copy.deepcopy(BATCH_LINE_SCHEMAS))
    return sent


@functools.lru_cache(maxsize=1)
def batch_spec():
    """batch_spec_as_sent of the reference, made once (never to be changed)."""
    return batch_spec_as_sent(json.loads(find_batch_spec().read_text(encoding="utf-8")))


def batch_operations(spec):
    """operationId -> (the 200 answer's schema, the request body's schema or None)."""
    operations = {}
    for methods in spec["paths"].values():
        for operation in methods.values():
            answer = operation["responses"]["200"]["content"]["application/json"]
            body = operation.get("requestBody", {}).get("content", {})
            request = next(iter(body.values()))["schema"] if body else None
            operations[operation["operationId"]] = (answer["schema"], request)
    return operations


def _resolve(spec, schema):
    while "$ref" in schema:
        node = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


_TYPES = {"string": lambda v: isinstance(v, str), "integer": lambda v: type(v) is int,
          "number": lambda v: type(v) in (int, float), "boolean": lambda v: type(v) is bool,
          "object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
          "null": lambda v: v is None}


def value_errors(spec, schema, value, where):
    """Errors of value against the JSON Schema the spec uses: conftest.schema_errors'
    rules (an object with properties has no others), plus maps (additionalProperties
    a schema) and free-form objects (neither properties nor additionalProperties)."""
    schema = _resolve(spec, schema)
    if value is None:
        ok = schema.get("nullable") or schema.get("type") == "null" or any(
            _resolve(spec, s).get("type") == "null" for s in schema.get("anyOf", []))
        return [] if ok else [f"{where}: null is not allowed"]
    if "anyOf" in schema:
        branches = [value_errors(spec, s, value, where) for s in schema["anyOf"]]
        if any(not branch for branch in branches):
            return []
        return [f"{where}: {value!r:.200} fits no anyOf ({'; '.join(branches[0])})"]
    kind = schema.get("type")
    if kind is None and ("properties" in schema or "required" in schema):
        kind = "object"   # OpenAIFile says "properties" but no "type"
    if kind and not _TYPES[kind](value):
        return [f"{where}: {value!r:.200} is not {kind}"]
    errors = []
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
            errors.extend(value_errors(spec, schema["items"], item, f"{where}[{index}]"))
    if kind == "object":
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: missing required {name!r}")
        for name, item in value.items():
            if properties is not None and name in properties:
                errors.extend(value_errors(spec, properties[name], item, f"{where}.{name}"))
            elif isinstance(extra, dict):
                errors.extend(value_errors(spec, extra, item, f"{where}.{name}"))
            elif properties is not None or extra is False:
                errors.append(f"{where}: {name!r} is not a property")
    return errors


def batch_answer_errors(answers, spec=None):
    """Where the stand-in's recorded answers (Standin.responses()) on the Files and
    Batch API leave that API's spec: each 200 against its operation's answer schema,
    the request it took against the operation's request schema, every line of a
    batch's output or error file it sent against BatchRequestOutput (the bodies of
    those lines against ImagesResponse and the error envelope, as answer_errors
    holds image answers), and every error against the error envelope."""
    spec = spec or batch_spec()
    operations = batch_operations(spec)
    errors = []
    for number, answer in enumerate(answers, 1):
        path = answer["path"].split("?")[0]
        if not BATCH_API_PATHS.fullmatch(path):
            continue
        operation = answer.get("operation")
        where = f"answer {number} ({answer['status']} {operation or path})"
        if answer["status"] != 200:
            # Azure mode: every /v1 path is Azure's own 404, in Azure's shape.
            azure = answer.get("azure") and "type" not in answer["body"].get("error", {})
            errors.extend(value_errors(spec, AZURE_ERROR_RESPONSE if azure
                                       else ERROR_RESPONSE, answer["body"], where))
            continue
        if operation not in operations:
            errors.append(f"{where}: a 200 answer of no operation of the spec")
            continue
        schema, request_schema = operations[operation]
        errors.extend(value_errors(spec, schema, answer["body"], where))
        if request_schema is not None:
            errors.extend(value_errors(spec, request_schema, answer.get("request"),
                                       f"{where}, its request"))
        for index, line in enumerate(answer.get("lines", ()), 1):
            line_where = f"{where}, line {index}"
            line_errors = value_errors(spec, {"$ref": "#/components/schemas/"
                                                      "BatchRequestOutput"}, line,
                                       line_where)
            errors.extend(line_errors)
            response = line.get("response") if not line_errors else None
            if response is not None:
                errors.extend(f"{line_where}: {error}" for error in answer_errors(
                    today_spec(), [{"path": answer["endpoint"],
                                    "status": response["status_code"],
                                    "body": response["body"]}]))
            elif not line_errors and line.get("error") is None:
                errors.append(f"{line_where}: neither a response nor an error")
    return errors


@dataclass
class Reply:
    status: int
    headers: object  # http.client.HTTPMessage: case-insensitive lookups
    body: bytes

    def json(self):
        return json.loads(self.body)

    def error(self):
        return self.json()["error"]


def fetch(request, timeout=10, reply=Reply):
    """Send a urllib request; its reply (of class `reply`), whatever the status."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return reply(error.code, error.headers, error.read())
