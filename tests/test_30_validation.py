"""Bad input is caught before any request: exit 2, a message naming the flag, and
the stand-in sees nothing.  Cases the tool accepts with a warning exit 0."""

import pytest

from conftest import files_in

P = ["--prompt", "a lighthouse"]
LONG_GPT = "a" * 32001
LONG_DALLE3 = "a" * 4001
LONG_DALLE2 = "a" * 1001

# (id, arguments after `generate`, text the message must hold: the flag's name)
INVALID = [
    ("n-zero", [*P, "--n", "0"], "--n"),
    ("n-eleven", [*P, "--n", "11"], "--n"),
    ("n-not-a-number", [*P, "--n", "abc"], "--n"),
    ("n-fraction", [*P, "--n", "2.5"], "--n"),
    ("n-trailing-junk", [*P, "--n", "2x"], "--n"),
    ("dalle3-n-2", [*P, "--model", "dall-e-3", "--n", "2"], "--n"),
    ("size-word", [*P, "--size", "big"], "--size"),
    ("size-missing-height", [*P, "--size", "1024x"], "--size"),
    ("size-zero-edge", [*P, "--size", "0x1024"], "--size"),
    ("size-negative", [*P, "--size", "-1024x1024"], "--size"),
    ("size-three-parts", [*P, "--size", "1024x1024x2"], "--size"),
    ("gpt-image-1-size-2048", [*P, "--model", "gpt-image-1", "--size", "2048x2048"],
     "--size"),
    ("gpt-image-1.5-size-1536x864", [*P, "--model", "gpt-image-1.5", "--size",
                                     "1536x864"], "--size"),
    ("gpt-image-2-not-multiple-of-16", [*P, "--size", "1000x1000"], "--size"),
    ("gpt-image-2-edge-over-3840", [*P, "--size", "4096x1024"], "--size"),
    ("gpt-image-2-edge-3856", [*P, "--size", "3856x2160"], "--size"),
    ("gpt-image-2-ratio-over-3", [*P, "--size", "2400x768"], "--size"),
    ("gpt-image-2-ratio-portrait", [*P, "--size", "768x2400"], "--size"),
    ("gpt-image-2-too-few-pixels", [*P, "--size", "512x512"], "--size"),
    ("gpt-image-2-too-many-pixels", [*P, "--size", "3840x2400"], "--size"),
    ("dalle2-size-1792x1024", [*P, "--model", "dall-e-2", "--size", "1792x1024"],
     "--size"),
    ("dalle3-size-512", [*P, "--model", "dall-e-3", "--size", "512x512"], "--size"),
    ("quality-ultra", [*P, "--quality", "ultra"], "--quality"),
    ("quality-hd-gpt-image-2", [*P, "--quality", "hd"], "--quality"),
    ("quality-standard-gpt-image-1", [*P, "--model", "gpt-image-1", "--quality",
                                      "standard"], "--quality"),
    ("quality-high-dalle2", [*P, "--model", "dall-e-2", "--quality", "high"],
     "--quality"),
    ("quality-low-dalle3", [*P, "--model", "dall-e-3", "--quality", "low"], "--quality"),
    ("transparent-jpeg", [*P, "--background", "transparent", "--output-format", "jpeg"],
     "--background"),
    ("background-weird", [*P, "--background", "weird"], "--background"),
    ("background-on-dalle2", [*P, "--model", "dall-e-2", "--background", "opaque"],
     "--background"),
    ("output-format-gif", [*P, "--output-format", "gif"], "--output-format"),
    ("output-format-on-dalle3", [*P, "--model", "dall-e-3", "--output-format", "webp"],
     "--output-format"),
    ("compression-101", [*P, "--output-format", "jpeg", "--output-compression", "101"],
     "--output-compression"),
    ("compression-negative", [*P, "--output-format", "webp", "--output-compression",
                              "-1"], "--output-compression"),
    ("compression-with-png", [*P, "--output-compression", "50"], "--output-compression"),
    ("compression-alias-on-dalle3", [*P, "--model", "dall-e-3", "--compression", "50"],
     "compression"),
    ("moderation-high", [*P, "--moderation", "high"], "--moderation"),
    ("moderation-on-dalle3", [*P, "--model", "dall-e-3", "--moderation", "low"],
     "--moderation"),
    ("response-format-on-gpt-image-1", [*P, "--model", "gpt-image-1",
                                        "--response-format", "url"], "--response-format"),
    ("response-format-png", [*P, "--model", "dall-e-2", "--response-format", "png"],
     "--response-format"),
    ("style-vivid-on-gpt-image-2", [*P, "--style", "vivid"], "--style"),
    ("style-natural-on-dalle2", [*P, "--model", "dall-e-2", "--style", "natural"],
     "--style"),
    ("input-fidelity-on-generate", [*P, "--input-fidelity", "high"], "--input-fidelity"),
    ("prompt-over-32000-gpt-image-2", ["--prompt", LONG_GPT], "--prompt"),
    ("prompt-over-4000-dalle3", ["--model", "dall-e-3", "--prompt", LONG_DALLE3],
     "--prompt"),
    ("prompt-over-1000-dalle2", ["--model", "dall-e-2", "--prompt", LONG_DALLE2],
     "--prompt"),
    ("augmented-prompt-over-1000-dalle2", ["--model", "dall-e-2", "--prompt", "a" * 990,
                                           "--scene", "kelp forest"], "--prompt"),
    ("snapshot-gpt-image-2-not-multiple-of-16", [*P, "--model", "gpt-image-2-2026-04-21",
                                                 "--size", "1000x1000"], "--size"),
    ("gpt-image-1-mini-size-1024x640", [*P, "--model", "gpt-image-1-mini", "--size",
                                        "1024x640"], "--size"),
    ("n-equals-form", [*P, "--n=0"], "--n"),
    ("prompt-file-over-1000-dalle2", ["--model", "dall-e-2", "--prompt-file", "long.txt"],
     "prompt"),
    ("empty-prompt", ["--prompt", ""], "--prompt"),
    ("whitespace-prompt", ["--prompt", "   "], "--prompt"),
    ("whitespace-only-prompt-file", ["--prompt-file", "blank.txt"], "--prompt-file"),
    ("missing-prompt-file", ["--prompt-file", "no-such-file.txt"], "--prompt-file"),
    ("timeout-zero", [*P, "--timeout", "0"], "--timeout"),
    ("timeout-word", [*P, "--timeout", "abc"], "--timeout"),
    ("timeout-negative", [*P, "--timeout", "-5"], "--timeout"),
    ("max-attempts-zero", [*P, "--max-attempts", "0"], "--max-attempts"),
    ("max-attempts-junk", [*P, "--max-attempts", "1x"], "--max-attempts"),
    ("retries-negative", [*P, "--retries", "-1"], "--retries"),
    ("backoff-negative", [*P, "--backoff", "-1"], "--backoff"),
    ("backoff-word", [*P, "--backoff", "soon"], "--backoff"),
    ("unknown-option", [*P, "--bogus"], "--bogus"),
    ("option-missing-its-value", [*P, "--size"], "--size"),
    ("prefix-with-out", [*P, "--prefix", "x", "--out", "y.png"], "--prefix"),
    ("out-jpg-with-format-png", [*P, "--out", "x.jpg", "--output-format", "png"],
     "--out"),
    ("base-url-ftp", [*P, "--base-url", "ftp://example.com/v1"], "--base-url"),
    ("base-url-not-a-url", [*P, "--base-url", "localhost"], "--base-url"),
    ("out-exists", [*P, "--out", "exists.png"], "--out"),
]


