"""The batch gallery against the stand-in: index.html in the batch's folder, images
of up to 1536x1536 pixels' worth shown as themselves and larger ones by a libvips
thumbnail in thumbs/ (longer edge at most 320), `--no-gallery`,
every job's prompt (HTML-escaped), parameters, tokens and error on the page, resumed
reruns, and the page opened as a plain file in headless Chromium, where every image
must load."""

import json
import os
import re
import subprocess
import tempfile
from html.parser import HTMLParser

import pytest

from conftest import LEDGER, batch_files, files_in, open_image, temp_files

SMALL = ["--size", "1024x640"]  # the fewest pixels gpt-image-2 takes: a quick image
LARGE = "2048x1280"  # more than 1536x1536 pixels' worth: shown by a thumbnail
OUT = ["--out-dir", "out"]
THUMB_EDGE = 320
TRICKY = "a <b>&\"' tag"  # must show as text, never as markup
CHROMIUM = "/usr/bin/chromium"
BAD_REQUEST_MESSAGE = "Invalid value: '1000x1000'"


def write_jobs(folder, *jobs, name="jobs.jsonl"):
    (folder / name).write_text("".join(json.dumps(job) + "\n" for job in jobs),
                               encoding="utf-8")
    return name


def json_lines(result):
    return [json.loads(line) for line in result.lines]


class Card:
    """One job's <figure> on the page."""

    def __init__(self, classes):
        self.classes = classes
        self.images = []      # (src, alt)
        self.links = []       # href
        self.text = ""        # all the caption's text
        self.details = {}     # <dt> text -> <dd> text
        self.error = None


class GalleryParser(HTMLParser):
    """The cards of index.html, and every tag seen (to catch injected markup)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cards = []
        self.tags = []
        self.status = None
        self._card = None
        self._field = None   # "dt", "dd", "error" or None
        self._dt = None
        self._buffer = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "p" and attrs.get("id") == "status":
            self.status = attrs
        if tag == "figure":
            self._card = Card((attrs.get("class") or "").split())
            self.cards.append(self._card)
        elif self._card is None:
            return
        elif tag == "img":
            self._card.images.append((attrs.get("src"), attrs.get("alt")))
        elif tag == "a":
            self._card.links.append(attrs.get("href"))
        elif tag in ("dt", "dd"):
            self._field, self._buffer = tag, ""
        elif tag == "p" and "error" in (attrs.get("class") or "").split():
            self._field, self._buffer = "error", ""

    def handle_endtag(self, tag):
        if self._card is None:
            return
        if tag == "figure":
            self._card = None
        elif tag == "dt" and self._field == "dt":
            self._dt, self._field = self._buffer, None
        elif tag == "dd" and self._field == "dd":
            self._card.details[self._dt] = self._buffer
            self._field = None
        elif tag == "p" and self._field == "error":
            self._card.error, self._field = self._buffer, None

    def handle_data(self, data):
        if self._card is not None:
            self._card.text += data
            if self._field:
                self._buffer += data


def gallery(folder):
    parser = GalleryParser()
    parser.feed((folder / "index.html").read_text(encoding="utf-8"))
    parser.close()
    return parser


def card_for(page, prompt):
    found = [card for card in page.cards if prompt in card.text]
    assert len(found) == 1, (prompt, [card.text for card in page.cards])
    return found[0]


def chromium_status(page_path):
    """(data-loaded, data-failed) of the page's status line after headless Chromium
    loaded it from disk."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make deps` to install Debian's chromium "
                    "(the gallery must be checked in a real browser)")
    with tempfile.TemporaryDirectory(prefix="imagegen-chromium-") as profile:
        completed = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
             "--virtual-time-budget=5000", "--dump-dom",
             f"file://{os.path.abspath(page_path)}"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    dom = completed.stdout.decode("utf-8", errors="replace")
    assert completed.returncode == 0, completed.stderr.decode(errors="replace")[-2000:]
    tag = re.search(r'<p\b[^>]*\bid="status"[^>]*>', dom)
    assert tag, f"no status line in the DOM:\n{dom[:2000]}"
    loaded = re.search(r'\bdata-loaded="(\d+)"', tag[0])
    failed = re.search(r'\bdata-failed="(\d+)"', tag[0])
    assert loaded and failed, f"the page's script did not run: {tag[0]}"
    return int(loaded[1]), int(failed[1])


# --- files


