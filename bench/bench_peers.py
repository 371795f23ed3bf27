#!/usr/bin/env python3
"""Peer benchmarks for imagegen (issue 6 item 5), in one run against one
stand-in process (tests/standin.py):

  (i)   imagegen                       build/imagegen
  (ii)  the official Node SDK          bench/node/gen.mjs (npm `openai`, promise pool)
  (iii) a standard-library thread pool bench/py_pool.py (urllib + ThreadPoolExecutor)
  (iv)  the floor, for one image only: curl | jq -r .data[0].b64_json | base64 -d
        (and, for reference, curl alone with the body sent to /dev/null)

Scenarios:
  invoke  one 1024x1024 image, no latency, RUNS runs of each client (interleaved),
          median wall, CPU (user+sys of the process and all it waited for) and RSS
  a       100 jobs, 0.5 s latency, concurrency 20                  ideal 2.5 s
  b       60 jobs, 0.2 s latency, 120 requests a minute (token bucket, rate-limit
          headers), concurrency 20; imagegen with --rpm 120 and without  ideal 29.7 s
  c       50 jobs, 0.2 s latency, 20% of requests answer 500, concurrency 10
                                                                    ideal 1.0 s
  memory  20 jobs of 3840x2160 PNG, 1.0 s latency, concurrency 20: peak RSS with
          20 transfers in flight

Each client runs under bench/rusage_run.c (compiled into the work folder),
whose wait4 gives its CPU and peak RSS.  Every subprocess has a timeout (its process group is killed), the stand-in is
always stopped and the work folder always removed.  Prints JSON lines as it
goes, then the markdown section for bench/RESULTS.md (with the issue's targets
judged).  Run with `make bench-peers`.  Usage:
    bench_peers.py [--bin build/imagegen] [--only invoke,a,b,c,memory] [--runs 20]
                   [--append-results bench/RESULTS.md]
"""

import argparse
import datetime
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from standin_process import StandinProcess  # noqa: E402
NODE_DIR = HERE / "node"
GEN_MJS = NODE_DIR / "gen.mjs"
PY_POOL = HERE / "py_pool.py"

KEY = "sk-bench-not-a-real-key"
MODEL, QUALITY, FORMAT = "gpt-image-2", "medium", "png"  # imagegen's defaults, sent by all

INVOKE_TIMEOUT = 60
BATCH_TIMEOUT = 300
WARM_TIMEOUT = 900


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


LAUNCHER = None  # rusage_run, compiled into the work folder by build_launcher


def build_launcher(work):
    """Compiles rusage_run.c (see there for why ru_maxrss needs it)."""
    global LAUNCHER
    target = Path(work) / "rusage_run"
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or "cc"
    subprocess.run([compiler, "-O2", "-o", str(target), str(HERE / "rusage_run.c")],
                   check=True, timeout=120)
    LAUNCHER = str(target)