@pytest.fixture
def prepared(tmp_path):
    """Files some cases need: a whitespace-only prompt, a long one, an existing image."""
    (tmp_path / "blank.txt").write_text("   \n\t\n")
    (tmp_path / "long.txt").write_text(LONG_DALLE2)
    (tmp_path / "exists.png").write_bytes(b"keep me")
    return sorted(p.name for p in tmp_path.iterdir())


@pytest.mark.parametrize("args, flag", [case[1:] for case in INVALID],
                         ids=[case[0] for case in INVALID])
def test_invalid_input_exits_2_naming_the_flag_and_sends_nothing(
        run, standin, tmp_path, prepared, args, flag):
    result = run(["generate", *args])
    assert result.rc == 2, result
    assert flag in result.stderr, result
    assert result.stdout == ""
    assert standin.requests == []
    assert files_in(tmp_path) == prepared
    assert (tmp_path / "exists.png").read_bytes() == b"keep me"


def test_unknown_option_suggests_the_near_one(run, standin):
    result = run(["generate", *P, "--qualty", "high"])
    assert result.rc == 2, result
    assert "--qualty" in result.stderr
    assert "did you mean" in result.stderr
    assert "--quality" in result.stderr.split("did you mean", 1)[1]
    assert standin.requests == []


def test_invalid_input_is_caught_even_with_dry_run(run, standin):
    result = run(["generate", *P, "--size", "1000x1000", "--dry-run"])
    assert result.rc == 2, result
    assert "--size" in result.stderr
    assert result.stdout == ""


def test_validation_comes_before_the_key_check(run, standin):
    result = run(["generate", *P, "--n", "0"], env={"OPENAI_API_KEY": None})
    assert result.rc == 2, result
    assert "--n" in result.stderr


# --- limits are inclusive: the edge values are accepted


