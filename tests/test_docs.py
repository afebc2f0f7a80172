from __future__ import annotations

import re
import tomllib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from notesplugin.checklists import load
from notesplugin.checklists.selftest import run_examples
from notesplugin.cli import main
from notesplugin.init_config import template_text

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group = main, prefix: tuple[str, ...] = (), groups: bool = False) -> list[tuple[str, ...]]:
    """Every runnable command path of the CLI, e.g. ('checklist', 'test'); with groups, ('checklist',) too."""
    out = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            out += [prefix + (name,)] if groups else []
            out += commands(cmd, prefix + (name,), groups)
        else:
            out.append(prefix + (name,))
    return out


def test_walk_finds_the_commands():
    found = {" ".join(c) for c in commands()}
    assert {"scan", "gaps", "letter", "init", "doctor", "explain", "checklist show", "checklist test"} <= found


@pytest.mark.parametrize("path", commands(), ids=" ".join)
def test_every_command_is_in_the_readme(path):
    assert f"`notesplugin {' '.join(path)}" in README, f"README's command table lacks notesplugin {' '.join(path)}"


@pytest.mark.parametrize("path", [()] + commands(groups=True), ids=lambda p: " ".join(p) or "main")
def test_every_command_has_help_with_an_example(path):
    res = CliRunner().invoke(main, [*path, "--help"], prog_name="notesplugin")
    assert res.exit_code == 0
    usage, _, rest = res.output.partition("\n\n")
    assert usage.startswith("Usage: notesplugin")
    summary = rest.strip().splitlines()[0]
    assert len(summary) > 15, "a one-line summary of what the command does"
    examples = re.findall(r"(?m)^\s+(notesplugin .+)$", rest.split("Example", 1)[-1]) if "Example" in rest else []
    assert examples and all(e.startswith(f"notesplugin {' '.join(path)}".rstrip()) or not path for e in examples)


def test_install_and_test_commands_kept():
    assert 'pip install -e ".[test]"' in README
    assert "```bash\npython -m pytest\n```" in README


def test_completion_and_version_documented():
    assert "_NOTESPLUGIN_COMPLETE=bash_source notesplugin" in README
    assert "notesplugin --version" in README


def test_every_config_key_is_documented():
    data = tomllib.loads(re.sub(r"(?m)^# (\w+ = .*)$", r"\1", template_text()))
    for section, keys in data.items():
        assert f"`[{section}]`" in README, section
        for key in keys:
            assert f"`{key}`" in README, f"{section}.{key}"


def test_the_readme_checklist_example_passes_its_own_examples(tmp_path):
    block = re.search(r"```toml\n(# checklists/riverbend.toml\n.*?)```", README, re.S).group(1)
    path = tmp_path / "riverbend.toml"
    path.write_text(block, encoding="utf-8")
    lists = load([path])
    results = [r for r in run_examples(lists) if r.item in {"X1", "R3"}]
    assert len(results) >= 4 and all(r.passed for r in results)
    assert all(t in block for t in ("[[item]]", "[[extend]]", "flag = ", "ok = "))


def test_readme_picture_exists_and_is_small():
    for ref in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        path = ROOT / ref
        assert path.is_file(), ref
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size < 150_000


def test_readme_states_what_it_does_not_do():
    assert "it does not diagnose" in README
    for heading in ("## A five-minute walkthrough", "## The weekly routine", "## Setting up a practice",
                    "## How a supervisor reads", "## Privacy", "## Tests"):
        assert heading in README
