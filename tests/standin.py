#!/usr/bin/python3
"""An offline stand-in for the OpenAI Images API, used by imagegen's tests.

It answers POST /v1/images/generations, /v1/images/edits (multipart/form-data and
JSON) and /v1/images/variations with real images of the requested size and format,
streams Server-Sent Events when asked (`stream: true`), records what it received, and
injects the faults a client must survive.  It also runs image batches through the
Files and Batch API (see Files and batches), and can play an Azure OpenAI resource
(the provider knob; see Azure mode).

As a module (tests):

    from standin import Standin
    with Standin(key="sk-test") as s:       # or s.start() ... s.stop()
        s.url                               # "http://127.0.0.1:PORT/v1"
        s.configure(fault="503", fault_count=2)
        s.requests, s.stats(), s.reset()

As a program (shell scripts, benchmarks), serving until SIGTERM or SIGINT:

    /usr/bin/python3 tests/standin.py [--port N] [--port-file PATH] [--key KEY]

Both expose a control API that needs no key and is not recorded:
    POST /_control/config    JSON object of knobs, merged into the current config
    GET  /_control/config    the current config
    POST /_control/reset     default config, no recorded requests
    GET  /_control/requests  the recorded requests
    POST /_control/release   let every held answer finish (the hold knobs)
    GET  /_control/stats     {"requests": N, "inflight": N, "held": N, "peak_inflight": N,
                              "statuses": {"200": N, "429": N, ...}}, and once the
                              Files or Batch API was called since the last reset,
                              "files": N (uploads taken), "batches": N (created),
                              "batch_polls": N (GET /v1/batches/ID answered)

GET /v1/models lists today's image models (and gpt-5 and whisper-1), each with its
shutdown_date (null), plus the models_list knob's rows ({"id", "shutdown_date"}: a new
snapshot, or another date for a listed one); the error faults apply to it where
fault_paths take it in.

Knobs (see Config): latency, fault, fault_count, slow_seconds, retry_after,
retry_after_ms, should_retry, ratelimit_headers, rpm_limit, rpm_mode, fail_rate,
hold_body, hold_after and hold_count (an image answer stops part-way through its body
until release(): wait_held() tells a test it is there),
fail_seed, stream_interval, key, shutdown_models (models answered 404 model_not_found
in the standard envelope, as a model OpenAI shut down), models_list (GET /v1/models), stream_usage ("split" or
"total": the usage shape of the completed events), c2pa, cut_documents (GIF and SVG
answers cut in half), chroma_noise (a chroma-key background with a gradient and
noise), fault_paths (where fault and fail_rate apply), the Files and Batch API's
batch_steps, batch_outcome, batch_line_errors, batch_file_max_bytes and
batch_max_requests (see Files and batches), chroma_ignored (a chroma-key prompt
gets an ordinary picture, as from a model that did not follow it), echo_key (a 401
for a wrong key quotes the Authorization header whole, "Bearer sk-...", as some
servers do: OpenAI's own shows only the key's ends), and for Azure mode provider
("openai" or "azure"), azure_deployments, azure_api_versions, azure_ad_token.

Newer models (reference §2.0-§2.3): quality xhigh/max only on gpt-image-2.5-* and
gpt-image-2.6-* (else 400 invalid_value), complexity only on gpt-image-2.6-* (else 400
unsupported_parameter); safety_identifier is taken by every model.  output_format gif
and svg only on gpt-image-2.6-*: a GIF answer is a real animated GIF (frame_count
frames of frame_duration_ms, default 9 and 200, looping), refused with stream,
partial_images, output_compression or a mask; an SVG answer is a real SVG document,
and needs svg.model ("svg[model]" in a form: 400 "SVG generation requires
'svg.model'."), n=1, and one of SVG_SIZES; frame_* and svg are refused without
their format.

Today (the default): the stand-in answers as OpenAI does as of 2026-12-01 (reference
§1.2, §2.0-§2.2, §3).  `model` is required (400 missing_required_parameter); the models
OpenAI has shut down (dall-e-2, dall-e-3, gpt-image-1, gpt-image-1.5 and its snapshot,
gpt-image-1-mini, chatgpt-image-latest) and every variation answer 404 model_not_found
in the standard envelope, as does a model OpenAI does not have; gpt-image-2 and later
take `auto` or WxH in 16-px steps, at most 3840 on the longer edge, at most 3:1 and
655,360 to 8,294,400 pixels (a GIF frame may be smaller); `style`, `response_format`
and quality standard/hd are refused (400), and `input_fidelity` everywhere but the 1.x
models that took it.  An edit with size auto comes back at the input's shape, about a
megapixel in 16-px steps.  The compat knob (a compatible server of the seeds' days)
answers every model and endpoint with the older rules: there, as in the API spec, a
generation without `model` is for dall-e-2 unless it uses a parameter only the GPT
image models have, and an edit without `model` is for gpt-image-1.5; each shut-down
model takes only the sizes it took (HISTORICAL_SIZES: dall-e-2 256x256, 512x512 and
1024x1024, dall-e-3 1024x1024, 1792x1024 and 1024x1792, the 1.x models 1024x1024,
1536x1024, 1024x1536 and auto; else 400 invalid_value), and a model the stand-in does
not know (a compatible server's own) any WxH up to 8192 px.  Azure mode keeps
the older rules too (Azure retires models on its own schedule).

Requests are checked in the API's order: key, then body, then rate limit and injected
faults.
Set STANDIN_VERBOSE=1 to log each request.

Recorded requests (`requests`, GET /_control/requests; downloads of GET /files/...
apart, in `downloads`) are dicts: method, path, headers
(lower-case names), content_type (the request's Content-Type or None), body, raw, time,
request_id (the x-request-id of its answer, which error messages quote).
`body` is the parsed JSON body, with data: URLs longer than 100 characters cut to
their first 100 and "...(N chars)"; for multipart bodies it is the text fields by name
(strings as sent; a list when a name repeats) plus "files": [{"field", "filename",
"content_type", "size", "sha256"}, ...] in order, and `raw` is the body with each file's
bytes replaced by "<N bytes>".  Unparseable bodies record body None.

Faults (the `fault` knob, the first `fault_count` requests): "500", "502", "503", "408",
"409",
"quota", "moderation", "moderation_details", "400" and "429" answer that error
("moderation_details" adds the block's stage and categories, in a shape no reference
documents); "reset" resets the connection;
"slow" waits slow_seconds first; "truncate" sends half of the body (or of the stream);
"invalid_json" sends a broken body (a stream: like stream_malformed); "invalid_b64" puts
non-base64 in every b64_json.  The stream faults apply to streaming requests only (others
are answered normally and do not count): "stream_split" writes each event in tiny pieces
(inside field names, after "data:", in the base64, between CR and LF; odd-numbered events
end lines in CRLF), "stream_crlf" ends every line in CRLF, "stream_error" sends one partial
image then an `error` event and closes, "stream_truncated" closes after the first image's
partial images (at least one), "stream_malformed" cuts the data of the first completed
event in half (not JSON), "stream_odd_index" gives each image (when partial images
are asked for, however many) five partial images whose partial_image_index no client
should trust: -1, 10**15, "1", 0.5 and 3 (one past the API's 0 to 2), in that order;
"stream_final_early" sends the last image's completed event after its first partial
image and before the others (the reference allows a final image before all partials), "stream_extra_completed" repeats
the last completed event until there are 50 of them, "stream_comments" adds ": keep-alive" comment blocks between
events and `id:` fields and a comment line inside each event.

Where faults apply (fault_paths, default ["images"]): "images" is every image request
(OpenAI and Azure paths), as it always was; any other entry is an fnmatch pattern of
"METHOD /v1/path" or "/v1/path" (any method), e.g. "POST /v1/files", "/v1/batches*",
"GET /v1/batches/*".  The fault and fail_rate apply only to requests a pattern takes
in, and fault_count counts those.  On the Files and Batch API an error fault (500,
502, 503, 408, 409, 429, quota, 400, moderation...) answers before anything is done;
"reset", "truncate" and "invalid_json" break an answer whose work was done (the file
stored, the batch created, the poll counted), as when a connection fails after the
server acted; "slow" does the work, then waits slow_seconds.  invalid_b64 and the
stream faults do not apply there (and do not count); nor does the rpm window.

Files and batches (the OpenAPI subset ../shared/reference/openai-batch-openapi.json,
vendored as tests/reference/openai-batch-openapi.json; reference §7 for images):
    POST   /v1/files                 multipart: file, purpose (assistants, batch,
                                     fine-tune, vision, user_data, evals), optional
                                     expires_after[anchor]=created_at and
                                     expires_after[seconds] (3600..2592000); unknown
                                     fields refused.  purpose=batch: the filename must
                                     end in .jsonl ("Invalid file format for Batch API.
                                     Must be .jsonl") and the file be at most
                                     batch_file_max_bytes (default 200 MB); any file at
                                     most 512 MB.  Answers the OpenAIFile (status
                                     "processed"; a batch file expires_at 30 days on).
    GET    /v1/files                 purpose, limit (1..10000), order (asc, desc:
                                     default), after
    GET    /v1/files/ID              the OpenAIFile; unknown: 404 "No such File object"
    GET    /v1/files/ID/content      the bytes (application/octet-stream)
    DELETE /v1/files/ID              {"id", "object": "file", "deleted": true}
    POST   /v1/batches               JSON: input_file_id (purpose batch), endpoint
                                     (/v1/images/generations or /v1/images/edits; the
                                     spec's other endpoints are refused: the stand-in
                                     runs image batches only), completion_window "24h",
                                     optional metadata (16 pairs, keys <= 64, values
                                     <= 512 characters), output_expires_after.
                                     Answers the Batch, status validating.
    GET    /v1/batches               limit (1..100, default 20), after; newest first
    GET    /v1/batches/ID            a poll: the batch's clock moves one step
    POST   /v1/batches/ID/cancel     validating or in_progress -> cancelling (the next
                                     poll: cancelled); cancelling again is the same
                                     answer; other statuses 409
Every one needs the Bearer key (401 as the image endpoints), is recorded in
`requests` (content downloads too) and answers in the standard error envelope.
A batch's clock is its polls, never the wall clock: each phase (validating,
in_progress, finalizing) lasts batch_steps polls (0: the first poll finds the batch
ended).  When validating ends the input file is judged: no lines ("empty_file"),
more than batch_max_requests lines (default 50,000: "too_many_requests"), or any
line that is not JSON ("invalid_json_line"), not an object, has unknown or missing
fields, a custom_id that is empty or repeats ("duplicate_custom_id"), a method not
POST, a url other than the batch's endpoint ("invalid_url"), a body that is not an
object, or a model other than the other lines' ("mismatched_model"), fails the
batch: status failed, failed_at, errors {"object": "list", "data": [{code, message,
param, line}]} (at most 100), no files.  batch_outcome "failed" fails a good file
the same way ("token_limit_exceeded", line null).  Otherwise in_progress (expires_at
= created_at + 24 h, request_counts.total, model): its polls run the lines in order,
k/(batch_steps+1) of them after its k-th poll, each as its endpoint's synchronous
request (JSON only; edits in the JSON form, images [{file_id} or {image_url}]):
the same checks (today's rules unless compat; stream is refused in a batch) and the
same ImagesResponse, b64_json images and usage.  A line whose body is refused, or
that batch_line_errors names (custom_ids) or picks (a fraction, spread evenly: 0.5
fails every second line), goes to the error file with its 4xx answer (the latter
400 moderation_blocked).  Then finalizing, then completed.  batch_outcome "expired":
only half of the lines (rounded down) run; after in_progress the batch is expired
(expired_at = expires_at) and the lines not run go to the error file with response
null and error {"code": "batch_expired", "message": ...}.  A cancelled batch keeps
what ran; the lines not run are "batch_cancelled" in the error file.
request_counts (completed, failed) and usage grow as lines run; at the end
completed + failed = total.  The output file (lines of status 200) and the error file
(the rest) are Files of purpose batch_output (the spec has no batch_error purpose),
named BATCH_output.jsonl and BATCH_error.jsonl, each made only when it has lines
(else its id stays null); their lines are {"id": "batch_req_...", "custom_id",
"response": {"status_code", "request_id", "body"} or null, "error": null or {code,
message}}, in an order other than the input's, as the API promises none.  A batch
works with the knobs in force when it was created.  The Batch's unset fields
(errors, output_file_id, error_file_id, the *_at times) are null, as the spec's
examples show; usage is always there.  Each line a batch runs is also kept in
responses() as an answer of its endpoint's path (with "batch": ID), so the images
answer check holds it to ImagesResponse and the error envelope.

Azure mode (provider "azure"; reset() goes back to "openai"): the stand-in answers as
an Azure OpenAI resource at `azure_url` (origin + "/openai"), and every other path,
/v1/... included, answers 404 {"error": {"code": "404", "message": "Resource not
found"}}.  Its image paths (POST only):
    /openai/deployments/NAME/images/generations?api-version=V  (and .../images/edits)
    /openai/v1/images/generations                       (and /openai/v1/images/edits)
A deployment path needs api-version: none answers 404 Resource not found (as above),
one not in azure_api_versions (default 2025-04-01-preview, 2024-10-21,
2025-01-01-preview; the first value counts if it repeats) 400 {"error": {"code":
"BadRequest", "message": "API version not supported"}}; these two are answered at once,
before the key.  The v1 form ignores any api-version.  Then, on both forms, the
credentials: an `api-key` header with the stand-in's key (when the header is present
it alone decides), or else `Authorization: Bearer <azure_ad_token>` (default
"eyJ-standin-entra-token"; a Bearer API key is refused); anything else answers 401
{"error": {"code": "401", "message": "Access denied due to invalid subscription key or
wrong API endpoint. ..."}}.  Then the deployment: azure_deployments maps deployment
names to models (default gpt-image-2 and img -> gpt-image-2, d3 -> dall-e-3; the knob
replaces the whole mapping); an unknown one answers 404 {"error": {"code":
"DeploymentNotFound", "message": "The API deployment for this resource does not
exist. ..."}}.  On a deployment path the deployment is the path's and the body may not
carry `model` (a JSON key, even null, or a multipart field): 400 {"error": {"code":
"BadRequest", "message": "The 'model' parameter is not allowed on a deployment path:
...", "param": "model"}}.  On the v1 form `model` is required (the OpenAI 400
missing_required_parameter) and names the deployment (unknown: DeploymentNotFound, as
above).  A `response_format` answers 400 {"error": {"code": "BadRequest", "message":
"The 'response_format' parameter is not supported for MODEL: ...", "param":
"response_format"}} unless the deployment's model is a dall-e one.  The body, with
`model` set to the deployment's model, then goes through the OpenAI checks of that
path (generations: JSON; edits: multipart or JSON), and the answer (images, streams,
faults, latency, rate limits, stats, recording) is the OpenAI mode's.  Errors of the
body checks and of injected faults keep the OpenAI error shape.  Requests are recorded
as they came: the path with its query (?api-version=...), the headers (api-key,
authorization), and the body without the injected model.

Chroma-key prompts: a generation or edit whose prompt asks for a "solid #RRGGBB
chroma-key background" (what `imagegen --chroma-key` appends) gets a picture whose
pixels are known (see render_chroma_image): a background of exactly that colour, no
noise, and a filled disc of CHROMA_SUBJECT in the centre with an antialiased edge and
a slight key-colour spill on its rim.  With chroma_ignored the prompt gets the
ordinary picture any other prompt gets: no key-colour background at all.

Streams: each image i of n gets its partial images (partial_image_index 0..k-1, counted
anew for each image), then its completed event; usage on the first completed event
counts the input tokens and that image's output tokens, later ones only their own output
tokens, so the usages add up to the non-streaming usage.
"""

import argparse
import base64
import binascii
import contextlib
import copy
import dataclasses
import email.message
import email.parser
import email.utils
import fnmatch
import functools
import hashlib
import io
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

from PIL import Image, ImageChops, ImageDraw

DEFAULT_KEY = "sk-test-standin"
API_PREFIX = "/v1"
RAW_BODY_LIMIT = 64 * 1024
MAX_EDGE = 8192  # protects the stand-in, not an API rule: any smaller WxH is honoured
RPM_WINDOW_SECONDS = 60.0
DEFAULT_RPM_LIMIT = 50  # reported in rate-limit headers when rpm_limit is not set
IMAGE_CACHE_ENTRIES = 256  # a benchmark's distinct prompts must fit, or drawing dominates
FILE_STORE_ENTRIES = 256
MAX_EDIT_IMAGES = 16
GPT_IMAGE_FILE_LIMIT = 50 * 1024 * 1024   # each edit input, GPT image models
DALLE_FILE_LIMIT = 4 * 1024 * 1024        # dall-e-2 images and every mask
IMAGE_URL_LIMIT = 20971520                # ImageRefParam.image_url maxLength
RECORDED_DATA_URL_CHARS = 100
SPLIT_PAUSE = 0.005  # seconds between the tiny writes of the stream_split fault
DEFAULT_EDIT_MODEL = "gpt-image-1.5"

# The Files and Batch API (../shared/reference/openai-batch-openapi.json, and
# images-api-2026-11.md §7 for image batches).
BATCH_FILE_LIMIT = 200 * 1024 * 1024      # a batch input file: 200 MB
FILE_LIMIT = 512 * 1024 * 1024            # any upload: 512 MB
BATCH_MAX_REQUESTS = 50_000
BATCH_OUTCOMES = ("completed", "failed", "expired")

# Azure mode (the provider knob): the defaults of its knobs, and its paths.
AZURE_PREFIX = "/openai"
DEFAULT_AZURE_DEPLOYMENTS = {"gpt-image-2": "gpt-image-2", "img": "gpt-image-2",
                             "d3": "dall-e-3"}
DEFAULT_AZURE_API_VERSIONS = ("2025-04-01-preview", "2024-10-21", "2025-01-01-preview")
DEFAULT_AZURE_AD_TOKEN = "eyJ-standin-entra-token"
AZURE_DEPLOYMENT_PATH = re.compile(
    r"/openai/deployments/([^/]+)/images/(generations|edits)")
AZURE_V1_PATH = re.compile(r"/openai/v1/images/(generations|edits)")

# Output image tokens for one 1024x1024 image (gpt-image-1's published figures),
# scaled by pixels for the 1.x models.
TOKENS_PER_1024_SQUARE = {"low": 272, "medium": 1056, "high": 4160}
# gpt-image-2 and later: the rule behind OpenAI's calculator (reference §6.2), with
# its quality factor. xhigh and max have no published factor: these are the
# stand-in's own (doubling, as low to medium to high nearly do), so that a client
# can only know them from the usage of earlier runs.
RULE_QUALITY_FACTOR = {"low": 16, "medium": 48, "high": 96, "xhigh": 192, "max": 384}


