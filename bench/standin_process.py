"""The stand-in server in its own process for the benchmarks (so its memory
and CPU are not counted as the client's), driven through its control API."""

import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

STANDIN = Path(__file__).resolve().parent.parent / "tests" / "standin.py"


class StandinProcess:
    """The stand-in in its own process (its memory and CPU are not counted as a
    client's), driven through its control API, every call with a timeout."""

    def __init__(self, key):
        self.state = tempfile.TemporaryDirectory()
        port_file = Path(self.state.name) / "port"
        self.proc = subprocess.Popen(
            [sys.executable, str(STANDIN), "--port", "0", "--port-file", str(port_file),
             "--key", key], stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("the stand-in did not start (is python3-pil installed?)")
            time.sleep(0.05)
        self.origin = f"http://127.0.0.1:{port_file.read_text().strip()}"
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
