"""`imagegen batch` (alias `generate-batch`) against the stand-in: reading jobs
(positional prompts, JSONL files and standard input), validating every job before
any request, per-job overrides, folder and file names, the output contract (paths,
--json lines, -q, the progress line) and --dry-run.

The runs, faults and rate limits are in test_51_batch_run.py; the manifest, resume,
Ctrl-C and kill -9 in test_52_batch_resume.py."""

import json
import os
import pty
import re
import select
import subprocess
import time

import pytest

from conftest import (BIN, ESCAPE, LEDGER, REPO, assert_no_key_in_output, batch_files,
                      clean_env, files_in, open_image, temp_files)

SMALL = ["--size", "1024x640"]  # the fewest pixels gpt-image-2 takes: a quick image
OUT = ["--out-dir", "out"]
REQUIRED_JSON_KEYS = {"index", "prompt", "status", "files", "usage", "error", "attempts"}


def write_jobs(folder, *lines, name="jobs.jsonl"):
    """A JSONL file of these lines: dicts are dumped as JSON, strings kept as they are."""
    text = "".join((json.dumps(line) if isinstance(line, dict) else line) + "\n"
                   for line in lines)
    (folder / name).write_text(text, encoding="utf-8")
    return name


def bodies(standin):
    return [r["body"] for r in standin.requests if r["path"] == "/v1/images/generations"]


def body_for(standin, prompt):
    """The one request body whose prompt is (or, augmented, starts a line with) prompt."""
    found = [b for b in bodies(standin)
             if b["prompt"] == prompt or f"Primary request: {prompt}" in b["prompt"].split("\n")]
    assert len(found) == 1, (prompt, bodies(standin))
    return found[0]


def json_lines(result):
    """stdout as JSON lines; every line must be one JSON object."""
    objects = [json.loads(line) for line in result.lines]
    assert all(isinstance(o, dict) for o in objects), result.stdout
    return objects


def assert_nothing_happened(result, standin, tmp_path, message, keep=("jobs.jsonl",)):
    """A run refused before any request: exit 2, no stdout, no request, no folder,
    and on stderr the one error `message` and nothing else."""
    assert result.rc == 2, result
    assert result.stdout == ""
    assert standin.stats()["requests"] == 0
    assert files_in(tmp_path) == sorted(keep)
    assert result.stderr == f"imagegen: error: {message}\n", result.stderr


# --- jobs from the command line and from files


def test_positional_prompts_are_one_job_each(run, standin, tmp_path):
    result = run(["batch", "red fox", "blue whale", "green frog", *SMALL, *OUT])
    assert result.rc == 0, result
    names = ["out/01-red-fox.png", "out/02-blue-whale.png", "out/03-green-frog.png"]
    assert sorted(result.lines) == names
    assert batch_files(tmp_path / "out") == [LEDGER, "01-red-fox.png", "02-blue-whale.png",
                                          "03-green-frog.png"]
    for name in names:
        image = open_image(tmp_path / name)
        assert (image.format, image.size) == ("PNG", (1024, 640))
    assert sorted(b["prompt"] for b in bodies(standin)) == ["blue whale", "green frog",
                                                             "red fox"]
    assert standin.stats()["requests"] == 3
    assert temp_files(tmp_path) == []


def test_generate_batch_is_an_alias_of_batch(run, standin, tmp_path):
    result = run(["generate-batch", "red fox", "blue whale", *SMALL, *OUT])
    assert result.rc == 0, result
    assert sorted(result.lines) == ["out/01-red-fox.png", "out/02-blue-whale.png"]
    assert standin.stats()["requests"] == 2


def test_jsonl_lines_are_plain_prompts_or_objects_and_blank_and_comment_lines_are_skipped(
        run, standin, tmp_path):
    (tmp_path / "jobs.jsonl").write_bytes(
        b"# my jobs\n"
        b"\n"
        b"first prompt\r\n"
        b"   \n"
        b'  {"prompt": "second one"}  \n'
        b"   # indented comment\n"
        b'# {"prompt": "commented out"}\n'
        b"#\n"
        b"third")  # no final newline
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 0, result
    assert sorted(result.lines) == ["out/01-first-prompt.png", "out/02-second-one.png",
                                    "out/03-third.png"]
    assert sorted(b["prompt"] for b in bodies(standin)) == ["first prompt", "second one",
                                                             "third"]
    # Skipped lines are counted, not dropped without a word.
    assert ("imagegen: --input: 4 comment lines skipped (a line that starts with '# ')\n"
            in result.stderr)


