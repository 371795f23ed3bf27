"""Money (issue 13): the cost of what was paid, from each answer's usage at the price
table's rates (or per-image prices), shown per image, in the summary, in --json, the
sidecar, PNG metadata, the ledger and the gallery; the estimate before sending, within
10% of the usage cost; --max-cost before and during a run; the confirmation on a
terminal; the user's own price rows."""

import json
import math
import os
import re
import select
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, assert_no_key_in_output, clean_env, ledger_jobs, open_image

PRICES = json.loads((Path(__file__).parent.parent / "data" / "prices.json").read_text())
ROWS = {row["model"]: row for row in PRICES["models"]}
PROMPT = "A cute baby sea otter"
SLUG = "a-cute-baby-sea-otter"
SMALL = ["--size", "1024x640"]


def usage_cost(model, usage, partial_images=0):
    """What the usage costs at the bundled table's rates, computed here on its own."""
    rates = ROWS[model]["tokens"]
    details = usage.get("input_tokens_details") or {}
    out = usage.get("output_tokens_details") or {}
    text = details.get("text_tokens", usage["input_tokens"])
    image = details.get("image_tokens", 0)
    out_image = out.get("image_tokens", usage["output_tokens"]) + 100 * partial_images
    return (text * rates["text_input"] + image * rates["image_input"] +
            out_image * rates["image_output"]) / 1e6


def money(text):
    """The dollar amounts in a line, as numbers."""
    return [float(m) for m in re.findall(r"\$(\d+\.\d+)", text)]


def line(result, start):
    [found] = [x for x in result.stderr.splitlines() if x.startswith(start)]
    return found


def test_a_generation_reports_its_cost_per_image_in_the_summary_and_in_json(run, standin,
                                                                           tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--quality", "high", "--n", "2", "--json"])
    assert result.rc == 0, result
    response = result.json
    cost = usage_cost("gpt-image-2", response["usage"])
    assert response["cost"]["usd"] == pytest.approx(cost)
    assert response["cost"]["basis"] == "from usage"
    assert response["cost"]["estimate"] is True         # imagegen's figure, not the invoice
    assert response["cost"]["prices"] == "2026-11-30"
    before = response["cost"]["before_sending"]
    assert before["basis"] == "gpt-image-2 token rule"
    assert before["usd"] == pytest.approx(cost, rel=0.10)
    summary = line(result, "imagegen: cost: ")
    assert money(summary)[0] == pytest.approx(cost, abs=0.00005)
    assert "from usage; prices of 2026-11-30" in summary


def test_each_saved_image_shows_its_share(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL, "--n", "2"])
    assert result.rc == 0, result
    saved = [x for x in result.stderr.splitlines() if x.startswith("imagegen: saved ")]
    assert len(saved) == 2
    [total] = money(line(result, "imagegen: cost: "))[:1]
    for x in saved:
        assert money(x)[0] == pytest.approx(total / 2, abs=0.0001), x


@pytest.mark.parametrize("quality, size", [
    ("low", "1024x1024"), ("medium", "1024x1024"), ("high", "1024x1024"),
    ("medium", "1536x1024"), ("high", "1024x1536"), ("low", "2048x2048"),
    ("high", "2560x1440"), ("medium", "3840x2160"), ("high", "1024x640"),
])
@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-2.6-flare", "gpt-image-2.5-sunburst"])
def test_the_estimate_is_within_ten_percent_of_the_usage_cost(run, standin, model, quality,
                                                              size):
    result = run(["generate", PROMPT, "--model", model, "--quality", quality, "--size", size,
                  "--no-save", "--json"])
    assert result.rc == 0, result
    cost = result.json["cost"]
    assert cost["usd"] == pytest.approx(usage_cost(model, result.json["usage"]))
    assert cost["before_sending"]["usd"] == pytest.approx(cost["usd"], rel=0.10)
    if model != "gpt-image-2":   # gpt-image-2's rule applied to a model with none of its own
        assert "none is published for this model" in cost["before_sending"]["note"]


@pytest.mark.parametrize("shape", [(1536, 1024), (1024, 1536), (1024, 1024), (3000, 900)])
@pytest.mark.parametrize("quality", ["low", "medium", "high"])
@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-2.6-flare"])
def test_an_auto_size_edit_is_estimated_at_its_inputs_shape(run, standin, tmp_path, model,
                                                            quality, shape):
    # size auto on an edit comes back at the first input's shape at about a megapixel:
    # the estimate takes that size, not the costliest one auto may pick.
    from PIL import Image
    Image.new("RGB", shape, (10, 20, 30)).save(tmp_path / "photo.png")
    result = run(["edit", "--image", "photo.png", "make it blue", "--model", model,
                  "--size", "auto", "--quality", quality, "--no-save", "--json"])
    assert result.rc == 0, result
    cost = result.json["cost"]
    assert cost["usd"] == pytest.approx(usage_cost(model, result.json["usage"]))
    assert cost["before_sending"]["usd"] == pytest.approx(cost["usd"], rel=0.10)
    assert "upper_bound" not in cost["before_sending"]
    assert "at most" not in line(result, "imagegen: editing")