def run_measured(cmd, env, timeout, cwd=None):
    """Runs cmd under rusage_run in its own process group, killed after `timeout`
    seconds.  Returns rc, wall seconds, CPU seconds (user+sys of the command and
    every descendant it waited for, from wait4 in rusage_run), peak RSS KiB
    (ru_maxrss from that wait4: the largest of the command and its waited-for
    descendants), cpu_outer (the RUSAGE_CHILDREN delta here, rusage_run
    included: a cross-check) and stderr's tail."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile(
            prefix="rusage-", dir=os.path.dirname(LAUNCHER)) as report:
        cpu_before = children_cpu()
        started = time.monotonic()
        # imagegen's spend history stays on (the default) but off the user's own.
        env = {**env, "XDG_STATE_HOME": os.path.join(os.path.dirname(LAUNCHER), "state")}
        proc = subprocess.Popen([LAUNCHER, report.name, *cmd], env=env, cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        reaped = False
        try:
            _, status, _ = os.wait4(proc.pid, 0)
            reaped = True
            wall = time.monotonic() - started
        finally:
            timer.cancel()
            if not reaped:  # interrupted: take the whole group down with us
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                os.wait4(proc.pid, 0)
            proc.returncode = -1  # reaped here; keep Popen from waiting again
        cpu_outer = children_cpu() - cpu_before
        err.seek(0)
        tail = err.read()[-600:].decode("utf-8", "replace").strip()
        fields = Path(report.name).read_text().split()
    rc = os.waitstatus_to_exitcode(status)
    if timed_out.is_set() or len(fields) != 4:
        return {"rc": rc if rc else -9, "wall": wall, "cpu": cpu_outer, "cpu_outer": cpu_outer,
                "rss_kib": 0, "stderr": f"timed out after {timeout} s or no report; {tail}"}
    return {"rc": rc, "wall": wall, "cpu": float(fields[1]) + float(fields[2]),
            "cpu_outer": cpu_outer, "rss_kib": int(fields[3]), "stderr": tail}


def valid_images(folder, expect_size=None):
    """How many files in folder decode as whole images (of the expected size)."""
    from PIL import Image
    good = 0
    for path in Path(folder).glob("*.png"):
        try:
            with Image.open(path) as im:
                im.load()
                if expect_size is None or im.size == expect_size:
                    good += 1
        except Exception:  # noqa: BLE001 - any failure means not valid
            pass
    return good


def prompts(count, tag):
    # The same text as bench_batch.py, so the figures line up with RESULTS.md.
    return [f"benchmark {tag} image number {i}: a lighthouse, a fox, a city"
            for i in range(count)]


# -- the clients ------------------------------------------------------------------

def floor_command(standin, size, prompt, out, decode=True):
    body = json.dumps({"model": MODEL, "prompt": prompt, "size": size,
                       "quality": QUALITY, "output_format": FORMAT})
    script = ('curl -s -H "Authorization: Bearer $OPENAI_API_KEY" '
              '-H "Content-Type: application/json" -d "$BODY" '
              '"$OPENAI_BASE_URL/images/generations"')
    if not decode:  # the transfer alone: the body goes to /dev/null
        return ["sh", "-c", script + " > /dev/null"], {"BODY": body}
    if shutil.which("jq"):
        script += " | jq -r '.data[0].b64_json'"
    else:  # a tiny extraction: the value of the first "b64_json"
        script += (" | tr -d '\\n' | sed 's/.*\"b64_json\" *: *\"\\([^\"]*\\)\".*/\\1/'")
    script += ' | base64 -d > "$OUT"'
    return ["sh", "-c", script], {"BODY": body, "OUT": str(out)}


def one_image_commands(binary, standin, size, prompt, out_dir):
    """client name -> (argv, extra env) producing one image in out_dir."""
    floor, floor_env = floor_command(standin, size, prompt, Path(out_dir) / "floor.png")
    return {
        "imagegen": ([binary, "generate", "-q", "-s", size, "--out-dir", str(out_dir),
                      prompt], {}),
        "node-sdk": (["node", str(GEN_MJS), "--prompt", prompt, "--size", size,
                      "--out-dir", str(out_dir)], {}),
        "py-pool": ([sys.executable, str(PY_POOL), "--prompt", prompt, "--size", size,
                     "--out-dir", str(out_dir)], {}),
        "curl-floor": (floor, floor_env),
        "curl-raw": floor_command(standin, size, prompt, None, decode=False),
    }


def batch_command(client, binary, jobfile, out_dir, size, concurrency, extra=()):
    common = ["--size", size, "--out-dir", str(out_dir), "--concurrency", str(concurrency)]
    if client == "imagegen":
        return [binary, "batch", "-q", "--input", str(jobfile), "--no-gallery", *common, *extra]
    if client == "imagegen-defaults":   # as users run it: the gallery and thumbnails on
        return [binary, "batch", "-q", "--input", str(jobfile), *common, *extra]
    if client == "node-sdk":
        return ["node", str(GEN_MJS), "--prompts", str(jobfile), *common, *extra]
    if client == "py-pool":
        return [sys.executable, str(PY_POOL), "--prompts", str(jobfile), *common, *extra]
    raise ValueError(client)


# -- scenarios ----------------------------------------------------------------------

def client_env(standin, extra=None):
    return {**os.environ, "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": standin.url,
            "NO_COLOR": "1", **(extra or {})}


def warm(standin, binary, work, jobs, size):
    """Draws every image once so the stand-in's drawing time is not measured."""
    jobfile = Path(work) / "warm-jobs.txt"
    jobfile.write_text("\n".join(jobs) + "\n")
    standin.reset()
    result = run_measured(batch_command("imagegen", binary, jobfile, Path(work) / "warm",
                                        size, 4), client_env(standin), WARM_TIMEOUT)
    shutil.rmtree(Path(work) / "warm", ignore_errors=True)
    if result["rc"] != 0:
        raise RuntimeError(f"warming the stand-in failed: {result['stderr']}")