def test_a_hash_that_starts_a_word_is_a_prompt_not_a_comment(run, standin, tmp_path):
    # "#1 best coffee mug ad" and "#hashtag sunset photo" were never sent.
    write_jobs(tmp_path, "#1 best coffee mug ad", "#hashtag sunset photo", "# a note")
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 0, result
    assert sorted(b["prompt"] for b in bodies(standin)) == ["#1 best coffee mug ad",
                                                             "#hashtag sunset photo"]
    assert "1 comment line skipped" in result.stderr


def test_a_dry_run_lists_the_comment_lines_it_skips(run, standin, tmp_path):
    write_jobs(tmp_path, "# draft prompts", "a red kite", "  # \x1b[31mnot this one")
    result = run(["batch", "--input", "jobs.jsonl", "--dry-run", *SMALL, *OUT])
    assert result.rc == 0, result
    assert result.lines[:3] == ["# line 1 skipped as a comment: # draft prompts",
                                "# line 3 skipped as a comment: # ?[31mnot this one", ""]
    assert ("--input: 2 comment lines skipped (a line that starts with '# '; listed in the "
            "dry run)") in result.stderr
    assert standin.requests == []


def test_a_line_that_is_a_json_string_is_its_text(run, standin, tmp_path):
    write_jobs(tmp_path, '"a quoted prompt"', '"Tab\\tand \\u00e9"', '"Hi" she said')
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 0, result
    # A line that only starts with a quote stays a plain prompt.
    assert sorted(b["prompt"] for b in bodies(standin)) == ['"Hi" she said',
                                                             "Tab\tand \u00e9",
                                                             "a quoted prompt"]


def test_a_batch_folder_named_like_an_image_file_is_warned_about(run, standin, tmp_path):
    # batch has no --out to suggest: the warning only says what the name looks like.
    result = run(["batch", "red fox", *SMALL, "--output", "fox.png"])
    assert result.rc == 0, result
    assert ("imagegen: warning: --output 'fox.png': a folder named like an image file\n"
            in result.stderr)
    assert result.lines == ["fox.png/01-red-fox.png"]


def test_input_dash_reads_jobs_from_standard_input(run, standin, tmp_path):
    jobs = '{"prompt": "a red kite", "id": "kite"}\na blue boat\n'
    result = run(["batch", "--input", "-", *SMALL, *OUT], stdin=jobs)
    assert result.rc == 0, result
    assert sorted(result.lines) == ["out/02-a-blue-boat.png", "out/kite.png"]
    assert standin.stats()["requests"] == 2


@pytest.mark.parametrize("args, message", [
    (["batch", "--input", "jobs.jsonl", "a stray prompt"],
     "--input: give jobs in the file or as words, not both"),
    (["batch"], "no jobs: give prompts or --input FILE"),
    (["batch", "--input", "missing.jsonl"],
     "--input: cannot read 'missing.jsonl': No such file or directory"),
    (["batch", "--input", "empty.jsonl"], "--input: 'empty.jsonl' holds no jobs"),
    (["batch", "--input", "comments.jsonl"], "--input: 'comments.jsonl' holds no jobs"),
], ids=["input-and-words", "nothing", "missing-file", "empty-file", "only-comments"])
def test_job_sources_are_refused_before_any_request(run, standin, tmp_path, args, message):
    write_jobs(tmp_path, "a cat")
    write_jobs(tmp_path, name="empty.jsonl")
    write_jobs(tmp_path, "# nothing", "", "  # here", name="comments.jsonl")
    result = run([*args, *SMALL, *OUT])
    assert_nothing_happened(result, standin, tmp_path, message,
                            keep=("comments.jsonl", "empty.jsonl", "jobs.jsonl"))


# --- every job is checked before the first request