def test_an_estimate_that_is_an_upper_bound_says_so(run, standin, tmp_path):
    # A generation's size auto, or an edit whose input's shape is not known here (a
    # file id), is estimated at the costliest size auto may pick.
    result = run(["generate", PROMPT, "--size", "auto", "--quality", "high", "--no-save",
                  "--json"])
    assert result.rc == 0, result
    before = result.json["cost"]["before_sending"]
    assert before["upper_bound"] is True
    assert ("estimated at most $0.2107 (gpt-image-2 token rule, size auto at its costliest; "
            "prices of 2026-11-30)" in line(result, "imagegen: generating")), result.stderr
    # ... and the summary, beside what it cost.
    assert re.search(r"; estimated at most \$0\.2107 before sending$",
                     line(result, "imagegen: cost: ")), result.stderr
    shown = run(["edit", "--image", "file-abc123", "make it blue", "--quality", "auto",
                 "--dry-run", "--json"])
    assert shown.rc == 0, shown
    assert json.loads(shown.stdout)["estimate"]["upper_bound"] is True
    text = run(["edit", "--image", "file-abc123", "make it blue", "--quality", "auto",
                "--dry-run"])
    assert ("estimated cost: at most $0.2" in text.stdout and
            "size auto at its costliest and quality auto at high" in text.stdout), text.stdout
    # A batch's total is an upper bound when one of its jobs' estimates is.
    write_jobs(tmp_path, 2)
    batch = run(["batch", "--input", "jobs.jsonl", "--out-dir", "out", "--size", "auto",
                 "--no-gallery"])
    assert batch.rc == 0, batch
    assert re.search(r"; estimated at most \$0\.\d{4} \(prices of",
                     line(batch, "imagegen: batch: ")), batch.stderr
    assert "; estimated at most $" in line(batch, "imagegen: cost: ")


def test_an_edit_estimate_counts_its_input_images(run, standin, tmp_path):
    from PIL import Image
    Image.new("RGB", (1024, 1024), (10, 20, 30)).save(tmp_path / "photo.png")
    result = run(["edit", "--image", "photo.png", "--image", "photo.png", "make it blue",
                  "--size", "1024x1024", "--quality", "low", "--no-save", "--json"])
    assert result.rc == 0, result
    usage = result.json["usage"]
    assert usage["input_tokens_details"]["image_tokens"] == 2 * 765
    cost = result.json["cost"]
    assert cost["usd"] == pytest.approx(usage_cost("gpt-image-2", usage))
    assert cost["before_sending"]["usd"] == pytest.approx(cost["usd"], rel=0.10)


def test_streamed_partial_images_are_billed_and_the_usage_is_not_doubled(run, standin):
    plain = run(["generate", PROMPT, *SMALL, "--n", "2", "--no-save", "--json"])
    streamed = run(["generate", PROMPT, *SMALL, "--n", "2", "--partial-images", "1",
                    "--no-save", "--json"])
    assert plain.rc == streamed.rc == 0
    usage = plain.json["usage"]
    assert streamed.json["usage"]["total_tokens"] == usage["total_tokens"]
    # Two partial images, one each, at 100 output tokens each.
    assert streamed.json["cost"]["usd"] == pytest.approx(
        usage_cost("gpt-image-2", usage, partial_images=2))


@pytest.mark.compat
@pytest.mark.parametrize("model, args, each", [
    ("dall-e-3", ["--size", "1792x1024", "--quality", "hd"], 0.12),
    ("dall-e-2", ["--size", "512x512"], 0.018),
])
def test_a_model_billed_per_image_is_priced_from_the_table(run, standin, model, args, each):
    result = run(["generate", PROMPT, "--model", model, *args, "--no-save", "--json"])
    assert result.rc == 0, result
    assert "usage" not in result.json
    assert result.json["cost"]["basis"] == "per-image price"
    assert result.json["cost"]["usd"] == pytest.approx(each)
    assert result.json["cost"]["before_sending"]["usd"] == pytest.approx(each)


@pytest.mark.compat
@pytest.mark.parametrize("model", ["gpt-image-1-mini", "gpt-image-1"])
def test_the_gpt_image_1_models_are_priced_from_their_usage(run, standin, tmp_path, model):
    from PIL import Image
    Image.new("RGB", (1024, 1024), (10, 20, 30)).save(tmp_path / "photo.png")
    generated = run(["generate", PROMPT, "--model", model, "--size", "1536x1024",
                     "--quality", "medium", "--n", "2", "--no-save", "--json"])
    edited = run(["edit", "--image", "photo.png", "make it blue", "--model", model,
                  "--size", "1024x1024", "--quality", "low", "--no-save", "--json"])
    for result in (generated, edited):
        assert result.rc == 0, result
        usage, cost = result.json["usage"], result.json["cost"]
        assert cost["basis"] == "from usage"
        assert cost["usd"] == pytest.approx(usage_cost(model, usage))
        assert cost["prices"] == ROWS[model]["read"]
        assert f"from usage; prices of {ROWS[model]['read']}" in result.stderr
    # The edit's input image is billed at the image input rate, not the text one.
    assert edited.json["usage"]["input_tokens_details"]["image_tokens"] > 0


