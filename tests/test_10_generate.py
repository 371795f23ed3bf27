"""`imagegen generate` against the stand-in: names, files, output contract, prompt
sources, augmentation, --json, --dry-run, headers, dall-e downloads, messages, and
request bodies checked against the API spec."""

import base64
import io
import json
import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import (BIN, ESCAPE, KEY, REPO, assert_no_key_in_output, clean_env, digest,
                      files_in, open_image, schema_errors)

SMALL = ["--size", "1024x640"]  # the fewest pixels gpt-image-2 takes: a quick image
SLUG = "a-cute-baby-sea-otter"
OTTER = "A cute baby sea otter"


def generation_bodies(standin):
    return [r["body"] for r in standin.requests if r["path"] == "/v1/images/generations"]


def only_body(standin):
    [body] = generation_bodies(standin)
    return body


# --- names, files and the output contract


def test_default_name_is_the_prompt_slug_and_stdout_holds_only_the_path(run, standin,
                                                                       tmp_path):
    result = run(["generate", OTTER, *SMALL])
    assert result.rc == 0, result
    assert result.stdout == f"{SLUG}.png\n"
    assert files_in(tmp_path) == [f"{SLUG}.png"]
    image = open_image(tmp_path / f"{SLUG}.png")
    assert (image.format, image.size) == ("PNG", (1024, 640))
    # Human output goes to stderr: the saved file and its tokens.
    assert f"{SLUG}.png" in result.stderr
    assert "tokens" in result.stderr
    body = only_body(standin)
    assert body["prompt"] == OTTER
    assert body["model"] == "gpt-image-2"
    assert body["size"] == "1024x640"
    assert standin.stats()["requests"] == 1


def test_defaults_are_gpt_image_2_medium_png_auto_size(run, standin, tmp_path):
    result = run(["generate", "a lighthouse"])
    assert result.rc == 0, result
    body = only_body(standin)
    assert body["model"] == "gpt-image-2"
    assert body.get("quality") == "medium"
    assert body.get("output_format", "png") == "png"
    assert body.get("size", "auto") == "auto"
    assert open_image(tmp_path / "a-lighthouse.png").size == (1024, 1024)


@pytest.mark.parametrize("fmt, ext, pil_format", [
    ("png", "png", "PNG"),
    ("jpeg", "jpg", "JPEG"),
    ("webp", "webp", "WEBP"),
], ids=["png", "jpeg-saved-as-jpg", "webp"])
def test_output_format_gives_a_real_file_of_that_format_and_size(run, standin, tmp_path,
                                                                 fmt, ext, pil_format):
    result = run(["generate", OTTER, "--size", "1536x864", "--output-format", fmt])
    assert result.rc == 0, result
    assert result.lines == [f"{SLUG}.{ext}"]
    image = open_image(tmp_path / f"{SLUG}.{ext}")
    assert (image.format, image.size) == (pil_format, (1536, 864))
    assert only_body(standin)["output_format"] == fmt


def test_format_alias_sets_the_output_format(run, standin, tmp_path):
    result = run(["generate", "a kite", *SMALL, "--format", "webp"])
    assert result.rc == 0, result
    assert result.lines == ["a-kite.webp"]
    assert only_body(standin)["output_format"] == "webp"
    assert open_image(tmp_path / "a-kite.webp").format == "WEBP"


@pytest.mark.compat
@pytest.mark.parametrize("fmt, ext", [("png", "png"), ("webp", "webp")])
@pytest.mark.compat
def test_transparent_background_gives_an_rgba_image(run, standin, tmp_path, fmt, ext):
    result = run(["generate", "a glass teapot", "--model", "gpt-image-1.5",
                  "--size", "1024x1024", "--background", "transparent",
                  "--output-format", fmt])
    assert result.rc == 0, result
    image = open_image(tmp_path / f"a-glass-teapot.{ext}")
    assert image.mode == "RGBA"
    assert image.getchannel("A").getextrema() == (0, 255)
    body = only_body(standin)
    assert (body["background"], body["model"]) == ("transparent", "gpt-image-1.5")