BAD_JOBS = [
    # (lines of the file, the line named, the message after "line N: ")
    (["a cat", {"prompt": "x", "qualty": "high"}], 2, 'unknown key "qualty"'),
    (["a cat", {"prompt": "x", "fields": {"lightning": "dusk"}}], 2,
     'unknown field "lightning" in "fields"'),
    (["a cat", {"prompt": "x", "fields": {"size": "1024x1024"}}], 2,
     'unknown field "size" in "fields"'),
    (["a cat", {"prompt": "x", "fields": "dusk"}], 2, '"fields" must be an object'),
    (["a cat", "", "# c", {"prompt": "x", "size": "100x100"}], 4,
     "--size: 100x100: width and height must be multiples of 16"),
    ([{"prompt": "x", "size": "4096x4096"}], 1,
     "--size: 4096x4096: the longer edge must be at most 3840"),
    ([{"prompt": "x", "n": 0}], 1, "--n: 0 is out of range (1 to 10)"),
    ([{"prompt": "x", "n": 11}], 1, "--n: 11 is out of range (1 to 10)"),
    ([{"prompt": "x", "n": "2"}], 1, '"n" must be a whole number'),
    ([{"prompt": "x", "n": 1.5}], 1, '"n" must be a whole number'),
    ([{"prompt": "x", "size": 1024}], 1, '"size" must be a string'),
    ([{"prompt": 5}], 1, '"prompt" must be a string'),
    ([{"prompt": "x", "quality": "ultra"}], 1,
     "--quality: 'ultra' is not one of standard, hd, low, medium, high, xhigh, max, auto"),
    ([{"prompt": "x", "output_compression": 50}], 1,
     "--output-compression: only jpeg and webp are compressed, not png; add "
     "--output-format jpeg or webp"),
    ([{"prompt": "x", "output_format": "jpeg", "output_compression": 101}], 1,
     "--output-compression: 101 is out of range (0 to 100)"),
    ([{"prompt": "x", "output_format": "gif"}], 1,
     "--output-format gif: only the gpt-image-2.6 models make GIF, not gpt-image-2"),
    ([{"prompt": "x", "background": "see-through"}], 1,
     "--background: 'see-through' is not one of transparent, opaque, auto"),
    ([{"prompt": "x", "moderation": "strict"}], 1,
     "--moderation: 'strict' is not one of low, auto"),
    ([{"prompt": "x", "response_format": "url"}], 1,
     "--response-format: only dall-e models take it; gpt-image-2 always returns "
     "base64 images"),
    ([{"prompt": "x", "style": "vivid"}], 1,
     "--style vivid: only dall-e-3 takes the style parameter (use other words for the "
     "prompt's style field)"),
    ([{"prompt": "x", "model": "dall-e-3", "n": 2}], 1,
     "--n: dall-e-3 makes at most 1 image per request"),
    ([{"prompt": "x" * 4001, "model": "dall-e-3", "size": "1024x1024"}], 1,
     "--prompt: 4001 characters is too long for dall-e-3 (at most 4000)"),
    ([{"prompt": "x", "out": "hero.txt"}], 1,
     "\"out\": '.txt' is not an image extension; gpt-image-2 makes .png, .jpg (.jpeg), "
     ".webp (to keep '.txt' in the name, add one: 'hero.txt.png')"),
    ([{"prompt": "x", "n": -1}], 1, '"n": -1 is negative'),
    ([{"prompt": "x", "output_format": "jpeg", "output_compression": -1}], 1,
     '"output_compression": -1 is negative'),
    ([{"prompt": "x", "frame_count": -1}], 1, '"frame_count": -1 is negative'),
    ([{"prompt": "   "}], 1, "the prompt is empty (only white space)"),
    (['"  \\t "'], 1, "the prompt is empty (only white space)"),
    ([{"prompt": " ", "image": "in.png"}], 1, "the prompt is empty (only white space)"),
    ([{"id": "x"}], 1, 'no "prompt"'),
    ([{"prompt": ""}], 1, 'no "prompt"'),
    (['{"prompt": "x",}'], 1, "not a JSON object: string or '}' expected near '}'"),
    (['{"prompt": "x", "prompt": "y"}'], 1,
     "not a JSON object: duplicate object key near '\"prompt\"'"),
]

BAD_JOB_IDS = [
    "unknown-key", "unknown-field", "param-under-fields", "fields-not-object",
    "bad-size-after-blank-and-comment", "size-too-big", "n-0", "n-11", "n-string",
    "n-fraction", "size-number", "prompt-number", "quality-unknown",
    "compression-with-png", "compression-101", "format-gif", "background-unknown",
    "moderation-unknown", "response-format-on-gpt", "style-vivid-on-gpt", "dall-e-3-n-2",
    "dall-e-3-prompt-too-long", "out-not-an-image-name", "n-minus-1",
    "compression-minus-1", "frame-count-minus-1", "blank-prompt", "blank-json-string",
    "blank-edit-prompt", "no-prompt", "empty-prompt", "broken-json",
    "duplicate-key",
]


@pytest.mark.parametrize("lines, line, message", BAD_JOBS, ids=BAD_JOB_IDS)
def test_a_bad_job_stops_the_batch_before_any_request_naming_its_line(
        run, standin, tmp_path, lines, line, message):
    # Good jobs around the bad one (so the line named is one on): none of them may
    # be sent either.
    write_jobs(tmp_path, "a good first job", *lines, "a good last job")
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert_nothing_happened(result, standin, tmp_path, f"line {line + 1}: {message}")