@pytest.mark.compat
def test_gpt_image_1_5_without_a_text_rate_uses_its_per_image_price(run, standin):
    result = run(["generate", PROMPT, "--model", "gpt-image-1.5", "--size", "1536x1024",
                  "--quality", "high", "--n", "2", "--no-save", "--json"])
    assert result.rc == 0, result
    assert result.json["cost"]["basis"] == "per-image price"
    assert result.json["cost"]["usd"] == pytest.approx(0.40)


@pytest.mark.compat
def test_a_model_with_no_price_row_has_an_unknown_cost_never_a_made_up_one(run, standin):
    standin.configure(extra_models=["house-model"]) if "extra_models" in dir(standin) else None
    result = run(["generate", PROMPT, "--model", "gpt-image-2.7-preview", *SMALL, "--no-save",
                  "--json"])
    assert result.rc == 0, result
    cost = result.json["cost"]
    assert cost["usd"] is None and cost["basis"] == "unknown"
    assert "no row for this model" in cost["why"]
    assert "cost: cost unknown (the price table has no row for this model)" in result.stderr
    assert "estimated cost unknown" in line(result, "imagegen: generating")


def test_the_dry_run_shows_the_estimate(run, standin):
    text = run(["generate", PROMPT, "--size", "1024x1024", "--quality", "high", "--n", "3",
                "--dry-run"])
    assert text.rc == 0, text
    assert ("estimated cost: $0.6322 (gpt-image-2 token rule; prices of 2026-11-30)"
            in text.stdout), text.stdout
    shown = run(["generate", PROMPT, "--size", "1024x1024", "--quality", "high", "--n", "3",
                 "--dry-run", "--json"])
    estimate = json.loads(shown.stdout)["estimate"]
    assert estimate["usd"] == pytest.approx((6 * 5 + 3 * 7024 * 30) / 1e6)
    assert standin.requests == []


def test_max_cost_refuses_a_run_estimated_above_it_and_sends_nothing(run, standin):
    result = run(["generate", PROMPT, "--size", "1024x1024", "--quality", "high", "--n", "4",
                  "--max-cost", "0.50"])
    assert result.rc == 2, result
    assert ("--max-cost $0.5000: the run is estimated at $0.8429; nothing was sent"
            in result.stderr), result.stderr
    assert standin.requests == []
    ok = run(["generate", PROMPT, *SMALL, "--max-cost", "$1"])
    assert ok.rc == 0, ok


def test_max_cost_refuses_a_run_it_cannot_estimate(run, standin):
    result = run(["generate", PROMPT, "--model", "gpt-image-2.6-flare", "--quality", "xhigh",
                  *SMALL, "--max-cost", "5"])
    assert result.rc == 2, result
    assert "--max-cost: the cost of 1 request cannot be estimated" in result.stderr
    assert standin.requests == []


@pytest.mark.parametrize("value", ["-1", "abc", "1e3", "5$"])
def test_max_cost_takes_only_an_amount(run, standin, value):
    result = run(["generate", PROMPT, "--max-cost", value])
    assert result.rc == 2
    assert "--max-cost: '" in result.stderr and "is not an amount of dollars" in result.stderr


def write_jobs(folder, count, **extra):
    path = folder / "jobs.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"otter {i}", **extra}) + "\n"
                            for i in range(count)))
    return path


def test_a_batch_start_line_says_what_it_asks_for_and_its_estimate(run, standin, tmp_path):
    write_jobs(tmp_path, 3)
    result = run(["batch", "--input", "jobs.jsonl", "--out-dir", "out", "--quality", "high",
                  "--size", "1024x1024", "--no-gallery"])
    assert result.rc == 0, result
    start = line(result, "imagegen: batch: ")
    assert "3 jobs (3 images, gpt-image-2, quality high, size 1024x1024)" in start, start
    estimate = money(start)[0]
    summary = line(result, "imagegen: cost: ")
    spent = money(summary)[0]
    paid = sum(usage_cost("gpt-image-2", job["usage"]) for job in ledger_jobs(tmp_path / "out"))
    assert spent == pytest.approx(paid, abs=0.0001)
    assert estimate == pytest.approx(paid, rel=0.10)
    # The ledger records each job's cost beside its estimate.
    for job in ledger_jobs(tmp_path / "out"):
        assert job["cost"]["usd"] == pytest.approx(usage_cost("gpt-image-2", job["usage"]))
        assert job["cost"]["before_sending"]["usd"] == pytest.approx(job["cost"]["usd"],
                                                                     rel=0.10)


def test_a_batch_over_max_cost_is_refused_before_sending(run, standin, tmp_path):
    write_jobs(tmp_path, 10)
    result = run(["batch", "--input", "jobs.jsonl", "--out-dir", "out", "--quality", "high",
                  "--size", "1024x1024", "--max-cost", "1"])
    assert result.rc == 2, result
    assert "--max-cost $1.0000: the run is estimated at $2.1" in result.stderr
    assert standin.requests == []


ONE_JOB = (2 * 5 + 1756 * 30) / 1e6   # the estimate of "otter N" at 1024x1024 medium