def rule_output_tokens(quality, width, height):
    """One image's output tokens by the gpt-image-2 rule (reference §6.2)."""
    q = RULE_QUALITY_FACTOR[quality]
    short, long_ = min(width, height), max(width, height)
    tiles = (2 * q * short + long_) // (2 * long_)
    return -(-(q * tiles * (2_000_000 + width * height)) // 4_000_000)


# ---------------------------------------------------------------------------
# Configuration knobs

# Faults of a streamed answer: only streaming requests get (and count) them.
STREAM_FAULTS = frozenset({
    "stream_split", "stream_crlf", "stream_error", "stream_truncated",
    "stream_malformed", "stream_comments", "stream_odd_index", "stream_final_early",
    "stream_extra_completed",
})
# How many completed events the stream_extra_completed fault sends in all.
EXTRA_COMPLETED_EVENTS = 50

# What the stream_odd_index fault puts in partial_image_index, each in one partial
# image: a negative number, a huge one, a string, a fraction and 3, the first past
# the API's 0 to 2.
ODD_PARTIAL_INDEXES = (-1, 10 ** 15, "1", 0.5, 3)

FAULTS = frozenset({
    "500", "502", "503", "408", "409", "429", "quota", "moderation", "moderation_details",
    "400",
    "reset", "truncate", "invalid_json", "invalid_b64", "slow",
}) | STREAM_FAULTS


@dataclass(frozen=True)
class Config:
    """What the stand-in does with the next image requests (generations, edits,
    variations).  Immutable: each request works from the snapshot it started with."""

    key: str = DEFAULT_KEY
    latency: float = 0.0              # seconds before answering each request
    fault: Optional[str] = None       # one of FAULTS
    fault_count: int = -1             # the first K requests get the fault; -1 = all
    slow_seconds: float = 30.0        # the delay of the "slow" fault
    retry_after: Optional[str] = "1"  # 429 retry-after header; None = absent
    retry_after_ms: Optional[str] = None
    should_retry: Optional[str] = None  # "true"/"false": x-should-retry on faults
    ratelimit_headers: bool = False   # rate-limit headers on successes too
    rpm_limit: Optional[int] = None   # requests per minute, then 429
    rpm_mode: str = "window"          # "window": a sliding minute; "bucket": a
                                      # token bucket refilled evenly (rpm/60 per
                                      # second, holding at most one second's worth)
    fail_rate: float = 0.0            # fraction of requests that answer 500
    fail_seed: int = 0
    stream_interval: float = 0.05     # seconds between the events of a stream
    provider: str = "openai"          # "openai" or "azure" (see Azure mode)
    azure_deployments: dict = field(  # deployment name -> model name (replace it
        default_factory=lambda: dict(DEFAULT_AZURE_DEPLOYMENTS))  # with configure())
    azure_api_versions: tuple = DEFAULT_AZURE_API_VERSIONS  # accepted api-version values
    azure_ad_token: str = DEFAULT_AZURE_AD_TOKEN  # the Entra ID bearer token accepted
    compat: bool = False              # a compatible server: every model and endpoint
                                      # of the seeds' days answered, with the size and
                                      # parameter rules of those days (see "Today")
    shutdown_models: tuple = ()       # models answered as shut down (404 model_not_found)
    models_list: tuple = ()           # GET /v1/models: rows {"id", "shutdown_date"}
                                      # added to (or replacing, by id) the default list
    c2pa: bool = False                # PNG answers carry a caBX chunk (a stand-in
                                      # C2PA manifest) that the provenance check finds
    stream_usage: str = "split"       # "split": each completed event its own image's
                                      # usage (the first with the input); "total":
                                      # every completed event the whole request's;
                                      # "each": its own image's, each with the input
    output_tokens_scale: float = 1.0  # output image tokens billed, times the rule's:
                                      # a server whose usage outruns any estimate
    hold_body: float = -1.0           # >= 0: an image answer stops after this fraction
                                      # of its body until release() (or POST
                                      # /_control/release); -1: off
    hold_after: int = 0               # image answers sent whole before the held ones
    hold_count: int = 1               # how many answers are held
    chroma_noise: int = 0             # > 0: a chroma-key picture's background is not
                                      # flat: a gradient of +-N per channel across
                                      # it, and noise of +-N/2 on every pixel
    chroma_ignored: bool = False      # a chroma-key prompt gets an ordinary picture
    echo_key: bool = False            # a wrong key's 401 quotes "Bearer <key>" whole
    cut_documents: bool = False       # GIF and SVG answers are cut in half (valid
                                      # base64 of a document that ends too soon)
    fault_paths: tuple = ("images",)  # where fault and fail_rate apply: "images" (every
                                      # image request, as always) and/or fnmatch
                                      # patterns of "METHOD /v1/path" or "/v1/path"
    # The Files and Batch API (see Files and batches).
    batch_steps: int = 1              # polls (GET /v1/batches/ID) each phase lasts
    batch_outcome: str = "completed"  # "completed", "failed" or "expired"
    batch_line_errors: object = ()    # custom_ids (a tuple) or a fraction of the lines
                                      # answered 400 moderation_blocked in the error file
    batch_file_max_bytes: int = BATCH_FILE_LIMIT  # a purpose=batch upload's limit
    batch_max_requests: int = BATCH_MAX_REQUESTS  # lines a batch input file may have


def _truth(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _seconds(value):
    seconds = float(value)
    if not seconds >= 0:
        raise ValueError(f"expected seconds >= 0, got {value!r}")
    return seconds


def _fraction(value):
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"expected a fraction between 0 and 1, got {value!r}")
    return rate


def _integer(value):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected an integer, got {value!r}")
    return int(value)


def _optional(convert):
    return lambda value: None if value is None else convert(value)


def _header_text(value):
    return str(value)


def _bool_header(value):
    return "true" if _truth(value) else "false"


def _fault_name(value):
    name = str(value)
    if name not in FAULTS:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}")
    return name


def _positive(value):
    number = _integer(value)
    if number < 1:
        raise ValueError(f"expected an integer >= 1, got {value!r}")
    return number


def _rpm_mode(value):
    if value not in ("window", "bucket"):
        raise ValueError(f"rpm_mode must be window or bucket, got {value!r}")
    return value


def _provider(value):
    if value not in ("openai", "azure"):
        raise ValueError(f"provider must be openai or azure, got {value!r}")
    return value


def _deployments(value):
    """A copy of a deployment name -> model name object (names without "/")."""
    if not isinstance(value, dict):
        raise ValueError(f"expected an object of deployment name -> model name, "
                         f"got {value!r}")
    for name, model in value.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"bad deployment name {name!r}")
        if not isinstance(model, str) or not model:
            raise ValueError(f"deployment {name!r}: bad model name {model!r}")
    return dict(value)


def _api_versions(value):
    """A list of api-version strings (or one string, comma-separated) as a tuple."""
    if isinstance(value, str):
        value = [version.strip() for version in value.split(",") if version.strip()]
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(version, str) and version for version in value):
        raise ValueError(f"expected a list of api-version strings, got {value!r}")
    return tuple(value)


def _token(value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value.strip()


def _stream_usage(value):
    if value not in ("split", "total", "each"):
        raise ValueError(f"expected 'split', 'total' or 'each', got {value!r}")
    return value


def _model_names(value):
    names = value.split(",") if isinstance(value, str) else list(value)
    if not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"expected model names, got {value!r}")
    return tuple(names)


def _fault_paths(value):
    patterns = value.split(",") if isinstance(value, str) else list(value)
    patterns = [pattern.strip() for pattern in patterns]
    if not all(isinstance(p, str) and p for p in patterns):
        raise ValueError(f"expected path patterns, got {value!r}")
    for pattern in patterns:
        if pattern != "images" and not pattern.split(" ")[-1].startswith("/"):
            raise ValueError(f"a pattern is 'images', '/v1/PATH' or 'METHOD /v1/PATH', "
                             f"got {pattern!r}")
    return tuple(patterns)


def _batch_outcome(value):
    if value not in BATCH_OUTCOMES:
        raise ValueError(f"expected one of {', '.join(BATCH_OUTCOMES)}, got {value!r}")
    return value


def _line_errors(value):
    """A fraction of the lines (a JSON number), or custom_ids (a list, or a string of
    comma-separated ones)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _fraction(value)
    if isinstance(value, str):
        value = [name.strip() for name in value.split(",") if name.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a fraction or a list of custom_ids, got {value!r}")
    return tuple(value)


def _at_least(low):
    def convert(value):
        number = _integer(value)
        if number < low:
            raise ValueError(f"expected an integer >= {low}, got {value!r}")
        return number
    return convert


def _model_rows(value):
    """GET /v1/models rows: a list of {"id": str, "shutdown_date": "YYYY-MM-DD" or
    None}."""
    rows = []
    for row in value:
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or \
                set(row) - {"id", "shutdown_date"}:
            raise ValueError("each row is {\"id\": ..., \"shutdown_date\": ...}")
        date = row.get("shutdown_date")
        if date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(date)):
            raise ValueError(f"shutdown_date {date!r} is not YYYY-MM-DD")
        rows.append((row["id"], date))
    return tuple(rows)


KNOB_CONVERTERS = {
    "key": str,
    "latency": _seconds,
    "fault": _optional(_fault_name),
    "fault_count": _integer,
    "slow_seconds": _seconds,
    "retry_after": _optional(_header_text),
    "retry_after_ms": _optional(_header_text),
    "should_retry": _optional(_bool_header),
    "ratelimit_headers": _truth,
    "rpm_limit": _optional(_positive),
    "rpm_mode": _rpm_mode,
    "fail_rate": _fraction,
    "fail_seed": _integer,
    "stream_interval": _seconds,
    "provider": _provider,
    "azure_deployments": _deployments,
    "azure_api_versions": _api_versions,
    "azure_ad_token": _token,
    "shutdown_models": _model_names,
    "models_list": _model_rows,
    "compat": _truth,
    "stream_usage": _stream_usage,
    "c2pa": _truth,
    "cut_documents": _truth,
    "chroma_noise": _integer,
    "chroma_ignored": _truth,
    "echo_key": _truth,
    "hold_body": float,
    "output_tokens_scale": float,
    "hold_after": _integer,
    "hold_count": _integer,
    "fault_paths": _fault_paths,
    "batch_steps": _at_least(0),
    "batch_outcome": _batch_outcome,
    "batch_line_errors": _line_errors,
    "batch_file_max_bytes": _at_least(0),
    "batch_max_requests": _at_least(1),
}


def convert_knobs(knobs):
    """Check and normalise knob values (they may come from JSON or a shell);
    raise ValueError naming the first bad knob."""
    converted = {}
    for name, value in knobs.items():
        if name not in KNOB_CONVERTERS:
            known = ", ".join(sorted(KNOB_CONVERTERS))
            raise ValueError(f"unknown knob {name!r}; known: {known}")
        try:
            converted[name] = KNOB_CONVERTERS[name](value)
        except (TypeError, ValueError) as err:
            raise ValueError(f"knob {name!r}: {err}") from None
    return converted


# ---------------------------------------------------------------------------
# API errors and request validation


class ApiError(Exception):
    """An error answer in the API's shape: {"error": {message, type, param, code}}."""

    def __init__(self, status, message, type_="invalid_request_error", param=None,
                 code=None, headers=(), **extra):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param,
                               "code": code, **extra}}
        self.headers = list(headers)


def _moderation_blocked(request_id, **extra):
    return ApiError(400, "Your request was rejected by the safety system. If you believe "
                         "this is an error, contact us and include the request ID "
                         f"{request_id}.",
                    type_="image_generation_user_error", code="moderation_blocked", **extra)


def model_shut_down(model):
    """The standard envelope for a model no longer served. The API's exact answer
    is undocumented (reference §1.4); this is the shape a client can expect."""
    return ApiError(404, f"The model `{model}` has been deprecated and is no longer "
                         f"available.", param="model", code="model_not_found")


def invalid_value(param, message):
    return ApiError(400, message, param=param, code="invalid_value")


def _check_string(name, value):
    if not isinstance(value, str):
        raise invalid_value(name, f"Invalid type for '{name}': expected a string.")


def _check_prompt(name, value):
    _check_string(name, value)
    if not value:
        raise invalid_value(name, "Invalid 'prompt': empty string. Expected a string "
                                  "with minimum length 1.")


def _int_range(low, high):
    def check(name, value):
        if type(value) is not int:  # bool is an int subclass; the API refuses it
            raise invalid_value(name, f"Invalid type for '{name}': expected an integer.")
        if not low <= value <= high:
            raise invalid_value(name, f"Invalid '{name}': integer {value} is outside "
                                      f"{low}..{high}.")
    return check


def _one_of(*allowed):
    def check(name, value):
        if value not in allowed:
            listed = ", ".join(f"'{a}'" for a in allowed)
            raise invalid_value(name, f"Invalid value: '{value}'. Supported values "
                                      f"are: {listed}.")
    return check


def _check_boolean(name, value):
    if not isinstance(value, bool):
        raise invalid_value(name, f"Invalid type for '{name}': expected a boolean.")


SIZE_PATTERN = re.compile(r"([1-9][0-9]*)x([1-9][0-9]*)")


def _check_size(name, value):
    _check_string(name, value)
    if value == "auto":
        return
    match = SIZE_PATTERN.fullmatch(value)
    if not match or max(int(match[1]), int(match[2])) > MAX_EDGE:
        raise invalid_value(name, f"Invalid value: '{value}'. Expected 'auto' or "
                                  f"WIDTHxHEIGHT with edges up to {MAX_EDGE}.")


GIF_DEFAULT_FRAMES = 9        # the API's defaults (reference §2.1)
GIF_DEFAULT_FRAME_MS = 200
SVG_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


def _check_svg(name, value):
    """The svg object: {"model": TEXT MODEL, "reasoning": {"effort": E}}."""
    if not isinstance(value, dict):
        raise invalid_value(name, f"Invalid type for '{name}': expected an object.")
    for key in value:
        if key not in ("model", "reasoning"):
            raise ApiError(400, f"Unknown parameter: '{name}.{key}'.", param=f"{name}.{key}",
                           code="unknown_parameter")
    if value.get("model") is not None:
        _check_string(f"{name}.model", value["model"])
    reasoning = value.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, dict) or set(reasoning) - {"effort"}:
            raise invalid_value(f"{name}.reasoning", f"Invalid '{name}.reasoning': expected "
                                                     "an object with 'effort'.")
        if reasoning.get("effort") is not None:
            _one_of(*SVG_EFFORTS)(f"{name}.reasoning.effort", reasoning["effort"])


# The properties of CreateImageRequest and the check for each.
GENERATION_PARAMETERS = {
    "prompt": _check_prompt,
    "model": _check_string,
    "n": _int_range(1, 10),
    "quality": _one_of("standard", "hd", "low", "medium", "high", "xhigh", "max", "auto"),
    "complexity": _one_of("low", "medium", "high"),
    "safety_identifier": _check_string,
    "response_format": _one_of("url", "b64_json"),
    "output_format": _one_of("png", "jpeg", "webp", "gif", "svg"),
    "output_compression": _int_range(0, 100),
    "stream": _check_boolean,
    "partial_images": _int_range(0, 3),
    "frame_count": _int_range(2, 16),
    "frame_duration_ms": _int_range(20, 655350),
    "svg": _check_svg,
    "size": _check_size,
    "moderation": _one_of("low", "auto"),
    "background": _one_of("transparent", "opaque", "auto"),
    "style": _one_of("vivid", "natural"),
    "user": _check_string,
}

GPT_IMAGE_ONLY_PARAMETERS = ("output_format", "output_compression", "background",
                             "moderation", "stream", "partial_images")


def _any(name, value):
    """For properties checked apart (the image references of a JSON edit)."""


# The text fields of CreateImageEditRequest (multipart/form-data).
EDIT_PARAMETERS = {
    "prompt": _check_prompt,
    "model": _check_string,
    "n": _int_range(1, 10),
    "size": _check_size,
    "quality": _one_of("standard", "low", "medium", "high", "xhigh", "max", "auto"),
    "complexity": _one_of("low", "medium", "high"),
    "safety_identifier": _check_string,
    "background": _one_of("transparent", "opaque", "auto"),
    "output_format": _one_of("png", "jpeg", "webp", "gif", "svg"),
    "output_compression": _int_range(0, 100),
    "frame_count": _int_range(2, 16),
    "frame_duration_ms": _int_range(20, 655350),
    # the svg object, flattened as OpenAI's SDKs send nested values in forms
    "svg[model]": _check_string,
    "svg[reasoning][effort]": _one_of(*SVG_EFFORTS),
    "moderation": _one_of("low", "auto"),
    "input_fidelity": _one_of("high", "low"),
    "response_format": _one_of("url", "b64_json"),
    "user": _check_string,
    "stream": _check_boolean,
    "partial_images": _int_range(0, 3),
}
EDIT_FILE_FIELDS = ("image", "image[]", "mask", "markup")

# The properties of EditImageBodyJsonParam (application/json).
JSON_EDIT_PARAMETERS = {
    **{name: check for name, check in EDIT_PARAMETERS.items()
       if name != "response_format" and not name.startswith("svg[")},
    "svg": _check_svg,
    "quality": _one_of("low", "medium", "high", "xhigh", "max", "auto"),
    "images": _any,
    "mask": _any,
    "markup": _any,
}


def _check_variation_model(name, value):
    _check_string(name, value)
    if value != "dall-e-2":
        raise invalid_value(name, f"Invalid value: '{value}'. Only 'dall-e-2' makes "
                                  "variations.")


# The text fields of CreateImageVariationRequest (multipart/form-data).
VARIATION_PARAMETERS = {
    "model": _check_variation_model,
    "n": _int_range(1, 10),
    "response_format": _one_of("url", "b64_json"),
    "size": _one_of("256x256", "512x512", "1024x1024"),
    "user": _check_string,
}

# Multipart text fields that are not strings in the schemas.
FORM_INTEGERS = frozenset({"n", "output_compression", "partial_images", "frame_count",
                           "frame_duration_ms"})
FORM_BOOLEANS = frozenset({"stream"})


@dataclass(frozen=True)
class Generation:
    """A checked generation, edit or variation request, with the API's defaults
    filled in."""

    prompt: str
    model: str
    n: int
    width: int
    height: int
    quality: Optional[str]
    output_format: str
    background: Optional[str]
    output_compression: int
    response_format: Optional[str]
    stream: bool
    partial_images: int = 0
    kind: str = "generation"   # "generation", "edit" or "variation"
    inputs: tuple = ()         # identities of the input images (and mask)
    input_image_tokens: int = 0
    frame_count: int = GIF_DEFAULT_FRAMES
    frame_duration_ms: int = GIF_DEFAULT_FRAME_MS
    model_given: bool = True   # the request named its model
    token_scale: float = 1.0   # the output_tokens_scale knob, when answered
    size_given: str = "auto"   # the size as sent ("auto" when none was)
    size_sent: bool = False    # the request had a size
    style: Optional[str] = None
    input_fidelity: Optional[str] = None

    @property
    def is_dalle(self):
        return self.model.startswith("dall-e")

    @property
    def image_format(self):
        return "png" if self.is_dalle else self.output_format

    @property
    def transparent(self):
        return not self.is_dalle and self.background == "transparent"

    @property
    def returns_url(self):
        return self.is_dalle and (self.response_format or "url") == "url"

    @property
    def reported_quality(self):
        if self.quality in ("low", "medium", "high"):
            return self.quality
        return "high" if self.quality == "hd" else "medium"

    def seed(self, index):
        """The text image `index` is drawn from: the prompt, and the inputs if any."""
        if not self.inputs:
            return f"{index}:{self.prompt}"
        return f"{index}:{self.kind}:{self.prompt}:{'|'.join(self.inputs)}"


