#!/usr/bin/env python3
"""Peer client for the imagegen benchmarks (issue 6): a standard-library thread
pool like the seeds' scripts.  urllib.request posts each prompt to
/images/generations from a ThreadPoolExecutor(max_workers=N), base64-decodes
b64_json and writes NN-slug.png files; 429 and 5xx answers (and dropped
connections) are retried with a doubling backoff, honouring retry-after.

    py_pool.py (--prompts FILE | --prompt TEXT) --out-dir DIR [--concurrency N]
               [--size WxH] [--model M] [--quality Q] [--output-format F]
               [--max-attempts N] [--backoff SECONDS]

Environment: OPENAI_API_KEY, OPENAI_BASE_URL (default https://api.openai.com/v1).
Exit status 0 when every image was saved, 1 when any failed, 2 on bad usage.
"""

import argparse
import base64
import concurrent.futures
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

RETRY_CAP_SECONDS = 8.0


def slug(text):
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].rstrip("-")
    return s or "image"


def retry_delay(headers, attempt, backoff):
    """retry-after-ms or retry-after (seconds) when given, else backoff doubling."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name) if headers is not None else None
        if value:
            try:
                seconds = float(value) * scale
            except ValueError:
                continue
            if 0 <= seconds <= 60:
                return seconds
    return min(backoff * 2 ** (attempt - 1), RETRY_CAP_SECONDS)


def generate(args, prompt, path):
    body = json.dumps({"model": args.model, "prompt": prompt, "size": args.size,
                       "quality": args.quality, "output_format": args.output_format}).encode()
    url = args.base_url.rstrip("/") + "/images/generations"
    for attempt in range(1, args.max_attempts + 1):
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Authorization": f"Bearer {args.api_key}",
            "Content-Type": "application/json",
        })
        try:
            with urllib.request.urlopen(request, timeout=args.timeout) as reply:
                payload = json.loads(reply.read())
            data = base64.b64decode(payload["data"][0]["b64_json"])
            with open(path, "wb") as out:
                out.write(data)
            return
        except urllib.error.HTTPError as error:
            error.read()
            if error.code != 429 and error.code < 500 or attempt == args.max_attempts:
                raise
            time.sleep(retry_delay(error.headers, attempt, args.backoff))
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if attempt == args.max_attempts:
                raise
            time.sleep(retry_delay(None, attempt, args.backoff))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompts", help="a file of prompts, one per line")
    source.add_argument("--prompt", help="one prompt (one image)")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--size", default="1024x1024")
    parser.add_argument("--model", default="gpt-image-2")
    parser.add_argument("--quality", default="medium")
    parser.add_argument("--output-format", default="png")
    parser.add_argument("--max-attempts", type=int, default=3)
    parser.add_argument("--backoff", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    if args.concurrency < 1 or args.max_attempts < 1:
        parser.error("--concurrency and --max-attempts must be at least 1")
    args.api_key = os.environ.get("OPENAI_API_KEY")
    if not args.api_key:
        parser.error("OPENAI_API_KEY is not set")
    args.base_url = os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"

    if args.prompt is not None:
        prompts = [args.prompt]
    else:
        with open(args.prompts, encoding="utf-8") as f:
            prompts = [line.strip() for line in f if line.strip()]
    os.makedirs(args.out_dir, exist_ok=True)
    width = max(2, len(str(len(prompts))))
    extension = "jpg" if args.output_format == "jpeg" else args.output_format

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        futures = {}
        for index, prompt in enumerate(prompts, 1):
            name = f"{index:0{width}d}-{slug(prompt)}.{extension}"
            futures[pool.submit(generate, args, prompt, os.path.join(args.out_dir, name))] = name
        for future in concurrent.futures.as_completed(futures):
            try:
                future.result()
            except Exception as error:  # noqa: BLE001 - report and go on
                failed += 1
                print(f"py_pool.py: {futures[future]}: {error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