def test_a_batch_stops_launching_before_its_spend_passes_max_cost(run, standin, tmp_path):
    # The server bills twice the output tokens any rule foresees: the run starts within
    # its budget (six estimates), and its spend overtakes the budget as answers come.
    write_jobs(tmp_path, 6)
    budget = 6 * ONE_JOB + 1e-6
    standin.configure(output_tokens_scale=2.0)
    result = run(["batch", "--input", "jobs.jsonl", "--out-dir", "out", "--size", "1024x1024",
                  "--concurrency", "1", "--max-cost", f"{budget:.6f}", "--no-gallery"])
    assert result.rc == 1, result
    # Each job costs about two estimates, booked as soon as its answer is priced (before
    # its files are committed): three fit, the fourth would pass (3 x 2 + 1 > 6).
    sent = len(standin.requests)
    assert sent == 3, result
    assert re.search(rf"--max-cost \$0\.3\d+: \$0\.\d+ is spent or in flight, and job "
                     rf"{sent + 1} is estimated at \$0\.0527; no more jobs were sent",
                     result.stderr), result
    assert f"{6 - sent} jobs not sent; run the same command again to finish" in result.stderr
    # What was sent was within the budget at its estimate; what it cost is said.
    spent = sum(job["cost"]["usd"] for job in ledger_jobs(tmp_path / "out")
                if job["state"] != "pending")    # planned, never sent: nothing paid
    assert money(line(result, "imagegen: cost: "))[0] == pytest.approx(spent, abs=0.0001)
    # A rerun with room for the rest sends only those.
    result = run(["batch", "--input", "jobs.jsonl", "--out-dir", "out", "--size", "1024x1024",
                  "--concurrency", "1", "--max-cost", "1", "--no-gallery"])
    assert result.rc == 0, result
    assert len(standin.requests) == 6


def test_with_four_in_flight_the_budget_counts_each_of_them(run, standin, tmp_path):
    # Six estimates: the run starts within a budget of 6.5. Four go at once; the first
    # answer comes whole and costs about two estimates, the next three are held
    # half-way: 2 spent + 3 in flight + 1 = 6 fits, so a fifth goes. Any answer after
    # that leaves no room for a sixth (2 + 2 + 3 + 1 > 6.5), however they interleave.
    from concurrent.futures import ThreadPoolExecutor
    write_jobs(tmp_path, 6)
    budget = 6.5 * ONE_JOB
    standin.configure(output_tokens_scale=2.0, hold_body=0.5, hold_after=1, hold_count=3)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(run, [
            "batch", "--input", "jobs.jsonl", "--out-dir", "out", "--size", "1024x1024",
            "--concurrency", "4", "--max-cost", f"{budget:.6f}", "--no-gallery"])
        try:
            assert standin.wait_held(3), "three answers were not held"
            deadline = time.monotonic() + 20
            while len(standin.requests) < 5 and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            standin.release()
        result = running.result(timeout=60)
    assert result.rc == 1, result
    assert len(standin.requests) == 5, result       # the stand-in saw five, never six
    stop = re.search(r"--max-cost \$0\.3425: \$(0\.\d+) is spent or in flight, and job 6 is "
                     r"estimated at \$0\.0527; no more jobs were sent", result.stderr)
    assert stop, result.stderr
    assert "1 job not sent; run the same command again to finish" in result.stderr
    jobs = [job for job in ledger_jobs(tmp_path / "out") if job["state"] != "pending"]
    assert len(jobs) == 5
    [cost] = {round(job["cost"]["usd"], 9) for job in jobs}
    [estimate] = {round(job["cost"]["before_sending"]["usd"], 9) for job in jobs}
    assert estimate == pytest.approx(ONE_JOB)
    # Each launch stayed within the budget with the estimates of the jobs in flight:
    # the first four with nothing spent, the fifth with one answer in.
    assert 4 * estimate <= budget
    assert cost + 3 * estimate + estimate <= budget
    # The sixth was refused on what was spent and in flight (two answers in at least,
    # three in flight), which with its estimate would pass the budget.
    assert float(stop[1]) >= 2 * cost + 3 * estimate - 0.0001
    assert float(stop[1]) + estimate > budget
    # What the five cost, at about twice their estimates, is what the summary says.
    spent = sum(job["cost"]["usd"] for job in jobs)
    assert money(line(result, "imagegen: cost: "))[0] == pytest.approx(spent, abs=0.0001)


def test_user_prices_replace_a_row_and_are_named(run, standin, xdg):
    xdg.write_prices({"models": [{"model": "gpt-image-2", "tokens": {
        "text_input": 1, "image_input": 1, "image_output": 1}, "read": "2026-12-01"}]})
    result = run(["generate", PROMPT, *SMALL, "--no-save", "--json"])
    assert result.rc == 0, result
    usage = result.json["usage"]
    assert result.json["cost"]["usd"] == pytest.approx(usage["total_tokens"] / 1e6)
    assert result.json["cost"]["prices"] == "2026-12-01"
    assert result.json["cost"]["user_prices"] is True
    assert "prices of 2026-12-01, yours" in result.stderr


def test_a_bad_user_price_file_is_refused_with_its_place(run, standin, xdg):
    path = xdg.write_prices('{"models": [{"model": "gpt-image-2", "tokens": {"image_ouput": 3}}]}')
    result = run(["generate", PROMPT, *SMALL])
    assert result.rc == 2, result
    assert (f"imagegen: error: {path}: models[0] (gpt-image-2): unknown rate \"image_ouput\""
            in result.stderr), result.stderr
    assert standin.requests == []


