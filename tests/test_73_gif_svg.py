"""GIF and SVG output from the gpt-image-2.6 models (reference §2.1-§2.3): the frames
and the svg object sent as the API takes them, every rule refused or warned before a
request, the files saved atomically and checked by content, their metadata recorded
in the file (a GIF comment, an SVG <metadata> element) and read by info, downscaled
GIFs still animated, SVGs never downscaled or keyed, and both in the gallery."""

import json

import pytest
from PIL import Image

from conftest import TEMP_FILE, files_in

M26 = ["--model", "gpt-image-2.6-flare"]
GIF = [*M26, "--output-format", "gif", "--size", "256x256"]
SVG = [*M26, "--output-format", "svg", "--svg-model", "gpt-5.2"]


def only_body(standin):
    [request] = standin.requests
    return request["body"]


def warnings(result):
    return [line for line in result.stderr.splitlines() if ": warning: " in line]


def frames_of(path):
    with Image.open(path) as image:
        durations = []
        for i in range(image.n_frames):
            image.seek(i)
            durations.append(image.info.get("duration"))
        return image.format, image.size, image.n_frames, durations


def info_json(run, path):
    result = run(["info", "--json", path])
    assert result.rc == 0, result
    return json.loads(result.stdout)


# --- GIF


def test_a_gif_is_requested_with_its_frames_and_saved_animated(run, standin, tmp_path):
    result = run(["generate", "a bouncing ball", *GIF, "--frame-count", "4",
                  "--frame-duration-ms", "120"])
    assert result.rc == 0, result
    assert warnings(result) == [], result
    body = only_body(standin)
    assert (body["output_format"], body["frame_count"], body["frame_duration_ms"]) == \
        ("gif", 4, 120)
    assert result.lines == ["a-bouncing-ball.gif"]
    assert files_in(tmp_path) == ["a-bouncing-ball.gif"]
    assert frames_of(tmp_path / "a-bouncing-ball.gif") == ("GIF", (256, 256), 4, [120] * 4)


def test_a_gif_records_its_metadata_in_a_comment_that_info_reads(run, standin, tmp_path):
    assert run(["generate", "a bouncing ball", *GIF, "--frame-count", "3"]).rc == 0
    raw = (tmp_path / "a-bouncing-ball.gif").read_bytes()
    assert b'"Description":"a bouncing ball"' in raw
    with Image.open(tmp_path / "a-bouncing-ball.gif") as image:
        assert json.loads(image.info["comment"])["imagegen:model"] == "gpt-image-2.6-flare"
    described = info_json(run, "a-bouncing-ball.gif")
    assert described["format"] == "gif"
    assert described["image"] == {"width": 256, "height": 256, "frames": 3,
                                  "duration_ms": 600, "loops": 0}
    assert described["metadata"]["Description"] == "a bouncing ball"
    params = json.loads(described["metadata"]["imagegen:parameters"])
    assert params["output_format"] == "gif" and params["frame_count"] == 3
    human = run(["info", "a-bouncing-ball.gif"])
    assert "256x256, 3 frames, 600 ms, loops forever" in human.stdout
    assert "Description: a bouncing ball" in human.stdout


def test_no_metadata_leaves_the_gif_as_sent(run, standin, tmp_path):
    assert run(["generate", "a ball", *GIF, "--no-metadata", "--frame-count", "2"]).rc == 0
    assert b"imagegen" not in (tmp_path / "a-ball.gif").read_bytes()
    assert info_json(run, "a-ball.gif")["metadata"] == {}


def test_a_gif_edit_sends_its_frames_in_the_form(run, standin, tmp_path):
    Image.new("RGB", (64, 64), (10, 20, 30)).save(tmp_path / "photo.png")
    result = run(["edit", "--image", "photo.png", *GIF, "--frame-count", "2",
                  "make it dance"])
    assert result.rc == 0, result
    body = only_body(standin)
    assert (body["output_format"], body["frame_count"]) == ("gif", "2")
    assert frames_of(tmp_path / "photo-edit.gif")[2] == 2


def test_a_gif_edit_from_a_url_sends_json(run, standin, tmp_path):
    result = run(["edit", "--image", "https://example.com/cat.png", *M26, "--output-format",
                  "gif", "--frame-duration-ms", "50", "make it dance"])
    assert result.rc == 0, result
    body = only_body(standin)
    assert body["frame_duration_ms"] == 50 and body["output_format"] == "gif"


def test_a_gif_downscaled_copy_keeps_every_frame(run, standin, tmp_path):
    result = run(["generate", "a ball", *GIF, "--frame-count", "5", "--frame-duration-ms",
                  "80", "--downscale-max-dim", "64"])
    assert result.rc == 0, result
    assert files_in(tmp_path) == ["a-ball-web.gif", "a-ball.gif"]
    assert frames_of(tmp_path / "a-ball-web.gif") == ("GIF", (64, 64), 5, [80] * 5)
    assert info_json(run, "a-ball-web.gif")["metadata"]["Description"] == "a ball"


