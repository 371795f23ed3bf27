"""Edits in a batch: a JSONL line with "image" (and "mask", "markup") is an edit, sent
as a single edit is (multipart for local files, JSON for URLs and file ids), checked
before anything is sent, and resumed by what it sends, input bytes included."""

import json

from PIL import Image, ImageDraw

from conftest import files_in

M26 = "gpt-image-2.6-flare"


def write_photo(folder, name="photo.png", colour=(10, 20, 30), size=(64, 48)):
    Image.new("RGB", size, colour).save(folder / name)


def write_markup(folder, name="marks.png", size=(64, 48)):
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(2, 2), (30, 20)], fill=(255, 0, 0, 255), width=3)
    image.save(folder / name)


def write_jobs(folder, *jobs):
    path = folder / "jobs.jsonl"
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs))
    return path


def test_a_markup_line_is_a_multipart_edit(run, standin, tmp_path):
    write_photo(tmp_path)
    write_markup(tmp_path)
    jobs = write_jobs(tmp_path, {"prompt": "move the lamp", "image": "photo.png",
                                 "markup": "marks.png", "model": M26},
                      {"prompt": "a cat"})
    result = run(["batch", "--input", jobs, "--out-dir", "out"])
    assert result.rc == 0, result
    by_path = {r["path"]: r for r in standin.requests}
    edit = by_path["/v1/images/edits"]
    assert [(f["field"], f["content_type"]) for f in edit["body"]["files"]] == [
        ("image", "image/png"), ("markup", "image/png")]
    assert edit["body"]["prompt"] == "move the lamp" and edit["body"]["model"] == M26
    assert by_path["/v1/images/generations"]["body"]["prompt"] == "a cat"
    assert sorted(result.lines) == ["out/01-move-the-lamp.png", "out/02-a-cat.png"]


def test_a_markup_line_with_a_url_is_a_json_edit(run, standin, tmp_path):
    write_markup(tmp_path, size=(1024, 1024))
    jobs = write_jobs(tmp_path, {"prompt": "move it", "image": ["file-abc123"],
                                 "markup": "marks.png", "model": M26, "size": "1024x1024"})
    result = run(["batch", "--input", jobs, "--out-dir", "out"])
    assert result.rc == 0, result
    [request] = standin.requests
    assert request["content_type"] == "application/json"
    assert request["body"]["images"] == [{"file_id": "file-abc123"}]
    assert request["body"]["markup"]["image_url"].startswith("data:image/png;base64,")


def test_several_images_and_a_mask_go_as_one_edit(run, standin, tmp_path):
    write_photo(tmp_path, "a.png")
    write_photo(tmp_path, "b.png", colour=(200, 0, 0))
    Image.new("RGBA", (64, 48), (0, 0, 0, 0)).save(tmp_path / "mask.png")
    jobs = write_jobs(tmp_path, {"prompt": "blend them", "image": ["a.png", "b.png"],
                                 "mask": "mask.png", "id": "blend"})
    result = run(["batch", "--input", jobs, "--out-dir", "out"])
    assert result.rc == 0, result
    [request] = standin.requests
    assert [f["field"] for f in request["body"]["files"]] == ["image[]", "image[]", "mask"]
    assert result.lines == ["out/blend.png"]


def test_a_line_whose_markup_breaks_a_rule_is_refused_before_sending(run, standin,
                                                                     tmp_path):
    write_photo(tmp_path)
    write_markup(tmp_path, size=(32, 32))
    jobs = write_jobs(tmp_path, {"prompt": "a cat"},
                      {"prompt": "move it", "image": "photo.png", "markup": "marks.png",
                       "model": M26})
    result = run(["batch", "--input", jobs, "--out-dir", "out"])
    assert result.rc == 2, result
    assert "line 2" in result.stderr and "--markup" in result.stderr
    assert "32x32" in result.stderr
    assert standin.requests == []


def test_markup_needs_a_2_6_model_in_a_batch_too(run, standin, tmp_path):
    write_photo(tmp_path)
    write_markup(tmp_path)
    jobs = write_jobs(tmp_path, {"prompt": "move it", "image": "photo.png",
                                 "markup": "marks.png", "model": "gpt-image-2.5-flare"})
    result = run(["batch", "--input", jobs])
    assert result.rc == 2, result
    assert "line 1" in result.stderr and "gpt-image-2.6" in result.stderr
    assert standin.requests == []


def test_markup_or_mask_without_an_image_is_refused(run, standin, tmp_path):
    for key in ("markup", "mask"):
        jobs = write_jobs(tmp_path, {"prompt": "move it", key: "marks.png"})
        result = run(["batch", "--input", jobs])
        assert result.rc == 2, result
        assert "line 1" in result.stderr and f'"{key}" needs "image"' in result.stderr
    jobs = write_jobs(tmp_path, {"prompt": "move it", "image": []})
    result = run(["batch", "--input", jobs])
    assert result.rc == 2 and '"image" must be' in result.stderr, result
    assert standin.requests == []


def test_an_edit_line_resumes_by_its_input_bytes(run, standin, tmp_path):
    write_photo(tmp_path)
    write_markup(tmp_path)
    jobs = write_jobs(tmp_path, {"prompt": "move it", "image": "photo.png",
                                 "markup": "marks.png", "model": M26})
    assert run(["batch", "--input", jobs, "--out-dir", "out"]).rc == 0
    assert len(standin.requests) == 1
    assert run(["batch", "--input", jobs, "--out-dir", "out"]).rc == 0
    assert len(standin.requests) == 1          # done: not paid for again
    earlier = (tmp_path / "out/01-move-it.png").read_bytes()
    write_photo(tmp_path, colour=(250, 250, 0))  # same name, new picture
    result = run(["batch", "--input", jobs, "--out-dir", "out"])
    assert result.rc == 0, result
    assert len(standin.requests) == 2          # a different request: sent
    # A new job: the earlier one's image is kept, the new one takes the next name.
    assert result.lines == ["out/01-move-it-2.png"]
    assert (tmp_path / "out/01-move-it.png").read_bytes() == earlier


def test_a_dry_run_shows_the_edit_form(run, standin, tmp_path):
    write_photo(tmp_path)
    write_markup(tmp_path)
    jobs = write_jobs(tmp_path, {"prompt": "move it", "image": "photo.png",
                                 "markup": "marks.png", "model": M26})
    result = run(["batch", "--input", jobs, "--dry-run"])
    assert result.rc == 0, result
    assert "/v1/images/edits" in result.stdout
    assert "markup: file 'marks.png' (image/png" in result.stdout
    assert standin.requests == []