def test_a_named_price_table_that_is_missing_is_an_error(run, standin, tmp_path):
    result = run(["generate", PROMPT, *SMALL], env={"IMAGEGEN_PRICES": str(tmp_path / "no.json")})
    assert result.rc == 2
    assert "cannot read the price table" in result.stderr


def test_the_sidecar_png_metadata_and_gallery_carry_the_cost(run, standin, tmp_path):
    write_jobs(tmp_path, 2, n=2)
    result = run(["batch", "--input", "jobs.jsonl", "--out-dir", "out", *SMALL, "--sidecar"])
    assert result.rc == 0, result
    out = tmp_path / "out"
    total = 0.0
    for job in ledger_jobs(out):
        cost = job["cost"]["usd"]
        total += cost
        for name in job["files"]:
            side = json.loads((out / name).with_suffix(".json").read_text())
            assert side["cost"]["usd"] == pytest.approx(cost)
            assert side["cost"]["usd_each"] == pytest.approx(cost / 2)
            embedded = json.loads(open_image(out / name).text["imagegen:cost"])
            assert embedded["usd"] == pytest.approx(cost)
            assert embedded["prices"] == "2026-11-30"
    page = (out / "index.html").read_text()
    cards = re.findall(r'<dd class="cost">\$(\d+\.\d+)</dd>', page)
    assert len(cards) == 2
    [shown] = re.findall(r'<p id="total">4 images, <span class="cost">\$(\d+\.\d+)</span>',
                         page)
    assert float(shown) == pytest.approx(total, abs=0.0001)


def test_a_resumed_job_keeps_its_cost(run, standin, tmp_path):
    write_jobs(tmp_path, 2)
    first = run(["batch", "--input", "jobs.jsonl", "--out-dir", "out", *SMALL, "--json"])
    again = run(["batch", "--input", "jobs.jsonl", "--out-dir", "out", *SMALL, "--json"])
    assert first.rc == again.rc == 0
    before = [json.loads(x)["cost"] for x in first.stdout.splitlines()]
    after = [json.loads(x)["cost"] for x in again.stdout.splitlines()]
    assert before == after
    assert money(line(again, "imagegen: cost: "))[0] == 0   # this run paid nothing


# --- the confirmation, on a terminal


def run_on_a_terminal(standin, cwd, args, answer=None, env=None):
    """imagegen with stdin, stdout and stderr on a pseudo-terminal; types answer once it
    asks. Returns (rc, what the terminal showed)."""
    leader, follower = os.openpty()
    shown = b""
    try:
        process = subprocess.Popen([BIN, *args], cwd=cwd, env=clean_env(standin, env),
                                   stdin=follower, stdout=follower, stderr=follower)
        os.close(follower)
        deadline = time.monotonic() + 30
        typed = False
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:
                    break
                if not data:
                    break
                shown += data
                if answer is not None and not typed and b"Send it? [y/N]" in shown:
                    os.write(leader, answer.encode() + b"\n")
                    typed = True
            elif process.poll() is not None:
                break
        rc = process.wait(timeout=30)
    finally:
        os.close(leader)
    assert_no_key_in_output(shown, names=("the terminal",))
    return rc, shown.decode("utf-8", errors="replace")


EXPENSIVE = ["generate", PROMPT, "--size", "1024x1024", "--quality", "high", "--n", "3",
             "--confirm-above", "0.50"]


def test_an_expensive_run_asks_and_a_no_sends_nothing(standin, tmp_path):
    rc, shown = run_on_a_terminal(standin, tmp_path, EXPENSIVE, answer="n")
    assert rc == 2, shown
    # The question says what would be sent, so an expensive mistake is seen first.
    assert ("this run (3 images with gpt-image-2, size 1024x1024, quality high) is estimated "
            "at $0.6322, above $0.5000. Send it? [y/N]" in shown), shown
    assert "not sent: the estimate $0.6322 is above $0.5000" in shown
    assert standin.requests == []


def test_an_expensive_run_sends_on_a_yes(standin, tmp_path):
    rc, shown = run_on_a_terminal(standin, tmp_path, EXPENSIVE, answer="y")
    assert rc == 0, shown
    assert len(standin.requests) == 1


def test_yes_skips_the_question(standin, tmp_path):
    rc, shown = run_on_a_terminal(standin, tmp_path, [*EXPENSIVE, "--yes"])
    assert rc == 0, shown
    assert "Send it?" not in shown


def test_the_default_threshold_is_five_dollars_and_the_environment_changes_it(standin,
                                                                             tmp_path):
    cheap = ["generate", PROMPT, *SMALL]
    rc, shown = run_on_a_terminal(standin, tmp_path, cheap)
    assert rc == 0 and "Send it?" not in shown
    rc, shown = run_on_a_terminal(standin, tmp_path, cheap, answer="n",
                                  env={"IMAGEGEN_CONFIRM_ABOVE": "0.001"})
    assert rc == 2 and "Send it? [y/N]" in shown


UNKNOWN = ["--model", "gpt-image-2.6-flare", "--quality", "xhigh", "--size", "1024x1024"]
NO_RULE = "no output-token rule is published for this quality"


