#!/usr/bin/env python3
"""Batch throughput against a server that costs almost nothing (issue 12,
Deliver 10): bench/fast_server.mjs answers from prebuilt responses, so the
figures measure the clients, not the Python stand-in.

Scenarios, each client run ROUNDS times with the order rotated every round
(medians reported):
  a      100 jobs, 0.5 s latency, concurrency 20               ideal 2.5 s
  z      2,000 jobs, no latency, concurrency 20                 (throughput)
  plan   `imagegen batch --dry-run` of a 100,000-line prompt file
  ledger bench/ledger_cost.c: the ledger calls of a 2,000-job batch, per job

Clients in a and z: imagegen as users run it (the gallery on), imagegen
--no-gallery, the Node SDK (bench/node/gen.mjs) and a Python thread pool
(bench/py_pool.py), all against the same server in the same run. Each runs
under bench/rusage_run.c, whose wait4 gives its CPU and peak RSS.  Prints
JSON lines, then the markdown section for bench/RESULTS.md.  Usage:
    bench_throughput.py [--bin build/imagegen] [--only a,z,plan,ledger]
                        [--rounds 3] [--append-results bench/RESULTS.md]
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import bench_peers as peers  # noqa: E402
from standin_process import FastServer  # noqa: E402

SIZE = "1024x1024"
CLIENTS = [  # (client, label)
    ("imagegen-defaults", "imagegen (gallery on)"),
    ("imagegen", "imagegen --no-gallery"),
    ("node-sdk", "node-sdk"),
    ("py-pool", "py-pool"),
    # The floor: curl receiving the same answers, as many at once, into
    # /dev/null (no JSON, no decoding, no file): what moving the bytes costs.
    ("curl-floor", "curl --parallel to /dev/null (floor)"),
]
SCENARIOS = {
    # name: (title, jobs, latency s, concurrency, ideal s)
    "a": ("a: 100 jobs, 0.5 s, c=20", 100, 0.5, 20, 2.5),
    "z": ("z: 2,000 jobs, no latency, c=20", 2000, 0.0, 20, None),
}


def batch_round(server, binary, work, client, jobs, latency, concurrency):
    jobfile = Path(work) / "jobs.txt"
    jobfile.write_text("\n".join(peers.prompts(jobs, "t")) + "\n")
    out_dir = Path(work) / f"out-{client}"
    shutil.rmtree(out_dir, ignore_errors=True)
    server.reset()
    server.configure(latency=latency)
    if client == "curl-floor":
        command = floor_command(server, work, jobs, concurrency)
    else:
        command = peers.batch_command(client, binary, jobfile, out_dir, SIZE, concurrency)
    result = peers.run_measured(command, peers.client_env(server), peers.BATCH_TIMEOUT)
    stats = server.stats()
    result["requests"] = stats["requests"]
    result["files"] = len(list(out_dir.glob("*.png"))) if out_dir.is_dir() else 0
    # Every file decoding as a whole image is checked on a's 100, sampled on z's.
    files = sorted(out_dir.glob("*.png")) if out_dir.is_dir() else []
    sample = files if len(files) <= 100 else files[::len(files) // 50]
    result["sample_valid"] = f"{valid(sample)}/{len(sample)}"
    if client == "imagegen-defaults":
        thumbs = out_dir / "thumbs"
        result["gallery"] = ((out_dir / "index.html").is_file(),
                             len(list(thumbs.glob("*"))) if thumbs.is_dir() else 0)
    shutil.rmtree(out_dir, ignore_errors=True)
    return result


def floor_command(server, work, jobs, concurrency):
    body = json.dumps({"model": peers.MODEL, "prompt": "the floor", "size": SIZE,
                       "quality": peers.QUALITY, "output_format": peers.FORMAT})
    config = Path(work) / "curl-floor.cfg"
    config.write_text("".join(f'url = "{server.url}/images/generations"\noutput = "/dev/null"\n'
                              for _ in range(jobs)))
    return ["curl", "-s", "--parallel", "--parallel-max", str(concurrency),
            "--parallel-immediate", "-H", f"Authorization: Bearer {peers.KEY}",
            "-H", "Content-Type: application/json", "-d", body, "-K", str(config)]


def valid(paths):
    from PIL import Image
    good = 0
    for path in paths:
        try:
            with Image.open(path) as im:
                im.load()
                good += im.size == (1024, 1024)
        except Exception:  # noqa: BLE001 - any failure means not valid
            pass
    return good


def scenario(server, binary, work, name, rounds):
    title, jobs, latency, concurrency, ideal = SCENARIOS[name]
    samples = {client: [] for client, _ in CLIENTS}
    for round_number in range(rounds):
        shift = round_number % len(CLIENTS)
        for client, _ in CLIENTS[shift:] + CLIENTS[:shift]:
            result = batch_round(server, binary, work, client, jobs, latency, concurrency)
            if result["rc"] != 0:
                print(f"# {client} round {round_number}: rc {result['rc']} {result['stderr']}",
                      file=sys.stderr)
            samples[client].append(result)
    rows = []
    for client, label in CLIENTS:
        got = samples[client]
        wall = statistics.median(r["wall"] for r in got)
        row = {
            "scenario": title, "client": label, "rounds": len(got),
            "ok": sum(r["rc"] == 0 and (r["files"] == jobs or client == "curl-floor")
                      for r in got),
            "wall_s": round(wall, 3), "walls": [round(r["wall"], 2) for r in got],
            "ideal_s": ideal, "wall_over_ideal": round(wall / ideal, 3) if ideal else None,
            "ms_per_job": round(wall * 1000 / jobs, 3),
            "cpu_s": round(statistics.median(r["cpu"] for r in got), 3),
            "rss_mib": round(statistics.median(r["rss_kib"] for r in got) / 1024, 1),
            "requests": got[-1]["requests"], "files": got[-1]["files"],
            "sample_valid": got[-1]["sample_valid"],
        }
        if "gallery" in got[-1]:
            row["gallery"] = "index.html, %d thumbnails" % got[-1]["gallery"][1]
        rows.append(row)
    return rows


def plan_scenario(binary, work, rounds):
    lines = Path(work) / "plan-100k.txt"
    lines.write_text("".join(f"a plan benchmark prompt, number {i}: a lighthouse\n"
                             for i in range(100_000)))
    walls = []
    for _ in range(rounds):
        started = time.monotonic()
        done = subprocess.run([binary, "batch", "--input", str(lines), "--dry-run",
                               "--out-dir", str(Path(work) / "plan-out")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=300, env={**os.environ, "OPENAI_API_KEY": peers.KEY})
        walls.append(time.monotonic() - started)
        if done.returncode != 0:
            raise RuntimeError(f"the plan failed: {done.stderr.decode()[-300:]}")
    return {"scenario": "plan: --dry-run of 100,000 lines", "walls": [round(w, 2) for w in walls],
            "wall_s": round(statistics.median(walls), 3)}


def ledger_scenario(work, binary):
    build = Path(binary).parent   # the build folder imagegen came from
    tool = build / "ledger_cost"
    subprocess.run(["ninja", "-C", str(build), "ledger_cost"], check=True,
                   stdout=subprocess.DEVNULL, timeout=300)
    rows = []
    for group in (1, 20):
        folder = tempfile.mkdtemp(prefix="ledger-", dir=work)
        done = subprocess.run([str(tool), folder, "2000", str(group)], check=True,
                              capture_output=True, text=True, timeout=300)
        rows.append({"scenario": "ledger", **json.loads(done.stdout)})
    return rows


def report(batches, plan, ledger, command, versions):
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    out = [f"## Throughput against a near-free server (issue 12) — {today}", "",
           f"Command: {command}", "",
           f"Clients: {versions}. Server: bench/fast_server.mjs (Node, prebuilt "
           "responses of one 1024x1024 PNG drawn as the stand-in draws them, about "
           "850 KB, 1.1 MB as base64). Medians of the rounds; the order of the clients "
           "rotates every round.", ""]
    if batches:
        out += ["| scenario | client | rounds ok | median wall s | walls | ideal s | "
                "wall/ideal | ms per job | CPU s | peak RSS MiB | requests | files |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for rows in batches:
            for r in rows:
                out.append(f"| {r['scenario']} | {r['client']} | {r['ok']}/{r['rounds']} | "
                           f"{r['wall_s']} | {' '.join(map(str, r['walls']))} | "
                           f"{r['ideal_s'] or '-'} | {r['wall_over_ideal'] or '-'} | "
                           f"{r['ms_per_job']} | {r['cpu_s']} | {r['rss_mib']} | "
                           f"{r['requests']} | {r['files']} |")
        out.append("")
    if plan:
        out += [f"Plan: `imagegen batch --input plan-100k.txt --dry-run` of 100,000 lines: "
                f"median {plan['wall_s']} s (runs {', '.join(map(str, plan['walls']))} s).", ""]
    if ledger:
        out += ["Ledger (bench/ledger_cost.c, 2,000 jobs, the batch's calls in its order; "
                "group = \"done\" records per transaction):", "",
                "| group | setup s | records s | ms per job |", "|---|---|---|---|"]
        out += [f"| {r['group']} | {r['setup_s']} | {r['records_s']} | {r['ms_per_job']} |"
                for r in ledger]
        out.append("")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(ROOT / "build" / "imagegen"))
    parser.add_argument("--only", default="a,z,plan,ledger")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--append-results", metavar="FILE")
    args = parser.parse_args()
    binary = str(Path(args.bin).resolve())
    wanted = args.only.split(",")
    for name in wanted:
        if name not in SCENARIOS and name not in ("plan", "ledger"):
            parser.error(f"unknown scenario {name}")
    if not (peers.NODE_DIR / "node_modules" / "openai").is_dir():
        parser.error("bench/node/node_modules is missing: run `npm ci` in bench/node")
    command = f"`{' '.join([sys.executable, 'bench/bench_throughput.py', *sys.argv[1:]])}`"
    if os.environ.get("MAKELEVEL"):
        command = f"`make bench` (= {command})"
    batches, plan, ledger = [], None, []
    work = tempfile.TemporaryDirectory(prefix="bench-throughput-",
                                       dir=os.environ.get("BENCH_TMPDIR"))
    # imagegen records each paid request in its spend history, as it does by default:
    # measured so, but kept out of the user's own history.
    os.environ["XDG_STATE_HOME"] = str(Path(work.name) / "state")
    server = None
    try:
        peers.build_launcher(work.name)
        for name in wanted:
            if name in SCENARIOS:
                if server is None:
                    server = FastServer(peers.KEY)
                rows = scenario(server, binary, work.name, name, args.rounds)
                batches.append(rows)
            elif name == "plan":
                rows = [plan := plan_scenario(binary, work.name, args.rounds)]
            else:
                rows = ledger = ledger_scenario(work.name, binary)
            for row in rows:
                print(json.dumps(row), flush=True)
    finally:
        if server is not None:
            server.close()
        work.cleanup()
    section = report(batches, plan, ledger, command, peers.versions(binary))
    print("\n" + section)
    if args.append_results:
        with open(args.append_results, "a", encoding="utf-8") as results:
            results.write("\n" + section)


if __name__ == "__main__":
    main()