def scenario_invoke(standin, binary, work, runs):
    size, prompt = "1024x1024", "benchmark invocation image: a lighthouse, a fox, a city"
    samples = {}
    order = ["imagegen", "node-sdk", "py-pool", "curl-floor", "curl-raw"]
    standin.reset()
    standin.configure(latency=0)
    # One unmeasured round: fills the stand-in's cache and the page cache.
    for round_number in range(-1, runs):
        for name in order[round_number % len(order):] + order[:round_number % len(order)]:
            out_dir = Path(work) / f"invoke-{name}"
            out_dir.mkdir(exist_ok=True)
            argv, extra = one_image_commands(binary, standin, size, prompt, out_dir)[name]
            result = run_measured(argv, client_env(standin, extra), INVOKE_TIMEOUT)
            expect = 0 if name == "curl-raw" else 1
            result["valid"] = valid_images(out_dir, (1024, 1024)) == expect and result["rc"] == 0
            if not result["valid"]:
                print(f"# {name} run {round_number}: rc {result['rc']} {result['stderr']}",
                      file=sys.stderr)
            shutil.rmtree(out_dir)
            if round_number >= 0:
                samples.setdefault(name, []).append(result)
    rows = []
    for name in order:
        got = samples[name]
        rows.append({
            "scenario": "invoke", "client": name, "runs": len(got),
            "ok": sum(r["valid"] for r in got),
            "wall_ms": round(statistics.median(r["wall"] for r in got) * 1000, 1),
            "cpu_ms": round(statistics.median(r["cpu"] for r in got) * 1000, 1),
            "rss_mib": round(statistics.median(r["rss_kib"] for r in got) / 1024, 1),
            "wall_ms_min": round(min(r["wall"] for r in got) * 1000, 1),
            "cpu_ms_min": round(min(r["cpu"] for r in got) * 1000, 1),
            "cpu_outer_ms": round(statistics.median(r["cpu_outer"] for r in got) * 1000, 1),
        })
    return rows


def run_batch(standin, binary, work, scenario, client, label, jobs, knobs, size,
              concurrency, extra, ideal):
    jobfile = Path(work) / "jobs.txt"
    jobfile.write_text("\n".join(jobs) + "\n")
    out_dir = Path(work) / f"out-{client}"
    shutil.rmtree(out_dir, ignore_errors=True)
    standin.reset()
    standin.configure(**knobs)
    result = run_measured(batch_command(client, binary, jobfile, out_dir, size, concurrency,
                                        extra), client_env(standin), BATCH_TIMEOUT)
    stats = standin.stats()
    width, height = map(int, size.split("x"))
    row = {
        "scenario": scenario, "client": label, "rc": result["rc"], "jobs": len(jobs),
        "wall_s": round(result["wall"], 2), "ideal_s": ideal,
        "wall_over_ideal": round(result["wall"] / ideal, 3) if ideal else None,
        "cpu_s": round(result["cpu"], 3), "rss_mib": round(result["rss_kib"] / 1024, 1),
        "requests": stats["requests"], "http_429": stats["statuses"].get("429", 0),
        "peak_inflight": stats.get("peak_inflight"),
        "files_valid": valid_images(out_dir, (width, height)),
    }
    if client == "imagegen-defaults":
        thumbs = list((out_dir / "thumbs").glob("*")) if (out_dir / "thumbs").is_dir() else []
        row["gallery"] = f"index.html {'written' if (out_dir / 'index.html').is_file() else 'MISSING'}, {len(thumbs)} thumbnails"
    sizes = [f.stat().st_size for f in out_dir.glob("*.png")] if out_dir.is_dir() else []
    row["mean_file_mb"] = round(statistics.mean(sizes) / 1e6, 2) if sizes else 0
    if result["rc"] != 0:
        row["stderr"] = result["stderr"][-300:]
    shutil.rmtree(out_dir, ignore_errors=True)
    return row