def test_out_names_a_gif(run, standin, tmp_path):
    result = run(["generate", "a ball", *M26, "--size", "256x256", "--out", "hero.gif"])
    assert result.rc == 0, result
    assert only_body(standin)["output_format"] == "gif"
    assert files_in(tmp_path) == ["hero.gif"]


@pytest.mark.parametrize("args, words", [
    (["--stream"], ["--stream", "GIF"]),
    (["--partial-images", "2"], ["--partial-images", "GIF"]),
    (["--output-compression", "50"], ["--output-compression", "jpeg and webp"]),
    (["--frame-count", "17"], ["--frame-count", "2", "16"]),
    (["--frame-count", "1"], ["--frame-count"]),
    (["--frame-duration-ms", "10"], ["--frame-duration-ms"]),
    (["--chroma-key"], ["--chroma-key", "GIF", "--background transparent"]),
    (["--model", "gpt-image-2.5-flare"], ["--output-format gif", "gpt-image-2.6",
                                           "gpt-image-2.5-flare"]),
    (["--model", "gpt-image-2"], ["gpt-image-2.6"]),
])
def test_gif_rules_are_checked_before_sending(run, standin, args, words):
    result = run(["generate", "a ball", *GIF, *args])
    assert result.rc == 2, result
    for word in words:
        assert word in result.stderr, result
    assert standin.requests == []


@pytest.mark.parametrize("args", [["--frame-count", "4"], ["--frame-duration-ms", "100"]])
def test_frames_need_gif_output(run, standin, args):
    result = run(["generate", "a ball", *M26, "--size", "1024x1024", *args])
    assert result.rc == 2, result
    assert args[0] in result.stderr and "--output-format gif" in result.stderr
    assert standin.requests == []


def test_a_gif_edit_takes_no_mask(run, standin, tmp_path):
    Image.new("RGB", (64, 64)).save(tmp_path / "photo.png")
    Image.new("RGBA", (64, 64)).save(tmp_path / "mask.png")
    result = run(["edit", "--image", "photo.png", "--mask", "mask.png", *GIF, "go"])
    assert result.rc == 2, result
    assert "--mask" in result.stderr and "GIF" in result.stderr
    assert standin.requests == []


def test_a_frame_time_off_the_10_ms_grid_is_sent_with_a_warning(run, standin):
    result = run(["generate", "a ball", *GIF, "--frame-count", "2", "--frame-duration-ms",
                  "125"])
    assert result.rc == 0, result
    assert any("nearest 10 ms" in w for w in warnings(result)), result
    assert only_body(standin)["frame_duration_ms"] == 125


def test_frames_that_may_not_fit_the_sheet_warn(run, standin):
    result = run(["generate", "a ball", *M26, "--output-format", "gif", "--size",
                  "1024x1024", "--frame-count", "2", "--no-save"])
    assert result.rc == 0, result
    assert warnings(result) == []
    result = run(["generate", "a ball", *M26, "--output-format", "gif", "--size",
                  "1024x1024", "--frame-count", "9", "--dry-run"])
    assert result.rc == 0, result
    assert any("pixel budget" in w for w in warnings(result)), result


def test_a_gif_cut_short_is_not_saved(run, standin, tmp_path):
    standin.configure(cut_documents=True)
    result = run(["generate", "a ball", *GIF, "--frame-count", "2"])
    assert result.rc == 1, result
    assert "image 1 in the response" in result.stderr and "GIF" in result.stderr
    assert files_in(tmp_path) == []


# --- SVG


def test_an_svg_is_requested_with_its_authoring_model_and_saved(run, standin, tmp_path):
    result = run(["generate", "a fox logo", *SVG, "--svg-effort", "low", "--size",
                  "1024x1536"])
    assert result.rc == 0, result
    assert warnings(result) == [], result
    body = only_body(standin)
    assert body["output_format"] == "svg"
    assert body["svg"] == {"model": "gpt-5.2", "reasoning": {"effort": "low"}}
    assert result.lines == ["a-fox-logo.svg"]
    text = (tmp_path / "a-fox-logo.svg").read_text()
    assert text.startswith("<?xml") and text.rstrip().endswith("</svg>")
    assert '<metadata id="imagegen">' in text


def test_an_svg_records_its_metadata_that_info_reads(run, standin, tmp_path):
    assert run(["generate", "a <fox> & a hound", *SVG, "--no-augment"]).rc == 0
    [name] = files_in(tmp_path)
    text = (tmp_path / name).read_text()
    assert "a &lt;fox&gt; &amp; a hound" in text   # escaped as XML text
    described = info_json(run, name)
    assert described["format"] == "svg"
    assert described["image"] == {"width": "1024", "height": "1024",
                                  "viewBox": "0 0 1024 1024"}
    assert described["metadata"]["Description"] == "a <fox> & a hound"
    human = run(["info", name])
    assert "width 1024, height 1024, viewBox 0 0 1024 1024" in human.stdout