@pytest.mark.parametrize("prompt, message", [
    ("   ", "prompt 2: the prompt is empty (only white space)"),
    ("", "prompt 2: the prompt is empty"),
], ids=["white-space", "empty"])
def test_a_blank_positional_prompt_is_refused_before_any_request(run, standin, tmp_path,
                                                                 prompt, message):
    # It was sent and answered with a 400; generate refuses the same prompt.
    result = run(["batch", "a cat", prompt, "a dog", *SMALL, *OUT])
    assert_nothing_happened(result, standin, tmp_path, message, keep=())


def test_a_bad_positional_prompt_job_is_named_by_its_position(run, standin, tmp_path):
    result = run(["batch", "a cat", "x" * 4001, "a dog", "--model", "dall-e-3",
                  "--size", "1024x1024", *OUT])
    assert_nothing_happened(
        result, standin, tmp_path,
        "prompt 2: --prompt: 4001 characters is too long for dall-e-3 (at most 4000)",
        keep=())


@pytest.mark.parametrize("key", ["out", "id"])
@pytest.mark.parametrize("name", [
    "../escaped.png", "a/b.png", "..", ".", ".hidden.png", "a\\b.png", "", "ABSOLUTE",
    "sub/", "x\n.png",
], ids=["dotdot", "slash", "dotdot-alone", "dot", "hidden", "backslash", "empty",
        "absolute", "folder", "newline"])
def test_out_and_id_that_leave_the_folder_are_refused(run, standin, tmp_path, key, name):
    if name == "ABSOLUTE":
        name = str(tmp_path / "escaped.png")
    write_jobs(tmp_path, "a cat", {"prompt": "a dog", key: name})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert_nothing_happened(result, standin, tmp_path, "line 2: " + {
        "out": '"out" must be a file name inside the output folder (no \'/\', \'..\', '
               "absolute path or leading '.')",
        "id": '"id" must be a plain name (no \'/\', \'..\' or leading \'.\')'}[key])
    assert not (tmp_path / "escaped.png").exists()


@pytest.mark.parametrize("first, second, message", [
    ({"prompt": "a", "id": "hero"}, {"prompt": "b", "id": "hero"},
     "the id 'hero' is already the id of line 1; each job needs its own"),
    ({"prompt": "a", "out": "hero.png"}, {"prompt": "b", "out": "hero.png"},
     "'out/hero.png' would also be written by line 1"),
    ({"prompt": "a", "id": "hero"}, {"prompt": "b", "out": "hero.png"},
     "'out/hero.png' would also be written by line 1"),
    ("cat", {"prompt": "b", "id": "01-cat"},
     "'out/01-cat.png' would also be written by line 1"),
], ids=["same-id", "same-out", "id-and-out", "id-and-derived-name"])
def test_two_jobs_with_the_same_file_name_are_refused(run, standin, tmp_path, first,
                                                      second, message):
    write_jobs(tmp_path, first, second)
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert_nothing_happened(result, standin, tmp_path, f"line 2: {message}")


def test_jobs_whose_numbered_files_would_collide_are_refused(run, standin, tmp_path):
    # "hero" with n=2 writes hero-1.png and hero-2.png; the job "hero-1" writes
    # hero-1.png too: one would take the other's name.
    write_jobs(tmp_path, {"prompt": "a", "id": "hero", "n": 2},
               {"prompt": "b", "id": "hero-1"})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert_nothing_happened(result, standin, tmp_path,
                            "line 2: 'out/hero-1.png' would also be written by line 1")


def test_bad_options_are_refused_with_exit_2(run, standin, tmp_path):
    for args in (["--concurrency", "0"], ["--concurrency", "x"], ["--workers", "-1"],
                 ["--rpm", "0"], ["--size", "100x100"], ["--n", "11"]):
        result = run(["batch", "a cat", *OUT, *args])
        assert result.rc == 2, result
        assert result.stdout == ""
    assert standin.stats()["requests"] == 0
    assert files_in(tmp_path) == []


def test_a_missing_key_is_refused_before_any_request(run, standin, tmp_path):
    result = run(["batch", "a cat", *SMALL, *OUT], env={"OPENAI_API_KEY": None})
    assert result.rc == 2, result
    assert "OPENAI_API_KEY" in result.stderr
    assert standin.stats()["requests"] == 0
    assert files_in(tmp_path) == []


# --- per-job overrides