@pytest.mark.parametrize("args, sent", [
    (["--prompt", "a" * 32000], {"model": "gpt-image-2"}),
    (["--model", "dall-e-3", "--size", "1024x1024", "--prompt", "a" * 4000],
     {"model": "dall-e-3"}),
    (["--model", "dall-e-2", "--size", "256x256", "--prompt", "a" * 1000],
     {"model": "dall-e-2"}),
    (["--model", "dall-e-2", "--size", "256x256", "--prompt", "\u00e9" * 1000],
     {"model": "dall-e-2"}),
    ([*P, "--size", "1024x640"], {"size": "1024x640"}),
    ([*P, "--size", "2304x768"], {"size": "2304x768"}),
    ([*P, "--size", "768x2304"], {"size": "768x2304"}),
    ([*P, "--size", "2560x1440"], {"size": "2560x1440"}),
    ([*P, "--model", "gpt-image-1", "--size", "1024x1536"], {"size": "1024x1536"}),
    ([*P, "--model", "dall-e-3", "--size", "1024x1792"], {"size": "1024x1792"}),
    ([*P, "--size", "1024x640", "--n", "10"], {"n": 10}),
    ([*P, "--size", "1024x640", "--output-format", "webp", "--output-compression", "0"],
     {"output_compression": 0}),
    ([*P, "--size", "1024x640", "--output-format", "jpeg", "--output-compression", "100"],
     {"output_compression": 100}),
], ids=["prompt-32000", "prompt-4000-dalle3", "prompt-1000-dalle2",
        "prompt-1000-characters-not-bytes", "fewest-pixels", "ratio-3-to-1",
        "ratio-1-to-3", "largest-non-experimental", "gpt-image-1-portrait",
        "dalle3-portrait", "n-10", "compression-0", "compression-100"])
@pytest.mark.compat
def test_edge_values_are_accepted(run, standin, args, sent):
    result = run(["generate", *args, "--no-save", "-q"])
    assert result.rc == 0, result
    assert result.stderr == ""
    [request] = standin.requests
    for name, value in sent.items():
        assert request["body"][name] == value


# --- accepted with a warning


@pytest.mark.compat
def test_an_unknown_model_passes_through_with_a_warning(run, standin, tmp_path):
    result = run(["generate", *P, "--model", "acme-image-7", "--size", "1024x1024"])
    assert result.rc == 0, result
    assert "warning" in result.stderr
    assert "acme-image-7" in result.stderr
    [request] = standin.requests
    assert request["body"]["model"] == "acme-image-7"
    assert request["body"]["size"] == "1024x1024"
    assert result.lines == ["a-lighthouse.png"]


def test_gpt_image_2_experimental_size_warns(run, standin, tmp_path):
    result = run(["generate", *P, "--size", "3840x2160", "--no-save"])
    assert result.rc == 0, result
    assert "warning" in result.stderr
    assert "experimental" in result.stderr
    assert "--size" in result.stderr
    [request] = standin.requests
    assert request["body"]["size"] == "3840x2160"


def test_the_gpt_image_2_snapshot_is_a_known_model(run, standin):
    result = run(["generate", *P, "--model", "gpt-image-2-2026-04-21", "--size",
                  "1024x640", "--no-save"])
    assert result.rc == 0, result
    assert "warning" not in result.stderr
    assert standin.requests[0]["body"]["model"] == "gpt-image-2-2026-04-21"


def test_gpt_image_2_standard_size_does_not_warn(run, standin):
    result = run(["generate", *P, "--size", "1536x1024", "--no-save"])
    assert result.rc == 0, result
    assert "warning" not in result.stderr


def test_gpt_image_2_transparent_background_warns_preview(run, standin, tmp_path):
    result = run(["generate", *P, "--size", "1024x1024", "--background", "transparent"])
    assert result.rc == 0, result
    assert "warning" in result.stderr
    assert "preview" in result.stderr
    assert "--chroma-key" in result.stderr
    [request] = standin.requests
    assert request["body"]["background"] == "transparent"
    assert result.lines == ["a-lighthouse.png"]


@pytest.mark.compat
def test_transparent_on_gpt_image_1_5_does_not_warn(run, standin):
    result = run(["generate", *P, "--model", "gpt-image-1.5", "--size", "1024x1024",
                  "--background", "transparent", "--no-save"])
    assert result.rc == 0, result
    # Its one warning is about its shutdown (tests/test_72_models.py), none about
    # transparency.
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "shut down" in warnings[0], result


# --- the order of checks: options first, then the prompt, then the model's rules


def test_an_option_error_comes_before_an_empty_prompt(run, standin):
    result = run(["generate", "--key-color", "zz"], stdin="")
    assert result.rc == 2, result
    assert "--key-color" in result.stderr
    assert "prompt" not in result.stderr


def test_a_batch_option_error_comes_before_missing_jobs(run, standin):
    result = run(["batch", "--key-color", "zz"])
    assert result.rc == 2, result
    assert "--key-color" in result.stderr


def test_a_variation_without_an_image_says_so_before_its_size(run, standin):
    result = run(["variation", "--size", "999x1"])
    assert result.rc == 2, result
    assert "exactly one image" in result.stderr