def parse_json_body(raw):
    """The request body as a JSON object, or an ApiError like the API's."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "We could not parse the JSON body of your request. The "
                            "OpenAI API expects a JSON payload.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid type for body: expected an object.", code="invalid_value")
    return body


def _default_model(body):
    uses_gpt_parameter = any(body.get(p) is not None for p in GPT_IMAGE_ONLY_PARAMETERS)
    if uses_gpt_parameter or body.get("quality") in ("low", "medium", "high"):
        return "gpt-image-1"
    return "dall-e-2"


def _check_parameters(body, parameters):
    for name, value in body.items():
        if name not in parameters:
            raise ApiError(400, f"Unknown parameter: '{name}'.", param=name,
                           code="unknown_parameter")
        if value is not None:
            parameters[name](name, value)


def _require(body, name):
    if body.get(name) is None:
        raise ApiError(400, f"Missing required parameter: '{name}'.", param=name,
                       code="missing_required_parameter")


# What the newer models add (../shared/reference/images-api-2026-11.md §2.0, §2.3).
TOP_QUALITY_MODELS = ("gpt-image-2.5-", "gpt-image-2.6-")
COMPLEXITY_MODELS = ("gpt-image-2.6-",)
VECTOR_FORMAT_MODELS = ("gpt-image-2.6-",)   # output_format gif and svg

# Today (reference §1.2, §2.0-§2.2 and §3, as of 2026-12-01): the models OpenAI has
# shut down, and each family's sizes and parameters.  The default mode answers as
# OpenAI does; compat (a compatible server of the seeds' days) leaves these out.
GPT1_MODELS = frozenset({"gpt-image-1", "gpt-image-1.5", "gpt-image-1.5-2025-12-16",
                         "gpt-image-1-mini", "chatgpt-image-latest"})
FLEX_MODELS = frozenset({"gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-2.5-sunburst",
                         "gpt-image-2.5-sunburst-2026-09-08", "gpt-image-2.5-flare",
                         "gpt-image-2.5-flare-2026-09-08", "gpt-image-2.6-sunburst",
                         "gpt-image-2.6-flare"})
SHUT_DOWN_AT_OPENAI = GPT1_MODELS | {"dall-e-2", "dall-e-3"}
GPT1_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")
FLEX_MULTIPLE, FLEX_MAX_EDGE, FLEX_MAX_RATIO = 16, 3840, 3
FLEX_MIN_PIXELS, FLEX_MAX_PIXELS = 655360, 8294400
INPUT_FIDELITY = {"gpt-image-1": ("high", "low"), "gpt-image-1.5": ("high", "low"),
                  "gpt-image-1.5-2025-12-16": ("high", "low"),
                  "chatgpt-image-latest": ("high", "low"), "gpt-image-1-mini": ("low",)}


def model_family(model):
    """"flexible" (gpt-image-2 and later), "gpt1", "dalle2", "dalle3", or None for a
    model OpenAI does not have."""
    if model in FLEX_MODELS:
        return "flexible"
    if model in GPT1_MODELS:
        return "gpt1"
    return {"dall-e-2": "dalle2", "dall-e-3": "dalle3"}.get(model)


def _check_flexible_size(generation):
    size = generation.size_given
    if size == "auto" or generation.output_format == "svg":
        return  # SVG sizes are checked with the SVG rules
    width, height = generation.width, generation.height
    long, short = max(width, height), min(width, height)
    pixels = width * height
    problem = None
    if width % FLEX_MULTIPLE or height % FLEX_MULTIPLE:
        problem = f"width and height must be multiples of {FLEX_MULTIPLE}"
    elif long > FLEX_MAX_EDGE:
        problem = f"the longer edge must be at most {FLEX_MAX_EDGE}"
    elif long > short * FLEX_MAX_RATIO:
        problem = f"the aspect ratio must be at most {FLEX_MAX_RATIO}:1"
    elif pixels > FLEX_MAX_PIXELS or (pixels < FLEX_MIN_PIXELS and
                                      generation.output_format != "gif"):
        problem = (f"the total pixels must be between {FLEX_MIN_PIXELS} and "
                   f"{FLEX_MAX_PIXELS}")
    if problem:
        raise invalid_value("size", f"Invalid value: '{size}'. For {generation.model}, "
                                    f"{problem}.")


def check_today(generation):
    """What OpenAI refuses today that a compatible server (the compat knob) takes:
    no model, a shut-down or unknown model, variations, sizes outside the family's
    rules, and parameters of other families."""
    model = generation.model
    if generation.kind == "variation":
        raise model_shut_down("dall-e-2")  # variations ran only on dall-e-2
    if not generation.model_given:
        raise ApiError(400, "Missing required parameter: 'model'.", param="model",
                       code="missing_required_parameter")
    if model in SHUT_DOWN_AT_OPENAI:
        raise model_shut_down(model)
    family = model_family(model)
    if family is None:
        raise ApiError(404, f"The model `{model}` does not exist or you do not have "
                            f"access to it.", param="model", code="model_not_found")
    if family == "flexible":
        _check_flexible_size(generation)
    elif generation.size_given not in GPT1_SIZES:
        raise invalid_value("size", f"Invalid value: '{generation.size_given}'. Supported "
                                    f"values are: {', '.join(GPT1_SIZES[1:])} and 'auto'.")
    for name, value in (("style", generation.style),
                        ("response_format", generation.response_format)):
        if value is not None:
            raise ApiError(400, f"Unknown parameter: '{name}'. It is not supported for "
                                f"{model}.", param=name, code="unsupported_parameter")
    if generation.quality in ("standard", "hd"):
        raise invalid_value("quality", f"Invalid value: '{generation.quality}'. Supported "
                                       f"values are: 'low', 'medium', 'high' and 'auto'.")
    fidelity = generation.input_fidelity
    if fidelity is not None and fidelity not in INPUT_FIDELITY.get(model, ()):
        raise ApiError(400, f"input_fidelity '{fidelity}' is not supported for {model}.",
                       param="input_fidelity", code="unsupported_parameter")

# The fixed sizes each model OpenAI has shut down took while it ran (reference
# §2.2 for the 1.x models; dall-e's long-standing lists; src/api/model.c has the
# same): a compatible server of those days, and Azure, which still runs some of
# them, hold a request to its model's list.  dall-e-2 and dall-e-3 never took
# "auto": without a size they made 1024x1024.
HISTORICAL_SIZES = {"dall-e-2": ("256x256", "512x512", "1024x1024"),
                    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
                    **{model: GPT1_SIZES for model in GPT1_MODELS}}


def check_historical_size(generation):
    """A shut-down model's size against its fixed list (compat and Azure mode): the
    API's 400 invalid_value.  A model not in the table (a compatible server's own)
    takes any size up to MAX_EDGE; gpt-image-2 and later are checked by today's
    rules only."""
    sizes = HISTORICAL_SIZES.get(generation.model)
    if sizes is None or not generation.size_sent or generation.size_given in sizes:
        return
    listed = ", ".join(f"'{size}'" for size in sizes)
    raise invalid_value("size", f"Invalid value: '{generation.size_given}'. Supported "
                                f"values for {generation.model} are: {listed}.")


SVG_SIZES = ("auto", "1024x1024", "1024x1536", "1536x1024")


def _svg_object(body):
    """The svg object of a JSON body, or of a form's flattened svg[...] fields."""
    if isinstance(body.get("svg"), dict):
        return body["svg"]
    svg = {}
    if body.get("svg[model]") is not None:
        svg["model"] = body["svg[model]"]
    if body.get("svg[reasoning][effort]") is not None:
        svg["reasoning"] = {"effort": body["svg[reasoning][effort]"]}
    return svg or None


def _check_animation(body, model, has_mask):
    """The GIF and SVG rules (reference §2.3)."""
    output_format = body.get("output_format")
    if output_format in ("gif", "svg") and not model.startswith(VECTOR_FORMAT_MODELS):
        raise invalid_value("output_format", f"Invalid value: '{output_format}'. GIF and "
                                             f"SVG output are supported for the "
                                             f"gpt-image-2.6 models only.")
    for name in ("frame_count", "frame_duration_ms"):
        if body.get(name) is not None and output_format != "gif":
            raise invalid_value(name, f"'{name}' is only supported with output_format "
                                      f"'gif'.")
    svg = _svg_object(body)
    if svg is not None and output_format != "svg":
        raise invalid_value("svg", "'svg' is only supported with output_format 'svg'.")
    if output_format == "gif":
        if body.get("stream") is True:
            raise invalid_value("stream", "Streaming is not supported for GIF output.")
        if body.get("partial_images"):
            raise invalid_value("partial_images", "Partial images are not supported for "
                                                  "GIF output.")
        if body.get("output_compression") is not None:
            raise invalid_value("output_compression", "GIF output does not support "
                                                      "custom compression.")
        if has_mask:
            raise invalid_value("mask", "A mask is not supported with GIF output.")
    if output_format == "svg":
        if not svg or not svg.get("model"):
            raise invalid_value("svg", "SVG generation requires 'svg.model'.")
        if (body.get("n") or 1) != 1:
            raise invalid_value("n", "SVG output supports n=1 only.")
        if (body.get("size") or "auto") not in SVG_SIZES:
            raise invalid_value("size", f"Invalid value: '{body['size']}'. SVG output "
                                        f"supports {', '.join(SVG_SIZES[1:])} and auto.")
        if body.get("stream") is True:
            raise invalid_value("stream", "Streaming is not supported for SVG output.")
        if body.get("output_compression") is not None:
            raise invalid_value("output_compression", "SVG output does not support "
                                                      "compression.")


def _check_combinations(body, model, has_mask=False):
    _check_animation(body, model, has_mask)
    if body.get("quality") in ("xhigh", "max") and not model.startswith(TOP_QUALITY_MODELS):
        raise invalid_value("quality", f"Invalid value: '{body['quality']}'. Quality "
                                       f"'xhigh' and 'max' are supported for the "
                                       f"gpt-image-2.5 and gpt-image-2.6 models only.")
    if body.get("complexity") is not None and not model.startswith(COMPLEXITY_MODELS):
        raise ApiError(400, f"The 'complexity' parameter is not supported for {model}.",
                       param="complexity", code="unsupported_parameter")
    if body.get("background") == "transparent" and body.get("output_format") == "jpeg":
        raise invalid_value("background", "Transparent background requires "
                                          "output_format 'png' or 'webp'.")
    if body.get("stream") is True and model.startswith("dall-e"):
        raise invalid_value("stream", f"Streaming is only supported for the GPT image "
                                      f"models, not {model}.")


def _requested_size(body, auto=(1024, 1024)):
    size = body.get("size") or "auto"
    return auto if size == "auto" else tuple(map(int, size.split("x")))


def _build(body, model, width, height, **extra):
    return Generation(
        prompt=body.get("prompt") or "",
        model=model,
        n=body.get("n") or 1,
        width=width,
        height=height,
        quality=body.get("quality"),
        output_format=body.get("output_format") or "png",
        background=body.get("background"),
        output_compression=100 if body.get("output_compression") is None
        else body["output_compression"],
        response_format=body.get("response_format"),
        stream=body.get("stream") is True,
        partial_images=body.get("partial_images") or 0,
        frame_count=body.get("frame_count") or GIF_DEFAULT_FRAMES,
        frame_duration_ms=body.get("frame_duration_ms") or GIF_DEFAULT_FRAME_MS,
        model_given=body.get("model") is not None,
        size_given=body.get("size") or "auto",
        size_sent=body.get("size") is not None,
        style=body.get("style"),
        input_fidelity=body.get("input_fidelity"),
        **extra,
    )


def parse_generation(body):
    """Check a CreateImageRequest body; return a Generation or raise ApiError."""
    _check_parameters(body, GENERATION_PARAMETERS)
    _require(body, "prompt")
    model = body.get("model") or _default_model(body)
    _check_combinations(body, model)
    return _build(body, model, *_requested_size(body))


# ---------------------------------------------------------------------------
# multipart/form-data


@dataclass(frozen=True)
class Part:
    """One part of a multipart/form-data body."""

    name: str
    filename: Optional[str]      # None for a text field
    content_type: Optional[str]  # the part's Content-Type header as sent
    head: bytes                  # the part's header lines, for the recording
    data: bytes

    @property
    def is_file(self):
        return self.filename is not None

    @property
    def mimetype(self):
        """The media type, lower-case; RFC 7578's text/plain when none was sent."""
        if self.content_type is None:
            return "text/plain"
        return self.content_type.split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Form:
    """A parsed multipart/form-data body."""

    boundary: str
    parts: tuple

    def named(self, *names):
        return [part for part in self.parts if part.name in names]

    def recording(self):
        """Text fields by name (a list when a name repeats), then "files"."""
        body = {}
        for part in self.parts:
            if part.is_file:
                continue
            value = part.data.decode("utf-8", errors="replace")
            if part.name not in body:
                body[part.name] = value
            elif isinstance(body[part.name], list):
                body[part.name].append(value)
            else:
                body[part.name] = [body[part.name], value]
        body["files"] = [{"field": part.name, "filename": part.filename,
                          "content_type": part.content_type, "size": len(part.data),
                          "sha256": hashlib.sha256(part.data).hexdigest()}
                         for part in self.parts if part.is_file]
        return body

    def skeleton(self):
        """The body as text, with each file's bytes replaced by "<N bytes>"."""
        delimiter = f"--{self.boundary}\r\n"
        pieces = []
        for part in self.parts:
            content = (f"<{len(part.data)} bytes>" if part.is_file
                       else part.data.decode("utf-8", errors="replace"))
            pieces.append(f"{delimiter}{part.head.decode('utf-8', errors='replace')}"
                          f"\r\n\r\n{content}\r\n")
        return "".join(pieces) + f"--{self.boundary}--\r\n"


def _malformed(why):
    return ApiError(400, f"Could not parse the multipart/form-data body: {why}.",
                    code="invalid_multipart_body")


def _header_params(name, value):
    """A header's main value (lower-case) and its parameters, unquoted."""
    message = email.message.Message()
    message[name] = value
    params = message.get_params(header=name) or [("", "")]
    main = params[0][0].strip().lower()
    return main, {key.lower(): email.utils.collapse_rfc2231_value(text)
                  for key, text in params[1:]}


def is_multipart(content_type):
    return _header_params("content-type", content_type or "")[0] == "multipart/form-data"


def parse_multipart(raw, content_type):
    """Split a multipart/form-data body (RFC 7578, CRLF line ends) into a Form."""
    boundary = _header_params("content-type", content_type)[1].get("boundary")
    if not boundary:
        raise _malformed("the Content-Type header has no boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    if raw.startswith(delimiter):
        position = len(delimiter)
    else:  # a preamble, which is ignored
        start = raw.find(b"\r\n" + delimiter)
        if start < 0:
            raise _malformed("no boundary line")
        position = start + 2 + len(delimiter)
    parts = []
    while raw[position:position + 2] != b"--":
        line_end = raw.find(b"\r\n", position)
        if line_end < 0 or raw[position:line_end].strip(b" \t"):
            raise _malformed("a boundary line is not followed by CRLF")
        end = raw.find(b"\r\n" + delimiter, line_end + 2)
        if end < 0:
            raise _malformed("no closing boundary")
        parts.append(_parse_part(raw[line_end + 2:end]))
        position = end + 2 + len(delimiter)
    return Form(boundary, tuple(parts))


def _parse_part(chunk):
    if chunk.startswith(b"\r\n"):
        head, data = b"", chunk[2:]
    else:
        head, separator, data = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise _malformed("a part has no blank line after its headers")
    headers = email.parser.HeaderParser().parsestr(
        head.decode("utf-8", errors="surrogateescape"))
    disposition, params = _header_params("content-disposition",
                                         headers.get("Content-Disposition", ""))
    if disposition != "form-data" or "name" not in params:
        raise _malformed("a part has no Content-Disposition: form-data with a name")
    filename = params.get("filename")
    if filename is not None:
        filename = filename.encode("utf-8", errors="surrogateescape").decode(
            "utf-8", errors="replace")
    return Part(name=params["name"], filename=filename,
                content_type=headers.get("Content-Type"), head=head, data=data)


def _form_value(name, text):
    """A text field converted to the type the schema gives it."""
    if name in FORM_INTEGERS:
        if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
            raise invalid_value(name, f"Invalid type for '{name}': expected an integer, "
                                      f"but got '{text}'.")
        return int(text)
    if name in FORM_BOOLEANS:
        if text.strip().lower() not in ("true", "false"):
            raise invalid_value(name, f"Invalid type for '{name}': expected a boolean "
                                      f"('true' or 'false'), but got '{text}'.")
        return text.strip().lower() == "true"
    return text


def form_fields(form, parameters, file_fields):
    """The text fields of a form, typed and checked like a JSON body; files must be
    in file_fields and nothing else may be a file."""
    body = {}
    for part in form.parts:
        if part.name in file_fields:
            if not part.is_file:
                raise invalid_value(part.name, f"Invalid type for '{part.name}': expected "
                                               "a file upload, but got a text field.")
            continue
        if part.name not in parameters:
            raise ApiError(400, f"Unknown parameter: '{part.name}'.", param=part.name,
                           code="unknown_parameter")
        if part.is_file:
            raise invalid_value(part.name, f"Invalid type for '{part.name}': expected a "
                                           "string, but got a file.")
        if part.name in body:
            raise ApiError(400, f"Duplicate parameter: '{part.name}'.", param=part.name,
                           code="duplicate_parameter")
        try:
            text = part.data.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid_value(part.name, f"Invalid '{part.name}': not UTF-8 text.") \
                from None
        body[part.name] = _form_value(part.name, text)
    _check_parameters(body, parameters)
    return body


# ---------------------------------------------------------------------------
# Input images of edits and variations

SUPPORTED_MIMETYPES = {"image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp"}
PIL_FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}
DATA_URL_PATTERN = re.compile(r"data:([^;,]*);base64,(.*)", re.DOTALL)
FILE_ID_PATTERN = re.compile(r"file-[A-Za-z0-9_-]+")
UNKNOWN_IMAGE_TOKENS = 765  # a reference the stand-in does not fetch: a 1024 square


@dataclass(frozen=True)
class InputImage:
    """An input image: bytes the stand-in decoded, or a reference it did not fetch."""

    param: str                     # "image", "image[]", "mask", "images[2].image_url"
    identity: str                  # "sha256:...", "url:...", or "file:..."
    format: Optional[str] = None   # png/jpeg/webp when decoded
    width: int = 0
    height: int = 0
    alpha: bool = False

    @property
    def decoded(self):
        return self.format is not None

    @property
    def dimensions(self):
        return (self.width, self.height)

    @property
    def tokens(self):
        """Input image tokens, by the vision formula: fit in 2048, short side 768,
        85 + 170 per 512-pixel tile."""
        if not self.decoded:
            return UNKNOWN_IMAGE_TOKENS
        scale = min(1.0, 2048 / max(self.dimensions))
        scale *= min(1.0, 768 / (min(self.dimensions) * scale))
        tiles = math.ceil(self.width * scale / 512) * math.ceil(self.height * scale / 512)
        return 85 + 170 * tiles


def _invalid_image(param, message):
    return ApiError(400, message, param=param, code="invalid_image_format")


def _unsupported_mimetype(param, mimetype, supported=SUPPORTED_MIMETYPES):
    listed = ", and ".join(", ".join(f"'{m}'" for m in sorted(supported)).rsplit(", ", 1))
    return ApiError(400, f"Invalid file '{param}': unsupported mimetype ('{mimetype}'). "
                         f"Supported file formats are {listed}.",
                    param=param, code="unsupported_file_mimetype")


def _too_large(param, size, limit, model):
    return ApiError(400, f"Invalid file '{param}': {size} bytes is too large; {model} "
                         f"takes images smaller than {limit // (1024 * 1024)} MB.",
                    param=param, code="file_too_large")