@pytest.mark.compat
def test_job_overrides_win_over_the_command_line_defaults(run, standin, tmp_path):
    write_jobs(
        tmp_path,
        "plain",
        {"prompt": "tall", "model": "gpt-image-1.5", "size": "1024x1536",
         "quality": "high"},
        {"prompt": "photo", "output_format": "jpeg", "output_compression": 40,
         "background": "opaque", "moderation": "low", "user": "u-42"},
        {"prompt": "pair", "n": 2},
    )
    result = run(["batch", "--input", "jobs.jsonl", "--quality", "low", *SMALL, *OUT])
    assert result.rc == 0, result
    plain = body_for(standin, "plain")
    assert (plain["model"], plain["size"], plain["quality"]) == ("gpt-image-2",
                                                                "1024x640", "low")
    assert plain.get("n", 1) == 1
    tall = body_for(standin, "tall")
    assert (tall["model"], tall["size"], tall["quality"]) == ("gpt-image-1.5",
                                                             "1024x1536", "high")
    photo = body_for(standin, "photo")
    assert photo["output_format"] == "jpeg"
    assert photo["output_compression"] == 40
    assert photo["background"] == "opaque"
    assert photo["moderation"] == "low"
    assert photo["user"] == "u-42"
    assert photo["quality"] == "low"
    assert body_for(standin, "pair")["n"] == 2
    assert sorted(result.lines) == ["out/01-plain.png", "out/02-tall.png",
                                    "out/03-photo.jpg", "out/04-pair-1.png",
                                    "out/04-pair-2.png"]
    assert open_image(tmp_path / "out/02-tall.png").size == (1024, 1536)
    assert open_image(tmp_path / "out/03-photo.jpg").format == "JPEG"
    assert open_image(tmp_path / "out/04-pair-2.png").size == (1024, 640)


def test_augmentation_fields_flat_under_fields_and_from_the_command_line(run, standin,
                                                                         tmp_path):
    write_jobs(
        tmp_path,
        {"prompt": "a mug", "scene": "a sunny kitchen", "use_case": "product-mockup"},
        {"prompt": "a cup", "fields": {"scene": "a garden", "lighting": "dusk light"}},
        {"prompt": "a bowl", "fields": {"style": "watercolor"}},
        {"prompt": "a jug", "style": "charcoal sketch"},
        "a plate",
    )
    result = run(["batch", "--input", "jobs.jsonl", "--constraints", "no text",
                  *SMALL, *OUT])
    assert result.rc == 0, result
    mug = body_for(standin, "a mug")["prompt"]
    assert "a sunny kitchen" in mug and "product-mockup" in mug and "no text" in mug
    cup = body_for(standin, "a cup")["prompt"]
    assert "a garden" in cup and "dusk light" in cup and "no text" in cup
    bowl = body_for(standin, "a bowl")
    assert "watercolor" in bowl["prompt"] and "style" not in bowl
    jug = body_for(standin, "a jug")
    assert "charcoal sketch" in jug["prompt"] and "style" not in jug
    plate = body_for(standin, "a plate")["prompt"]
    assert "no text" in plate and "Primary request: a plate" in plate


def test_a_job_without_any_field_sends_its_prompt_as_given(run, standin, tmp_path):
    write_jobs(tmp_path, "a plate", {"prompt": "a mug", "scene": "a kitchen"})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 0, result
    assert body_for(standin, "a plate")["prompt"] == "a plate"


def test_no_augment_sends_every_prompt_as_given(run, standin, tmp_path):
    write_jobs(tmp_path, {"prompt": "a mug"}, "a plate")
    result = run(["batch", "--input", "jobs.jsonl", "--no-augment", *SMALL, *OUT])
    assert result.rc == 0, result
    assert sorted(b["prompt"] for b in bodies(standin)) == ["a mug", "a plate"]


@pytest.mark.parametrize("job, args, message", [
    ({"prompt": "a mug"}, ["--scene", "x"], "--no-augment and --scene: --no-augment sends "
     "the prompt without the prompt fields; give one of them"),
    ({"prompt": "a mug", "scene": "a kitchen"}, [], "line 2: --no-augment and \"scene\": "
     "--no-augment sends the prompt without the prompt fields; give one of them"),
    ({"prompt": "a mug", "fields": {"style": "watercolour"}}, [], "line 2: --no-augment "
     "and \"style\": --no-augment sends the prompt without the prompt fields; give one of "
     "them"),
    ({"prompt": "a mug", "image": "in.png", "lighting": "dusk"}, [], "line 2: --no-augment "
     "and \"lighting\": --no-augment sends the prompt without the prompt fields; give one "
     "of them"),
], ids=["flag-field", "job-field", "job-style", "edit-job-field"])
def test_no_augment_with_prompt_fields_is_refused(run, standin, tmp_path, job, args,
                                                  message):
    write_jobs(tmp_path, "a plate", job)
    result = run(["batch", "--input", "jobs.jsonl", "--no-augment", *args, *SMALL, *OUT])
    assert_nothing_happened(result, standin, tmp_path, message)