def test_batch_writes_index_html_and_thumbnails_of_large_images_only(run, standin,
                                                                     tmp_path):
    write_jobs(tmp_path, {"prompt": "red fox"}, {"prompt": "blue whale", "n": 2},
               {"prompt": "green frog", "size": "1536x1536"},
               {"prompt": "grey heron", "size": LARGE}, {"prompt": "tall pine", "size": "1280x2048"})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 0, result
    images = ["01-red-fox.png", "02-blue-whale-1.png", "02-blue-whale-2.png",
              "03-green-frog.png", "04-grey-heron.png", "05-tall-pine.png"]
    large = ["04-grey-heron.png", "05-tall-pine.png"]
    assert batch_files(tmp_path / "out") == sorted(images + [LEDGER])
    assert files_in(tmp_path / "out") == sorted(
        images + [LEDGER, "index.html"] + [f"thumbs/{n}" for n in large])
    page = gallery(tmp_path / "out")
    sources = {href: src for card in page.cards for src, href in card.images}
    assert sources == {name: f"thumbs/{name}" if name in large else name for name in images}
    for name in large:
        full = open_image(tmp_path / "out" / name)
        thumb = open_image(tmp_path / "out" / "thumbs" / name)
        assert thumb.format == full.format
        assert 0 < max(thumb.size) <= THUMB_EDGE, name
        assert max(thumb.size) == min(THUMB_EDGE, max(full.size)), name
        width, height = full.size
        assert abs(thumb.size[1] - thumb.size[0] * height / width) <= 1, name
    assert "index.html" in result.stderr  # the summary says where the page is
    assert all(not line.endswith("index.html") for line in result.lines)
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("fmt, ext", [("jpeg", "jpg"), ("webp", "webp")])
def test_thumbnails_of_jpeg_and_webp_images(run, standin, tmp_path, fmt, ext):
    result = run(["batch", "red fox", "--size", LARGE, *OUT, "--format", fmt])
    assert result.rc == 0, result
    thumb = open_image(tmp_path / "out" / "thumbs" / f"01-red-fox.{ext}")
    assert (thumb.format, thumb.size) == (fmt.upper(), (320, 200))


def test_no_gallery_writes_neither_page_nor_thumbnails(run, standin, tmp_path):
    result = run(["batch", "red fox", "blue whale", *SMALL, *OUT, "--no-gallery"])
    assert result.rc == 0, result
    assert files_in(tmp_path / "out") == [LEDGER, "01-red-fox.png", "02-blue-whale.png"]


def test_an_index_html_that_is_not_imagegens_is_never_replaced(run, standin, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "index.html").write_text("<h1>my own page</h1>\n")
    result = run(["batch", "red fox", *SMALL, *OUT])
    assert result.rc == 0, result
    assert result.lines == ["out/01-red-fox.png"]
    assert (tmp_path / "out" / "index.html").read_text() == "<h1>my own page</h1>\n"
    assert ("imagegen: warning: gallery: 'out/index.html' is not a gallery imagegen wrote; "
            "it is kept, and the gallery was not written\n") in result.stderr, result.stderr
    # Its own gallery it replaces, as each run does.
    (tmp_path / "out" / "index.html").unlink()
    assert run(["batch", "red fox", "blue whale", *SMALL, *OUT]).rc == 0
    assert run(["batch", "red fox", "blue whale", "green frog", *SMALL, *OUT]).rc == 0
    assert len(gallery(tmp_path / "out").cards) == 3


def test_dry_run_writes_no_gallery(run, standin, tmp_path):
    result = run(["batch", "red fox", *SMALL, *OUT, "--dry-run"])
    assert result.rc == 0, result
    assert not (tmp_path / "out").exists()


# --- the page


def test_the_page_links_every_image_and_its_thumbnail_relatively(run, standin, tmp_path):
    write_jobs(tmp_path, {"prompt": "red fox"}, {"prompt": "blue whale", "n": 2},
               {"prompt": "grey heron", "size": LARGE})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT])
    assert result.rc == 0, result
    page = gallery(tmp_path / "out")
    assert len(page.cards) == 3
    links = [href for card in page.cards for href in card.links]
    sources = [src for card in page.cards for src, _ in card.images]
    assert links == ["01-red-fox.png", "02-blue-whale-1.png", "02-blue-whale-2.png",
                     "03-grey-heron.png"]
    assert sources == links[:3] + ["thumbs/03-grey-heron.png"]
    for target in links + sources:
        assert not target.startswith(("/", "http:", "https:", "file:")), target
        assert (tmp_path / "out" / target).is_file(), target