def inspect_image(param, data, mimetype):
    """Check the declared type and decode the bytes; return an InputImage."""
    if mimetype not in SUPPORTED_MIMETYPES:
        raise _unsupported_mimetype(param, mimetype)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            found = PIL_FORMATS.get(image.format)
            width, height = image.size
            alpha = "A" in image.getbands() or "transparency" in image.info
    except Exception:  # noqa: BLE001  (PIL raises many kinds for bad data)
        found = None
    if found is None:
        raise _invalid_image(param, f"Invalid file '{param}': the data is not a valid PNG, "
                                    "JPEG or WebP image.")
    if found != SUPPORTED_MIMETYPES[mimetype]:
        raise _invalid_image(param, f"Invalid file '{param}': the data is a "
                                    f"{found.upper()} image but its content type is "
                                    f"'{mimetype}'.")
    return InputImage(param, "sha256:" + hashlib.sha256(data).hexdigest(), found,
                      width, height, alpha)


def check_mask(mask, first):
    """A mask is a PNG with an alpha channel, the size of the first image."""
    if mask.format != "png":
        raise _invalid_image(mask.param, "Invalid mask image format - the mask must be a "
                                         "PNG image.")
    if not mask.alpha:
        raise _invalid_image(mask.param, "Invalid mask image format - mask image missing "
                                         "alpha channel.")
    if first.decoded and mask.dimensions != first.dimensions:
        raise ApiError(400, "Invalid mask: it is {}x{} but the first image is {}x{}; they "
                            "must have the same dimensions.".format(*mask.dimensions,
                                                                    *first.dimensions),
                       param=mask.param, code="invalid_image_dimensions")


MARKUP_MODELS = ("gpt-image-2.6-",)


def check_markup(markup, first, model):
    """A markup image (gpt-image-2.6; the wire name "markup" is the reference's best
    guess, §3.3): a PNG with alpha, the size of the first image."""
    if not model.startswith(MARKUP_MODELS):
        raise ApiError(400, f"The 'markup' parameter is not supported for {model}.",
                       param="markup", code="unsupported_parameter")
    if not markup.decoded:  # a file id or https URL: not fetched
        return
    if markup.format != "png" or not markup.alpha:
        raise _invalid_image("markup", "Invalid markup image - it must be a PNG image "
                                       "with an alpha channel.")
    if first.decoded and markup.dimensions != first.dimensions:
        raise ApiError(400, "Invalid markup: it is {}x{} but the first image is {}x{}; "
                            "they must have the same dimensions.".format(
                                *markup.dimensions, *first.dimensions),
                       param="markup", code="invalid_image_dimensions")


def _auto_edit_size(model, dimensions):
    """The size an edit with size auto comes back in: for gpt-image-2 and later the
    input's shape (at most 3:1) at about a megapixel, in 16-px steps; for the 1.x
    models the fixed size nearest its shape; for other models (a compatible
    server's own) the input's size."""
    width, height = dimensions
    family = model_family(model)
    if family == "flexible":
        ratio = min(3.0, max(1 / 3, width / height))
        w = max(16, round(math.sqrt(1024 * 1024 * ratio) / 16) * 16)
        h = max(16, round(w / ratio / 16) * 16)
        return w, h
    if family == "gpt1":
        if width > height * 1.2:
            return 1536, 1024
        return (1024, 1536) if height > width * 1.2 else (1024, 1024)
    return _fit_edge(dimensions)


def _fit_edge(dimensions):
    scale = min(1.0, MAX_EDGE / max(dimensions))
    return tuple(max(1, round(edge * scale)) for edge in dimensions)


def _edit(body, model, images, mask):
    """The Generation of a checked edit."""
    first = images[0]
    auto = (1024, 1024)  # dall-e-2 has no "auto": the schema's default
    if first.decoded and not model.startswith("dall-e"):
        auto = _auto_edit_size(model, first.dimensions)
    identities = tuple(image.identity for image in images)
    if mask is not None:
        identities += ("mask:" + mask.identity,)
    return _build(body, model, *_requested_size(body, auto), kind="edit",
                  inputs=identities,
                  input_image_tokens=sum(image.tokens for image in images))


def parse_form_edit(form):
    """Check a multipart CreateImageEditRequest; return a Generation."""
    body = form_fields(form, EDIT_PARAMETERS, EDIT_FILE_FIELDS)
    _require(body, "prompt")
    parts = form.named("image", "image[]")
    if not parts:
        raise ApiError(400, "Missing required parameter: 'image'.", param="image",
                       code="missing_required_parameter")
    if len({part.name for part in parts}) > 1:
        raise invalid_value("image", "Send the images as one 'image' field or as "
                                     "repeated 'image[]' fields, not both.")
    if len(parts) > MAX_EDIT_IMAGES:
        raise ApiError(400, f"Invalid 'image': too many images ({len(parts)}); you can "
                            f"provide up to {MAX_EDIT_IMAGES}.", param="image",
                       code="array_above_max_length")
    masks = form.named("mask")
    if len(masks) > 1:
        raise ApiError(400, "Duplicate parameter: 'mask'.", param="mask",
                       code="duplicate_parameter")
    model = body.get("model") or DEFAULT_EDIT_MODEL
    if model.startswith("dall-e-3"):
        raise invalid_value("model", f"Invalid value: '{model}'. Image edits support "
                                     "dall-e-2 and the GPT image models.")
    dalle = model.startswith("dall-e")
    limit = DALLE_FILE_LIMIT if dalle else GPT_IMAGE_FILE_LIMIT
    images = []
    for part in parts:
        if len(part.data) >= limit:
            raise _too_large(part.name, len(part.data), limit, model)
        images.append(inspect_image(part.name, part.data, part.mimetype))
    if dalle:
        _check_dalle_edit(images, parts[0].name)
    mask = None
    if masks:
        if len(masks[0].data) >= DALLE_FILE_LIMIT:
            raise _too_large("mask", len(masks[0].data), DALLE_FILE_LIMIT, model)
        mask = inspect_image("mask", masks[0].data, masks[0].mimetype)
        check_mask(mask, images[0])
    markups = form.named("markup")
    if len(markups) > 1:
        raise ApiError(400, "Duplicate parameter: 'markup'.", param="markup",
                       code="duplicate_parameter")
    if markups:
        check_markup(inspect_image("markup", markups[0].data, markups[0].mimetype),
                     images[0], model)
    _check_combinations(body, model, has_mask=bool(masks))
    return _edit(body, model, images, mask)


def _check_dalle_edit(images, param):
    if len(images) != 1:
        raise invalid_value(param, f"Invalid '{param}': dall-e-2 edits take exactly one "
                                   f"image, got {len(images)}.")
    [image] = images
    if image.format != "png":
        raise _invalid_image(param, f"Invalid '{param}': dall-e-2 edits take a PNG image, "
                                    f"got {image.format.upper()}.")
    if image.width != image.height:
        raise invalid_value(param, "Invalid '{}': dall-e-2 edits take a square image, got "
                                   "{}x{}.".format(param, *image.dimensions))


def image_reference(param, reference):
    """Check an ImageRefParam; decode a data: URL, record the others unfetched."""
    if not isinstance(reference, dict):
        raise invalid_value(param, f"Invalid type for '{param}': expected an object with "
                                   "'image_url' or 'file_id'.")
    for key in reference:
        if key not in ("image_url", "file_id"):
            raise ApiError(400, f"Unknown parameter: '{param}.{key}'.",
                           param=f"{param}.{key}", code="unknown_parameter")
    given = [key for key in ("image_url", "file_id") if reference.get(key) is not None]
    if len(given) != 1:
        raise invalid_value(param, f"Invalid '{param}': provide exactly one of "
                                   "'image_url' or 'file_id'.")
    name = f"{param}.{given[0]}"
    value = reference[given[0]]
    _check_string(name, value)
    if given[0] == "file_id":
        if not FILE_ID_PATTERN.fullmatch(value):
            raise invalid_value(name, f"Invalid '{name}': expected a file ID like "
                                      "'file-abc123'.")
        return InputImage(param, "file:" + value)
    if len(value) > IMAGE_URL_LIMIT:
        raise ApiError(400, f"Invalid '{name}': string too long. Expected a string with "
                            f"maximum length {IMAGE_URL_LIMIT}.", param=name,
                       code="string_above_max_length")
    if value.startswith("data:"):
        return _data_url_image(name, value)
    parts = urllib.parse.urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise invalid_value(name, f"Invalid '{name}': expected an https URL or a base64 "
                                  "data URL.")
    return InputImage(param, "url:" + value)


def _data_url_image(name, value):
    match = DATA_URL_PATTERN.fullmatch(value)
    if not match:
        raise invalid_value(name, f"Invalid '{name}': expected a base64 data URL like "
                                  "'data:image/png;base64,...'.")
    try:
        data = base64.b64decode(match[2], validate=True)
    except (binascii.Error, ValueError):
        raise invalid_value(name, f"Invalid '{name}': the data URL is not valid "
                                  "base64.") from None
    if len(data) >= GPT_IMAGE_FILE_LIMIT:
        raise _too_large(name, len(data), GPT_IMAGE_FILE_LIMIT, "the GPT image model")
    return inspect_image(name, data, match[1].strip().lower())


def parse_json_edit(body):
    """Check an EditImageBodyJsonParam body; return a Generation."""
    _check_parameters(body, JSON_EDIT_PARAMETERS)
    _require(body, "prompt")
    _require(body, "images")
    model = body.get("model") or DEFAULT_EDIT_MODEL
    if model.startswith("dall-e"):
        raise invalid_value("model", f"JSON edits support the GPT image models only; "
                                     f"{model} edits need a multipart/form-data request.")
    references = body["images"]
    if not isinstance(references, list):
        raise invalid_value("images", "Invalid type for 'images': expected an array of "
                                      "objects.")
    if not references:
        raise ApiError(400, "Invalid 'images': empty array. Expected an array with "
                            "minimum length 1.", param="images", code="empty_array")
    if len(references) > MAX_EDIT_IMAGES:
        raise ApiError(400, f"Invalid 'images': array too long. Expected an array with "
                            f"maximum length {MAX_EDIT_IMAGES}, but got an array with "
                            f"length {len(references)} instead.", param="images",
                       code="array_above_max_length")
    images = [image_reference(f"images[{i}]", item) for i, item in enumerate(references)]
    mask = None
    if body.get("mask") is not None:
        mask = image_reference("mask", body["mask"])
        if mask.decoded:
            check_mask(mask, images[0])
    if body.get("markup") is not None:
        check_markup(image_reference("markup", body["markup"]), images[0], model)
    _check_combinations(body, model, has_mask=mask is not None)
    return _edit(body, model, images, mask)


def parse_edit(raw, content_type, form):
    """An edit from either request form; `form` is the parsed multipart body (or the
    ApiError parsing it raised), None when the body is not multipart."""
    if isinstance(form, ApiError):
        raise form
    if form is not None:
        return parse_form_edit(form)
    if _header_params("content-type", content_type or "")[0] == "application/json":
        return parse_json_edit(parse_json_body(raw))
    raise ApiError(400, f"Invalid Content-Type header ({content_type!r}): image edits take "
                        "multipart/form-data or application/json.",
                   code="invalid_content_type")


def parse_variation(form):
    """Check a multipart CreateImageVariationRequest; return a Generation."""
    if isinstance(form, ApiError):
        raise form
    if form is None:
        raise ApiError(400, "Invalid Content-Type header: image variations take "
                            "multipart/form-data.", code="invalid_content_type")
    body = form_fields(form, VARIATION_PARAMETERS, ("image",))
    parts = form.named("image")
    if not parts:
        raise ApiError(400, "Missing required parameter: 'image'.", param="image",
                       code="missing_required_parameter")
    if len(parts) > 1:
        raise ApiError(400, "Duplicate parameter: 'image'.", param="image",
                       code="duplicate_parameter")
    [part] = parts
    if len(part.data) >= DALLE_FILE_LIMIT:
        raise _too_large("image", len(part.data), DALLE_FILE_LIMIT, "dall-e-2")
    if part.mimetype != "image/png":
        raise _unsupported_mimetype("image", part.mimetype, ("image/png",))
    image = inspect_image("image", part.data, part.mimetype)
    if image.width != image.height:
        raise invalid_value("image", "Invalid 'image': it must be square, got "
                                     "{}x{}.".format(*image.dimensions))
    return _build(body, "dall-e-2", *_requested_size(body, (1024, 1024)),
                  kind="variation", inputs=(image.identity,))


# ---------------------------------------------------------------------------
# Azure mode: the model comes from the deployment, then the OpenAI parsers run


class AzureError(ApiError):
    """An error in the shape an Azure OpenAI resource answers its own errors in (not
    the model's): {"error": {"code", "message", ...}}."""

    def __init__(self, status, code, message, headers=(), **extra):
        super().__init__(status, message, headers=headers)
        self.body = {"error": {"code": code, "message": message, **extra}}


AZURE_ACCESS_DENIED = ("Access denied due to invalid subscription key or wrong API "
                       "endpoint. Make sure to provide a valid key for an active "
                       "subscription and use a correct regional API endpoint for your "
                       "resource.")
AZURE_DEPLOYMENT_NOT_FOUND = ("The API deployment for this resource does not exist. If "
                              "you created the deployment within the last 5 minutes, "
                              "please wait a moment and try again.")


def azure_resource_not_found():
    return AzureError(404, "404", "Resource not found")


def azure_access_denied():
    return AzureError(401, "401", AZURE_ACCESS_DENIED)


def _deployment_model(deployments, name):
    model = deployments.get(name)
    if model is None:
        raise AzureError(404, "DeploymentNotFound", AZURE_DEPLOYMENT_NOT_FOUND)
    return model


def _model_not_allowed():
    return AzureError(400, "BadRequest", "The 'model' parameter is not allowed on a "
                                         "deployment path: the deployment names the "
                                         "model.", param="model")


def _check_azure_response_format(present, model):
    if present and not model.startswith("dall-e"):
        raise AzureError(400, "BadRequest", f"The 'response_format' parameter is not "
                                            f"supported for {model}: Azure OpenAI's GPT "
                                            f"image models always return b64_json.",
                         param="response_format")


def azure_json_body(body, model, deployments):
    """A JSON body for the OpenAI parser: `model` is the deployment's model (a
    deployment path, where the body may not name one) or None (the v1 form, where
    the body's `model` names the deployment)."""
    if model is not None:
        if "model" in body:
            raise _model_not_allowed()
    else:
        _require(body, "model")
        _check_string("model", body["model"])
        model = _deployment_model(deployments, body["model"])
    _check_azure_response_format("response_format" in body, model)
    return {**body, "model": model}


def azure_form(form, model, deployments):
    """A multipart edit for the OpenAI parser, its `model` field rewritten the way
    azure_json_body rewrites a JSON body's."""
    fields = form.named("model")
    if model is not None:
        if fields:
            raise _model_not_allowed()
        injected = Part(name="model", filename=None, content_type=None,
                        head=b'Content-Disposition: form-data; name="model"',
                        data=model.encode("utf-8"))
        parts = (injected, *form.parts)
    else:
        if not fields:
            _require({}, "model")
        if len(fields) > 1:
            raise ApiError(400, "Duplicate parameter: 'model'.", param="model",
                           code="duplicate_parameter")
        [given] = fields
        if given.is_file:
            raise invalid_value("model", "Invalid type for 'model': expected a string, "
                                         "but got a file.")
        model = _deployment_model(deployments, given.data.decode("utf-8", errors="replace"))
        parts = tuple(dataclasses.replace(part, data=model.encode("utf-8"))
                      if part is given else part for part in form.parts)
    _check_azure_response_format(bool(form.named("response_format")), model)
    return Form(form.boundary, parts)


def azure_request(kind, deployment, deployments, raw, content_type, form):
    """Check an Azure image request (kind "generations" or "edits"; `deployment` is
    the path's, or None for the v1 form); return a Generation or raise ApiError."""
    model = None if deployment is None else _deployment_model(deployments, deployment)
    if kind == "generations":
        return parse_generation(azure_json_body(parse_json_body(raw), model, deployments))
    if isinstance(form, ApiError):
        raise form
    if form is not None:
        return parse_form_edit(azure_form(form, model, deployments))
    if _header_params("content-type", content_type or "")[0] == "application/json":
        return parse_json_edit(azure_json_body(parse_json_body(raw), model, deployments))
    return parse_edit(raw, content_type, None)  # its Content-Type error


def azure_route(method, path, query, api_versions):
    """(kind, deployment or None) of an Azure image path, or raise AzureError."""
    match = AZURE_DEPLOYMENT_PATH.fullmatch(path)
    if method == "POST" and match:
        versions = urllib.parse.parse_qs(query, keep_blank_values=True).get("api-version")
        if versions is None:
            raise azure_resource_not_found()
        if versions[0] not in api_versions:
            raise AzureError(400, "BadRequest", "API version not supported")
        return match[2], urllib.parse.unquote(match[1])
    match = AZURE_V1_PATH.fullmatch(path)
    if method == "POST" and match:
        return match[1], None  # any api-version is ignored
    raise azure_resource_not_found()


# ---------------------------------------------------------------------------
# Images and the response body


