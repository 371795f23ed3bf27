"""SKILL.md (issue 14), the agent skill shipped with imagegen: in the seeds' format
(front matter with name and description), and accurate: every command example in
it runs against the stand-in, and its cost table is what the dry run estimates."""

import re
import shlex
from pathlib import Path

from PIL import Image

from conftest import REPO

SKILL = REPO / "SKILL.md"


def examples():
    """Every `imagegen ...` line of the sh blocks, in order."""
    lines, inside = [], False
    for line in SKILL.read_text().splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```sh"
            continue
        if inside and line.startswith("imagegen "):
            lines.append(line)
    return lines


def test_the_front_matter_names_and_describes_the_skill():
    text = SKILL.read_text()
    match = re.match(r"---\nname: (\S+)\ndescription: (.+)\n---\n", text)
    assert match, text[:200]
    assert match.group(1) == "imagegen"
    assert len(match.group(2)) > 100


def test_every_command_example_runs_against_the_stand_in(run, standin, tmp_path):
    standin.configure(batch_steps=0)
    Image.new("RGB", (1024, 1024), (40, 120, 200)).save(tmp_path / "photo.png")
    mask = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 1024, 400))
    mask.save(tmp_path / "mask.png")
    (tmp_path / "jobs.jsonl").write_text('{"prompt": "A poster of a red fox"}\n'
                                         '{"prompt": "A poster of a blue whale"}\n')
    ran = examples()
    assert len(ran) >= 12
    for line in ran:
        args = shlex.split(line, comments=True)[1:]
        result = run(args)
        assert result.rc == 0, (line, result)
        if "--dry-run" not in args:
            for path in result.stdout.splitlines():
                if args[0] in ("generate", "edit", "batch", "remove-bg"):
                    assert (tmp_path / path).is_file(), (line, path)
    assert (tmp_path / "hero.png").is_file() and (tmp_path / "clean.png").is_file()
    assert len(list((tmp_path / "animals").glob("*.png"))) == 3


def test_the_cost_table_is_what_the_dry_run_estimates(run, standin):
    rows = re.findall(r"^\| (low|medium|high) \| \$(\d+\.\d+) \|$", SKILL.read_text(), re.M)
    assert [q for q, _ in rows] == ["low", "medium", "high"]
    for quality, usd in rows:
        result = run(["generate", "--dry-run", "--size", "1024x1024", "--quality", quality,
                      "a cat"])
        assert f"estimated cost: ${usd} " in result.stdout, (quality, result.stdout)