def test_a_batch_it_cannot_estimate_asks_whatever_the_threshold_and_a_no_sends_nothing(
        standin, tmp_path):
    # xhigh has no rule and no earlier run: the three jobs cannot be estimated, which
    # is no reason to send them unasked (they were once sent for $2.53 that way).
    write_jobs(tmp_path, 3)
    args = ["batch", "--input", "jobs.jsonl", "--out-dir", "out", *UNKNOWN, "--no-gallery"]
    rc, shown = run_on_a_terminal(standin, tmp_path, [*args, "--confirm-above", "0.01"],
                                  answer="n")
    assert rc == 2, shown
    assert ("this run (3 images, gpt-image-2.6-flare, quality xhigh, size 1024x1024) "
            f"cannot be estimated: 3 requests have no estimate ({NO_RULE}" in shown), shown
    assert "Send it? [y/N]" in shown
    assert f"not sent: 3 requests have no estimate ({NO_RULE}" in shown, shown
    assert "$0.0000" not in shown
    assert standin.requests == []
    # The threshold does not matter: the default asks too.
    rc, shown = run_on_a_terminal(standin, tmp_path, args, answer="n")
    assert rc == 2 and "Send it? [y/N]" in shown, shown
    assert standin.requests == []


def test_a_batch_it_cannot_estimate_sent_on_a_yes_says_unknown_never_zero(standin,
                                                                         tmp_path):
    write_jobs(tmp_path, 3)
    rc, shown = run_on_a_terminal(standin, tmp_path, [
        "batch", "--input", "jobs.jsonl", "--out-dir", "out", *UNKNOWN, "--no-gallery"],
        answer="y")
    assert rc == 0, shown
    assert len(standin.requests) == 3
    assert "$0.0000" not in shown, shown
    [start] = [x for x in shown.splitlines() if x.startswith("imagegen: batch: 3 jobs")]
    assert f"estimated: unknown for 3 jobs ({NO_RULE}" in start, start
    [summary] = [x for x in shown.splitlines() if x.startswith("imagegen: cost: ")]
    assert re.search(r"cost: \$\d+\.\d{4}; estimated before sending: unknown \(3 jobs "
                     r"had no estimate\)", summary), summary
    # --yes still skips the question.
    rc, shown = run_on_a_terminal(standin, tmp_path, [
        "generate", PROMPT, *UNKNOWN, "--no-save", "--no-history", "--yes"])
    assert rc == 0 and "Send it?" not in shown, shown


def test_a_single_request_it_cannot_estimate_asks(standin, tmp_path):
    rc, shown = run_on_a_terminal(standin, tmp_path, ["generate", PROMPT, *UNKNOWN,
                                                      "--no-save"], answer="n")
    assert rc == 2, shown
    assert ("this run (1 image with gpt-image-2.6-flare, size 1024x1024, quality xhigh) "
            f"cannot be estimated: 1 request has no estimate ({NO_RULE}" in shown), shown
    assert standin.requests == []


def test_a_batch_partly_estimated_says_what_it_knows_and_what_it_does_not(standin,
                                                                          tmp_path):
    (tmp_path / "jobs.jsonl").write_text(
        json.dumps({"prompt": "otter 0", "quality": "low"}) + "\n" +
        json.dumps({"prompt": "otter 1"}) + "\n")
    rc, shown = run_on_a_terminal(standin, tmp_path, [
        "batch", "--input", "jobs.jsonl", "--out-dir", "out", *UNKNOWN, "--no-gallery"],
        answer="y")
    assert rc == 0, shown
    assert re.search(r"is estimated at \$0\.00\d\d without 1 request that has no "
                     r"estimate \(" + NO_RULE, shown), shown
    [start] = [x for x in shown.splitlines() if x.startswith("imagegen: batch: 2 jobs")]
    assert re.search(r"estimated \$0\.00\d\d for 1 job, and 1 with no estimate", start), start
    [summary] = [x for x in shown.splitlines() if x.startswith("imagegen: cost: ")]
    assert re.search(r"estimated before sending: \$0\.00\d\d for 1 job, unknown for 1$",
                     summary), summary


def test_without_a_terminal_it_never_asks(run, standin):
    result = run(EXPENSIVE)
    assert result.rc == 0, result
    assert "Send it?" not in result.stderr


# --- the spend history and `imagegen usage`


def history_rows(xdg):
    import sqlite3
    with sqlite3.connect(xdg.history) as db:
        db.row_factory = sqlite3.Row
        db.text_factory = lambda raw: raw.decode("utf-8", errors="surrogateescape")
        return [dict(row) for row in db.execute("SELECT * FROM spend ORDER BY id")]