def render_image(seed_text, width, height, image_format, transparent, compression=100):
    """Encode a picture derived from seed_text: a two-colour gradient, a few discs and
    noise texture so files have a realistic size.  Transparent pictures keep a central
    ellipse opaque and the corners clear.  Returns the encoded bytes."""
    digest = hashlib.sha256(seed_text.encode("utf-8")).digest()
    size = (width, height)
    gradient = Image.linear_gradient("L").rotate(digest[6] % 4 * 90).resize(size)
    image = Image.composite(Image.new("RGB", size, tuple(digest[0:3])),
                            Image.new("RGB", size, tuple(digest[3:6])), gradient)
    draw = ImageDraw.Draw(image)
    for i in range(5):
        x, y, r, c = digest[8 + 4 * i: 12 + 4 * i]
        radius = (r % 64 + 32) * min(size) // 256
        cx, cy = x * width // 256, y * height // 256
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(c, x, y))
    # Noise made at a quarter of the size and scaled up: texture, quickly.
    noise = Image.effect_noise((max(1, width // 4), max(1, height // 4)), 8).resize(size)
    image = ImageChops.add(image, Image.merge("RGB", (noise, noise, noise)), offset=-128)
    if transparent:
        alpha = Image.new("L", size, 0)
        ImageDraw.Draw(alpha).ellipse((width // 8, height // 8, width * 7 // 8,
                                       height * 7 // 8), fill=255)
        image.putalpha(alpha)
    return _encode(image, image_format, compression)


def render_gif(seed_text, width, height, transparent, frames, frame_ms):
    """An animated GIF: the seed's picture with a disc moving across it, `frames`
    frames of `frame_ms` each, looping forever.  Transparent GIFs keep the
    corners clear (GIF transparency is one bit)."""
    base = Image.open(io.BytesIO(render_image(seed_text, width, height, "png", False)))
    base.load()
    base = base.convert("RGB")
    pictures = []
    radius = max(2, min(width, height) // 10)
    for i in range(frames):
        frame = base.copy()
        cx = radius + (width - 2 * radius) * i // max(1, frames - 1)
        ImageDraw.Draw(frame).ellipse((cx - radius, height // 2 - radius, cx + radius,
                                       height // 2 + radius), fill=(255, 255, 255))
        frame = frame.quantize(colors=255)
        if transparent:
            mask = Image.new("L", (width, height), 255)
            ImageDraw.Draw(mask).ellipse((width // 8, height // 8, width * 7 // 8,
                                          height * 7 // 8), fill=0)
            frame.paste(255, mask=mask)
            frame.info["transparency"] = 255
        pictures.append(frame)
    buffer = io.BytesIO()
    options = {"transparency": 255} if transparent else {}
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=frame_ms, loop=0, disposal=2 if transparent else 0,
                     **options)
    return buffer.getvalue()


def render_svg(seed_text, width, height, transparent):
    """An SVG document drawn from the seed: a background rectangle (left out when
    transparent, as the API does) and a few discs."""
    digest = hashlib.sha256(seed_text.encode("utf-8")).digest()
    shapes = []
    if not transparent:
        shapes.append(f'<rect width="{width}" height="{height}" '
                      f'fill="#{digest[0]:02x}{digest[1]:02x}{digest[2]:02x}"/>')
    for i in range(5):
        x, y, r, c = digest[8 + 4 * i: 12 + 4 * i]
        shapes.append(f'<circle cx="{x * width // 256}" cy="{y * height // 256}" '
                      f'r="{(r % 64 + 32) * min(width, height) // 256}" '
                      f'fill="#{c:02x}{x:02x}{y:02x}"/>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">\n  ' + "\n  ".join(shapes) +
            "\n</svg>\n").encode("utf-8")


# Chroma-key pictures (see render_chroma_image).
CHROMA_PROMPT = re.compile(r"solid #([0-9A-Fa-f]{6}) chroma-key background")
CHROMA_SUBJECT = (200, 40, 40)  # far from every usual key colour
CHROMA_EDGE = 2.0               # the antialiased edge: pixels from fully in to fully out
CHROMA_SPILL_WIDTH = 6          # the rim inside the edge that carries the key's tint
CHROMA_SPILL = 30               # how much of the key colour the rim takes on


def chroma_key_color(prompt):
    """The (r, g, b) key a prompt asks for as its flat background, or None."""
    match = CHROMA_PROMPT.search(prompt or "")
    if match is None:
        return None
    return tuple(int(match[1][i:i + 2], 16) for i in (0, 2, 4))


def chroma_spilled(key, subject=CHROMA_SUBJECT):
    """The subject's colour on its rim: CHROMA_SPILL of the key's tint added,
    in proportion to the key's channels (#00FF00: +30 green; #FF00FF: +30 red
    and blue)."""
    return tuple(min(255, s + round(CHROMA_SPILL * k / 255)) for s, k in zip(subject, key))


def chroma_pixel(x, y, width, height, key, subject=CHROMA_SUBJECT):
    """The exact colour of pixel (x, y) of a chroma-key picture.

    The disc is centred at (width / 2, height / 2) with radius r = min(width,
    height) // 4; a pixel's distance d is measured from its centre (x + 0.5,
    y + 0.5).  Coverage is clamp((r + 1 - d) / 2, 0, 1): 1 inside r - 1, 0
    outside r + 1, linear over the two pixels between.  Pixels with d > r - 6
    have the spilled colour; the others the plain subject colour.  The pixel
    is coverage * colour + (1 - coverage) * key, rounded per channel."""
    radius = min(width, height) // 4
    d = math.hypot(x + 0.5 - width / 2, y + 0.5 - height / 2)
    coverage = min(1.0, max(0.0, (radius + CHROMA_EDGE / 2 - d) / CHROMA_EDGE))
    if coverage == 0.0:
        return tuple(key)
    colour = chroma_spilled(key, subject) if d > radius - CHROMA_SPILL_WIDTH else subject
    return tuple(int(math.floor(coverage * c + (1 - coverage) * k + 0.5))
                 for c, k in zip(colour, key))


def _uneven(image, key, amplitude):
    """The picture with its key-coloured background made uneven, as a real render's
    is: a left-to-right gradient of +-amplitude per channel and noise of
    +-amplitude/2; the subject (every pixel not exactly the key) is untouched."""
    width, height = image.size
    ramp = Image.linear_gradient("L").rotate(90).resize((width, height))
    noise = Image.effect_noise((width, height), max(1, amplitude // 2))
    # 128 is no change; the ramp spans 128 - amplitude .. 128 + amplitude.
    shift = Image.eval(ramp, lambda v: 128 - amplitude + v * 2 * amplitude // 255)
    shift = ImageChops.add(shift, noise, offset=-128)
    tinted = ImageChops.add(image, Image.merge("RGB", (shift, shift, shift)), offset=-128)
    flat = Image.new("RGB", (width, height), tuple(key))
    is_key = ImageChops.difference(image, flat).convert("L").point(lambda v: 255 if v == 0
                                                                   else 0)
    return Image.composite(tinted, image, is_key)


def render_chroma_image(key, width, height, image_format, compression=100, noise=0):
    """A flat background of exactly `key` with a disc of CHROMA_SUBJECT in the
    centre (chroma_pixel gives every pixel).  Only the pixels near the disc's
    edge are computed one by one; the rest are filled in spans."""
    image = Image.new("RGB", (width, height), tuple(key))
    radius = min(width, height) // 4
    cx, cy = width / 2, height / 2
    inner = radius - CHROMA_SPILL_WIDTH   # inside this: the plain subject colour
    outer = radius + CHROMA_EDGE / 2      # outside this: the key
    pixels = image.load()
    for y in range(height):
        dy = y + 0.5 - cy
        if abs(dy) >= outer:
            continue
        reach = math.sqrt(outer * outer - dy * dy)
        first = max(0, int(math.floor(cx - reach - 1)))
        last = min(width - 1, int(math.ceil(cx + reach + 1)))
        span = (0, -1)
        if inner > 0 and abs(dy) < inner - 1:
            # Every pixel whose centre is within core of cx is well inside `inner`.
            core = math.sqrt(inner * inner - dy * dy) - 1
            span = (int(math.ceil(cx - core - 0.5)), int(math.floor(cx + core - 0.5)))
            if span[0] <= span[1]:
                image.paste(CHROMA_SUBJECT, (span[0], y, span[1] + 1, y + 1))
        for x in range(first, last + 1):
            if not span[0] <= x <= span[1]:
                pixels[x, y] = chroma_pixel(x, y, width, height, key)
    if noise:
        image = _uneven(image, key, noise)
    return _encode(image, image_format, compression)


def _encode(image, image_format, compression):
    options = {
        "png": {"format": "PNG", "compress_level": 1},  # speed over size
        "jpeg": {"format": "JPEG", "quality": compression},
        "webp": {"format": "WEBP", "quality": compression, "method": 0},
    }[image_format]
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return buffer.getvalue()


def estimate_usage(generation, images=None, count_input=True):
    """Plausible ImageGenUsage: text tokens from the prompt's words, input image
    tokens from the inputs of an edit, output image tokens from pixels and quality.
    `images` output images (default: n); input tokens only when count_input."""
    text_tokens = max(1, math.ceil(len(generation.prompt.split()) * 4 / 3))
    input_images = generation.input_image_tokens
    if not count_input:
        text_tokens = input_images = 0
    if generation.model.startswith("gpt-image-2"):
        quality = generation.quality if generation.quality in RULE_QUALITY_FACTOR else \
            generation.reported_quality
        per_image = rule_output_tokens(quality, generation.width, generation.height)
    else:
        scale = generation.width * generation.height / (1024 * 1024)
        per_image = round(TOKENS_PER_1024_SQUARE[generation.reported_quality] * scale)
    per_image = round(per_image * generation.token_scale)
    image_tokens = max(1, per_image) * (generation.n if images is None else images)
    return {
        "input_tokens": text_tokens + input_images,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": input_images},
        "output_tokens": image_tokens,
        "output_tokens_details": {"image_tokens": image_tokens, "text_tokens": 0},
        "total_tokens": text_tokens + input_images + image_tokens,
    }


def images_response(generation, items):
    """An ImagesResponse around data items ({"b64_json": ...} or {"url": ...})."""
    if generation.model.startswith("dall-e-3"):
        revised = f"A detailed, vivid rendering of: {generation.prompt}"
        items = [{**item, "revised_prompt": revised} for item in items]
    response = {"created": int(time.time()), "data": items}
    if not generation.is_dalle:
        response.update(
            background="transparent" if generation.transparent else "opaque",
            output_format=generation.output_format,
            quality=generation.reported_quality,
            size=f"{generation.width}x{generation.height}",
            usage=estimate_usage(generation),
        )
    return response


# ---------------------------------------------------------------------------
# Streams (Server-Sent Events)

STREAM_EVENT_PREFIX = {"generation": "image_generation", "edit": "image_edit"}


def render_partial(final, step, steps, image_format, compression):
    """Partial image `step` of `steps`: the final picture pixelated, coarser for
    earlier steps, in the same size and format."""
    with Image.open(io.BytesIO(final)) as image:
        image.load()
        factor = 2 ** (steps - step + 1)
        width, height = image.size
        coarse = image.resize((max(1, width // factor), max(1, height // factor)),
                              Image.BILINEAR).resize((width, height), Image.NEAREST)
    return _encode(coarse, image_format, compression)


def stream_events(generation, finals, partials, usage_shape="split"):
    """The events of a stream as (event name, payload) pairs: for each image i, the
    partial images partials[i] (indexes from 0), then its completed event.  With the
    "split" usage shape only the first completed event counts input tokens and each
    its own image's output, so the usages add up; with "total" every completed event
    carries the whole request's usage; with "each" every one its own image's output
    and the request's input, so images alike have equal usages (which shape the API
    uses is undocumented)."""
    prefix = STREAM_EVENT_PREFIX[generation.kind]
    common = {
        "created_at": int(time.time()),
        "size": f"{generation.width}x{generation.height}",
        "quality": generation.reported_quality,
        "background": "transparent" if generation.transparent else "opaque",
        "output_format": generation.image_format,
    }
    events = []
    for i, final in enumerate(finals):
        for j, partial in enumerate(partials[i]):
            events.append((f"{prefix}.partial_image", {
                "type": f"{prefix}.partial_image",
                "b64_json": base64.b64encode(partial).decode("ascii"),
                **common, "partial_image_index": j}))
        events.append((f"{prefix}.completed", {
            "type": f"{prefix}.completed",
            "b64_json": base64.b64encode(final).decode("ascii"),
            **common, "usage": estimate_usage(generation) if usage_shape == "total"
            else estimate_usage(generation, images=1,
                                count_input=i == 0 or usage_shape == "each")}))
    return events


def stream_error_event(request_id):
    return ("error", {"type": "error", "error": {
        "type": "server_error", "code": "server_error", "param": None,
        "message": "The server had an error while processing your request. Sorry about "
                   f"that! You can retry your request, or contact us through our help "
                   f"center if the error persists. (Please include the request ID "
                   f"{request_id} in your message.)"}})


def sse_block(name, data, newline="\n", event_id=None, comment=None):
    """One event, ended by a blank line: [id:] event: [: comment] data:."""
    lines = [] if event_id is None else [f"id: {event_id}"]
    lines.append(f"event: {name}")
    if comment is not None:
        lines.append(f": {comment}")
    lines.append(f"data: {data}")
    return (newline.join(lines) + newline * 2).encode("utf-8")


def awkward_cuts(block):
    """Where the stream_split fault cuts an event: inside field names, right after
    the colons, around and in the middle of the base64, between CR and LF and after
    every line end."""
    cuts = set()
    for marker in (b"event:", b"data:", b"id:"):
        at = block.find(marker)
        if at >= 0:
            cuts.update((at + 2, at + len(marker), at + len(marker) + 2))
    key = block.find(b'"b64_json":"')
    if key >= 0:
        start = key + len(b'"b64_json":"')
        end = block.find(b'"', start)
        middle = (start + end) // 2
        cuts.update((key + 4, start, start + 1, middle, middle + 1, end - 1, end))
    for match in re.finditer(rb"\r\n|\n", block):
        cuts.update((match.start() + 1, match.end()))
    return sorted(cut for cut in cuts if 0 < cut < len(block))


def split_block(block):
    """The pieces of an event for the stream_split fault."""
    bounds = [0, *awkward_cuts(block), len(block)]
    return [block[a:b] for a, b in zip(bounds, bounds[1:])]


def stream_blocks(events, fault):
    """Serialise events as the fault (or None) wants them."""
    blocks = []
    for index, (name, payload) in enumerate(events):
        if fault == "invalid_b64" and "b64_json" in payload:
            payload = {**payload, "b64_json": INVALID_B64}
        if fault == "stream_odd_index" and "partial_image_index" in payload:
            odd = ODD_PARTIAL_INDEXES[payload["partial_image_index"]]
            payload = {**payload, "partial_image_index": odd}
        data = json.dumps(payload, separators=(",", ":"))
        if fault == "stream_malformed" and name.endswith(".completed") and not any(
                n.endswith(".completed") for n, _ in events[:index]):
            data = data[: len(data) // 2]  # the first completed event: not JSON
        if fault == "stream_comments":
            keep_alive = b": keep-alive\n\n" if index else b""
            blocks.append(keep_alive + sse_block(name, data, event_id=str(index),
                                                 comment="stand-in progress"))
        elif fault == "stream_crlf" or (fault == "stream_split" and index % 2):
            blocks.append(sse_block(name, data, "\r\n"))
        else:
            blocks.append(sse_block(name, data))
    if fault == "truncate":  # half of the whole stream, cut wherever that falls
        budget = sum(map(len, blocks)) // 2
        cut = []
        for block in blocks:
            cut.append(block[:budget])
            budget -= len(cut[-1])
            if budget <= 0:
                break
        blocks = cut
    return blocks


# ---------------------------------------------------------------------------
# Fault answers


def _server_error(status, message):
    return ApiError(status, message, type_="server_error")


ERROR_FAULTS = {
    "500": lambda request_id: _server_error(
        500, "The server had an error while processing your request. Sorry about that!"),
    "502": lambda request_id: _server_error(502, "Bad gateway."),
    "408": lambda request_id: ApiError(408, "Request timed out.", type_="timeout"),
    "409": lambda request_id: ApiError(
        409, "Another request is modifying this resource; retry it.", type_="conflict"),
    "503": lambda request_id: _server_error(
        503, "The engine is currently overloaded, please try again later."),
    "quota": lambda request_id: ApiError(
        429, "You exceeded your current quota, please check your plan and billing details.",
        type_="insufficient_quota", code="insufficient_quota"),
    # The envelope is all any reference documents of a moderation block.
    "moderation": lambda request_id: _moderation_blocked(request_id),
    # Details of the block, in a shape no reference documents (moderation_details
    # with a stage and categories): the tool shows them when a server sends them.
    "moderation_details": lambda request_id: _moderation_blocked(
        request_id, moderation_details={"stage": "input", "categories": ["violence"]}),
    "400": lambda request_id: invalid_value(
        "size", "Invalid value: '1000x1000'. Supported values are: '1024x1024', "
                "'1024x1536', '1536x1024', and 'auto'."),
}

INVALID_JSON_BODY = b'{"created": 1700000000, "data": [{"b64_json": "iVBORw0KGgo'
# Faults that only an image answer can have: not applied to (nor counted by) the
# Files and Batch API.
IMAGE_BODY_FAULTS = STREAM_FAULTS | {"invalid_b64"}


def fault_applies(patterns, method, path, image):
    """Whether the fault_paths patterns take in a request: "images" every image
    request; "METHOD /path" or "/path" (fnmatch patterns) a request by its path."""
    for pattern in patterns:
        if pattern == "images":
            if image:
                return True
            continue
        want, _, glob = pattern.rpartition(" ")
        if (not want or want.upper() == method) and fnmatch.fnmatchcase(path, glob):
            return True
    return False
INVALID_B64 = "!!!not-base64***"


def rate_limit_error(limit, retry_after, retry_after_ms):
    headers = [("x-ratelimit-limit-requests", str(limit)),
               ("x-ratelimit-remaining-requests", "0"),
               ("x-ratelimit-reset-requests", f"{retry_after or 1}s")]
    if retry_after is not None:
        headers.append(("retry-after", retry_after))
    if retry_after_ms is not None:
        headers.append(("retry-after-ms", retry_after_ms))
    message = (f"Rate limit reached for images per min (rpm) in organization org-standin: "
               f"Limit {limit}, Used {limit}, Requested 1. "
               f"Please try again in {retry_after or 1}s.")
    return ApiError(429, message, type_="requests", code="rate_limit_exceeded",
                    headers=headers)


def _same(given, expected):
    """A constant-time comparison of two header texts (any characters)."""
    return secrets.compare_digest(given.encode("utf-8", errors="surrogateescape"),
                                  expected.encode("utf-8", errors="surrogateescape"))


def redact_key(key):
    """Enough of a key to recognise it, never all of it."""
    return f"{key[:3]}***{key[-4:]}" if len(key) > 12 else "***"


# ---------------------------------------------------------------------------
# The stand-in: shared state, guarded by one lock


@dataclass
class Verdict:
    """What admit() decided for one request."""

    fault: Optional[str] = None
    retry_after: Optional[str] = None  # set when the rpm window refused the request


class Standin:
    """The stand-in server and its state.  All public methods are thread-safe."""

    def __init__(self, key=DEFAULT_KEY, port=0, host="127.0.0.1"):
        self._default_key = key
        self._address = (host, port)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = None
        self._thread = None
        self._image_cache = OrderedDict()
        self._files = OrderedDict()
        self._inflight = 0
        # The Files and Batch API's files and batches (reset() empties them).
        self._batch_lock = threading.RLock()
        self.reset()

    # -- lifecycle

    def start(self):
        """Listen and serve in a daemon thread; returns self."""
        self._stopping.clear()
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="standin", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop listening; requests sleeping in a delay are woken."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def origin(self):
        return f"http://{self._server.server_address[0]}:{self.port}"

    @property
    def url(self):
        return self.origin + API_PREFIX

    @property
    def azure_url(self):
        """The Azure mode's API root: + "/deployments/NAME/images/generations?api-version=V"
        or + "/v1" (the v1 form's base URL)."""
        return self.origin + AZURE_PREFIX

    # -- control

    def configure(self, **knobs):
        """Merge knobs into the config.  Setting fault or fault_count restarts the
        fault count; fail_rate or fail_seed reseeds; rpm_limit empties the window."""
        converted = convert_knobs(knobs)
        with self._lock:
            self._config = dataclasses.replace(self._config, **converted)
            if "fault" in converted or "fault_count" in converted:
                self._faults_left = self._config.fault_count
            if "fail_rate" in converted or "fail_seed" in converted:
                self._random = random.Random(self._config.fail_seed)
            if "rpm_limit" in converted or "rpm_mode" in converted:
                self._window.clear()
                self._bucket = None

    def reset(self, baseline=None):
        """Back to the default config (with the knobs of `baseline`, which later
        resets keep until another baseline is given); forget recorded requests and
        counters."""
        with self._lock:
            if baseline is not None:
                self._baseline = convert_knobs(dict(baseline))
            self._config = Config(key=self._default_key, **getattr(self, "_baseline", {}))
            self._faults_left = self._config.fault_count
            self._random = random.Random(self._config.fail_seed)
            self._window = deque()
            self._bucket = None
            self._statuses = {}
            self._recorded = []
            self._responses = []
            self._downloads = []
            # Answers held by an earlier test go on; this test's holds start anew.
            getattr(self, "_release", threading.Event()).set()
            self._release = threading.Event()
            self._answers = 0
            self._holds = 0
            self._held = 0
            self._epoch = getattr(self, "_epoch", 0) + 1
            self._inflight = 0
            self._peak_inflight = 0
            self._arrivals = []
            self._api_files = OrderedDict()
            self._batches = OrderedDict()
            self._batch_counts = {"files": 0, "batches": 0, "batch_polls": 0}
            self._batch_api_used = False

    @property
    def config(self):
        with self._lock:
            return self._config

    @property
    def requests(self):
        """A copy of the recorded API requests, oldest first."""
        with self._lock:
            return list(self._recorded)

    @property
    def downloads(self):
        """A copy of the recorded GET /files/... requests (dall-e URL answers),
        oldest first, each as a request is recorded."""
        with self._lock:
            return list(self._downloads)

    def stats(self):
        """Requests, in flight, held, peak in flight, statuses; and once the Files or
        Batch API was called since the last reset, files (uploads taken), batches
        (created) and batch_polls (GET /v1/batches/ID answered)."""
        with self._lock:
            stats = {"requests": len(self._recorded), "inflight": self._inflight,
                     "held": self._held,
                     "peak_inflight": self._peak_inflight,
                     "statuses": {str(k): v for k, v in sorted(self._statuses.items())}}
            if self._batch_api_used:
                stats.update(self._batch_counts)
            return stats

    def count_status(self, status):
        """Tally an answer's status (for benchmarks: how many 429s)."""
        with self._lock:
            self._statuses[status] = self._statuses.get(status, 0) + 1

    # -- used by the request handler

    def record(self, method, path, headers, raw, form=None, download=False,
               request_id=None):
        """Keep a request (a download apart); `form` is its parsed multipart body,
        if it has one; `request_id` the x-request-id its answer carries."""
        if isinstance(form, Form):
            body, text = form.recording(), form.skeleton()
        else:
            try:
                body = _shorten_data_urls(json.loads(raw)) if raw else None
            except ValueError:
                body = None
            text = raw[:RAW_BODY_LIMIT].decode("utf-8", errors="replace")
        entry = {
            "method": method,
            "path": path,
            "headers": {name.lower(): value for name, value in headers.items()},
            "content_type": headers.get("Content-Type"),
            "body": body,
            "raw": text[:RAW_BODY_LIMIT],
            "time": time.time(),
            "request_id": request_id,
        }
        with self._lock:
            (self._downloads if download else self._recorded).append(entry)

    @contextlib.contextmanager
    def inflight(self, arrival=False):
        """Count a request in flight.  Requests that began before the last reset
        (a killed client's, still sleeping) belong to an earlier test: they are
        not counted against the next one.  On an image request's arrival, the count
        (this one included) is kept in order, for arrivals()."""
        with self._lock:
            epoch = self._epoch
            self._inflight += 1
            self._peak_inflight = max(self._peak_inflight, self._inflight)
            if arrival:
                self._arrivals.append(self._inflight)
        try:
            yield
        finally:
            with self._lock:
                if self._epoch == epoch:
                    self._inflight -= 1

    def take_hold(self):
        """The fraction of its body an image answer sends before it waits for
        release(), or None to send it whole (hold_body, hold_after, hold_count)."""
        with self._lock:
            config = self._config
            self._answers += 1
            if (config.hold_body < 0 or self._answers <= config.hold_after or
                    self._holds >= config.hold_count):
                return None
            self._holds += 1
            self._held += 1
            return min(1.0, config.hold_body), (self._release, self._epoch)

    def wait_for_release(self, hold):
        """Block a held answer until release(), a reset or the server stops.  An
        answer held by an earlier test (before the last reset) no longer counts:
        its end must not take one off this test's count of held answers."""
        event, epoch = hold
        while not event.wait(0.05) and not self._stopping.is_set():
            pass
        with self._lock:
            if self._epoch == epoch:
                self._held -= 1

    def release(self):
        """Let every held answer finish."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()

    def record_response(self, path, status, payload, event=None, azure=False, **extra):
        """Keep what an API answer said (a stream's events one by one, each with its
        event name), long strings cut short, for the tests that hold the stand-in's
        answers to the API's response schemas; `azure` when it answered as Azure.
        The Files and Batch API's answers add their operation (the spec's
        operationId) and what the check needs besides; each line a batch runs is
        kept as an answer of its endpoint's path, with the batch's id."""
        entry = {"path": path, "status": status, "body": _shorten_strings(payload),
                 "azure": azure, **extra}
        if event is not None:
            entry["event"] = event
        with self._lock:
            self._responses.append(entry)

    def responses(self):
        """The API answers sent since the last reset (record_response), in order."""
        with self._lock:
            return list(self._responses)

    def arrivals(self):
        """How many image requests were in flight as each one arrived (itself
        included), in order of arrival, since the last reset."""
        with self._lock:
            return list(self._arrivals)

    def wait_held(self, count=1, timeout=20.0):
        """Wait until `count` answers are held mid-body; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._held >= count:
                    return True
            time.sleep(0.01)
        return False

    def sleep(self, seconds):
        """Wait, but wake early when the server stops."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def admit(self, config, streaming=False, faults=True):
        """Apply the rpm window, then the configured fault, then fail_rate (unless
        `faults` is false: the request's path is not in fault_paths).  The stream
        faults apply to (and are counted by) streaming requests only."""
        now = time.monotonic()
        applies = faults and (streaming or config.fault not in STREAM_FAULTS)
        with self._lock:
            if config.rpm_limit is not None and config.rpm_mode == "bucket":
                tokens = self._refill(config, now)
                if tokens < 1:
                    wait = (1 - tokens) * 60.0 / config.rpm_limit
                    return Verdict("429", retry_after=str(max(1, math.ceil(wait))))
                self._bucket = (tokens - 1, now)
            else:
                self._prune_window(now)
                if config.rpm_limit is not None and len(self._window) >= config.rpm_limit:
                    wait = self._window[0] + RPM_WINDOW_SECONDS - now
                    return Verdict("429", retry_after=str(max(1, math.ceil(wait))))
                self._window.append(now)
            if config.fault is not None and self._faults_left != 0 and applies:
                if self._faults_left > 0:
                    self._faults_left -= 1
                return Verdict(config.fault)
            if (faults and config.fail_rate > 0
                    and self._random.random() < config.fail_rate):
                return Verdict("500")
        return Verdict()

    def admit_api(self, config, method, path):
        """The fault and fail_rate for a Files or Batch API request whose "METHOD
        /v1/path" is in fault_paths (no rpm window: those endpoints have limits of
        their own).  Faults about image bodies and streams do not apply here, and do
        not count."""
        if not fault_applies(config.fault_paths, method, path, image=False):
            return Verdict()
        with self._lock:
            if (config.fault is not None and self._faults_left != 0
                    and config.fault not in IMAGE_BODY_FAULTS):
                if self._faults_left > 0:
                    self._faults_left -= 1
                return Verdict(config.fault)
            if config.fail_rate > 0 and self._random.random() < config.fail_rate:
                return Verdict("500")
        return Verdict()

    def _refill(self, config, now):
        """The bucket's tokens now (call with the lock held)."""
        capacity = max(1.0, config.rpm_limit / 60.0)
        if self._bucket is None:
            return capacity
        tokens, then = self._bucket
        return min(capacity, tokens + (now - then) * config.rpm_limit / 60.0)

    def ratelimit_headers(self, config):
        now = time.monotonic()
        limit = config.rpm_limit or DEFAULT_RPM_LIMIT
        if config.rpm_limit is not None and config.rpm_mode == "bucket":
            with self._lock:
                tokens = self._refill(config, now)
            capacity = max(1.0, limit / 60.0)
            reset_ms = (capacity - tokens) * 60000.0 / limit
            return [("x-ratelimit-limit-requests", str(limit)),
                    ("x-ratelimit-remaining-requests", str(int(tokens))),
                    ("x-ratelimit-reset-requests", f"{math.ceil(reset_ms)}ms")]
        with self._lock:
            self._prune_window(now)
            used = len(self._window)
            reset = self._window[0] + RPM_WINDOW_SECONDS - now if used else 0.0
        return [("x-ratelimit-limit-requests", str(limit)),
                ("x-ratelimit-remaining-requests", str(max(0, limit - used))),
                ("x-ratelimit-reset-requests", f"{math.ceil(reset)}s")]

    def _prune_window(self, now):
        while self._window and self._window[0] <= now - RPM_WINDOW_SECONDS:
            self._window.popleft()

    def image(self, generation, index):
        """The encoded bytes of image `index` of a generation, cached."""
        key = (generation.seed(index), generation.width, generation.height,
               generation.image_format, generation.transparent,
               generation.output_compression, generation.frame_count,
               generation.frame_duration_ms, self.config.chroma_noise,
               self.config.chroma_ignored)
        with self._lock:
            if key in self._image_cache:
                self._image_cache.move_to_end(key)
                return self._image_cache[key]
        key_color = None if self.config.chroma_ignored else chroma_key_color(
            generation.prompt)
        if generation.image_format == "gif":
            data = render_gif(generation.seed(index), generation.width, generation.height,
                              generation.transparent, generation.frame_count,
                              generation.frame_duration_ms)
        elif generation.image_format == "svg":
            data = render_svg(generation.seed(index), generation.width, generation.height,
                              generation.transparent)
        elif key_color is not None:
            data = render_chroma_image(key_color, generation.width, generation.height,
                                       generation.image_format,
                                       generation.output_compression,
                                       noise=self.config.chroma_noise)
        else:
            data = render_image(generation.seed(index), generation.width,
                                generation.height, generation.image_format,
                                generation.transparent, generation.output_compression)
        with self._lock:
            _put_bounded(self._image_cache, key, data, IMAGE_CACHE_ENTRIES)
        return data

    def images_payload(self, generation, config=None):
        """The ImagesResponse of a checked, non-streaming request (with the knobs of
        `config`, default the current ones)."""
        config = config or self.config
        generation = dataclasses.replace(generation,
                                         token_scale=config.output_tokens_scale)
        images = [self.image(generation, i) for i in range(generation.n)]
        if generation.returns_url:
            items = [{"url": self.store_file(data)} for data in images]
        else:
            if config.c2pa and generation.image_format == "png":
                images = [with_manifest(data, generation.model) for data in images]
            if config.cut_documents and generation.image_format in ("gif", "svg"):
                images = [data[:len(data) // 2] for data in images]
            items = [{"b64_json": base64.b64encode(data).decode("ascii")}
                     for data in images]
        return images_response(generation, items)

    # -- the Files and Batch API (requests already checked; see Files and batches)

    def note_batch_api(self):
        """A Files or Batch API request came: stats() shows their counts."""
        with self._lock:
            self._batch_api_used = True

    def _count(self, name):
        with self._lock:
            self._batch_counts[name] += 1

    def add_file(self, data, filename, purpose, ttl=None, endpoint=None, upload=True):
        """Store a file of the Files API; returns it.  A batch input file expires
        after 30 days unless `ttl` says otherwise; `upload` counts it in stats()."""
        now = int(time.time())
        if ttl is None and purpose == "batch":
            ttl = BATCH_FILE_TTL
        stored = StoredFile(new_file_id(), data, filename, purpose, now,
                            None if ttl is None else now + ttl, endpoint)
        with self._batch_lock:
            self._api_files[stored.id] = stored
        if upload:
            self._count("files")
        return stored

    def api_file(self, file_id, param="id"):
        """A stored file, or the API's 404."""
        with self._batch_lock:
            stored = self._api_files.get(file_id)
        if stored is None:
            raise no_such_file(file_id, param)
        return stored

    def delete_file(self, file_id):
        with self._batch_lock:
            if self._api_files.pop(file_id, None) is None:
                raise no_such_file(file_id)
        return {"id": file_id, "object": "file", "deleted": True}

    def list_files(self, purpose=None, order="desc", after=None, limit=10000):
        with self._batch_lock:
            files = [stored.object() for stored in self._api_files.values()
                     if purpose is None or stored.purpose == purpose]
        if order == "desc":
            files.reverse()
        return list_page(files, after, limit)

    def create_batch(self, request, config):
        """A new batch of an uploaded purpose=batch file; its Batch."""
        with self._batch_lock:
            stored = self.api_file(request["input_file_id"], "input_file_id")
            if stored.purpose != "batch":
                raise invalid_value("input_file_id", f"Invalid 'input_file_id': the file "
                                                     f"{stored.id} has purpose "
                                                     f"'{stored.purpose}'; a batch's "
                                                     f"input file needs purpose 'batch'.")
            job = BatchJob(request, stored, config, int(time.time()))
            self._batches[job.id] = job
            self._count("batches")
            return job.object()

    def _job(self, batch_id):
        job = self._batches.get(batch_id)
        if job is None:
            raise ApiError(404, f"No batch found with id '{batch_id}'.", param="batch_id")
        return job

    def retrieve_batch(self, batch_id):
        """One poll: the batch moves on a step (see Files and batches)."""
        with self._batch_lock:
            job = self._job(batch_id)
            self._advance(job)
            self._count("batch_polls")
            return job.object()

    def batch(self, batch_id):
        """A batch's Batch as it is now (a look that is not a poll), for tests."""
        with self._batch_lock:
            return self._job(batch_id).object()

    def cancel_batch(self, batch_id):
        with self._batch_lock:
            job = self._job(batch_id)
            if job.status in ("validating", "in_progress"):
                job.status = "cancelling"
                job.times["cancelling_at"] = int(time.time())
            elif job.status != "cancelling":
                raise ApiError(409, f"Cannot cancel a batch with status '{job.status}'.",
                               param="batch_id")
            return job.object()

    def list_batches(self, after=None, limit=20):
        with self._batch_lock:
            batches = [job.object() for job in reversed(self._batches.values())]
        return list_page(batches, after, limit)

    def _advance(self, job):
        """One tick of a batch's clock (its polls): each phase lasts batch_steps
        polls, the lines running as in_progress goes."""
        job.polls += 1
        steps, now = job.config.batch_steps, int(time.time())
        tick = job.polls
        if job.status == "cancelling":
            return self._finish(job, "cancelled", now)
        if job.status == "validating" and tick > steps:
            if job.file_errors or job.config.batch_outcome == "failed":
                job.errors = {"object": "list",
                              "data": job.file_errors or [job.forced_failure()]}
                job.status = "failed"
                job.times["failed_at"] = now
                return None
            job.status = "in_progress"
            job.times["in_progress_at"] = now
            job.times["expires_at"] = job.created_at + BATCH_WINDOW_SECONDS
            job.counts["total"] = len(job.lines)
            job.shown_model = job.model
        if job.status == "in_progress":
            into = tick - steps        # 1..steps while in progress
            total = len(job.lines)
            target = total if into > steps else total * into // (steps + 1)
            if job.config.batch_outcome == "expired":
                target = min(target, total // 2)
            self._run_lines(job, target)
            if into <= steps:
                return None
            if job.config.batch_outcome == "expired":
                return self._finish(job, "expired", job.times["expires_at"])
            job.status = "finalizing"
            job.times["finalizing_at"] = now
        if job.status == "finalizing" and tick > 3 * steps:
            self._finish(job, "completed", now)
        return None

    def _run_lines(self, job, target):
        while job.done < target:
            custom_id, body = job.lines[job.done]
            kind, entry, usage = self._run_line(job, job.done, custom_id, body)
            job.results.append((custom_id, kind, entry))
            job.counts["completed" if kind == "output" else "failed"] += 1
            if usage:
                details = usage.get("input_tokens_details") or {}
                job.usage["input_tokens"] += usage["input_tokens"]
                job.usage["input_tokens_details"]["cached_tokens"] += \
                    details.get("cached_tokens", 0)
                job.usage["output_tokens"] += usage["output_tokens"]
                job.usage["total_tokens"] += usage["total_tokens"]
            job.done += 1

    def _run_line(self, job, index, custom_id, body):
        """Answer one line as its endpoint would: ("output" or "error", the output
        file's line, the usage or None)."""
        config = job.config
        request_id = "req_" + secrets.token_hex(16)
        entry = {"id": "batch_req_" + secrets.token_hex(16), "custom_id": custom_id}
        try:
            if job.endpoint == "/v1/images/edits":
                generation = parse_json_edit(body)
            else:
                generation = parse_generation(body)
            if generation.stream:
                raise invalid_value("stream", "Streaming is not supported in the Batch "
                                              "API.")
            if not config.compat:
                check_today(generation)
            else:
                check_historical_size(generation)
            if generation.model in config.shutdown_models:
                raise model_shut_down(generation.model)
            if _line_fails(config.batch_line_errors, index, custom_id):
                raise _moderation_blocked(request_id)
        except ApiError as error:
            self.record_response(job.endpoint, error.status, error.body, batch=job.id)
            entry.update(response={"status_code": error.status, "request_id": request_id,
                                   "body": error.body}, error=None)
            return "error", entry, None
        payload = self.images_payload(generation, config)
        self.record_response(job.endpoint, 200, payload, batch=job.id)
        entry.update(response={"status_code": 200, "request_id": request_id,
                               "body": payload}, error=None)
        return "output", entry, payload.get("usage")

    def _finish(self, job, status, when):
        """The batch ends (completed, expired or cancelled): lines that never ran go
        to the error file, and the output and error files are made (each only when
        it has lines)."""
        job.status = status
        job.times[f"{status}_at"] = when
        if status in UNFINISHED_LINES and job.counts["total"]:
            code, message = UNFINISHED_LINES[status]
            for custom_id, _ in job.lines[job.done:]:
                job.results.append((custom_id, "error", {
                    "id": "batch_req_" + secrets.token_hex(16), "custom_id": custom_id,
                    "response": None, "error": {"code": code, "message": message}}))
                job.counts["failed"] += 1
            job.done = len(job.lines)
        results = sorted(job.results, key=lambda result: _scrambled(result[0]))
        for kind, attribute in (("output", "output_file_id"), ("error", "error_file_id")):
            entries = [entry for _, which, entry in results if which == kind]
            if entries:
                stored = self.add_file(_jsonl(entries), f"{job.id}_{kind}.jsonl",
                                       "batch_output", job.output_ttl, job.endpoint,
                                       upload=False)
                setattr(job, attribute, stored.id)
        return None

    def store_file(self, data):
        """Keep a picture for GET /files/<id>.png; returns its URL."""
        file_id = secrets.token_hex(12)
        with self._lock:
            _put_bounded(self._files, file_id, data, FILE_STORE_ENTRIES)
        return f"{self.origin}/files/{file_id}.png"

    def file(self, file_id):
        with self._lock:
            return self._files.get(file_id)


def _shorten_data_urls(value):
    """A JSON value with each long data: URL cut to its start and its length."""
    if isinstance(value, dict):
        return {key: _shorten_data_urls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shorten_data_urls(item) for item in value]
    if (isinstance(value, str) and value.startswith("data:")
            and len(value) > RECORDED_DATA_URL_CHARS):
        return f"{value[:RECORDED_DATA_URL_CHARS]}...({len(value)} chars)"
    return value


def _shorten_strings(value):
    """A JSON value with each long string (base64 images) cut short: what its
    types and shape are, without the megabytes."""
    if isinstance(value, dict):
        return {key: _shorten_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shorten_strings(item) for item in value]
    if isinstance(value, str) and len(value) > RECORDED_DATA_URL_CHARS:
        return f"{value[:RECORDED_DATA_URL_CHARS]}...({len(value)} chars)"
    return value


PROVENANCE_PATH = "/content_provenance_checks"
C2PA_CHUNK = b"caBX"  # the PNG chunk type C2PA uses for its manifest store


def with_manifest(png, model):
    """The PNG with a stand-in manifest chunk right after IHDR (not a real C2PA
    manifest: just enough for the provenance check to find and read back).  Like
    C2PA's data hash binding (c2pa.hash.data), it holds the SHA-256 of every byte of
    the file but its own chunk, so any change to the file breaks it."""
    manifest = json.dumps({"issuer": "OpenAI", "model": model,
                           "generated_at": int(time.time()),
                           "hash": hashlib.sha256(png).hexdigest()}).encode()
    chunk = (struct.pack(">I", len(manifest)) + C2PA_CHUNK + manifest +
             struct.pack(">I", binascii.crc32(C2PA_CHUNK + manifest) & 0xffffffff))
    return png[:33] + chunk + png[33:]


def _png_manifest(data):
    """(the stand-in manifest of a PNG, the file without its chunk), or (None, None)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None, None
    offset = 8
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == C2PA_CHUNK:
            try:
                manifest = json.loads(data[offset + 8:offset + 8 + length])
            except ValueError:
                return None, None
            return manifest, data[:offset] + data[offset + 12 + length:]
        offset += 12 + length
    return None, None


def provenance_answer(data):
    """A ContentProvenanceCheck: a C2PA result and a SynthID result, each with an
    extra field a client must keep (the API's full field list is not published).
    The C2PA status is "valid" when the file is as signed, "invalid" with a reason
    when any byte outside the manifest changed (the hard binding broke)."""
    manifest, rest = _png_manifest(data)
    found = manifest is not None
    status = "not_found"
    if found:
        intact = hashlib.sha256(rest).hexdigest() == manifest.get("hash")
        status = "valid" if intact else "invalid"
    c2pa = {"type": "c2pa", "generated_at": manifest["generated_at"] if found else None,
            "issuer": manifest["issuer"] if found else None,
            "model": manifest["model"] if found else None,
            "status": status,
            "claim_generator": "standin/1" if found else None}
    if status == "invalid":
        c2pa["reason"] = "assertion.dataHash.mismatch"
    return {
        "object": "content_provenance_check",
        "created_at": int(time.time()),
        "results": [
            c2pa,
            {"type": "synthid", "generated_at": manifest["generated_at"] if found else None,
             "model": manifest["model"] if found else None,
             "outcome": "detected" if found else "not_detected"},
        ],
        "standin_extra": {"note": "fields a client does not know are kept"},
    }


def _put_bounded(cache, key, value, limit):
    cache[key] = value
    while len(cache) > limit:
        cache.popitem(last=False)


# ---------------------------------------------------------------------------
# The Files and Batch API (../shared/reference/openai-batch-openapi.json; image
# batches: images-api-2026-11.md §7)

FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
BATCH_SPEC_ENDPOINTS = ("/v1/responses", "/v1/chat/completions", "/v1/embeddings",
                        "/v1/completions", "/v1/moderations", "/v1/images/generations",
                        "/v1/images/edits", "/v1/videos")
BATCH_IMAGE_ENDPOINTS = ("/v1/images/generations", "/v1/images/edits")
BATCH_LINE_FIELDS = ("custom_id", "method", "url", "body")
BATCH_WINDOW_SECONDS = 24 * 3600
BATCH_FILE_TTL = 30 * 24 * 3600            # purpose=batch files expire after 30 days
EXPIRES_AFTER_SECONDS = (3600, 2592000)    # FileExpirationAfter.seconds
METADATA_PAIRS, METADATA_KEY_CHARS, METADATA_VALUE_CHARS = 16, 64, 512
LIST_BATCHES_LIMITS = (1, 100, 20)         # low, high, default
LIST_FILES_LIMITS = (1, 10000, 10000)
BATCH_ERRORS_LISTED = 100                  # the errors a failed batch lists, at most
BATCH_TIMES = ("in_progress_at", "expires_at", "finalizing_at", "completed_at",
               "failed_at", "expired_at", "cancelling_at", "cancelled_at")
# What a line that never ran says in the error file (the batch guide's words for
# expired lines; cancelled ones are the stand-in's, in the same shape).
UNFINISHED_LINES = {
    "expired": ("batch_expired", "This request could not be executed before the "
                                 "completion window expired."),
    "cancelled": ("batch_cancelled", "This request was not executed: the batch was "
                                     "cancelled."),
}
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def new_file_id():
    return "file-" + "".join(secrets.choice(ID_ALPHABET) for _ in range(22))


@dataclass
class StoredFile:
    """A file of the Files API: uploaded, or a batch's output or error file."""

    id: str
    data: bytes
    filename: str
    purpose: str
    created_at: int
    expires_at: Optional[int] = None
    endpoint: Optional[str] = None   # a batch's output or error file: its endpoint

    def object(self):
        """The OpenAIFile."""
        answer = {"id": self.id, "object": "file", "bytes": len(self.data),
                  "created_at": self.created_at}
        if self.expires_at is not None:
            answer["expires_at"] = self.expires_at
        answer.update(filename=self.filename, purpose=self.purpose, status="processed")
        return answer


def no_such_file(file_id, param="id"):
    return ApiError(404, f"No such File object: {file_id}", param=param)


def parse_query(query, allowed):
    """The query parameters by name; unknown or repeated ones are refused."""
    params = {}
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if name not in allowed:
            raise ApiError(400, f"Unknown parameter: '{name}'.", param=name,
                           code="unknown_parameter")
        if name in params:
            raise ApiError(400, f"Duplicate parameter: '{name}'.", param=name,
                           code="duplicate_parameter")
        params[name] = value
    return params


def query_limit(params, limits):
    low, high, default = limits
    text = params.get("limit")
    if text is None:
        return default
    if not re.fullmatch(r"[0-9]+", text):
        raise invalid_value("limit", f"Invalid type for 'limit': expected an integer, but "
                                     f"got '{text}'.")
    _int_range(low, high)("limit", int(text))
    return int(text)


def list_page(objects, after, limit):
    """A list answer: the objects (in list order) after the one named `after`."""
    if after is not None:
        ids = [item["id"] for item in objects]
        objects = objects[ids.index(after) + 1:] if after in ids else []
    page = objects[:limit]
    return {"object": "list", "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(objects) > limit}


def check_expires_after(name, value):
    """A FileExpirationAfter or BatchFileExpirationAfter; returns its seconds."""
    if not isinstance(value, dict):
        raise invalid_value(name, f"Invalid type for '{name}': expected an object.")
    for key in value:
        if key not in ("anchor", "seconds"):
            raise ApiError(400, f"Unknown parameter: '{name}.{key}'.",
                           param=f"{name}.{key}", code="unknown_parameter")
    for key in ("anchor", "seconds"):
        _require({f"{name}.{key}": value.get(key)}, f"{name}.{key}")
    _one_of("created_at")(f"{name}.anchor", value["anchor"])
    _int_range(*EXPIRES_AFTER_SECONDS)(f"{name}.seconds", value["seconds"])
    return value["seconds"]


def check_metadata(value):
    """Metadata: at most 16 string values, keys of at most 64 characters, values of
    at most 512."""
    if not isinstance(value, dict):
        raise invalid_value("metadata", "Invalid type for 'metadata': expected an "
                                        "object.")
    if len(value) > METADATA_PAIRS:
        raise ApiError(400, f"Invalid 'metadata': too many properties. Expected an object "
                            f"with at most {METADATA_PAIRS} properties, but got "
                            f"{len(value)} instead.", param="metadata",
                       code="object_above_max_properties")
    for key, item in value.items():
        name = f"metadata.{key}"
        if len(key) > METADATA_KEY_CHARS:
            raise ApiError(400, f"Invalid 'metadata': a key is too long. Expected keys "
                                f"of at most {METADATA_KEY_CHARS} characters.",
                           param="metadata", code="string_above_max_length")
        _check_string(name, item)
        if len(item) > METADATA_VALUE_CHARS:
            raise ApiError(400, f"Invalid '{name}': string too long. Expected a string "
                                f"with maximum length {METADATA_VALUE_CHARS}.", param=name,
                           code="string_above_max_length")


UPLOAD_TEXT_FIELDS = ("purpose", "expires_after[anchor]", "expires_after[seconds]")


def parse_upload(form, content_type, config):
    """Check a CreateFileRequest (multipart/form-data); returns (data, filename,
    purpose, seconds to expiry or None)."""
    if isinstance(form, ApiError):
        raise form
    if form is None:
        raise ApiError(400, f"Invalid Content-Type header ({content_type!r}): file "
                            "uploads take multipart/form-data.",
                       code="invalid_content_type")
    fields, files = {}, []
    for part in form.parts:
        if part.name == "file":
            if not part.is_file:
                raise invalid_value("file", "Invalid type for 'file': expected a file "
                                            "upload, but got a text field.")
            if files:
                raise ApiError(400, "Duplicate parameter: 'file'.", param="file",
                               code="duplicate_parameter")
            files.append(part)
            continue
        if part.name not in UPLOAD_TEXT_FIELDS:
            raise ApiError(400, f"Unknown parameter: '{part.name}'.", param=part.name,
                           code="unknown_parameter")
        if part.is_file:
            raise invalid_value(part.name, f"Invalid type for '{part.name}': expected a "
                                           "string, but got a file.")
        if part.name in fields:
            raise ApiError(400, f"Duplicate parameter: '{part.name}'.", param=part.name,
                           code="duplicate_parameter")
        try:
            fields[part.name] = part.data.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid_value(part.name, f"Invalid '{part.name}': not UTF-8 text.") \
                from None
    if not files:
        raise ApiError(400, "Missing required parameter: 'file'.", param="file",
                       code="missing_required_parameter")
    _require(fields, "purpose")
    purpose = fields["purpose"]
    _one_of(*FILE_PURPOSES)("purpose", purpose)
    seconds = None
    anchor, seconds_text = (fields.get("expires_after[anchor]"),
                            fields.get("expires_after[seconds]"))
    if anchor is not None or seconds_text is not None:
        if seconds_text is not None and re.fullmatch(r"\s*[0-9]+\s*", seconds_text):
            seconds_text = int(seconds_text)
        elif seconds_text is not None:
            raise invalid_value("expires_after.seconds", "Invalid type for "
                                "'expires_after.seconds': expected an integer, but got "
                                f"'{seconds_text}'.")
        seconds = check_expires_after("expires_after", {
            key: value for key, value in (("anchor", anchor), ("seconds", seconds_text))
            if value is not None})
    [part] = files
    size = len(part.data)
    if size > FILE_LIMIT:
        raise ApiError(400, f"File is too large: {size} bytes. Files can be at most "
                            f"{FILE_LIMIT} bytes (512 MB).", param="file",
                       code="file_too_large")
    if purpose == "batch":
        if size > config.batch_file_max_bytes:
            raise ApiError(400, f"File is too large: {size} bytes. A batch input file "
                                f"can be at most {config.batch_file_max_bytes} bytes.",
                           param="file", code="file_too_large")
        if not part.filename.lower().endswith(".jsonl"):
            raise ApiError(400, "Invalid file format for Batch API. Must be .jsonl",
                           param="file", code="invalid_file_format")
    return part.data, part.filename, purpose, seconds


CREATE_BATCH_PARAMETERS = ("input_file_id", "endpoint", "completion_window", "metadata",
                           "output_expires_after")


def parse_create_batch(raw):
    """Check a CreateBatchRequest (JSON); returns the body."""
    body = parse_json_body(raw)
    for name in body:
        if name not in CREATE_BATCH_PARAMETERS:
            raise ApiError(400, f"Unknown parameter: '{name}'.", param=name,
                           code="unknown_parameter")
    for name in CREATE_BATCH_PARAMETERS[:3]:
        _require(body, name)
        _check_string(name, body[name])
    _one_of(*BATCH_SPEC_ENDPOINTS)("endpoint", body["endpoint"])
    if body["endpoint"] not in BATCH_IMAGE_ENDPOINTS:
        raise invalid_value("endpoint", f"Invalid value: '{body['endpoint']}'. The "
                                        f"stand-in runs image batches only: "
                                        f"{' and '.join(BATCH_IMAGE_ENDPOINTS)}.")
    _one_of("24h")("completion_window", body["completion_window"])
    if body.get("metadata") is not None:
        check_metadata(body["metadata"])
    if body.get("output_expires_after") is not None:
        check_expires_after("output_expires_after", body["output_expires_after"])
    return body


def batch_error(code, message, param=None, line=None):
    """A BatchError (an entry of a failed batch's errors)."""
    return {"code": code, "message": message, "param": param, "line": line}


class _LineError(Exception):
    def __init__(self, code, message, param=None):
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


def _check_line(piece, endpoint, seen, models):
    """One line of a batch input file: (custom_id, body), or _LineError."""
    try:
        line = json.loads(piece.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _LineError("invalid_json_line", "This line is not parseable as valid "
                                              "JSON.") from None
    if not isinstance(line, dict):
        raise _LineError("invalid_json_line", "Each line must be a JSON object with "
                                              "custom_id, method, url and body.")
    for key in line:
        if key not in BATCH_LINE_FIELDS:
            raise _LineError("unknown_parameter", f"Unknown parameter: '{key}'.", key)
    for key in BATCH_LINE_FIELDS:
        if line.get(key) is None:
            raise _LineError("missing_required_parameter",
                             f"Missing required parameter: '{key}'.", key)
    custom_id = line["custom_id"]
    if not isinstance(custom_id, str) or not custom_id:
        raise _LineError("invalid_value", "Invalid 'custom_id': expected a non-empty "
                                          "string.", "custom_id")
    if custom_id in seen:
        raise _LineError("duplicate_custom_id", f"The custom_id '{custom_id}' is already "
                                                f"used on line {seen[custom_id]}: each "
                                                f"request of a batch needs its own.",
                         "custom_id")
    if line["method"] != "POST":
        raise _LineError("invalid_value", "Invalid 'method': only 'POST' is supported.",
                         "method")
    if line["url"] != endpoint:
        raise _LineError("invalid_url", f"The URL provided for this request does not "
                                        f"match the batch endpoint ({endpoint}).", "url")
    body = line["body"]
    if not isinstance(body, dict):
        raise _LineError("invalid_value", "Invalid 'body': expected a JSON object.",
                         "body")
    model = body.get("model")
    if isinstance(model, str):
        if models and model != models[0]:
            raise _LineError("mismatched_model", f"The model '{model}' is not the model "
                                                 f"of the batch's other requests "
                                                 f"('{models[0]}'): a batch's requests "
                                                 f"all use one model.", "body.model")
        models[:1] = [model]
    return custom_id, body


def plan_batch(data, endpoint, max_requests, max_bytes):
    """Validate a batch input file: (lines [(custom_id, body)], the BatchErrors that
    fail the batch, its model or None).  Bodies are checked line by line when the
    lines run; what fails here fails the whole batch."""
    if len(data) > max_bytes:
        return [], [batch_error("file_too_large", f"The input file is {len(data)} bytes; "
                                                  f"a batch input file can be at most "
                                                  f"{max_bytes} bytes.")], None
    if not data.strip():
        return [], [batch_error("empty_file", "The batch input file is empty.")], None
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()   # the newline that ends the last line
    pieces = [piece[:-1] if piece.endswith(b"\r") else piece for piece in pieces]
    if len(pieces) > max_requests:
        return [], [batch_error("too_many_requests",
                                f"The batch input file has {len(pieces)} requests; a "
                                f"batch can have at most {max_requests}.")], None
    lines, errors, seen, models = [], [], {}, []
    for number, piece in enumerate(pieces, 1):
        try:
            custom_id, body = _check_line(piece, endpoint, seen, models)
        except _LineError as error:
            errors.append(batch_error(error.code, error.message, error.param, number))
            if len(errors) >= BATCH_ERRORS_LISTED:
                break
            continue
        seen[custom_id] = number
        lines.append((custom_id, body))
    return lines, errors, (models[0] if models else None)


def _line_fails(line_errors, index, custom_id):
    """Whether the batch_line_errors knob fails this line (a fraction: evenly spread)."""
    if isinstance(line_errors, float):
        return math.floor((index + 1) * line_errors) > math.floor(index * line_errors)
    return custom_id in line_errors


def _zero_batch_usage():
    return {"input_tokens": 0, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 0, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 0}


def _jsonl(entries):
    return b"".join(json.dumps(entry).encode("utf-8") + b"\n" for entry in entries)


def _scrambled(custom_id):
    """The output files' line order: not the input's (the API promises none)."""
    return hashlib.sha256(custom_id.encode("utf-8")).digest()


class BatchJob:
    """A batch and where it is in its life; changed under the stand-in's batch lock.
    Its clock is its polls (GET /v1/batches/ID), with the knobs in force when it
    was created."""

    def __init__(self, request, input_file, config, now):
        self.id = "batch_" + secrets.token_hex(16)
        self.endpoint = request["endpoint"]
        self.input_file_id = input_file.id
        self.metadata = request.get("metadata")
        expiry = request.get("output_expires_after")
        self.output_ttl = expiry["seconds"] if expiry else None
        self.config = config
        self.created_at = now
        self.status = "validating"
        self.times = dict.fromkeys(BATCH_TIMES)
        self.polls = 0
        self.lines, self.file_errors, self.model = plan_batch(
            input_file.data, self.endpoint, config.batch_max_requests,
            config.batch_file_max_bytes)
        self.shown_model = None
        self.done = 0
        self.results = []      # (custom_id, "output" or "error", the file's line)
        self.counts = {"total": 0, "completed": 0, "failed": 0}
        self.usage = _zero_batch_usage()
        self.errors = None
        self.output_file_id = self.error_file_id = None

    def object(self):
        """The Batch, as the API shows it."""
        answer = {"id": self.id, "object": "batch", "endpoint": self.endpoint}
        if self.shown_model is not None:
            answer["model"] = self.shown_model
        answer.update(errors=copy.deepcopy(self.errors), input_file_id=self.input_file_id,
                      completion_window="24h", status=self.status,
                      output_file_id=self.output_file_id,
                      error_file_id=self.error_file_id, created_at=self.created_at)
        answer.update(self.times)
        answer.update(request_counts=dict(self.counts), usage=copy.deepcopy(self.usage),
                      metadata=copy.deepcopy(self.metadata))
        return answer

    def forced_failure(self):
        """The error of a batch the batch_outcome knob fails (a well-formed file):
        the API's answer when the organization's enqueued tokens run out."""
        return batch_error("token_limit_exceeded",
                           f"Enqueued token limit reached for {self.model or 'the model'} "
                           f"in organization org-standin. Limit: 10,000,000 enqueued "
                           f"tokens. Please try again once some in_progress batches have "
                           f"been completed.")


def batch_api_route(method, path):
    """(operationId, path ids) of a Files or Batch API request, or None."""
    for want, pattern, operation in BATCH_API_ROUTES:
        match = pattern.fullmatch(path)
        if want == method and match:
            return operation, match.groups()
    return None


BATCH_API_ROUTES = (
    ("POST", re.compile(r"/v1/files"), "createFile"),
    ("GET", re.compile(r"/v1/files"), "listFiles"),
    ("GET", re.compile(r"/v1/files/([^/]+)"), "retrieveFile"),
    ("DELETE", re.compile(r"/v1/files/([^/]+)"), "deleteFile"),
    ("GET", re.compile(r"/v1/files/([^/]+)/content"), "downloadFile"),
    ("POST", re.compile(r"/v1/batches"), "createBatch"),
    ("GET", re.compile(r"/v1/batches"), "listBatches"),
    ("GET", re.compile(r"/v1/batches/([^/]+)"), "retrieveBatch"),
    ("POST", re.compile(r"/v1/batches/([^/]+)/cancel"), "cancelBatch"),
)


def fault_error(verdict, config, request_id):
    """The error answer of an injected error fault, or None for the other faults."""
    if verdict.fault in ERROR_FAULTS:
        return ERROR_FAULTS[verdict.fault](request_id)
    if verdict.fault == "429":
        return rate_limit_error(config.rpm_limit or DEFAULT_RPM_LIMIT,
                                verdict.retry_after or config.retry_after,
                                config.retry_after_ms)
    return None


# ---------------------------------------------------------------------------
# HTTP


def _generation_request(raw, content_type, form):
    return parse_generation(parse_json_body(raw))


def _variation_request(raw, content_type, form):
    return parse_variation(form)


# API paths (after /v1) and the function that checks each one's request: called with
# the raw body, the Content-Type header and the parsed multipart form (or None, or
# the ApiError parsing it raised); returns a Generation or raises ApiError.
ENDPOINTS = {
    "/images/generations": _generation_request,
    "/images/edits": parse_edit,
    "/images/variations": _variation_request,
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # batches open many connections at once

    def __init__(self, address, standin):
        super().__init__(address, _Handler)
        self.standin = standin

    def handle_error(self, request, client_address):
        # A client that gave up (timeout, reset) is normal here; anything else is a bug.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin/1"
    azure_api = False  # set by _dispatch for each request
    azure = False      # the same: the server answers as an Azure resource

    # -- plumbing

    @property
    def standin(self):
        return self.server.standin

    def log_message(self, format, *args):
        if os.environ.get("STANDIN_VERBOSE") == "1":
            super().log_message(format, *args)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _read_chunked(self):
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailer fields
        return b"".join(chunks)

    def _send_head(self, status, content_type, length, headers=()):
        if self.path.startswith(API_PREFIX) or self.azure_api:
            self.server.standin.count_status(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("x-request-id", self.request_id)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def _send(self, status, body, content_type="application/json", headers=()):
        self._send_head(status, content_type, len(body), headers)
        self.wfile.write(body)

    def _send_images(self, body, headers):
        """An image answer, held part-way when the hold knobs say so."""
        hold = self.standin.take_hold()
        if hold is None:
            return self._send(200, body, headers=headers)
        fraction, token = hold
        cut = int(len(body) * fraction)
        self._send_head(200, "application/json", len(body), headers)
        try:
            self.wfile.write(body[:cut])
            self.wfile.flush()
        finally:
            self.standin.wait_for_release(token)
        try:
            self.wfile.write(body[cut:])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client is gone (killed or interrupted): nothing to finish

    def _send_json(self, status, payload, headers=()):
        if self.path.startswith(API_PREFIX) or self.azure_api:
            self.standin.record_response(self.path, status, payload, azure=self.azure)
        self._send(status, json.dumps(payload).encode("utf-8"), headers=headers)

    def _send_api_error(self, error, headers=()):
        self._send_json(error.status, error.body, [*error.headers, *headers])

    # -- routing

    def do_GET(self):
        self._dispatch("GET", b"")

    def do_POST(self):
        self._dispatch("POST", self._read_body())

    def do_DELETE(self):
        self._dispatch("DELETE", self._read_body())

    def _dispatch(self, method, raw):
        self.request_id = "req_" + secrets.token_hex(16)
        path, _, query = self.path.partition("?")
        config = self.standin.config
        azure = config.provider == "azure"
        # Answers on Azure's API paths are tallied in the stats, as those under /v1 are.
        self.azure_api = azure and path.startswith(AZURE_PREFIX + "/")
        self.azure = azure
        if path.startswith("/_control/"):
            return self._control(method, path[len("/_control/"):], raw)
        if method == "GET" and path.startswith("/files/"):
            # Recorded, so a test can see what a download carried (never a key).
            self.standin.record(method, self.path, self.headers, raw, download=True,
                                request_id=self.request_id)
            return self._download(path[len("/files/"):])
        content_type = self.headers.get("Content-Type")
        form = None
        if method == "POST" and is_multipart(content_type):
            try:
                form = parse_multipart(raw, content_type)
            except ApiError as error:
                form = error
        self.standin.record(method, self.path, self.headers, raw, form,
                            request_id=self.request_id)
        if azure:
            return self._dispatch_azure(method, path, query, config, raw, content_type,
                                        form)
        parse = ENDPOINTS.get(path[len(API_PREFIX):]) if path.startswith(API_PREFIX) \
            else None
        if method == "POST" and parse is not None:
            return self._serve(functools.partial(parse, raw, content_type, form))
        if (method, path) == ("POST", API_PREFIX + PROVENANCE_PATH):
            return self._provenance(form)
        if (method, path) == ("GET", API_PREFIX + "/models"):
            return self._models(config)
        route = batch_api_route(method, path)
        if route is not None:
            return self._batch_api(*route, query, raw, content_type, form)
        self._send_api_error(ApiError(404, f"Invalid URL ({method} {path})"))

    def _models(self, config):
        """GET /v1/models: the models of today's API (reference §1.2: the image models
        OpenAI serves, and two others), each with its shutdown_date, plus models_list."""
        try:
            self._check_key(config.key)
        except ApiError as error:
            return self._send_api_error(error)
        # Error faults where fault_paths take it in ("GET /v1/models").
        verdict = self.standin.admit_api(config, self.command, API_PREFIX + "/models")
        error = fault_error(verdict, config, self.request_id)
        if error is not None:
            return self._send_api_error(error)
        rows = {name: None for name in sorted(FLEX_MODELS)}
        rows.update({"gpt-5": None, "whisper-1": None})
        if config.compat:
            rows.update({name: None for name in sorted(SHUT_DOWN_AT_OPENAI)})
        rows.update(dict(config.models_list))
        self._send_json(200, {"object": "list", "data": [
            {"id": name, "object": "model", "created": 1700000000, "owned_by": "system",
             "shutdown_date": date} for name, date in rows.items()]})

    def _provenance(self, form):
        """POST /v1/content_provenance_checks (reference §5.1): multipart `file`."""
        try:
            self._check_key(self.standin.config.key)
            if not isinstance(form, Form):
                raise form if isinstance(form, ApiError) else ApiError(
                    400, "Expected multipart/form-data with a 'file' part.", param="file")
            files = form.named("file")
            if len(files) != 1 or not files[0].is_file:
                raise ApiError(400, "Missing required parameter: 'file'.", param="file",
                               code="missing_required_parameter")
        except ApiError as error:
            return self._send_api_error(error)
        self._send_json(200, provenance_answer(files[0].data))

    def _dispatch_azure(self, method, path, query, config, raw, content_type, form):
        """Azure mode: the resource's paths; everything else is not found (/v1 too)."""
        try:
            kind, deployment = azure_route(method, path, query, config.azure_api_versions)
        except ApiError as error:
            return self._send_api_error(error)
        parse = functools.partial(azure_request, kind, deployment,
                                  config.azure_deployments, raw, content_type, form)
        self._serve(parse, config, self._check_azure_auth)

    def _control(self, method, action, raw):
        standin = self.standin
        try:
            if (method, action) == ("POST", "config"):
                standin.configure(**(json.loads(raw or b"{}")))
            elif (method, action) == ("POST", "reset"):
                standin.reset()
            elif (method, action) == ("GET", "requests"):
                return self._send_json(200, standin.requests)
            elif (method, action) == ("GET", "stats"):
                return self._send_json(200, standin.stats())
            elif (method, action) == ("POST", "release"):
                standin.release()
            elif (method, action) != ("GET", "config"):
                return self._send_json(404, {"error": {"message": f"no control {action!r}"}})
        except (TypeError, ValueError) as err:
            return self._send_json(400, {"error": {"message": str(err)}})
        self._send_json(200, dataclasses.asdict(standin.config))

    def _download(self, name):
        file_id, dot, extension = name.partition(".")
        data = self.standin.file(file_id) if (dot, extension) == (".", "png") else None
        if data is None:
            return self._send_api_error(ApiError(404, "File not found."))
        self._send(200, data, content_type="image/png")

    # -- the Files and Batch API

    def _batch_api(self, operation, ids, query, raw, content_type, form):
        """Answer a Files or Batch API request: the key, then the request, then the
        injected faults (fault_paths), then the work.  An error fault leaves
        everything as it was; reset, truncate and invalid_json break an answer whose
        work was done (a file stored, a batch created, a poll counted), as when a
        connection fails after the server acted; slow does the work, then waits."""
        standin = self.standin
        standin.note_batch_api()
        config = standin.config
        try:
            self._check_key(config.key)
            action, request = self._batch_request(operation, ids, query, raw,
                                                  content_type, form, config)
        except ApiError as error:
            return self._send_api_error(error)
        verdict = standin.admit_api(config, self.command, self.path.partition("?")[0])
        headers = [] if config.should_retry is None else [("x-should-retry",
                                                           config.should_retry)]
        error = fault_error(verdict, config, self.request_id)
        if error is not None:
            return self._send_api_error(error, headers)
        try:
            answer = action()
        except ApiError as error:
            return self._send_api_error(error)
        extra = {"operation": operation}
        if request is not None:
            extra["request"] = request
        if operation == "downloadFile":
            body, media_type = answer.data, "application/octet-stream"
            recorded = answer.data.decode("utf-8", errors="replace")
            if answer.purpose == "batch_output":
                extra.update(purpose=answer.purpose, endpoint=answer.endpoint,
                             lines=[_shorten_strings(json.loads(line))
                                    for line in answer.data.splitlines()])
        else:
            body, media_type = json.dumps(answer).encode("utf-8"), "application/json"
            recorded = answer
        if verdict.fault == "slow":
            standin.sleep(config.slow_seconds)
        elif verdict.fault == "reset":
            return self._abort_connection()
        elif verdict.fault == "truncate":
            return self._send_truncated(body, headers, media_type)
        elif verdict.fault == "invalid_json":
            return self._send(200, INVALID_JSON_BODY, media_type, headers)
        standin.record_response(self.path, 200, recorded, **extra)
        self._send(200, body, media_type, headers)

    def _batch_request(self, operation, ids, query, raw, content_type, form, config):
        """Check a Files or Batch API request; return (a function that does its work
        and returns the answer, the request as the check of requests sees it)."""
        standin = self.standin
        if operation == "listFiles":
            params = parse_query(query, ("purpose", "limit", "order", "after"))
            limit = query_limit(params, LIST_FILES_LIMITS)
            order = params.get("order", "desc")
            _one_of("asc", "desc")("order", order)
            return functools.partial(standin.list_files, params.get("purpose"), order,
                                     params.get("after"), limit), None
        if operation == "listBatches":
            params = parse_query(query, ("after", "limit"))
            limit = query_limit(params, LIST_BATCHES_LIMITS)
            return functools.partial(standin.list_batches, params.get("after"),
                                     limit), None
        parse_query(query, ())
        if operation == "createFile":
            data, filename, purpose, ttl = parse_upload(form, content_type, config)
            request = {"file": f"<{len(data)} bytes>", "purpose": purpose}
            if ttl is not None:
                request["expires_after"] = {"anchor": "created_at", "seconds": ttl}
            return (lambda: standin.add_file(data, filename, purpose, ttl).object(),
                    request)
        if operation == "createBatch":
            request = parse_create_batch(raw)
            return functools.partial(standin.create_batch, request, config), request
        [identifier] = ids
        return {
            "retrieveFile": lambda: standin.api_file(identifier).object(),
            "deleteFile": lambda: standin.delete_file(identifier),
            "downloadFile": lambda: standin.api_file(identifier),
            "retrieveBatch": lambda: standin.retrieve_batch(identifier),
            "cancelBatch": lambda: standin.cancel_batch(identifier),
        }[operation], None

    # -- POST /v1/images/generations, /v1/images/edits, /v1/images/variations

    def _serve(self, parse, config=None, authenticate=None):
        """Answer an image request; `config` is the snapshot to work from (None: the
        current one), `authenticate(config)` checks the credentials (None: the OpenAI
        API key check)."""
        # The request stops counting as in flight before its answer is written, so a
        # client that starts its next request on receiving this one is never seen
        # overlapping it: peak_inflight never overstates the client's concurrency.
        # A stream counts again while it sends all but its last event.
        with self.standin.inflight(arrival=True):
            if config is None:
                config = self.standin.config
            started = time.monotonic()
            reply = self._reply(parse, config, authenticate)
            # The work is done up front so the answer leaves at `latency`, however
            # many requests finish sleeping at the same moment.
            self.standin.sleep(config.latency - (time.monotonic() - started))
        reply()

    def _reply(self, parse, config, authenticate=None):
        """Do the work of an image request (`authenticate(config)` checks its
        credentials, `parse()` checks it and returns its Generation); return a
        function that answers it."""
        standin = self.standin
        try:
            if authenticate is None:
                self._check_key(config.key)
            else:
                authenticate(config)
            generation = parse()
            if not config.compat and config.provider == "openai":
                check_today(generation)
            else:
                check_historical_size(generation)
            if generation.model in config.shutdown_models:
                raise model_shut_down(generation.model)
        except ApiError as error:
            return functools.partial(self._send_api_error, error)
        verdict = standin.admit(config, streaming=generation.stream,
                                faults=fault_applies(config.fault_paths, "POST",
                                                     self.path.partition("?")[0],
                                                     image=True))
        if verdict.fault == "slow":
            standin.sleep(config.slow_seconds)
        elif verdict.fault is not None:
            return self._fault_reply(verdict, config, generation)
        headers = standin.ratelimit_headers(config) if config.ratelimit_headers else []
        if generation.stream:
            return self._stream_reply(generation, config, headers)
        payload = self._images(generation)
        self.standin.record_response(self.path, 200, payload, azure=self.azure)
        body = json.dumps(payload).encode("utf-8")
        return functools.partial(self._send_images, body, headers)

    def _check_key(self, key):
        authorization = self.headers.get("Authorization")
        if authorization is None:
            raise ApiError(401, "You didn't provide an API key. You need to provide your "
                                "API key in an Authorization header using Bearer auth.",
                           code="invalid_api_key")
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip(), key):
            shown = authorization if self.standin.config.echo_key else redact_key(given.strip())
            raise ApiError(401, f"Incorrect API key provided: {shown}. "
                                "You can find your API key in your account settings.",
                           code="invalid_api_key")

    def _check_azure_auth(self, config):
        """An Azure resource's credentials: an `api-key` header with the key (which
        decides when present), else `Authorization: Bearer <azure_ad_token>`."""
        api_key = self.headers.get("api-key")
        if api_key is not None:
            ok = _same(api_key.strip(), config.key)
        else:
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            ok = scheme.lower() == "bearer" and _same(token.strip(), config.azure_ad_token)
        if not ok:
            raise azure_access_denied()

    def _images(self, generation):
        return self.standin.images_payload(generation)

    def _fault_reply(self, verdict, config, generation):
        """A function that sends the answer of an injected fault."""
        headers = [] if config.should_retry is None else [("x-should-retry",
                                                           config.should_retry)]
        fault = verdict.fault
        if fault in ERROR_FAULTS:
            error = ERROR_FAULTS[fault](self.request_id)
        elif fault == "429":
            limit = config.rpm_limit or DEFAULT_RPM_LIMIT
            retry_after = verdict.retry_after or config.retry_after
            error = rate_limit_error(limit, retry_after, config.retry_after_ms)
        elif fault == "reset":
            return self._abort_connection
        elif generation.stream:  # the other faults, in a stream's way
            fault = {"invalid_json": "stream_malformed"}.get(fault, fault)
            return self._stream_reply(generation, config, headers, fault)
        elif fault == "truncate":
            body = json.dumps(self._images(generation)).encode("utf-8")
            return functools.partial(self._send_truncated, body, headers)
        elif fault == "invalid_json":
            return functools.partial(self._send, 200, INVALID_JSON_BODY, headers=headers)
        else:
            assert fault == "invalid_b64", fault
            items = [{"b64_json": INVALID_B64} for _ in range(generation.n)]
            return functools.partial(self._send_json, 200,
                                     images_response(generation, items), headers)
        return functools.partial(self._send_api_error, error, headers)

    def _stream_reply(self, generation, config, headers, fault=None):
        """Render the images now (in flight); return a function that streams them."""
        generation = dataclasses.replace(generation, token_scale=config.output_tokens_scale)
        finals = [self.standin.image(generation, i) for i in range(generation.n)]
        steps = generation.partial_images
        if fault in ("stream_error", "stream_truncated"):
            finals, steps = finals[:1], max(1, steps)  # image 0's partials, no more
        partials = [[render_partial(final, step, steps, generation.image_format,
                                    generation.output_compression)
                     for step in range(steps)] for final in finals]
        if fault == "stream_odd_index" and steps:
            # One partial for each odd index, so every one is sent (stream_blocks
            # puts them in): the rendered partials again, in turn.
            partials = [[images[k % steps] for k in range(len(ODD_PARTIAL_INDEXES))]
                        for images in partials]
        events = stream_events(generation, finals, partials, config.stream_usage)
        if fault == "stream_error":
            events = [events[0], stream_error_event(self.request_id)]
        elif fault == "stream_truncated":
            events = events[:steps]
        elif fault == "stream_final_early" and steps > 1:
            # The last image's events are its partials then its completed event:
            # move the completed one to just after the first partial.
            last = len(events) - 1
            first_partial = last - steps
            events.insert(first_partial + 1, events.pop(last))
        elif fault == "stream_extra_completed":
            events += [events[-1]] * (EXTRA_COMPLETED_EVENTS - len(finals))
        for name, payload in events:
            self.standin.record_response(self.path, 200, payload, event=name,
                                         azure=self.azure)
        return functools.partial(self._send_stream, stream_blocks(events, fault), headers,
                                 config.stream_interval, fault == "stream_split")

    def _send_stream(self, blocks, headers, interval, split):
        """200 text/event-stream, no Content-Length, the connection closed after the
        last event; `interval` seconds between events."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.send_header("x-request-id", self.request_id)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True
        # Small writes leave at once: the client sees each event (or piece) apart.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.standin.inflight():
            for block in blocks[:-1]:
                self._write_block(block, split)
                self.standin.sleep(interval)
        if blocks:
            self._write_block(blocks[-1], split)

    def _write_block(self, block, split):
        if not split:
            self.wfile.write(block)
            return
        for piece in split_block(block):
            self.wfile.write(piece)
            self.standin.sleep(SPLIT_PAUSE)

    def _send_truncated(self, body, headers, content_type="application/json"):
        """Promise the whole body, send half of it, hang up."""
        self._send_head(200, content_type, len(body), headers)
        self.wfile.write(body[: len(body) // 2])
        self.close_connection = True

    def _abort_connection(self):
        """Close with a TCP reset rather than a FIN: SO_LINGER with a zero timeout."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.close_connection = True
        # detach() leaves the socket object harmlessly closed for the server's cleanup.
        os.close(self.connection.detach())


# ---------------------------------------------------------------------------
# Program mode


def write_port_file(path, port):
    """Write the port atomically: readers never see a partial file."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="ascii") as stream:
        stream.write(f"{port}\n")
    os.replace(temporary, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="OpenAI Images API stand-in for tests.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument("--port-file", help="write the chosen port here once listening")
    parser.add_argument("--key", default=DEFAULT_KEY, help="the API key to accept")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with Standin(key=args.key, port=args.port) as standin:
        if args.port_file:
            write_port_file(args.port_file, standin.port)
        print(f"standin listening on {standin.url}", file=sys.stderr, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
