#!/usr/bin/env python3
"""Batch benchmarks for imagegen against the stand-in server (issue 4).

Scenarios, each measured as wall time against the ideal for it:
  a  100 jobs, 0.5 s latency, concurrency 20            ideal 2.5 s
  b  60 jobs, 0.2 s latency, stand-in limited to 120 requests a minute
     (a token bucket: 2 a second), concurrency 20       ideal about 29.7 s
       b-rpm: the account's tier is known (--rpm 120)
       b-adaptive: it is not; imagegen learns the limit from the answers
  c  50 jobs, 0.2 s latency, 20% of requests answer 500, concurrency 10

Reported: wall, wall/ideal, CPU time and peak RSS of imagegen, requests the
stand-in received, 429s it sent, and how many saved files decode as images.
Run with `make bench` (not part of the tests).  Usage:
    bench_batch.py [--bin build/imagegen] [--only a,b,c]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from standin_process import StandinProcess  # noqa: E402


KEY = "sk-bench-not-a-real-key"
SIZE = "1024x1024"


def prompts(count, tag):
    return [f"benchmark {tag} image number {i}: a lighthouse, a fox, a city"
            for i in range(count)]


def launcher(work):
    """bench/rusage_run.c, compiled into work: forked from this Python process,
    imagegen's ru_maxrss would include Python's memory (see rusage_run.c)."""
    target = Path(work) / "rusage_run"
    if not target.exists():
        subprocess.run(["cc", "-O2", "-o", str(target), str(HERE / "rusage_run.c")], check=True)
    return target


def run_imagegen(binary, args, env, work):
    """Runs imagegen; returns (rc, wall seconds, cpu seconds, max rss KiB)."""
    report = Path(work) / "rusage.txt"
    started = time.monotonic()
    proc = subprocess.run([str(launcher(work)), str(report), binary, *args], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    wall = time.monotonic() - started
    _, user, system, rss = report.read_text().split()
    return proc.returncode, wall, float(user) + float(system), int(rss)


def valid_images(folder):
    from PIL import Image
    good = 0
    for path in Path(folder).glob("*.png"):
        try:
            with Image.open(path) as im:
                im.load()
            good += 1
        except Exception:  # noqa: BLE001 - any failure means not valid
            pass
    return good


def scenario(standin, binary, name, jobs, knobs, extra, ideal):
    env = {**os.environ, "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": standin.url}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMPDIR")) as work:
        jobfile = Path(work) / "jobs.txt"
        jobfile.write_text("\n".join(jobs) + "\n")
        # Warm the stand-in's image cache so its drawing time is not measured.
        standin.reset()
        subprocess.run([binary, "batch", "-q", "--input", str(jobfile), "--size", SIZE,
                        "--concurrency", "4", "--no-gallery",
                        "--out-dir", str(Path(work) / "warm")],
                       env=env, stdout=subprocess.DEVNULL, check=True)
        standin.reset()
        standin.configure(**knobs)
        out = Path(work) / "out"
        rc, wall, cpu, rss = run_imagegen(
            binary, ["batch", "-q", "--input", str(jobfile), "--size", SIZE,
                     "--out-dir", str(out), *extra], env, work)
        stats = standin.stats()
        return {
            "scenario": name, "rc": rc, "jobs": len(jobs), "wall_s": round(wall, 2),
            "ideal_s": ideal, "wall_over_ideal": round(wall / ideal, 3),
            "cpu_s": round(cpu, 3), "peak_rss_mib": round(rss / 1024, 1),
            "requests": stats["requests"], "http_429": stats["statuses"].get("429", 0),
            "files_valid": valid_images(out),
        }


# The scenarios measure how requests are scheduled, so the gallery (thumbnails
# decoded from every image) is off; "a+gallery" shows what it costs.
SCENARIOS = {
    "a": lambda s, b: [
        scenario(s, b, "a: 100 jobs, 0.5 s, c=20", prompts(100, "a"),
                 {"latency": 0.5}, ["--concurrency", "20", "--no-gallery"], 2.5),
        scenario(s, b, "a+gallery: the same, with index.html and thumbnails", prompts(100, "a"),
                 {"latency": 0.5}, ["--concurrency", "20"], 2.5),
    ],
    "b": lambda s, b: [
        scenario(s, b, "b-rpm: 60 jobs, 0.2 s, 120/min, c=20, --rpm 120", prompts(60, "b"),
                 {"latency": 0.2, "rpm_limit": 120, "rpm_mode": "bucket",
                  "ratelimit_headers": True},
                 ["--concurrency", "20", "--rpm", "120", "--no-gallery"], 29.7),
        scenario(s, b, "b-adaptive: 60 jobs, 0.2 s, 120/min, c=20", prompts(60, "b"),
                 {"latency": 0.2, "rpm_limit": 120, "rpm_mode": "bucket",
                  "ratelimit_headers": True},
                 ["--concurrency", "20", "--no-gallery"], 29.7),
    ],
    "c": lambda s, b: scenario(s, b, "c: 50 jobs, 0.2 s, 20% 5xx, c=10", prompts(50, "c"),
                               {"latency": 0.2, "fail_rate": 0.2, "fail_seed": 7},
                               ["--concurrency", "10", "--backoff", "0.2",
                                "--max-attempts", "6", "--no-gallery"], 1.0),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(HERE.parent / "build" / "imagegen"))
    parser.add_argument("--only", default="a,b,c")
    args = parser.parse_args()
    rows = []
    # The spend history is on, as by default, but not the user's own.
    state = tempfile.TemporaryDirectory(prefix="bench-state-")
    os.environ["XDG_STATE_HOME"] = state.name
    standin = StandinProcess(KEY)
    try:
        for name in args.only.split(","):
            result = SCENARIOS[name](standin, args.bin)
            rows.extend(result if isinstance(result, list) else [result])
            for row in rows[-(len(result) if isinstance(result, list) else 1):]:
                print(json.dumps(row), flush=True)
    finally:
        standin.close()
    print("\n| scenario | wall s | ideal s | wall/ideal | CPU s | peak RSS MiB | requests | 429s | files valid |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scenario']} | {r['wall_s']} | {r['ideal_s']} | {r['wall_over_ideal']} | "
              f"{r['cpu_s']} | {r['peak_rss_mib']} | {r['requests']} | {r['http_429']} | "
              f"{r['files_valid']}/{r['jobs']} |")


if __name__ == "__main__":
    main()