def test_an_svg_edit_sends_the_svg_object_bracketed_in_the_form(run, standin, tmp_path):
    Image.new("RGB", (64, 64), (10, 20, 30)).save(tmp_path / "photo.png")
    result = run(["edit", "--image", "photo.png", *SVG, "--svg-effort", "high", "trace it"])
    assert result.rc == 0, result
    assert any("undocumented" in w for w in warnings(result)), result
    body = only_body(standin)
    assert (body["svg[model]"], body["svg[reasoning][effort]"]) == ("gpt-5.2", "high")
    assert files_in(tmp_path) == ["photo-edit.svg", "photo.png"]


def test_an_svg_without_its_model_warns_and_the_api_says_why(run, standin, tmp_path):
    result = run(["generate", "a logo", *M26, "--output-format", "svg"])
    assert any("--svg-model" in w for w in warnings(result)), result
    assert result.rc == 1, result
    assert "SVG generation requires 'svg.model'" in result.stderr
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("args, words", [
    (["--n", "2"], ["--n", "one image"]),
    (["--size", "2048x2048"], ["--size", "1024x1024", "1536x1024"]),
    (["--downscale-max-dim", "256"], ["--downscale-max-dim", "vector"]),
    (["--chroma-key"], ["--chroma-key", "svg"]),
    (["--output-compression", "80"], ["--output-compression"]),
    (["--svg-effort", "huge"], ["--svg-effort", "'huge'"]),
    (["--model", "gpt-image-2.5-sunburst"], ["--output-format svg", "gpt-image-2.6"]),
])
def test_svg_rules_are_checked_before_sending(run, standin, args, words):
    result = run(["generate", "a logo", *SVG, *args])
    assert result.rc == 2, result
    for word in words:
        assert word in result.stderr, result
    assert standin.requests == []


@pytest.mark.parametrize("flag", ["--svg-model", "--svg-effort"])
def test_the_svg_object_needs_svg_output(run, standin, flag):
    result = run(["generate", "a logo", *M26, flag, "low"])
    assert result.rc == 2, result
    assert flag in result.stderr and "--output-format svg" in result.stderr
    assert standin.requests == []


def test_an_svg_cut_short_is_not_saved(run, standin, tmp_path):
    standin.configure(cut_documents=True)
    result = run(["generate", "a logo", *SVG])
    assert result.rc == 1, result
    assert "image 1 in the response" in result.stderr and "</svg>" in result.stderr
    assert not [f for f in files_in(tmp_path) if not TEMP_FILE.match(f)]
    assert files_in(tmp_path) == []


def test_an_svg_is_not_an_input_image(run, standin, tmp_path):
    (tmp_path / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    result = run(["edit", "--image", "logo.svg", *M26, "recolour it"])
    assert result.rc == 2, result
    assert "not a PNG, JPEG or WebP image" in result.stderr and "SVG" in result.stderr


# --- batch and the gallery


def test_a_batch_makes_gifs_and_svgs_and_the_gallery_shows_both(run, standin, tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("\n".join(json.dumps(job) for job in [
        {"prompt": "a spinning top", "output_format": "gif", "size": "2048x1280",
         "frame_count": 3, "frame_duration_ms": 60},
        {"prompt": "a logo", "output_format": "svg", "svg_model": "gpt-5.2",
         "svg_effort": "minimal"},
        {"prompt": "a cat", "size": "1024x1024"},
    ]) + "\n")
    result = run(["batch", *M26, "--input", jobs, "--out-dir", "out"])
    assert result.rc == 0, result
    bodies = sorted((r["body"] for r in standin.requests), key=lambda b: b["prompt"])
    assert [b.get("output_format") for b in bodies] == ["png", "svg", "gif"]
    assert bodies[1]["svg"] == {"model": "gpt-5.2", "reasoning": {"effort": "minimal"}}
    assert bodies[2]["frame_count"] == 3 and bodies[2]["frame_duration_ms"] == 60
    out = tmp_path / "out"
    assert frames_of(out / "01-a-spinning-top.gif")[2:] == (3, [60] * 3)
    assert frames_of(out / "thumbs" / "01-a-spinning-top.gif")[2] == 3
    assert not (out / "thumbs" / "02-a-logo.svg").exists()
    page = (out / "index.html").read_text()
    assert 'src="thumbs/01-a-spinning-top.gif"' in page
    assert 'src="02-a-logo.svg"' in page      # an SVG is its own thumbnail
    assert 'src="03-a-cat.png"' in page      # a 1024x1024 image is shown as itself


def test_a_batch_line_with_a_gif_rule_broken_is_refused_by_line(run, standin, tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"prompt": "a logo", "output_format": "svg",
                                "svg_model": "gpt-5", "n": 2}) + "\n")
    result = run(["batch", *M26, "--input", jobs])
    assert result.rc == 2, result
    assert "line 1" in result.stderr and "--n" in result.stderr
    assert standin.requests == []