@pytest.mark.compat
def test_style_vivid_is_the_dall_e_3_parameter(run, standin, tmp_path):
    write_jobs(tmp_path, {"prompt": "a lion", "model": "dall-e-3", "style": "vivid",
                          "size": "1024x1024"})
    result = run(["batch", "--input", "jobs.jsonl", *OUT])
    assert result.rc == 0, result
    body = body_for(standin, "a lion")
    assert (body["model"], body["style"]) == ("dall-e-3", "vivid")
    assert open_image(tmp_path / "out/01-a-lion.png").size == (1024, 1024)


# --- folder and file names


def test_default_folder_is_named_from_the_first_three_prompts(run, standin, tmp_path):
    result = run(["batch", "red fox", "blue whale", "green frog", *SMALL])
    assert result.rc == 0, result
    folder = "red-fox-blue-whale-green-frog"
    assert sorted(result.lines) == [f"{folder}/01-red-fox.png",
                                    f"{folder}/02-blue-whale.png",
                                    f"{folder}/03-green-frog.png"]
    assert (tmp_path / folder / LEDGER).is_file()


def test_default_folder_counts_the_other_prompts(run, standin, tmp_path):
    result = run(["batch", "red fox", "blue whale", "green frog", "cat", "dog", *SMALL])
    assert result.rc == 0, result
    folder = "red-fox-blue-whale-green-frog-2-more"
    assert sorted(result.lines) == [f"{folder}/01-red-fox.png",
                                    f"{folder}/02-blue-whale.png",
                                    f"{folder}/03-green-frog.png", f"{folder}/04-cat.png",
                                    f"{folder}/05-dog.png"]


@pytest.mark.parametrize("flag", ["--out-dir", "--output-dir", "--output"])
def test_out_dir_and_its_aliases_name_the_folder(run, standin, tmp_path, flag):
    result = run(["batch", "red fox", "blue whale", flag, "pics/set1", *SMALL])
    assert result.rc == 0, result
    assert sorted(result.lines) == ["pics/set1/01-red-fox.png", "pics/set1/02-blue-whale.png"]


def dry_run_outputs(result):
    return [line[len("output: "):] for line in result.lines if line.startswith("output: ")]


@pytest.mark.parametrize("count, width", [(9, 2), (12, 2), (100, 3)])
def test_file_numbers_are_padded_to_the_width_of_the_job_count(run, standin, tmp_path,
                                                               count, width):
    prompts = [f"prompt {i}" for i in range(1, count + 1)]
    result = run(["batch", *prompts, *SMALL, "--dry-run"], env={"OPENAI_API_KEY": None})
    assert result.rc == 0, result
    folder = f"prompt-1-prompt-2-prompt-3-{count - 3}-more"
    assert dry_run_outputs(result) == [f"{folder}/{i:0{width}d}-prompt-{i}.png"
                                       for i in range(1, count + 1)]
    assert standin.stats()["requests"] == 0


def test_id_names_the_files_and_n_numbers_them(run, standin, tmp_path):
    write_jobs(tmp_path, {"prompt": "a hero shot", "id": "hero"},
               {"prompt": "two icons", "id": "icon", "n": 2},
               {"prompt": "three cats", "n": 3})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 0, result
    assert sorted(result.lines) == ["out/03-three-cats-1.png", "out/03-three-cats-2.png",
                                    "out/03-three-cats-3.png", "out/hero.png",
                                    "out/icon-1.png", "out/icon-2.png"]
    for line in result.lines:
        assert open_image(tmp_path / line).size == (1024, 640)


@pytest.mark.parametrize("out, fmt, pil_format", [
    ("hero.webp", "webp", "WEBP"),
    ("hero.jpg", "jpeg", "JPEG"),
    ("hero.jpeg", "jpeg", "JPEG"),
    ("hero.png", "png", "PNG"),
])
def test_a_job_out_names_the_file_and_its_extension_sets_the_format(
        run, standin, tmp_path, out, fmt, pil_format):
    write_jobs(tmp_path, "a cat", {"prompt": "a hero", "out": out})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 0, result
    assert sorted(result.lines) == ["out/01-a-cat.png", f"out/{out}"]
    assert open_image(tmp_path / "out" / out).format == pil_format
    assert body_for(standin, "a hero")["output_format"] == fmt
    assert body_for(standin, "a cat").get("output_format", "png") == "png"


