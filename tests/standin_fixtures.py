"""What the stand-in's own tests share: a server per test module (with that
module's key) reset before each test, and the reply of a raw HTTP call."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest

from conftest import answer_errors, today_spec
from standin import Standin


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

    return server, standin


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