def test_every_paid_request_of_every_command_is_in_the_history(run, standin, tmp_path, xdg):
    from PIL import Image
    Image.new("RGB", (1024, 1024), (10, 20, 30)).save(tmp_path / "photo.png")
    one = run(["generate", PROMPT, *SMALL, "--json"])
    two = run(["edit", "--image", "photo.png", "make it blue", "--size", "1024x1024", "--json"])
    write_jobs(tmp_path, 2)
    three = run(["batch", "--input", "jobs.jsonl", "--out-dir", "out", *SMALL, "--json"])
    standin.configure(fault="400")
    failed = run(["generate", PROMPT, *SMALL])
    assert (one.rc, two.rc, three.rc, failed.rc) == (0, 0, 0, 1)
    rows = history_rows(xdg)
    assert [row["command"] for row in rows] == ["generate", "edit", "batch", "batch"]
    first = rows[0]
    assert first["model"] == "gpt-image-2" and first["quality"] == "medium"
    assert first["size"] == "1024x640" and first["images"] == 1
    assert first["total_tokens"] == one.json["usage"]["total_tokens"]
    assert first["usd"] == pytest.approx(one.json["cost"]["usd"])
    assert first["estimate_usd"] == pytest.approx(one.json["cost"]["before_sending"]["usd"])
    assert first["base_url"] == standin.url and first["provider"] == "openai"
    assert first["request_id"].startswith("req_")
    assert json.loads(first["files"]) == [f"{SLUG}.png"]
    assert first["folder"] == str(tmp_path.resolve())
    assert rows[2]["folder"] == str((tmp_path / "out").resolve())
    spent = [json.loads(x)["cost"]["usd"] for x in three.stdout.splitlines()]
    assert sorted(row["usd"] for row in rows[2:]) == pytest.approx(sorted(spent))
    # usage reports what the runs paid.
    report = json.loads(run(["usage", "--json"]).stdout)
    assert report["total"]["requests"] == 4 and report["total"]["images"] == 4
    assert report["total"]["usd"] == pytest.approx(sum(row["usd"] for row in rows))
    assert report["history"] == str(xdg.history)
    by_folder = json.loads(run(["usage", "--by", "folder", "--json"]).stdout)
    assert [row["key"] for row in by_folder["rows"]] == sorted(
        [str(tmp_path.resolve()), str((tmp_path / "out").resolve())])
    text = run(["usage", "--by", "model"])
    assert text.rc == 0
    assert re.search(r"^gpt-image-2 +4 +4 +\d+ +\$\d\.\d{4}$", text.stdout, re.M), text.stdout
    assert "total" in text.stdout and str(xdg.history) in text.stdout


def test_no_history_records_nothing(run, standin, xdg):
    assert run(["generate", PROMPT, *SMALL, "--no-history"]).rc == 0
    assert run(["generate", PROMPT, *SMALL, "--dry-run"]).rc == 0
    assert run(["generate", PROMPT, *SMALL], env={"IMAGEGEN_NO_HISTORY": "1"}).rc == 0
    assert not xdg.history.exists()
    report = run(["usage", "--json"])
    assert report.rc == 0, report
    assert json.loads(report.stdout)["total"]["requests"] == 0


def test_usage_since_and_its_errors(run, standin, xdg):
    assert run(["generate", PROMPT, *SMALL]).rc == 0
    assert json.loads(run(["usage", "--since", "2999-01-01", "--json"]).stdout)["rows"] == []
    assert json.loads(run(["usage", "--since", "1d", "--json"]).stdout)["total"]["requests"] == 1
    for args, said in [(["--since", "yesterday"], "--since: 'yesterday' is not a date"),
                       (["--by", "week"], "--by: 'week' is not day, model or folder"),
                       (["extra"], "usage: takes no arguments")]:
        result = run(["usage", *args])
        assert result.rc == 2 and said in result.stderr, result


def test_a_quality_without_a_rule_is_estimated_from_earlier_runs(run, standin, xdg):
    args = ["generate", PROMPT, "--model", "gpt-image-2.6-flare", "--quality", "xhigh",
            "--size", "1024x1024", "--no-save", "--json"]
    first = run(args)
    assert first.rc == 0, first
    assert first.json["cost"]["before_sending"]["basis"] == "unknown"
    second = run(args)
    before = second.json["cost"]["before_sending"]
    assert before["basis"] == "earlier runs"
    assert before["usd"] == pytest.approx(second.json["cost"]["usd"], rel=0.10)
    # ... which --max-cost can then go by.
    refused = run([*args, "--max-cost", "0.01"])
    assert refused.rc == 2 and "the run is estimated at" in refused.stderr


@pytest.mark.parametrize("quality", ["medium", "high"])
@pytest.mark.parametrize("scale", [0.6, 1.5])
def test_a_borrowed_rule_gives_way_to_earlier_runs_of_the_model(run, standin, quality,
                                                                scale):
    # gpt-image-2.6 has no rule of its own: the first run borrows gpt-image-2's, and
    # the server bills otherwise; the second goes by what the first paid.
    standin.configure(output_tokens_scale=scale)
    args = ["generate", PROMPT, "--model", "gpt-image-2.6-flare", "--quality", quality,
            "--size", "1024x1024", "--no-save", "--json"]
    first = run(args)
    assert first.rc == 0, first
    before = first.json["cost"]["before_sending"]
    assert before["basis"] == "gpt-image-2 token rule"
    assert before["usd"] != pytest.approx(first.json["cost"]["usd"], rel=0.10)
    second = run(args)
    assert second.rc == 0, second
    before = second.json["cost"]["before_sending"]
    assert before["basis"] == "earlier runs"
    assert before["usd"] == pytest.approx(second.json["cost"]["usd"], rel=0.10)
    assert "estimated $" in line(second, "imagegen: generating")
    assert "(earlier runs; prices of" in line(second, "imagegen: generating")