def test_the_page_lists_prompts_escaped_with_parameters_and_tokens(run, standin, tmp_path):
    write_jobs(tmp_path, {"prompt": TRICKY}, {"prompt": "blue whale", "quality": "high"})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT, "--json"])
    assert result.rc == 0, result
    usage = {line["prompt"]: line["usage"]["total_tokens"] for line in json_lines(result)}
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    page = gallery(tmp_path / "out")
    # The prompt reads as typed, and adds no element of its own.
    assert "<b>" not in html
    assert "b" not in page.tags
    tricky, whale = card_for(page, TRICKY), card_for(page, "blue whale")
    assert [card.text.count(TRICKY) for card in (tricky, whale)] == [1, 0]
    for card, quality, prompt in [(tricky, "medium", TRICKY),
                                  (whale, "high", "blue whale")]:
        assert card.details["size"] == "1024x640"
        assert card.details["quality"] == quality
        assert card.details["model"] == "gpt-image-2"
        assert card.details["tokens"] == str(usage[prompt])
        assert card.error is None
        assert "failed" not in card.classes


def test_a_failed_job_shows_its_error_and_no_image(run, standin, tmp_path):
    standin.configure(fault="400", fault_count=1)
    result = run(["batch", TRICKY, "blue whale", *SMALL, *OUT, "--concurrency", "1"])
    assert result.rc == 1, result
    page = gallery(tmp_path / "out")
    assert len(page.cards) == 2
    failed, whale = card_for(page, TRICKY), card_for(page, "blue whale")
    assert failed.images == [] and failed.links == []
    assert BAD_REQUEST_MESSAGE in failed.error
    assert "400" in failed.error
    assert "failed" in failed.classes
    assert failed.details["size"] == "1024x640"
    assert "tokens" not in failed.details
    assert whale.error is None
    assert whale.images == [("02-blue-whale.png", "02-blue-whale.png")]
    assert not (tmp_path / "out" / "thumbs").exists()


def test_a_resumed_rerun_keeps_every_job_on_the_page(run, standin, tmp_path):
    args = ["batch", "red fox", "blue whale", "green frog", *SMALL, *OUT,
            "--concurrency", "1"]
    standin.configure(fault="400", fault_count=1)
    first = run(args)
    assert first.rc == 1, first
    standin.reset()
    second = run(args)
    assert second.rc == 0, second
    # Only the failed job was sent again; the others are listed first, as done.
    assert second.lines == ["out/02-blue-whale.png", "out/03-green-frog.png",
                            "out/01-red-fox.png"]
    assert standin.stats()["requests"] == 1
    page = gallery(tmp_path / "out")
    assert len(page.cards) == 3
    for n, prompt in enumerate(["red fox", "blue whale", "green frog"], start=1):
        card = card_for(page, prompt)
        name = f"0{n}-{prompt.replace(' ', '-')}.png"
        assert card.images == [(name, name)], prompt
        assert card.error is None, prompt
        assert int(card.details["tokens"]) > 0, prompt
    # A rerun with nothing left to do keeps the page whole too.
    third = run(args)
    assert third.rc == 0, third
    assert len(gallery(tmp_path / "out").cards) == 3


# --- in a real browser


def test_every_image_loads_in_headless_chromium(run, standin, tmp_path):
    write_jobs(tmp_path, *[{"prompt": f"creature number {i}"} for i in range(1, 8)],
               {"prompt": "twins", "n": 2}, {"prompt": TRICKY},
               {"prompt": "a large one", "size": LARGE})
    result = run(["batch", "--input", "jobs.jsonl", *SMALL, *OUT, "--concurrency", "8"])
    assert result.rc == 0, result
    images = 11
    assert [p.name for p in (tmp_path / "out" / "thumbs").iterdir()] == ["10-a-large-one.png"]
    assert chromium_status(tmp_path / "out" / "index.html") == (images, 0)
    # The check can fail: a missing image, or a missing thumbnail, is noticed.
    (tmp_path / "out" / "03-creature-number-3.png").unlink()
    assert chromium_status(tmp_path / "out" / "index.html") == (images - 1, 1)
    (tmp_path / "out" / "thumbs" / "10-a-large-one.png").unlink()
    assert chromium_status(tmp_path / "out" / "index.html") == (images - 2, 2)


def test_a_gallery_with_a_failed_job_loads_every_image_it_shows(run, standin, tmp_path):
    standin.configure(fault="400", fault_count=1)
    result = run(["batch", "red fox", "blue whale", *SMALL, *OUT, "--concurrency", "1"])
    assert result.rc == 1, result
    assert chromium_status(tmp_path / "out" / "index.html") == (1, 0)