def test_a_job_out_without_an_extension_gets_the_format_extension(run, standin, tmp_path):
    write_jobs(tmp_path, {"prompt": "a hero", "out": "hero", "output_format": "webp"})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 0, result
    assert result.lines == ["out/hero.webp"]
    assert open_image(tmp_path / "out/hero.webp").format == "WEBP"


def test_a_job_out_with_n_2_numbers_the_files(run, standin, tmp_path):
    write_jobs(tmp_path, {"prompt": "a hero", "out": "hero.png", "n": 2})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 0, result
    assert sorted(result.lines) == ["out/hero-1.png", "out/hero-2.png"]


def test_a_job_out_extension_wins_over_the_command_line_format(run, standin, tmp_path):
    # The job's own value wins over the command line's default: hero.webp must be a
    # WebP file named hero.webp, not hero.jpg.
    write_jobs(tmp_path, "a cat", {"prompt": "a hero", "out": "hero.webp"})
    result = run(["batch", "--input", "jobs.jsonl", "--output-format", "jpeg",
                  *SMALL, *OUT])
    assert result.rc == 0, result
    assert sorted(result.lines) == ["out/01-a-cat.jpg", "out/hero.webp"]
    assert open_image(tmp_path / "out/hero.webp").format == "WEBP"
    assert body_for(standin, "a hero")["output_format"] == "webp"


def test_a_job_out_that_contradicts_its_output_format_is_refused(run, standin, tmp_path):
    # As generate refuses `--out x.webp --output-format png`.
    write_jobs(tmp_path, "a cat", {"prompt": "a hero", "out": "hero.webp",
                                   "output_format": "png"})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert_nothing_happened(
        result, standin, tmp_path,
        'line 2: "out": \'hero.webp\' names a webp file but "output_format" is png')