def test_ctrl_c_at_the_question_is_an_interrupt_and_sends_nothing(standin, tmp_path):
    leader, follower = os.openpty()
    shown = b""
    try:
        process = subprocess.Popen([BIN, *EXPENSIVE], cwd=tmp_path, env=clean_env(standin),
                                   stdin=follower, stdout=follower, stderr=follower)
        os.close(follower)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and b"Send it?" not in shown:
            if select.select([leader], [], [], 0.1)[0]:
                shown += os.read(leader, 65536)
        assert b"Send it?" in shown, shown
        process.send_signal(2)
        rc = process.wait(timeout=30)
        while select.select([leader], [], [], 0.2)[0]:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            shown += data
    finally:
        os.close(leader)
    assert_no_key_in_output(shown, names=("the terminal",))
    assert rc == 130, shown
    assert b"interrupted; nothing was sent" in shown
    assert standin.requests == []


@pytest.mark.compat
def test_dall_e_3_without_a_quality_is_priced_as_standard(run, standin):
    result = run(["generate", PROMPT, "--model", "dall-e-3", "--no-save", "--json"])
    assert result.rc == 0, result
    assert result.json["cost"]["usd"] == pytest.approx(0.04)
    assert result.json["cost"]["before_sending"]["usd"] == pytest.approx(0.04)


def test_a_paid_answer_that_fails_still_shows_its_cost(run, standin, xdg):
    standin.configure(fault="invalid_b64")
    result = run(["generate", PROMPT, *SMALL])
    assert result.rc == 1, result
    # The answer was cut short (its images were not base64): no usage came, so the
    # cost is unknown, but the run says it was paid for.
    assert ("cost: cost unknown (no usage was reported, and the price table has no "
            "per-image price for its quality and size), paid for though it failed"
            in result.stderr), result.stderr
    assert len(history_rows(xdg)) == 1     # and the history has it


def test_a_history_that_cannot_be_written_is_said(run, standin, xdg):
    import sqlite3
    assert run(["generate", PROMPT, *SMALL]).rc == 0       # makes the history
    holder = sqlite3.connect(xdg.history, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")                   # another writer, for too long
        result = run(["generate", PROMPT, *SMALL])
        # usage still reads it meanwhile: it never writes.
        report = run(["usage", "--json"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.rc == 0, result
    assert re.search(r"warning: the spend history .*history\.db: database is locked; 1 paid "
                     r"request was not recorded", result.stderr), result.stderr
    assert report.rc == 0, report
    assert json.loads(report.stdout)["total"]["requests"] == 1


def test_a_folder_name_that_is_not_utf8_is_recorded_and_shown_safely(run, standin, tmp_path,
                                                                     xdg):
    folder = os.fsdecode(b"lat\xe9\xc2\x9b")
    result = run(["generate", PROMPT, *SMALL, "--out-dir", folder])
    assert result.rc == 0, result
    [row] = history_rows(xdg)
    assert json.loads(row["files"]) == [f"{SLUG}.png"]
    text = run(["usage", "--by", "folder"])
    assert text.rc == 0
    assert "\x9b" not in text.stdout and "lat" in text.stdout


def test_a_dry_run_estimates_from_earlier_runs_without_writing(run, standin, xdg):
    args = ["generate", PROMPT, "--model", "gpt-image-2.6-flare", "--quality", "xhigh",
            "--size", "1024x1024"]
    assert run([*args, "--no-save"]).rc == 0
    before = xdg.history.stat().st_mtime_ns
    shown = run([*args, "--dry-run", "--json"])
    assert shown.rc == 0, shown
    assert json.loads(shown.stdout)["estimate"]["basis"] == "earlier runs"
    no_history = run([*args, "--no-history", "--max-cost", "5"])
    assert no_history.rc == 0, no_history            # estimated from what is there
    assert len(history_rows(xdg)) == 1 and xdg.history.stat().st_mtime_ns == before


def test_an_answer_cut_short_and_retried_is_billed_at_its_estimate(run, standin):
    # The first answer stops half-way (billed, with no usage to show); the retry is whole.
    standin.configure(fault="truncate", fault_count=1)
    result = run(["generate", PROMPT, *SMALL, "--backoff", "0.05", "--no-save", "--json"])
    assert result.rc == 0, result
    cost = result.json["cost"]
    whole = usage_cost("gpt-image-2", result.json["usage"])
    assert cost["usd"] == pytest.approx(whole + cost["before_sending"]["usd"])
    assert cost["note"] == "with the answers cut short and retried, at their estimate"


def test_without_home_the_history_is_found_from_the_password_database(run, standin, tmp_path):
    import pwd
    home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    env = {"HOME": None, "XDG_STATE_HOME": "relative/ignored",
           "IMAGEGEN_HISTORY": str(tmp_path / "h.db")}
    # IMAGEGEN_HISTORY wins; without it the password database's home is used (not
    # written here: the machine's own folder), and the dry run shows it is found.
    result = run(["generate", PROMPT, *SMALL], env=env)
    assert result.rc == 0, result
    assert (tmp_path / "h.db").exists()
    report = run(["usage", "--json"], env={"HOME": None, "XDG_STATE_HOME": "relative"})
    assert report.rc == 0, report
    assert json.loads(report.stdout)["history"] == str(
        home / ".local" / "state" / "imagegen" / "history.db")
