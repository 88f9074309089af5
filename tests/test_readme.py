"""The README cannot rot: every code block in it is run, synthesized, linted or parsed as a user would meet it.

Python blocks run in a fresh virtualenv where the README's own ``pip install`` put the wheel (an app must
synthesize, with no error); YAML blocks pass cfn-lint with the registry type's schema; JSON blocks parse; shell
blocks run in that virtualenv. A block that needs an AWS account says so in an HTML comment above it
(``<!-- needs AWS -->``), and one that is CI's own command ``<!-- run by CI -->``: every ``cloudtrail-lake-import``
command in any block is still parsed by the installed command, and each ``make`` target must exist.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fresh_env import ROOT, build_wheel, user_environment

README = ROOT / "README.md"
MARKERS = {"needs AWS", "run by CI"}
COMMAND = "cloudtrail-lake-import"


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    language: str
    text: str
    line: int
    marker: str | None

    @property
    def id(self) -> str:
        return f"L{self.line}-{self.language or 'plain'}"


def blocks(markdown: str) -> list[Block]:
    """The fenced blocks of ``markdown``, each with the ``<!-- marker -->`` on the line above its fence, if any."""
    found: list[Block] = []
    lines = markdown.splitlines()
    start: int | None = None
    language = ""
    for number, line in enumerate(lines, 1):
        if start is None and (opening := re.fullmatch(r"```(\S*)", line)):
            start, language = number, opening.group(1)
        elif start is not None and line == "```":
            above = lines[start - 2].strip() if start > 1 else ""
            marker = re.fullmatch(r"<!--\s*(.*?)\s*-->", above)
            found.append(Block(language, "\n".join(lines[start:number - 1]) + "\n", start,
                               marker.group(1) if marker else None))
            start = None
    assert start is None, f"the block opened at line {start} is never closed"
    return found


BLOCKS = blocks(README.read_text())


def _of(*languages: str) -> list[Block]:
    return [b for b in BLOCKS if b.language in languages]


def _commands(block: Block) -> list[list[str]]:
    """The command lines of a shell block, or the ``$ ``-prompted lines of a transcript."""
    lines = block.text.splitlines()
    if block.language == "text":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    return [shlex.split(line, comments=True) for line in lines if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The shell environment of a user who ran the README's install block, and nothing else, in a new virtualenv."""
    wheels = tmp_path_factory.mktemp("wheels")
    build_wheel(wheels)
    env = user_environment(tmp_path_factory.mktemp("user") / "venv", wheels)
    (install,) = [b for b in _of("sh") if b.text.lstrip().startswith("pip install")]
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", install.text], env=env, capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return env


def test_every_block_is_of_a_kind_this_test_checks() -> None:
    assert BLOCKS, "no code block found"
    unknown = [b.id for b in BLOCKS if b.language not in ("python", "yaml", "json", "sh", "text")]
    assert unknown == [], "blocks of a language nothing checks"
    assert [b.id for b in BLOCKS if b.marker is not None and b.marker not in MARKERS] == []


def test_the_readme_puts_what_a_user_needs_first_in_the_order_they_need_it() -> None:
    text = README.read_text()
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    order = ["Install", "Your first import", "Which path to choose", "Permissions", "Cost", "The command line",
             "Monitoring", "Troubleshooting"]
    positions = [next(i for i, h in enumerate(headings) if h.startswith(wanted)) for wanted in order]
    assert positions == sorted(positions), headings
    # The availability notice comes before anything to install.
    assert text.index("no longer accepting") < text.index("## Install")
    assert headings[-1] == "Working on this repository"


@pytest.mark.parametrize("block", _of("python"), ids=lambda b: b.id)
def test_python_block_runs_with_the_wheel_and_its_app_synthesizes(block: Block, user: dict[str, str],
                                                                  tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(block.text)
    out = tmp_path / "cdk.out"
    result = subprocess.run(["python", "app.py"], cwd=tmp_path, env={**user, "CDK_OUTDIR": str(out)},
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    if "app.synth()" not in block.text:
        return
    manifest = json.loads((out / "manifest.json").read_text())
    stacks = [a for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"]
    assert stacks, "the app synthesized no stack"
    errors = [entry["data"] for stack in stacks for entries in stack.get("metadata", {}).values()
              for entry in entries if entry["type"] == "aws:cdk:error"]
    assert errors == []
    for stack in stacks:
        assert json.loads((out / stack["properties"]["templateFile"]).read_text())["Resources"]


@pytest.mark.parametrize("block", _of("yaml"), ids=lambda b: b.id)
def test_yaml_block_passes_cfn_lint_and_the_registry_types_schema(block: Block, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(block.text)
    # make lint-templates: cfn-lint, then the registry type's own schema on its resources.
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "lint_templates.py"), str(template)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("block", _of("json"), ids=lambda b: b.id)
def test_json_block_parses(block: Block) -> None:
    json.loads(block.text)


@pytest.mark.parametrize("block", [b for b in _of("sh") if b.marker is None], ids=lambda b: b.id)
def test_shell_block_runs_as_a_user_would(block: Block, user: dict[str, str], tmp_path: Path) -> None:
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block.text], cwd=tmp_path, env=user,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_targets_named_are_the_makefiles_and_make_test_is_what_ci_runs() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = {words[1] for b in _of("sh") for words in _commands(b) if words and words[0] == "make"}
    assert targets, "the README names no make command"
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), target
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _command_lines(block: Block) -> list[list[str]]:
    return [words for words in _commands(block) if words and words[0] == COMMAND]


@pytest.mark.parametrize("block", [b for b in _of("sh", "text") if _command_lines(b)], ids=lambda b: b.id)
def test_every_command_line_shown_is_accepted_by_the_installed_command(block: Block, user: dict[str, str]) -> None:
    for words in _command_lines(block):
        # --help is eager: the line's subcommand and every option name are parsed, nothing is sent.
        result = subprocess.run([*words, "--help"], env=user, capture_output=True, text=True, timeout=120,
                                check=False)
        assert result.returncode == 0, f"{shlex.join(words)}: {result.stderr}"


def test_the_parser_reads_markers_languages_and_lines() -> None:
    sample = "text\n<!-- needs AWS -->\n```sh\naws s3 ls\n```\n\n```python\nprint(1)\n```\n"
    assert blocks(sample) == [Block("sh", "aws s3 ls\n", 3, "needs AWS"), Block("python", "print(1)\n", 7, None)]
    with pytest.raises(AssertionError):
        blocks("```sh\nunclosed\n")


def test_a_python_block_that_fails_fails_its_test(user: dict[str, str], tmp_path: Path) -> None:
    """The check can fail: a block using a prop that does not exist."""
    broken = Block("python", "import aws_cdk as cdk\nfrom cloudtrail_lake_import import TrailImport\n"
                   "app = cdk.App()\nTrailImport(cdk.Stack(app, 'S'), 'I', no_such_prop=1)\napp.synth()\n", 1, None)
    with pytest.raises(AssertionError, match="no_such_prop"):
        test_python_block_runs_with_the_wheel_and_its_app_synthesizes(broken, user, tmp_path)


def test_the_python_blocks_use_the_installed_wheel_not_the_checkout(user: dict[str, str]) -> None:
    result = subprocess.run(["python", "-c", "import cloudtrail_lake_import; print(cloudtrail_lake_import.__file__)"],
                            env=user, capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.startswith(user["VIRTUAL_ENV"]), result.stdout
    assert not result.stdout.startswith(str(ROOT))
    assert sys.prefix != user["VIRTUAL_ENV"]
