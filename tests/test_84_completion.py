"""Shell completions (issue 14), made from the option tables: the bash script is
loaded into a real bash and asked, as bash's completion would ask it."""

import shutil
import subprocess

import pytest
from pathlib import Path

from conftest import BIN


def complete(tmp_path, *words, files=()):
    """What the bash completion offers for the command line words (the last one is
    the word being completed), run in tmp_path (with files in it)."""
    for name in files:
        (tmp_path / name).write_text("x")
    script = subprocess.run([BIN, "completion", "bash"], capture_output=True, text=True,
                            check=True).stdout
    (tmp_path / "imagegen.bash").write_text(script)
    words = ["imagegen", *words]
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = (f"source ./imagegen.bash\nCOMP_WORDS=({quoted})\n"
               f"COMP_CWORD={len(words) - 1}\n_imagegen\n"
               "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return [x for x in done.stdout.splitlines() if x]


def test_commands_complete(tmp_path):
    assert complete(tmp_path, "ge") == ["generate"]
    assert set(complete(tmp_path, "")) >= {"generate", "edit", "batch", "status", "usage",
                                           "config", "completion"}


def test_flags_complete_from_the_option_tables(tmp_path):
    assert complete(tmp_path, "generate", "--out-") == ["--out-dir"]
    assert "--batch-api" in complete(tmp_path, "batch", "--batch")
    assert "--batch-api" not in complete(tmp_path, "generate", "--b")
    assert complete(tmp_path, "usage", "--s") == ["--since"]


def test_enum_values_complete(tmp_path):
    assert complete(tmp_path, "generate", "--quality", "h") == ["hd", "high"]
    assert complete(tmp_path, "generate", "--output-format", "w") == ["webp"]
    assert complete(tmp_path, "edit", "--model", "gpt-image-2.6") == [
        "gpt-image-2.6-sunburst", "gpt-image-2.6-flare"]
    assert "1536x1024" in complete(tmp_path, "generate", "-s", "15")
    assert complete(tmp_path, "usage", "--by", "m") == ["model"]
    assert complete(tmp_path, "completion", "z") == ["zsh"]


def test_file_arguments_complete_file_names(tmp_path):
    files = ["photo.png", "photo.jpg", "jobs.jsonl"]
    assert sorted(complete(tmp_path, "edit", "--image", "pho", files=files)) == [
        "photo.jpg", "photo.png"]
    assert complete(tmp_path, "batch", "--input", "jo", files=files) == ["jobs.jsonl"]
    assert sorted(complete(tmp_path, "info", "pho", files=files)) == ["photo.jpg",
                                                                     "photo.png"]
    (tmp_path / "outdir").mkdir()
    assert complete(tmp_path, "batch", "--out-dir", "out") == ["outdir"]


def test_a_value_with_no_list_offers_nothing(tmp_path):
    assert complete(tmp_path, "generate", "--n", "") == []


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_are_made(run, shell):
    result = run(["completion", shell])
    assert result.rc == 0, result
    if shell == "fish":
        assert "complete -c imagegen -n '__fish_seen_subcommand_from generate' -l model" \
            in result.stdout
        assert "-a 'png jpeg webp gif svg'" in result.stdout
    else:
        assert result.stdout.startswith("#compdef imagegen")
        assert "bashcompinit" in result.stdout
    binary = shutil.which(shell)
    if binary:   # not installed on every machine: the syntax is checked where it is
        check = ["fish", "--no-execute"] if shell == "fish" else ["zsh", "-n"]
        done = subprocess.run([*check, "/dev/stdin"], input=result.stdout, text=True,
                              capture_output=True)
        assert done.returncode == 0, done.stderr


def test_an_unknown_shell_is_refused(run):
    result = run(["completion", "tcsh"])
    assert result.rc == 2
    assert "give one shell: bash, zsh or fish" in result.stderr


def test_install_puts_the_completions_where_the_shells_look_and_the_skill_in_share(tmp_path):
    build = Path(BIN).parent
    done = subprocess.run(["meson", "install", "-C", str(build), "--quiet", "--destdir",
                           str(tmp_path / "root")], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    installed = {str(p.relative_to(tmp_path / "root")).split("/share/", 1)[-1]
                 for p in (tmp_path / "root").rglob("*") if p.is_file()}
    assert {"bash-completion/completions/imagegen", "zsh/site-functions/_imagegen",
            "fish/vendor_completions.d/imagegen.fish"} <= installed
    # With the agent skill and the price table beside each other.
    assert {"imagegen/SKILL.md", "imagegen/prices.json"} <= installed
    script = next((tmp_path / "root").rglob("bash-completion/completions/imagegen"))
    assert "complete -o filenames -F _imagegen imagegen" in script.read_text()