def test_a_derived_name_never_overwrites_a_file_already_there(run, standin, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out/01-a-cat.png").write_bytes(b"mine")
    result = run(["batch", "a cat", *SMALL, *OUT])
    assert result.rc == 0, result
    assert result.lines == ["out/01-a-cat-2.png"]
    assert (tmp_path / "out/01-a-cat.png").read_bytes() == b"mine"
    assert open_image(tmp_path / "out/01-a-cat-2.png").format == "PNG"


# --- output contract


def test_stdout_holds_only_the_saved_paths_and_stderr_the_summary(run, standin, tmp_path):
    result = run(["batch", "a cat", "a dog", "--n", "2", *SMALL, *OUT])
    assert result.rc == 0, result
    assert sorted(result.lines) == ["out/01-a-cat-1.png", "out/01-a-cat-2.png",
                                    "out/02-a-dog-1.png", "out/02-a-dog-2.png"]
    assert result.stdout.endswith("\n")
    assert "4 images" in result.stderr
    assert "2 of 2 jobs" in result.stderr
    assert re.search(r"^imagegen: done: 4 images from 2 of 2 jobs in [0-9.]+ s, [0-9]+ tokens$",
                     result.stderr, re.M), result.stderr
    assert "imagegen: folder: out\n" in result.stderr
    assert ESCAPE not in result.stderr  # not a TTY: no progress bar, no colour


def test_quiet_prints_nothing_on_stderr(run, standin, tmp_path):
    result = run(["batch", "a cat", "a dog", "-q", *SMALL, *OUT])
    assert result.rc == 0, result
    assert result.stderr == ""
    assert sorted(result.lines) == ["out/01-a-cat.png", "out/02-a-dog.png"]


def test_json_prints_one_object_per_job_per_line(run, standin, tmp_path):
    write_jobs(tmp_path, "a cat", {"prompt": "a dog", "id": "dog", "n": 2}, "a cow")
    result = run(["batch", "--input", "jobs.jsonl", "--json", *SMALL, *OUT])
    assert result.rc == 0, result
    objects = sorted(json_lines(result), key=lambda o: o["index"])
    assert [o["index"] for o in objects] == [1, 2, 3]
    assert [o["prompt"] for o in objects] == ["a cat", "a dog", "a cow"]
    assert [o.get("id") for o in objects] == [None, "dog", None]
    assert [o["files"] for o in objects] == [["out/01-a-cat.png"],
                                             ["out/dog-1.png", "out/dog-2.png"],
                                             ["out/03-a-cow.png"]]
    for o in objects:
        assert REQUIRED_JSON_KEYS <= set(o), o
        assert (o["status"], o["error"], o["attempts"]) == ("done", None, 1)
        assert o["usage"]["total_tokens"] > 0
        assert o["usage"]["total_tokens"] == (o["usage"]["input_tokens"]
                                              + o["usage"]["output_tokens"])
        for name in o["files"]:
            assert open_image(tmp_path / name).size == (1024, 640)
    # The paths are in the JSON; they are not repeated as bare lines on stdout.
    assert all(line.startswith("{") for line in result.lines)


def test_json_line_of_a_failed_job_has_its_error(run, standin, tmp_path):
    standin.configure(fault="400", fault_count=1)
    result = run(["batch", "a cat", "a dog", "--json", "--concurrency", "1",
                  *SMALL, *OUT])
    assert result.rc == 1, result
    by_index = {o["index"]: o for o in json_lines(result)}
    assert set(by_index) == {1, 2}
    failed = by_index[1]
    assert REQUIRED_JSON_KEYS <= set(failed)
    assert (failed["status"], failed["files"], failed["attempts"]) == ("failed", [], 1)
    assert "Invalid value" in failed["error"]
    assert by_index[2]["status"] == "done"


def test_progress_line_on_a_tty_shows_done_and_total(standin, tmp_path):
    standin.configure(latency=0.3)
    leader, follower = pty.openpty()
    process = subprocess.Popen([BIN, "batch", "a cat", "a dog", "a cow", *SMALL, *OUT],
                               cwd=tmp_path, env=clean_env(standin),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=follower)
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            elif process.poll() is not None:
                break
        stdout, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    assert_no_key_in_output(stdout, seen, names=("stdout", "stderr (a terminal)"))
    assert process.returncode == 0, seen
    text = seen.decode(errors="replace")
    assert "/3 done" in text, text
    assert "in flight" in text, text
    assert "done: 3 images from 3 of 3 jobs" in text, text
    # stdout is not the TTY: it holds only the paths.
    assert sorted(stdout.decode().splitlines()) == ["out/01-a-cat.png", "out/02-a-dog.png",
                                                     "out/03-a-cow.png"]


# --- dry run


def test_dry_run_prints_each_request_and_its_paths_without_a_key_or_a_request(
        run, standin, tmp_path):
    write_jobs(tmp_path, "a cat", {"prompt": "a dog", "id": "dog", "quality": "high"})
    result = run(["batch", "--input", "jobs.jsonl", "--dry-run", *SMALL, *OUT],
                 env={"OPENAI_API_KEY": None})
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 0
    assert files_in(tmp_path) == ["jobs.jsonl"]  # no folder made
    assert dry_run_outputs(result) == ["out/01-a-cat.png", "out/dog.png"]
    assert result.stdout.count("POST ") == 2
    assert "/images/generations" in result.stdout
    assert '"prompt": "a cat"' in result.stdout
    assert '"quality": "high"' in result.stdout


def test_dry_run_json_prints_one_json_object_per_job_per_line(run, standin, tmp_path):
    result = run(["batch", "a cat", "a dog", "--dry-run", "--json", *SMALL, *OUT],
                 env={"OPENAI_API_KEY": None})
    assert result.rc == 0, result
    objects = json_lines(result)
    assert len(objects) == 2
    assert [o["body"]["prompt"] for o in objects] == ["a cat", "a dog"]
    assert standin.stats()["requests"] == 0


def test_dry_run_after_a_run_shows_only_the_jobs_not_done(run, standin, tmp_path):
    assert run(["batch", "a cat", "a dog", *SMALL, *OUT]).rc == 0
    standin.reset()
    result = run(["batch", "a cat", "a dog", "a cow", *SMALL, *OUT, "--dry-run"],
                 env={"OPENAI_API_KEY": None})
    assert result.rc == 0, result
    assert dry_run_outputs(result) == ["out/03-a-cow.png"]
    assert result.stdout.count("POST ") == 1
    assert standin.stats()["requests"] == 0


def man_section(title):
    """The text of a section (.SH) or subsection (.SS) of the man page."""
    text = (REPO / "doc" / "imagegen.1").read_text()
    match = re.search(rf"^\.S[HS] {re.escape(title)}\n(.*?)(?=^\.S[HS] )", text, re.M | re.S)
    assert match, f"the man page has no {title} section"
    return match.group(1).replace("\\-", "-")


def test_the_man_page_describes_every_key_of_a_job_file(run):
    section = man_section("JOB FILES")
    source = (REPO / "src" / "engine" / "jobfile.c").read_text()
    table = source[source.index("job_keys[] = {"):source.index("#undef P\n")]
    keys = re.findall(r'"([a-z_]+)"', table)
    assert len(keys) > 30, keys
    missing = [k for k in keys if k not in ("fields",) and
               not re.search(rf"\b{k}\b", section)]
    assert missing == [], missing
    assert '"fields"' in section and "#" in section