def test_n_3_gives_numbered_names_and_distinct_images(run, standin, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--n", "3"])
    assert result.rc == 0, result
    names = [f"{SLUG}-{i}.png" for i in (1, 2, 3)]
    assert result.lines == names
    assert files_in(tmp_path) == names
    assert len({digest(tmp_path / name) for name in names}) == 3
    assert all(open_image(tmp_path / name).size == (1024, 640) for name in names)
    assert only_body(standin)["n"] == 3
    assert standin.stats()["requests"] == 1


def test_out_names_the_file(run, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--out", "otter.png"])
    assert result.rc == 0, result
    assert result.stdout == "otter.png\n"
    assert files_in(tmp_path) == ["otter.png"]
    assert open_image(tmp_path / "otter.png").format == "PNG"


def test_out_with_n_2_numbers_the_files(run, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--n", "2", "--out", "otter.png"])
    assert result.rc == 0, result
    assert result.lines == ["otter-1.png", "otter-2.png"]
    assert files_in(tmp_path) == ["otter-1.png", "otter-2.png"]


@pytest.mark.parametrize("name, fmt, pil_format", [
    ("x.webp", "webp", "WEBP"),
    ("x.jpg", "jpeg", "JPEG"),
    ("x.jpeg", "jpeg", "JPEG"),
    ("x.png", "png", "PNG"),
])
def test_out_extension_chooses_the_output_format(run, standin, tmp_path, name, fmt,
                                                 pil_format):
    result = run(["generate", OTTER, *SMALL, "--out", name])
    assert result.rc == 0, result
    assert result.lines == [name]
    assert only_body(standin)["output_format"] == fmt
    assert open_image(tmp_path / name).format == pil_format


@pytest.mark.parametrize("out, made, saved", [
    ("existing", True, f"existing/{SLUG}.png"),
    ("existing/", True, f"existing/{SLUG}.png"),
    ("new/", False, f"new/{SLUG}.png"),
], ids=["existing-folder", "existing-folder-slash", "new-folder-slash"])
def test_out_naming_a_folder_saves_into_it_under_the_derived_name(run, tmp_path, out,
                                                                  made, saved):
    # Not existing.png beside the folder, nor a hidden existing/.png inside it.
    if made:
        (tmp_path / "existing").mkdir()
    result = run(["generate", OTTER, *SMALL, "--out", out])
    assert result.rc == 0, result
    assert result.lines == [saved]
    assert files_in(tmp_path) == [saved]
    # As with --out-dir, a derived name never overwrites: the next run takes -2.
    again = run(["generate", OTTER, *SMALL, "--out", out, "--prefix", "hero", "--n", "2"])
    assert again.rc == 0, again
    folder = saved.split("/")[0]
    assert again.lines == [f"{folder}/hero-1.png", f"{folder}/hero-2.png"]


@pytest.mark.parametrize("model, out, message", [
    ("gpt-image-2", "", "--out: the file name is empty"),
    ("gpt-image-2", "hero.txt", "--out: '.txt' is not an image extension; gpt-image-2 makes "
     ".png, .jpg (.jpeg), .webp (to keep '.txt' in the name, add one: 'hero.txt.png')"),
    ("gpt-image-2.6-flare", "hero.doc", "--out: '.doc' is not an image extension; "
     "gpt-image-2.6-flare makes .png, .jpg (.jpeg), .webp, .gif, .svg (to keep '.doc' in "
     "the name, add one: 'hero.doc.png')"),
    ("gpt-image-2", "hero.gif", "--out: 'hero.gif' names a gif file, which gpt-image-2 "
     "does not make; name it .png, .jpg (.jpeg), .webp"),
], ids=["empty", "txt", "doc-on-2.6", "gif-on-gpt-image-2"])
def test_an_out_name_that_is_no_image_name_is_refused_naming_the_extensions(
        run, standin, tmp_path, model, out, message):
    # An unset shell variable ("") wrote a hidden .png; hero.txt wrote hero.txt.png.
    result = run(["generate", OTTER, *SMALL, "--model", model, "--out", out])
    assert result.rc == 2, result
    assert result.stderr == f"imagegen: error: {message}\n"
    assert standin.requests == []
    assert files_in(tmp_path) == []


def test_out_gif_is_a_gif_on_a_model_that_makes_gif(run, standin, tmp_path):
    result = run(["generate", OTTER, "--model", "gpt-image-2.6-flare", "--size", "1024x1024",
                  "--out", "hero.gif"])
    assert result.rc == 0, result
    assert result.lines == ["hero.gif"]
    assert only_body(standin)["output_format"] == "gif"
    assert open_image(tmp_path / "hero.gif").format == "GIF"


def test_a_dot_in_a_name_that_is_no_extension_is_kept(run, standin, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--out", "shot.2024"])
    assert result.rc == 0, result
    assert result.lines == ["shot.2024.png"]


@pytest.mark.parametrize("flag", ["--out-dir", "--output-dir", "--output"])
def test_out_dir_and_its_aliases_with_prefix(run, tmp_path, flag):
    result = run(["generate", OTTER, *SMALL, "--n", "2", flag, "pics", "--prefix", "hero"])
    assert result.rc == 0, result
    assert result.lines == ["pics/hero-1.png", "pics/hero-2.png"]
    assert files_in(tmp_path) == ["pics/hero-1.png", "pics/hero-2.png"]
    assert all(open_image(tmp_path / p).size == (1024, 640) for p in result.lines)


def test_out_dir_without_prefix_uses_the_slug(run, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--out-dir", "deep/er"])
    assert result.rc == 0, result
    assert result.lines == [f"deep/er/{SLUG}.png"]
    assert files_in(tmp_path) == [f"deep/er/{SLUG}.png"]


def test_prefix_alone_names_the_file_in_the_current_folder(run, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--prefix", "hero"])
    assert result.rc == 0, result
    assert result.lines == ["hero.png"]
    assert files_in(tmp_path) == ["hero.png"]


def test_slug_comes_from_the_prompt_not_the_augmented_text(run, standin, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--scene", "kelp forest"])
    assert result.rc == 0, result
    assert result.lines == [f"{SLUG}.png"]


@pytest.mark.parametrize("prompt,name", [
    ("Café über naïve 日本の猫", "cafe-uber-naive-日本の猫.png"),
    ("日本の猫", "日本の猫.png"),
    ("Straße in Łódź", "strasse-in-lodz.png"),
    ("☕ !!", "image.png"),
])
def test_a_slug_spells_accents_in_ascii_and_keeps_other_letters(run, tmp_path, prompt, name):
    result = run(["generate", prompt, *SMALL])
    assert result.rc == 0, result
    assert result.lines == [name]
    assert files_in(tmp_path) == [name]


def test_the_man_page_gives_the_naming_rules(run):
    text = (REPO / "doc" / "imagegen.1").read_text().replace("\\-", "-")
    start = text.index(".SH FILE NAMES\n")
    section = text[start:text.index("\n.SH ", start + 1)]
    for rule in ("Slugs", "next free", "NN-slug.ext", "ID.ext", "partial-K", "-web",
                 "NAME.json", "-edit", "-var", "NAME-2"):
        assert rule in section, rule


def test_a_derived_name_never_overwrites(run, tmp_path):
    first = run(["generate", OTTER, *SMALL])
    assert first.lines == [f"{SLUG}.png"]
    before = digest(tmp_path / f"{SLUG}.png")
    second = run(["generate", OTTER, "--size", "1536x864"])
    assert second.rc == 0, second
    assert second.lines == [f"{SLUG}-2.png"]
    assert digest(tmp_path / f"{SLUG}.png") == before
    assert open_image(tmp_path / f"{SLUG}-2.png").size == (1536, 864)
    assert files_in(tmp_path) == [f"{SLUG}-2.png", f"{SLUG}.png"]


def test_a_second_n_3_run_continues_the_numbers(run, tmp_path):
    first = run(["generate", OTTER, *SMALL, "--n", "3"])
    before = {p: digest(tmp_path / p) for p in first.lines}
    second = run(["generate", OTTER, *SMALL, "--n", "3"])
    assert second.rc == 0, second
    assert second.lines == [f"{SLUG}-{i}.png" for i in (4, 5, 6)]
    assert {p: digest(tmp_path / p) for p in first.lines} == before
    assert len(files_in(tmp_path)) == 6


def test_a_derived_name_in_an_out_dir_with_prefix_never_overwrites(run, tmp_path):
    run(["generate", OTTER, *SMALL, "--out-dir", "d", "--prefix", "hero"])
    before = digest(tmp_path / "d" / "hero.png")
    second = run(["generate", OTTER, *SMALL, "--out-dir", "d", "--prefix", "hero"])
    assert second.rc == 0, second
    assert second.lines == ["d/hero-2.png"]
    assert digest(tmp_path / "d" / "hero.png") == before


def test_concurrent_runs_never_overwrite_each_others_derived_names(standin, tmp_path):
    """Both runs pick their name while the other is still waiting for its reply."""
    standin.configure(latency=0.5)
    processes = [subprocess.Popen([BIN, "generate", OTTER, *SMALL, "-q"], cwd=tmp_path,
                                  env=clean_env(standin), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(3)]
    outputs = [assert_no_key_in_output(*p.communicate(timeout=30)) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    paths = sorted(out.decode().strip() for out, _ in outputs)
    assert paths == sorted([f"{SLUG}.png", f"{SLUG}-2.png", f"{SLUG}-3.png"])
    assert files_in(tmp_path) == sorted(paths)
    assert standin.stats()["requests"] == 3


def assert_saved_past_the_second_run(process, out, err, folder):
    """The run saved its image as slug-3, saying so, and left slug-2 (another
    run's) as it was."""
    assert process.returncode == 0, err
    assert out.decode() == f"{SLUG}-3.png\n"
    assert f"'{SLUG}-2.png' appeared meanwhile; saving as '{SLUG}-3.png'" in err.decode()
    assert (folder / f"{SLUG}-2.png").read_bytes() == b"second run"


def test_a_numbered_name_taken_while_the_answer_came_goes_on_from_its_number(standin,
                                                                              tmp_path):
    """The plan numbered the name (the plain one was taken); another run took that
    too while this one waited: the next number, not slug-2-2 (seen under load)."""
    (tmp_path / f"{SLUG}.png").write_bytes(b"first run")
    standin.configure(hold_body=0.3)
    process = subprocess.Popen([BIN, "generate", OTTER, *SMALL], cwd=tmp_path,
                               env=clean_env(standin), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert standin.wait_held()
        (tmp_path / f"{SLUG}-2.png").write_bytes(b"second run")
        standin.release()
        out, err = assert_no_key_in_output(*process.communicate(timeout=30))
    finally:
        standin.release()
        if process.poll() is None:
            process.kill()
    assert_saved_past_the_second_run(process, out, err, tmp_path)


def test_a_name_taken_twice_while_saving_goes_on_from_the_number_it_took(standin, tmp_path):
    """The plain name was taken while the answer came, so the image took slug-2;
    another run took that too before the link (the gate holds it there): slug-3,
    never slug-2-2 (three runs at once under ASan saved ...-2-2.png)."""
    slow_disk = Path(BIN).parent / "tests" / "libslow_disk.so"
    assert slow_disk.exists(), f"{slow_disk} is not built (tests/meson.build)"
    gate = tmp_path.parent / f"{tmp_path.name}-gate"
    standin.configure(hold_body=0.3)
    process = subprocess.Popen(
        [BIN, "generate", OTTER, *SMALL], cwd=tmp_path,
        env=clean_env(standin, {"LD_PRELOAD": str(slow_disk),
                                "IMAGEGEN_TEST_LINK_GATE": str(gate),
                                "IMAGEGEN_TEST_LINK_GATE_AFTER": "1",
                                "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "")
                                + ":verify_asan_link_order=0"}),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert standin.wait_held()
        (tmp_path / f"{SLUG}.png").write_bytes(b"first run")
        standin.release()
        said = b""
        deadline = time.monotonic() + 30
        while b"appeared meanwhile" not in said and time.monotonic() < deadline:
            if select.select([process.stderr], [], [], 0.1)[0]:
                said += os.read(process.stderr.fileno(), 65536)
        assert f"saving as '{SLUG}-2.png'".encode() in said, said
        # It waits at its second link: the run beside it takes slug-2 now.
        (tmp_path / f"{SLUG}-2.png").write_bytes(b"second run")
        gate.write_text("")
        out, err = assert_no_key_in_output(*process.communicate(timeout=30))
    finally:
        standin.release()
        gate.unlink(missing_ok=True)
        if process.poll() is None:
            process.kill()
    assert_saved_past_the_second_run(process, out, err, tmp_path)


def test_an_existing_out_file_is_refused_before_any_request(run, standin, tmp_path):
    (tmp_path / "keep.png").write_bytes(b"precious")
    result = run(["generate", OTTER, *SMALL, "--out", "keep.png"])
    assert result.rc == 2, result
    assert "keep.png" in result.stderr
    assert "--force" in result.stderr
    assert (tmp_path / "keep.png").read_bytes() == b"precious"
    assert standin.requests == []
    assert result.stdout == ""


def test_an_existing_numbered_out_file_is_refused_before_any_request(run, standin,
                                                                     tmp_path):
    (tmp_path / "keep-2.png").write_bytes(b"precious")
    result = run(["generate", OTTER, *SMALL, "--n", "2", "--out", "keep.png"])
    assert result.rc == 2, result
    assert (tmp_path / "keep-2.png").read_bytes() == b"precious"
    assert files_in(tmp_path) == ["keep-2.png"]
    assert standin.requests == []


@pytest.mark.parametrize("args", [["--out-dir", "taken"], ["--out-dir", "taken/sub"],
                                  ["--out", "taken/x.png"]],
                         ids=["out-dir-is-a-file", "out-dir-under-a-file",
                              "out-under-a-file"])
def test_an_output_folder_that_cannot_exist_is_refused_before_the_request(
        run, standin, tmp_path, args):
    """Sending first would pay for an image that cannot be saved."""
    (tmp_path / "taken").write_text("a file, not a folder")
    result = run(["generate", OTTER, *SMALL, *args])
    assert result.rc == 2, result
    assert "taken" in result.stderr
    assert standin.requests == []
    assert files_in(tmp_path) == ["taken"]


def test_force_overwrites_an_existing_out_file(run, tmp_path):
    (tmp_path / "keep.png").write_bytes(b"old")
    result = run(["generate", OTTER, *SMALL, "--out", "keep.png", "--force"])
    assert result.rc == 0, result
    assert result.lines == ["keep.png"]
    assert open_image(tmp_path / "keep.png").size == (1024, 640)
    assert files_in(tmp_path) == ["keep.png"]


@pytest.mark.compat
def test_short_options(run, standin, tmp_path):
    result = run(["generate", "-p", OTTER, "-m", "gpt-image-1.5", "-s", "1536x1024",
                  "-n", "2", "-o", "short.png", "-q"])
    assert result.rc == 0, result
    assert result.lines == ["short-1.png", "short-2.png"]
    body = only_body(standin)
    assert (body["model"], body["size"], body["n"]) == ("gpt-image-1.5", "1536x1024", 2)
    (tmp_path / "short-1.png").write_bytes(b"old")
    forced = run(["generate", "-p", OTTER, "-s", "1024x640", "-n", "2", "-o",
                  "short.png", "-f", "-q"])
    assert forced.rc == 0, forced
    assert open_image(tmp_path / "short-1.png").size == (1024, 640)


def test_option_equals_value_form(run, standin):
    result = run(["generate", OTTER, "--size=1024x640", "--n=2", "--out=eq.webp"])
    assert result.rc == 0, result
    assert result.lines == ["eq-1.webp", "eq-2.webp"]
    body = only_body(standin)
    assert (body["size"], body["n"], body["output_format"]) == ("1024x640", 2, "webp")


# --- prompt sources


@pytest.mark.parametrize("args, stdin", [
    (["--prompt", "a red fox in snow"], None),
    (["-p", "a red fox in snow"], None),
    (["--prompt-file", "prompt.txt"], None),
    (["a", "red", "fox", "in", "snow"], None),
    (["a red fox in snow"], None),
    ([], "a red fox in snow\n"),
    (["-"], "a red fox in snow\n"),
    (["--prompt-file", "-"], "a red fox in snow\n"),
], ids=["prompt", "p", "prompt-file", "words", "one-word-arg", "stdin-pipe",
        "dash-word", "prompt-file-dash"])
def test_prompt_sources(run, standin, tmp_path, args, stdin):
    (tmp_path / "prompt.txt").write_text("a red fox in snow\n")
    result = run(["generate", *SMALL, *args], stdin=stdin)
    assert result.rc == 0, result
    assert only_body(standin)["prompt"] == "a red fox in snow"
    assert result.lines == ["a-red-fox-in-snow.png"]


JOINED = ("imagegen: warning: the {n} arguments after the options were joined into one "
          "prompt for one image; for one image from each, run 'imagegen batch' with them\n")


@pytest.mark.parametrize("args, out", [
    (["A sunset over mountains", "A futuristic city at night", "A serene lake"],
     "a-sunset-over-mountains-a-futuristic-city-at-night-a-serene.png"),
    (["--output", "shots", "Image 1", "Image 2"], "shots/image-1-image-2.png"),
], ids=["three-quoted-prompts", "output-folder-and-two-prompts"])
def test_several_quoted_prompts_are_one_prompt_with_a_warning_pointing_to_batch(
        run, standin, tmp_path, args, out):
    # Seed 001 passes prompts one argument each; trailing words are still one
    # prompt (seed 000), so the run says what it did and how to get one image each.
    result = run(["generate", *SMALL, *args])
    assert result.rc == 0, result
    assert result.lines == [out]
    words = [a for a in args if " " in a]
    assert only_body(standin)["prompt"] == " ".join(words)
    assert JOINED.format(n=len(words)) in result.stderr


@pytest.mark.parametrize("args", [["a", "red", "fox"], ["a red fox"]],
                         ids=["bare-words", "one-quoted-prompt"])
def test_words_or_one_quoted_prompt_give_no_joining_warning(run, standin, args):
    result = run(["generate", *SMALL, *args])
    assert result.rc == 0, result
    assert "warning" not in result.stderr


def test_a_multi_line_prompt_file_is_sent_whole(run, standin, tmp_path):
    (tmp_path / "prompt.txt").write_text("line one\nline two\n")
    result = run(["generate", *SMALL, "--prompt-file", "prompt.txt"])
    assert result.rc == 0, result
    assert only_body(standin)["prompt"] == "line one\nline two"


@pytest.mark.parametrize("args, named", [
    (["--prompt", "a", "--prompt-file", "prompt.txt"], "--prompt and --prompt-file"),
    (["--prompt", "a", "some", "words"], "--prompt and words on the command line"),
    (["--prompt-file", "prompt.txt", "some", "words"],
     "--prompt-file and words on the command line"),
    (["--prompt", "a", "--prompt-file", "prompt.txt", "words"],
     "--prompt, --prompt-file and words on the command line"),
], ids=["prompt+file", "prompt+words", "file+words", "all-three"])
def test_two_prompt_sources_are_refused(run, standin, tmp_path, args, named):
    (tmp_path / "prompt.txt").write_text("from a file\n")
    result = run(["generate", *SMALL, *args])
    assert result.rc == 2, result
    assert result.stderr == ("imagegen: error: --prompt: give the prompt one way only;"
                             f" it came from {named}\n")
    assert standin.requests == []
    assert files_in(tmp_path) == ["prompt.txt"]


def test_an_explicit_prompt_wins_over_piped_stdin(run, standin):
    result = run(["generate", *SMALL, "--prompt", "the given one"], stdin="from a pipe\n")
    assert result.rc == 0, result
    assert only_body(standin)["prompt"] == "the given one"


def test_words_win_over_piped_stdin(run, standin):
    result = run(["generate", *SMALL, "the", "words"], stdin="from a pipe\n")
    assert result.rc == 0, result
    assert only_body(standin)["prompt"] == "the words"


def test_a_prompt_after_double_dash_may_start_with_a_dash(run, standin):
    result = run(["generate", *SMALL, "--", "-a dashing prompt"])
    assert result.rc == 0, result
    assert only_body(standin)["prompt"] == "-a dashing prompt"


def test_the_slug_never_leaves_the_folder(run, tmp_path):
    result = run(["generate", *SMALL, "../../up/../and/away"])
    assert result.rc == 0, result
    [path] = result.lines
    assert "/" not in path and not path.startswith(".")
    assert files_in(tmp_path) == [path]


def test_stdout_write_failure_is_an_error(standin, tmp_path):
    with open("/dev/full", "w") as full:
        completed = subprocess.run([BIN, "generate", OTTER, *SMALL],
                                   cwd=tmp_path, env=clean_env(standin),
                                   stdin=subprocess.DEVNULL, stdout=full,
                                   stderr=subprocess.PIPE)
    assert completed.returncode == 1
    assert_no_key_in_output(completed.stderr, names=("stderr",))
    assert b"output" in completed.stderr


# --- prompt augmentation


def test_augmentation_fields_build_a_structured_prompt(run, standin):
    result = run(["generate", *SMALL, "--prompt", "A minimal hero image of a mug",
                  "--use-case", "product-mockup", "--scene", "stone counter",
                  "--subject", "matte ceramic mug", "--style", "clean product photography",
                  "--composition", "wide shot", "--lighting", "soft morning light",
                  "--palette", "warm neutrals", "--materials", "ceramic, stone",
                  "--text", "MUG CO", "--constraints", "no logos",
                  "--negative", "clutter"])
    assert result.rc == 0, result
    prompt = only_body(standin)["prompt"]
    lines = prompt.split("\n")
    assert "Primary request: A minimal hero image of a mug" in lines
    for value in ("product-mockup", "stone counter", "matte ceramic mug",
                  "clean product photography", "wide shot", "soft morning light",
                  "warm neutrals", "ceramic, stone", "MUG CO", "no logos", "clutter"):
        assert sum(value in line for line in lines) == 1, (value, prompt)
    # One field per line: the primary request and the eleven fields.
    assert len([line for line in lines if line.strip()]) == 12
    assert "style" not in only_body(standin)


def test_without_fields_the_prompt_is_sent_as_given(run, standin):
    run(["generate", *SMALL, "--prompt", "A plain prompt"])
    assert only_body(standin)["prompt"] == "A plain prompt"


def test_no_augment_sends_the_prompt_as_given(run, standin):
    result = run(["generate", *SMALL, "--prompt", "A plain prompt", "--no-augment"])
    assert result.rc == 0, result
    assert only_body(standin)["prompt"] == "A plain prompt"


@pytest.mark.compat
@pytest.mark.parametrize("style", ["vivid", "natural"])
@pytest.mark.compat
def test_style_vivid_or_natural_is_dalle3s_api_parameter(run, standin, tmp_path, style):
    result = run(["generate", "--model", "dall-e-3", "--size", "1024x1024",
                  "--style", style, "--prompt", "a castle"])
    assert result.rc == 0, result
    body = only_body(standin)
    assert body["style"] == style
    assert body["prompt"] == "a castle"
    assert open_image(tmp_path / "a-castle.png").size == (1024, 1024)


def test_other_style_text_goes_into_the_prompt(run, standin):
    result = run(["generate", *SMALL, "--prompt", "a castle", "--style", "oil painting"])
    assert result.rc == 0, result
    body = only_body(standin)
    assert "style" not in body
    assert "Primary request: a castle" in body["prompt"].split("\n")
    assert any("oil painting" in line for line in body["prompt"].split("\n"))


@pytest.mark.compat
def test_other_style_text_on_dalle3_also_goes_into_the_prompt(run, standin):
    result = run(["generate", "--model", "dall-e-3", "--size", "1024x1024",
                  "--prompt", "a castle", "--style", "watercolour"])
    assert result.rc == 0, result
    body = only_body(standin)
    assert "style" not in body
    assert "watercolour" in body["prompt"]


# --- --json and --no-save


def test_json_prints_the_response_on_stdout_and_paths_on_stderr(run, standin, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--n", "2", "--json"])
    assert result.rc == 0, result
    response = result.json
    assert response is not None, result
    assert len(response["data"]) == 2
    for item in response["data"]:
        image = Image.open(io.BytesIO(base64.b64decode(item["b64_json"], validate=True)))
        assert image.size == (1024, 640)
    usage = response["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    assert response["size"] == "1024x640"
    names = [f"{SLUG}-1.png", f"{SLUG}-2.png"]
    assert files_in(tmp_path) == names
    for name in names:
        assert name in result.stderr
        assert name not in result.stdout


def test_no_save_writes_no_files(run, standin, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--no-save"])
    assert result.rc == 0, result
    assert result.stdout == ""
    assert files_in(tmp_path) == []
    assert standin.stats()["requests"] == 1


def test_no_save_with_json_still_prints_the_response(run, standin, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--no-save", "--json"])
    assert result.rc == 0, result
    assert len(result.json["data"]) == 1
    assert "b64_json" in result.json["data"][0]
    assert "usage" in result.json
    assert files_in(tmp_path) == []


# --- --dry-run


def test_dry_run_prints_the_request_with_the_key_redacted_and_sends_nothing(
        run, standin, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--out", "otter.webp", "--dry-run"])
    assert result.rc == 0, result
    out = result.stdout
    assert "POST" in out
    assert f"{standin.url}/images/generations" in out
    assert "Bearer [REDACTED]" in out
    assert "Content-Type: application/json" in out
    assert '"prompt": "A cute baby sea otter"' in out
    assert '"output_format": "webp"' in out
    assert "otter.webp" in out
    assert standin.requests == []
    assert files_in(tmp_path) == []


def test_dry_run_works_without_a_key(run, standin, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--dry-run"], env={"OPENAI_API_KEY": None})
    assert result.rc == 0, result
    assert f"{SLUG}.png" in result.stdout
    assert '"prompt": "A cute baby sea otter"' in result.stdout
    assert standin.requests == []
    assert files_in(tmp_path) == []


def test_dry_run_json_is_one_object_with_method_url_headers_body_outputs(
        run, standin, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--n", "2", "--dry-run", "--json"],
                 env={"OPENAI_ORG_ID": "org-dry", "OPENAI_PROJECT_ID": "proj-dry"})
    assert result.rc == 0, result
    plan = result.json
    assert plan is not None, result
    assert set(plan) >= {"method", "url", "headers", "body", "outputs"}
    assert plan["method"] == "POST"
    assert plan["url"] == f"{standin.url}/images/generations"
    headers = {name.lower(): value for name, value in plan["headers"].items()}
    assert headers["authorization"] == "Bearer [REDACTED]"
    assert headers["openai-organization"] == "org-dry"
    assert headers["openai-project"] == "proj-dry"
    assert plan["body"]["prompt"] == OTTER
    assert plan["body"]["n"] == 2
    assert plan["body"]["size"] == "1024x640"
    assert plan["outputs"] == [f"{SLUG}-1.png", f"{SLUG}-2.png"]
    assert standin.requests == []
    assert files_in(tmp_path) == []


def test_dry_run_shows_the_next_free_derived_name(run, standin, tmp_path):
    (tmp_path / f"{SLUG}.png").write_bytes(b"x")
    result = run(["generate", OTTER, *SMALL, "--dry-run", "--json"])
    assert result.json["outputs"] == [f"{SLUG}-2.png"]


# --- headers and the base URL


def test_authorization_is_bearer_and_org_project_headers_are_sent(run, standin):
    result = run(["generate", OTTER, *SMALL],
                 env={"OPENAI_ORG_ID": "org-abc123", "OPENAI_PROJECT_ID": "proj_xyz789"})
    assert result.rc == 0, result
    [request] = standin.requests
    assert request["method"] == "POST"
    assert request["path"] == "/v1/images/generations"
    headers = request["headers"]
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["openai-organization"] == "org-abc123"
    assert headers["openai-project"] == "proj_xyz789"
    assert headers["content-type"].startswith("application/json")


def test_no_org_or_project_headers_without_the_variables(run, standin):
    run(["generate", OTTER, *SMALL])
    [request] = standin.requests
    assert "openai-organization" not in request["headers"]
    assert "openai-project" not in request["headers"]


def test_base_url_overrides_openai_base_url(run, standin, tmp_path):
    result = run(["generate", OTTER, *SMALL, "--base-url", standin.url],
                 env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 1
    assert files_in(tmp_path) == [f"{SLUG}.png"]


def test_base_url_with_a_trailing_slash(run, standin):
    result = run(["generate", OTTER, *SMALL, "--base-url", standin.url + "/"])
    assert result.rc == 0, result
    assert [r["path"] for r in standin.requests] == ["/v1/images/generations"]


def test_default_base_url_is_openai(run, standin):
    result = run(["generate", OTTER, "--dry-run", "--json"], env={"OPENAI_BASE_URL": None})
    assert result.rc == 0, result
    assert result.json["url"] == "https://api.openai.com/v1/images/generations"


def test_there_is_no_key_option(run, standin):
    result = run(["generate", OTTER, "--api-key", "sk-on-argv"])
    assert result.rc == 2, result
    assert standin.requests == []


# --- dall-e


@pytest.mark.compat
def test_dalle2_url_responses_are_downloaded(run, standin, tmp_path):
    result = run(["generate", "a robot", "--model", "dall-e-2", "--size", "256x256",
                  "--n", "2"])
    assert result.rc == 0, result
    assert result.lines == ["a-robot-1.png", "a-robot-2.png"]
    for name in result.lines:
        image = open_image(tmp_path / name)
        assert (image.format, image.size) == ("PNG", (256, 256))
    assert digest(tmp_path / "a-robot-1.png") != digest(tmp_path / "a-robot-2.png")
    body = only_body(standin)
    assert body["model"] == "dall-e-2"
    assert body.get("response_format", "url") == "url"


@pytest.mark.compat
def test_dalle3_url_response_is_downloaded(run, standin, tmp_path):
    result = run(["generate", "a castle", "--model", "dall-e-3", "--size", "1792x1024",
                  "--quality", "hd"])
    assert result.rc == 0, result
    image = open_image(tmp_path / "a-castle.png")
    assert (image.format, image.size) == ("PNG", (1792, 1024))
    assert only_body(standin)["quality"] == "hd"


@pytest.mark.compat
def test_dalle_b64_json_response_is_saved(run, standin, tmp_path):
    result = run(["generate", "a castle", "--model", "dall-e-3", "--size", "1024x1792",
                  "--response-format", "b64_json"])
    assert result.rc == 0, result
    assert open_image(tmp_path / "a-castle.png").size == (1024, 1792)
    assert only_body(standin)["response_format"] == "b64_json"


@pytest.mark.compat
def test_dalle2_default_size_is_one_dalle2_supports(run, standin, tmp_path):
    result = run(["generate", "a robot", "--model", "dall-e-2"])
    assert result.rc == 0, result
    # The model's largest size, sent explicitly: a compatible server's own default
    # may differ.
    assert only_body(standin)["size"] == "1024x1024"


@pytest.mark.compat
def test_dalle_no_save_writes_no_files(run, standin, tmp_path):
    result = run(["generate", "a robot", "--model", "dall-e-2", "--size", "256x256",
                  "--n", "2", "--no-save"])
    assert result.rc == 0, result
    assert result.stdout == ""
    assert files_in(tmp_path) == []


@pytest.mark.compat
def test_dalle_json_prints_the_urls_and_still_saves(run, standin, tmp_path):
    result = run(["generate", "a robot", "--model", "dall-e-2", "--size", "256x256",
                  "--n", "2", "--json"])
    assert result.rc == 0, result
    urls = [item["url"] for item in result.json["data"]]
    assert len(urls) == 2 and all(url.startswith("http://") for url in urls)
    assert files_in(tmp_path) == ["a-robot-1.png", "a-robot-2.png"]
    assert "a-robot-1.png" in result.stderr


@pytest.mark.compat
def test_url_downloads_do_not_carry_the_api_key(run, standin):
    result = run(["generate", "a robot", "--model", "dall-e-2", "--size", "256x256"])
    assert result.rc == 0, result
    downloads = standin.downloads
    assert [r["path"].startswith("/files/") for r in downloads] == [True], downloads
    for request in downloads:
        assert "authorization" not in request["headers"]
        assert KEY not in json.dumps(request)


# --- messages, colour, quiet


def test_quiet_silences_stderr_on_success(run, tmp_path):
    result = run(["generate", OTTER, *SMALL, "-q"])
    assert result.rc == 0, result
    assert result.stderr == ""
    assert result.stdout == f"{SLUG}.png\n"


@pytest.mark.compat
def test_quiet_hides_warnings(run, standin):
    result = run(["generate", OTTER, "--model", "acme-image-7", "--size", "1024x1024",
                  "-q"])
    assert result.rc == 0, result
    assert result.stderr == ""
    assert standin.requests[0]["body"]["model"] == "acme-image-7"


def test_quiet_long_form(run):
    result = run(["generate", OTTER, *SMALL, "--quiet"])
    assert (result.rc, result.stderr) == (0, "")


def test_quiet_still_shows_errors(run, standin):
    standin.configure(fault="400")
    result = run(["generate", OTTER, *SMALL, "-q"])
    assert result.rc == 1
    # Only the error and its details: no start line, no progress.
    assert result.stderr.startswith(
        "imagegen: error: the API refused the request (HTTP 400 invalid_request_error)\n"
        "  message: Invalid value: '1000x1000'."), result.stderr
    assert "generating" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("env", [{}, {"NO_COLOR": "1"}], ids=["pipe", "pipe-no-color"])
def test_no_escape_codes_when_stderr_is_not_a_tty(run, standin, env):
    ok = run(["generate", OTTER, *SMALL], env=env)
    standin.configure(fault="400")
    failed = run(["generate", OTTER, *SMALL], env=env)
    assert ok.rc == 0 and failed.rc == 1
    for result in (ok, failed):
        assert ESCAPE not in result.stderr
        assert ESCAPE not in result.stdout


def run_with_tty_stderr(standin, cwd, args, env):
    """Run the binary with stderr on a pseudo-terminal; returns (rc, stderr text)."""
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen([BIN, *args], cwd=cwd, env=clean_env(standin, env),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=slave)
        os.close(slave)
        chunks = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the other side closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        stdout = process.stdout.read()
        rc = process.wait(timeout=30)
    finally:
        os.close(master)
    assert_no_key_in_output(stdout, b"".join(chunks), names=("stdout", "the terminal"))
    return rc, b"".join(chunks).decode("utf-8", errors="replace")


class Terminal:
    """imagegen with stderr (and with `both`, stdout too) on a pseudo-terminal, read
    as it writes: `until(text)` waits for text to be shown, `finish()` reads to the
    end and returns (exit status, all shown, stdout)."""

    def __init__(self, standin, cwd, args, both=False):
        self.leader, follower = pty.openpty()
        self.shown = b""
        self.process = subprocess.Popen(
            [BIN, *args], cwd=cwd, env=clean_env(standin), stdin=subprocess.DEVNULL,
            stdout=follower if both else subprocess.PIPE, stderr=follower)
        os.close(follower)

    def read(self, wait=0.1):
        if not select.select([self.leader], [], [], wait)[0]:
            return False
        try:
            data = os.read(self.leader, 65536)
        except OSError:  # EIO: the other side closed
            return None
        self.shown += data
        return bool(data) or None

    def until(self, pattern, timeout=30):
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text()) and time.monotonic() < deadline:
            if self.read() is None:
                break
        return re.search(pattern, self.text())

    def text(self):
        return self.shown.decode("utf-8", errors="replace")

    def finish(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got = self.read()
            if got is None or (got is False and self.process.poll() is not None):
                break
        stdout = self.process.stdout.read().decode() if self.process.stdout else ""
        rc = self.process.wait(timeout=30)
        os.close(self.leader)
        assert KEY not in self.text() and KEY not in stdout
        return rc, self.text(), stdout


def test_a_terminal_shows_a_live_line_until_the_image_is_saved(standin, tmp_path):
    standin.configure(hold_body=0.5)   # the answer stops half-way until released
    term = Terminal(standin, tmp_path, ["generate", OTTER, *SMALL])
    try:
        assert standin.wait_held(1)
        # Shown while the answer is held: elapsed time and the bytes that came.
        live = term.until(r"\rimagegen: generating: \d+:\d\d, [\d.]+ kB received")
        assert live, term.text()
        assert "saved" not in term.text()
    finally:
        standin.release()
    rc, shown, stdout = term.finish()
    assert rc == 0, shown
    assert stdout == f"{SLUG}.png\n"
    # The line is cleared (spaces, no escape sequence) before the saved line.
    before, after = shown.split("saved", 1)
    last = before.rindex("\rimagegen: generating: ")
    assert re.search(r"\r +\r", before[last:]), repr(before[last:])
    assert "generating: " not in after


def test_a_streamed_request_shows_its_partial_images_on_the_live_line(standin, tmp_path):
    standin.configure(stream_interval=0.5)
    term = Terminal(standin, tmp_path, ["generate", OTTER, *SMALL, "--partial-images", "2"])
    assert term.until(r" received, 1 partial image\b"), term.text()
    rc, shown, _ = term.finish()
    assert rc == 0, shown
    assert shown.index(" received, 1 partial image") < shown.index(f"saved {SLUG}.png")


def test_off_a_terminal_there_is_no_live_line(run, standin):
    standin.configure(stream_interval=0.2)
    result = run(["generate", OTTER, *SMALL, "--partial-images", "1"])
    assert result.rc == 0, result
    assert "\r" not in result.stderr and "received" not in result.stderr


def test_on_one_terminal_each_path_is_shown_once(standin, tmp_path):
    term = Terminal(standin, tmp_path, ["generate", OTTER, *SMALL, "--n", "2",
                                        "--downscale-max-dim", "256"], both=True)
    rc, shown, _ = term.finish()
    assert rc == 0, shown
    for name in (f"{SLUG}-1.png", f"{SLUG}-2.png", f"{SLUG}-1-web.png"):
        assert shown.count(name) == 1, shown
    assert re.search(r"saved 1024x640, \$\d+\.\d{4}", shown), shown
    assert "saved (downscaled copy)" in shown


def test_on_two_terminals_or_a_pipe_the_saved_line_names_the_path(run, standin):
    result = run(["generate", OTTER, *SMALL])
    assert result.rc == 0, result
    assert re.search(rf"imagegen: saved {SLUG}.png 1024x640, \$\d+\.\d{{4}}\n",
                     result.stderr), result.stderr


def test_no_color_is_respected_on_a_tty(standin, tmp_path):
    standin.configure(fault="400")
    rc, painted = run_with_tty_stderr(standin, tmp_path, ["generate", "x", *SMALL], {})
    rc_plain, plain = run_with_tty_stderr(standin, tmp_path, ["generate", "x", *SMALL],
                                          {"NO_COLOR": "1"})
    assert (rc, rc_plain) == (1, 1)
    assert KEY not in painted and KEY not in plain
    assert ESCAPE in painted, "no colour on a TTY at all: the NO_COLOR check is vacuous"
    assert ESCAPE not in plain
    assert "error" in plain


# --- commands, help, the key


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["generate", "--help"],
                                  ["-h"], ["generate", "-h"]])
def test_version_and_help_exit_0(run, standin, args):
    result = run(args)
    assert result.rc == 0, result
    assert result.stdout.strip()
    assert standin.requests == []


def test_version_names_the_program(run):
    assert run(["--version"]).stdout.startswith("imagegen ")


def test_version_names_the_libraries_a_bug_report_needs(run):
    lines = run(["--version"]).stdout.splitlines()
    assert len(lines) == 2
    for name in ("libcurl ", "jansson ", "SQLite ", "zlib ", "libvips "):
        assert name in lines[1], lines
    assert re.search(r"libvips \d+\.\d+", lines[1]), lines


def test_version_says_when_libvips_is_missing(run):
    preload = Path(BIN).parent / "tests" / "libno_vips.so"
    assert preload.exists(), f"{preload} is not built (tests/meson.build)"
    result = run(["--version"], env={
        "LD_PRELOAD": str(preload),
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
    assert result.rc == 0, result
    assert "libvips not found" in result.stdout


def test_generate_help_lists_every_flag(run):
    text = run(["generate", "--help"]).stdout
    for flag in ["--prompt", "--prompt-file", "--use-case", "--scene", "--subject",
                 "--style", "--composition", "--lighting", "--palette", "--materials",
                 "--text", "--constraints", "--negative", "--no-augment", "--model", "--n",
                 "--size", "--quality", "--background", "--output-format", "--format",
                 "--output-compression", "--compression", "--moderation",
                 "--response-format", "--user", "--input-fidelity", "--out", "--out-dir",
                 "--output-dir", "--output", "--prefix", "--force", "--no-save", "--json",
                 "--dry-run", "--quiet", "--base-url", "--timeout", "--max-attempts",
                 "--retries", "--backoff"]:
        assert flag in text, flag


def test_unknown_command_exits_2(run, standin):
    result = run(["generat", "a cat"])
    assert result.rc == 2, result
    assert "generat" in result.stderr
    assert result.stdout == ""
    assert standin.requests == []


@pytest.mark.parametrize("typo,meant", [("genrate", "generate"), ("bacth", "batch"),
                                        ("inof", "info")])
def test_a_mistyped_command_is_told_the_one_it_is_close_to(run, standin, typo, meant):
    result = run([typo, "a cat"])
    assert result.rc == 2, result
    assert (f"imagegen: error: unknown command '{typo}'; did you mean '{meant}'? "
            "(see 'imagegen --help')") in result.stderr
    assert standin.requests == []


def test_a_command_close_to_none_gets_no_guess(run):
    result = run(["xyzzy"])
    assert result.rc == 2, result
    assert "did you mean" not in result.stderr


@pytest.mark.parametrize("command", ["generate", "edit", "batch", "info"])
def test_help_command_shows_the_commands_own_help(run, standin, command):
    result = run(["help", command])
    assert result.rc == 0, result
    assert result.stdout == run([command, "--help"]).stdout
    assert result.stdout.startswith(f"usage: imagegen {command} ")
    assert standin.requests == []


def test_help_with_a_mistyped_command_guesses_it(run):
    result = run(["help", "genrate"])
    assert result.rc == 2, result
    assert "did you mean 'generate'?" in result.stderr
    assert result.stdout == ""


def test_no_command_exits_2(run):
    result = run([])
    assert result.rc == 2, result
    assert result.stderr.startswith("usage: imagegen COMMAND"), result.stderr
    assert "\nCommands:\n" in result.stderr and "  generate " in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("env", [{"OPENAI_API_KEY": None}, {"OPENAI_API_KEY": ""}],
                         ids=["unset", "empty"])
def test_no_key_exits_2_naming_openai_api_key(run, standin, tmp_path, env):
    result = run(["generate", OTTER, *SMALL], env=env)
    assert result.rc == 2, result
    assert "OPENAI_API_KEY" in result.stderr
    assert standin.requests == []
    assert files_in(tmp_path) == []


def test_user_is_sent(run, standin):
    result = run(["generate", OTTER, *SMALL, "--user", "user-1234"])
    assert result.rc == 0, result
    assert only_body(standin)["user"] == "user-1234"


@pytest.mark.compat
def test_gpt_parameters_are_sent_as_given(run, standin, tmp_path):
    result = run(["generate", OTTER, "--model", "gpt-image-1", "--size", "1536x1024",
                  "--quality", "high", "--background", "opaque", "--output-format", "jpeg",
                  "--output-compression", "40", "--moderation", "low"])
    assert result.rc == 0, result
    body = only_body(standin)
    for name, value in {"model": "gpt-image-1", "size": "1536x1024", "quality": "high",
                        "background": "opaque", "output_format": "jpeg",
                        "output_compression": 40, "moderation": "low"}.items():
        assert body[name] == value, name
    assert open_image(tmp_path / f"{SLUG}.jpg").size == (1536, 1024)


# --- every request body against the API spec


BODY_RUNS = [
    [OTTER, *SMALL],
    [OTTER],
    [OTTER, "--n", "3", *SMALL, "--quality", "low", "--output-format", "webp",
     "--output-compression", "0", "--background", "auto", "--moderation", "auto",
     "--user", "u-1"],
    [OTTER, "--model", "gpt-image-1", "--size", "1024x1536", "--quality", "auto",
     "--background", "transparent"],
    [OTTER, "--model", "gpt-image-1-mini", "--size", "auto", "--output-format", "jpeg",
     "--output-compression", "100", "--background", "opaque"],
    [OTTER, "--model", "gpt-image-1.5", "--size", "1536x1024", "--quality", "high"],
    [OTTER, "--model", "dall-e-2", "--size", "512x512", "--n", "2"],
    [OTTER, "--model", "dall-e-2", "--size", "256x256", "--response-format", "b64_json",
     "--quality", "standard"],
    [OTTER, "--model", "dall-e-3", "--size", "1024x1024", "--quality", "standard",
     "--style", "natural", "--response-format", "url", "--user", "u-2"],
    [OTTER, "--model", "dall-e-3", "--size", "1792x1024", "--quality", "hd",
     "--scene", "harbour", "--style", "ink wash"],
    [OTTER, "--out", "x.webp", *SMALL, "--scene", "kelp", "--text", "HELLO"],
]


@pytest.mark.compat
def test_every_request_body_fits_create_image_request(run, standin, spec):
    schema = spec["components"]["schemas"]["CreateImageRequest"]
    for args in BODY_RUNS:
        result = run(["generate", *args])
        assert result.rc == 0, result
    bodies = generation_bodies(standin)
    assert len(bodies) == len(BODY_RUNS)
    for args, body in zip(BODY_RUNS, bodies):
        assert isinstance(body, dict), args
        assert schema_errors(spec, schema, body, "body") == [], args
        assert body["model"] in ("gpt-image-2", "gpt-image-1", "gpt-image-1-mini",
                                 "gpt-image-1.5", "dall-e-2", "dall-e-3")


def test_dry_run_bodies_fit_create_image_request(run, standin, spec):
    schema = spec["components"]["schemas"]["CreateImageRequest"]
    for args in BODY_RUNS:
        result = run(["generate", *args, "--dry-run", "--json"])
        assert result.rc == 0, result
        assert schema_errors(spec, schema, result.json["body"], "body") == [], args
    assert standin.requests == []


CONFLICTS = [
    (["--retries", "1", "--max-attempts", "5"], "--retries 1 and --max-attempts 5 disagree "
     "(--retries N is --max-attempts N+1); give one of them"),
    (["--no-save", "--out", "b.png"], "--no-save and --out: --no-save writes no files; "
     "give one of them"),
    (["--no-save", "--output", "pics"], "--no-save and --output: --no-save writes no "
     "files; give one of them"),
    (["--no-save", "--prefix", "hero"], "--no-save and --prefix: --no-save writes no "
     "files; give one of them"),
    (["--no-save", "--sidecar"], "--no-save and --sidecar: --no-save writes no files; "
     "give one of them"),
    (["--scene", "beach", "--lighting", "noon", "--no-augment"], "--no-augment and "
     "--scene: --no-augment sends the prompt without the prompt fields; give one of them"),
    (["--no-augment", "--use-case", "ad"], "--no-augment and --use-case: --no-augment "
     "sends the prompt without the prompt fields; give one of them"),
    (["--no-augment", "--style", "watercolor"], "--no-augment and --style: --no-augment "
     "sends the prompt without the prompt fields; give one of them"),
]


@pytest.mark.parametrize("args, message", CONFLICTS,
                         ids=["retries-max-attempts", "no-save-out", "no-save-output",
                              "no-save-prefix", "no-save-sidecar", "no-augment-scene",
                              "no-augment-use-case", "no-augment-style"])
def test_contradicting_flags_are_refused_naming_both(run, standin, tmp_path, args, message):
    # Each of these let one flag silently lose to the other.
    result = run(["generate", *SMALL, "--prompt", "A plain prompt", *args])
    assert result.rc == 2, result
    assert result.stderr == f"imagegen: error: {message}\n"
    assert standin.requests == []
    assert files_in(tmp_path) == []


def test_retries_and_max_attempts_that_agree_are_taken(run, standin):
    standin.configure(fault="503", fault_count=4, retry_after="0")
    result = run(["generate", *SMALL, "a cat", "--retries", "4", "--max-attempts", "5",
                  "--backoff", "0"])
    assert result.rc == 0, result
    assert standin.stats()["requests"] == 5


@pytest.mark.parametrize("flag", ["--out-dir", "--output-dir", "--output"])
def test_a_folder_option_named_like_an_image_asks_whether_out_was_meant(run, tmp_path,
                                                                        flag):
    result = run(["generate", *SMALL, "a cat", flag, "hero.png"])
    assert result.rc == 0, result
    assert (f"imagegen: warning: {flag} 'hero.png': a folder named like an image file; "
            "did you mean --out?\n") in result.stderr
    assert result.lines == ["hero.png/a-cat.png"]
    # Once the folder is there it is meant: no second warning.
    again = run(["generate", *SMALL, "a cat", flag, "hero.png"])
    assert "warning" not in again.stderr