BATCHES = {
    # name: (title, jobs, knobs, concurrency, ideal, [(client, label, extra)])
    "a": ("a: 100 jobs, 0.5 s, c=20", prompts(100, "a"), {"latency": 0.5}, 20, 2.5, [
        ("imagegen", "imagegen", []),
        ("node-sdk", "node-sdk", []),
        ("py-pool", "py-pool", []),
    ]),
    "b": ("b: 60 jobs, 0.2 s, 120/min, c=20", prompts(60, "b"),
          {"latency": 0.2, "rpm_limit": 120, "rpm_mode": "bucket", "ratelimit_headers": True},
          20, 29.7, [
              ("imagegen", "imagegen --rpm 120", ["--rpm", "120"]),
              ("imagegen", "imagegen (adaptive)", []),
              ("node-sdk", "node-sdk", []),
              ("py-pool", "py-pool", []),
          ]),
    # imagegen and the Python pool get the same retry settings; the Node SDK's
    # are the ones the brief fixes (maxRetries 2, its own 0.5 s backoff).
    "c": ("c: 50 jobs, 0.2 s, 20% 5xx, c=10", prompts(50, "c"),
          {"latency": 0.2, "fail_rate": 0.2, "fail_seed": 7}, 10, 1.0, [
              ("imagegen", "imagegen", ["--backoff", "0.2", "--max-attempts", "6"]),
              ("node-sdk", "node-sdk", []),
              ("py-pool", "py-pool", ["--backoff", "0.2", "--max-attempts", "6"]),
          ]),
    "memory": ("memory: 20 jobs 3840x2160, 1.0 s, c=20", prompts(20, "memory"),
               {"latency": 1.0}, 20, None, [
                   ("imagegen", "imagegen", []),
                   ("imagegen-defaults", "imagegen (gallery on)", []),
                   ("node-sdk", "node-sdk", []),
                   ("py-pool", "py-pool", []),
               ]),
}


def scenario_batch(standin, binary, work, name):
    title, jobs, knobs, concurrency, ideal, clients = BATCHES[name]
    size = "3840x2160" if name == "memory" else "1024x1024"
    warm(standin, binary, work, jobs, size)
    return [run_batch(standin, binary, work, title, client, label, jobs, knobs, size,
                      concurrency, extra, ideal)
            for client, label, extra in clients]


# -- report ---------------------------------------------------------------------------

def ratio(a, b):
    return f"{a / b:.3g}" if b else "n/a"


def invoke_table(rows):
    ig = next(r for r in rows if r["client"] == "imagegen")
    out = ["| client | runs ok | median wall ms | median CPU ms | median peak RSS MiB "
           "| imagegen/this wall | imagegen/this CPU | imagegen/this RSS |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['client']} | {r['ok']}/{r['runs']} | {r['wall_ms']} | {r['cpu_ms']} | "
                   f"{r['rss_mib']} | {ratio(ig['wall_ms'], r['wall_ms'])} | "
                   f"{ratio(ig['cpu_ms'], r['cpu_ms'])} | {ratio(ig['rss_mib'], r['rss_mib'])} |")
    return out


