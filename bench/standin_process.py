"""The servers the benchmarks run against, each in its own process (so its
memory and CPU are not counted as the client's), driven through a control API:
the stand-in (tests/standin.py, as strict as the API and as slow as Python) and
a near-free server (bench/fast_server.mjs, prebuilt responses)."""

import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STANDIN = ROOT / "tests" / "standin.py"
FAST_SERVER = ROOT / "bench" / "fast_server.mjs"


def wait_for_port(proc, port_file):
    deadline = time.monotonic() + 20
    while not (port_file.exists() and port_file.read_text().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    return f"http://127.0.0.1:{port_file.read_text().strip()}"


class StandinProcess:
    """The stand-in in its own process (its memory and CPU are not counted as a
    client's), driven through its control API, every call with a timeout."""

    def __init__(self, key):
        self.state = tempfile.TemporaryDirectory()
        port_file = Path(self.state.name) / "port"
        self.proc = subprocess.Popen(
            [sys.executable, str(STANDIN), "--port", "0", "--port-file", str(port_file),
             "--key", key], stderr=subprocess.DEVNULL, start_new_session=True)
        self.origin = wait_for_port(self.proc, port_file)
        if not self.origin:
            self.close()
            raise RuntimeError("the stand-in did not start (is python3-pil installed?)")
        self.url = self.origin + "/v1"

    def _call(self, method, path, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.origin + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read() or b"null")

    def reset(self):
        self._call("POST", "/_control/reset", {})

    def configure(self, **knobs):
        self._call("POST", "/_control/config", knobs)

    def stats(self):
        return self._call("GET", "/_control/stats")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.state.cleanup()


class FastServer(StandinProcess):
    """bench/fast_server.mjs: the generations endpoint answered from one prebuilt
    response per size (drawn here once, as the stand-in draws its images), after
    a latency; knobs: latency only. Its CPU per request is a small fraction of
    the stand-in's, so a benchmark against it measures the client."""

    def __init__(self, key, sizes=("1024x1024",)):
        sys.path.insert(0, str(ROOT / "tests"))
        from standin import render_image
        self.state = tempfile.TemporaryDirectory()
        state = Path(self.state.name)
        images = []
        for size in sizes:
            width, height = map(int, size.split("x"))
            path = state / f"{size}.png"
            path.write_bytes(render_image(f"benchmark {size}", width, height, "png", False))
            images += ["--image", f"{size}={path}"]
        port_file = state / "port"
        self.proc = subprocess.Popen(
            ["node", str(FAST_SERVER), "--port-file", str(port_file), "--key", key, *images],
            stderr=subprocess.DEVNULL, start_new_session=True)
        self.origin = wait_for_port(self.proc, port_file)
        if not self.origin:
            self.close()
            raise RuntimeError("bench/fast_server.mjs did not start (is node installed?)")
        self.url = self.origin + "/v1"