def batch_table(rows):
    out = ["| scenario | client | wall s | ideal s | wall/ideal | CPU s | peak RSS MiB | requests "
           "| 429s | files valid | imagegen/this wall | imagegen/this CPU | imagegen/this RSS |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ig = reference_row(rows, r["scenario"])
        out.append(
            f"| {r['scenario']} | {r['client']} | {r['wall_s']} | {r['ideal_s']} | "
            f"{r['wall_over_ideal']} | {r['cpu_s']} | {r['rss_mib']} | {r['requests']} | "
            f"{r['http_429']} | {r['files_valid']}/{r['jobs']} | "
            f"{ratio(ig['wall_s'], r['wall_s'])} | {ratio(ig['cpu_s'], r['cpu_s'])} | "
            f"{ratio(ig['rss_mib'], r['rss_mib'])} |")
    return out


def memory_table(rows):
    out = ["| client | peak RSS MiB | peak RSS MB | wall s | CPU s | peak in flight | files valid "
           "| imagegen/this RSS |",
           "|---|---|---|---|---|---|---|---|"]
    ig = next(r for r in rows if r["client"] == "imagegen")
    for r in rows:
        mb = r["rss_mib"] * 1.048576
        out.append(f"| {r['client']} | {r['rss_mib']} | {mb:.1f} | {r['wall_s']} | {r['cpu_s']} | "
                   f"{r['peak_inflight']} | {r['files_valid']}/{r['jobs']} | "
                   f"{ratio(ig['rss_mib'], r['rss_mib'])} |")
    return out


def reference_row(rows, scenario):
    """The imagegen row peers are compared with: in b, the adaptive run (imagegen
    knows no more about the limit than the peers do)."""
    mine = [r for r in rows if r["scenario"] == scenario and r["client"].startswith("imagegen")]
    adaptive = [r for r in mine if "adaptive" in r["client"]]
    return (adaptive or mine)[0]


def judge(invoke, batches, memory):
    lines = []

    def verdict(ok, text):
        lines.append(f"- **{'met' if ok else 'MISSED'}** — {text}")

    if invoke:
        by = {r["client"]: r for r in invoke}
        ig, node, floor = by["imagegen"], by["node-sdk"], by["curl-floor"]
        r = ig["cpu_ms"] / node["cpu_ms"]
        verdict(r <= 0.1, f"CPU per invocation at most a tenth of the Node SDK's: "
                f"{ig['cpu_ms']} ms vs {node['cpu_ms']} ms = {r:.3f}"
                + ("" if r <= 0.1 else f", missed by {(r - 0.1) * 100:.1f} points "
                   f"({r / 0.1:.2f}x the allowed share)"))
        r = ig["wall_ms"] / floor["wall_ms"]
        verdict(r <= 1.2, f"wall per invocation within 20% of the curl floor: "
                f"{ig['wall_ms']} ms vs {floor['wall_ms']} ms = {r:.3f}"
                + ("" if r <= 1.2 else f", missed by {(r - 1.2) * 100:.1f} points"))
    for rows in batches:
        for r in rows:
            if not r["client"].startswith("imagegen"):
                continue
            w = r["wall_over_ideal"]
            verdict(w <= 1.05, f"{r['scenario']}, {r['client']}: wall within 5% of ideal: "
                    f"{r['wall_s']} s / {r['ideal_s']} s = {w}"
                    + ("" if w <= 1.05 else f", missed by {(w - 1.05) * 100:.1f} points"))
        ig = reference_row(rows, rows[0]["scenario"])
        for peer in (p for p in rows if not p["client"].startswith("imagegen")):
            ok = ig["wall_s"] <= peer["wall_s"]
            text = (f"{rows[0]['scenario']}: wall no worse than {peer['client']}: "
                    f"{ig['client']} {ig['wall_s']} s vs {peer['wall_s']} s")
            if peer["files_valid"] < peer["jobs"] and not ok:
                # The peer stopped early by giving up on jobs: its wall is not the
                # time to do the batch, so there is nothing to compare.
                lines.append(f"- **not comparable** — {text}: {peer['client']} gave up on "
                             f"{peer['jobs'] - peer['files_valid']} of {peer['jobs']} jobs "
                             f"(saved {peer['files_valid']}), imagegen saved "
                             f"{ig['files_valid']}/{ig['jobs']}")
                continue
            note = ""
            if peer["files_valid"] < peer["jobs"]:
                note = (f" (and {peer['client']} saved only {peer['files_valid']}/"
                        f"{peer['jobs']} images, imagegen {ig['files_valid']}/{ig['jobs']})")
            verdict(ok, text + ("" if ok else
                                f", slower by {(ig['wall_s'] / peer['wall_s'] - 1) * 100:.0f}%")
                    + note)
    for row in memory or []:
        if not row["client"].startswith("imagegen"):
            continue
        mb = row["rss_mib"] * 1.048576
        verdict(mb < 100, f"{row['client']}: peak RSS with 20 in-flight 3840x2160 images "
                f"under 100 MB: {mb:.1f} MB ({row['rss_mib']} MiB, peak in flight "
                f"{row['peak_inflight']})" + ("" if mb < 100 else f", missed by {mb - 100:.1f} MB"))
    return lines


def versions(binary):
    def first_line(argv):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            return "?"
    try:
        sdk = json.loads((NODE_DIR / "node_modules" / "openai" / "package.json").read_text())
        sdk = sdk["version"]
    except (OSError, ValueError, KeyError):
        sdk = "?"
    return (f"{first_line([binary, '--version'])}; node {first_line(['node', '--version'])} "
            f"with openai {sdk}; Python {sys.version.split()[0]}; "
            f"{' '.join(first_line(['curl', '--version']).split()[:2])}; "
            f"{first_line(['jq', '--version']) if shutil.which('jq') else 'no jq (sed)'}")


def report(invoke, batches, memory, binary, command, runs):
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    out = [f"## Peer benchmarks (issue 6) — {today}", "",
           f"Command: {command}", "",
           f"Clients: {versions(binary)}. All send the same request (model {MODEL}, "
           f"quality {QUALITY}, {FORMAT}) to one stand-in process. Each client is started "
           "by a small C launcher (bench/rusage_run.c) whose `wait4` gives its CPU "
           "(user+sys of the client and everything it waited for) and peak RSS "
           "(`ru_maxrss`; for the floor, the largest process of the pipeline); started "
           "straight from Python, a child's `ru_maxrss` would include the benchmark's "
           "own RSS, copied at fork. Ratios are imagegen/peer (below 1: imagegen uses "
           "less).", ""]
    if invoke:
        out += [f"### Per-invocation overhead: one 1024x1024 image, no latency, {runs} runs "
                "each (interleaved), medians", ""]
        out += invoke_table(invoke) + ["",
                "curl-floor is the issue's floor (`curl -s ... | jq -r .data[0].b64_json | "
                "base64 -d > file`); curl-raw is the transfer alone (`curl -s ... > /dev/null`: "
                "no JSON, no decoding, no file), shown for reference.", ""]
    if batches:
        out += ["### Batch scenarios (those of issue 4), 1024x1024", "",
                "In b the peers are compared with imagegen without `--rpm` (neither is "
                "told the limit).", ""]
        out += batch_table([r for rows in batches for r in rows]) + [""]
    if memory:
        mean_mb = min((r["mean_file_mb"] for r in memory if r["mean_file_mb"]), default=0)
        out += ["### Peak memory: 20 jobs of 3840x2160 PNG, 1.0 s latency, concurrency 20", "",
                f"Each image is about {mean_mb} MB of PNG, {mean_mb * 4 / 3:.1f} MB as base64 "
                f"in the response: {20 * mean_mb * 4 / 3:.0f} MB of base64 in flight at once.",
                ""]
        out += memory_table(memory) + [""]
    out += ["### Against the targets of issue 6", ""] + judge(invoke, batches, memory) + [""]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(ROOT / "build" / "imagegen"))
    parser.add_argument("--only", default="invoke,a,b,c,memory")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--append-results", metavar="FILE",
                        help="also append the markdown section to FILE")
    parser.add_argument("--command", default=None,
                        help="the command to record in the report (default: this one)")
    args = parser.parse_args()
    binary = str(Path(args.bin).resolve())
    wanted = args.only.split(",")
    for name in wanted:
        if name != "invoke" and name not in BATCHES:
            parser.error(f"unknown scenario {name}")
    if not os.access(binary, os.X_OK):
        parser.error(f"{binary} is not executable (ninja -C build)")
    if not (NODE_DIR / "node_modules" / "openai").is_dir():
        parser.error("bench/node/node_modules is missing: run `npm ci` in bench/node")
    command = f"`{args.command or ' '.join([sys.executable, 'bench/bench_peers.py', *sys.argv[1:]])}`"
    if not args.command and os.environ.get("MAKELEVEL"):  # run by the Makefile
        command = f"`make bench-peers` (= {command})"
    # SIGTERM takes the same way out as Ctrl-C: the finally below stops the stand-in.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    invoke, batches, memory = [], [], []
    work = tempfile.TemporaryDirectory(prefix="bench-peers-", dir=os.environ.get("BENCH_TMPDIR"))
    standin = None
    try:
        build_launcher(work.name)
        standin = StandinProcess(KEY)
        for name in wanted:
            if name == "invoke":
                rows = invoke = scenario_invoke(standin, binary, work.name, args.runs)
            else:
                rows = scenario_batch(standin, binary, work.name, name)
                if name == "memory":
                    memory = rows
                else:
                    batches.append(rows)
            for row in rows:
                print(json.dumps(row), flush=True)
    finally:
        if standin is not None:
            standin.close()
        work.cleanup()
    section = report(invoke, batches, memory, binary, command, args.runs)
    print("\n" + section)
    if args.append_results:
        with open(args.append_results, "a", encoding="utf-8") as results:
            results.write("\n" + section)


if __name__ == "__main__":
    main()
