"""Mutation testing of the handler package with mutmut, and the report of what it found.

    python scripts/mutation.py [MODULE ...]     # run (all modules by default), then write the report
    python scripts/mutation.py --report         # only rewrite the report from the kept results
    python scripts/mutation.py --collect COMMIT MODULE ...   # keep what a stopped run found, then report
    python scripts/mutation.py --rerun-survivors MODULE ...  # after adding tests: run the survivors again
    python scripts/mutation.py --stage build/mutation-b MODULE ...  # a second staging tree, beside the first

mutmut (3.8) was chosen over cosmic-ray because it runs each mutant only against the tests that reach the mutated
function (it records them in one run first) and forks from a process that has the suite imported: on this suite a
mutant costs the few tests that cover it, not a whole session. It takes its sources from ``src/`` or the project's
root, and names modules by their path under it, so the run is staged: ``build/mutation`` holds
``src/trail_import_handler`` (the package as it is), the tests, and a pyproject with the mutmut settings.

Each run's results are kept per module in ``docs/mutation/results.json`` (committed), so a run of one module leaves
the others' as they were. Each mutant's own result is kept too, in ``docs/mutation/state.json`` (committed, with the
hash mutmut takes of each function): a run puts them back into mutmut's staging tree before it starts, and mutmut
then runs only the mutants with no result and those of functions changed since. A run stopped at any point, on any
machine, is resumed by the next one rather than started again.

Every survivor needs an entry in ``docs/mutation/survivors.toml``: why it is equivalent, or why it is left alone.
The report (``docs/mutation/REPORT.md``) gives the score per module, counting killed and timed-out mutants as
caught and equivalent survivors as out of the count, and lists every survivor with its entry;
a survivor without one is listed as unexplained and makes this script exit 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lambda" / "trail_import_handler"
STAGE = ROOT / "build" / "mutation"
DOCS = ROOT / "docs" / "mutation"
RESULTS = DOCS / "results.json"
SURVIVORS = DOCS / "survivors.toml"
REPORT = DOCS / "REPORT.md"
STATE = DOCS / "state.json"

# The tests that exercise the handler package in process. Left out: the constructs' and templates' tests (they do
# not run the handlers), the AWS tools' runs in subprocesses (cfn test, the AWS CLI judge, the package builds: they
# would test the unmutated installed copy) and the property fuzzing (30 s a run, and its properties are pinned by
# test_properties' cases).
TESTS = ["test_lifecycle.py", "test_monitor.py", "test_destination.py", "test_preflight.py", "test_properties.py",
         "test_registry_handlers.py", "test_crhelper_entry.py", "test_provider_contract.py", "test_simulator.py",
         "test_verification.py", "test_schema_rules.py", "test_cli.py", "test_reconciliation.py",
         "test_registry_verification.py", "test_archive_verification.py", "test_verified_window.py"]
RUN_TESTS = TESTS
"""The test files of this run (--tests): a run of modules that only some of them reach spares the rest's stats. A
file left out can only let a mutant survive, never count one as caught."""
# Exit codes as mutmut records them (mutmut.stats.status_by_exit_code), reduced to what the report counts.
CAUGHT = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout",
          37: "killed"}
SURVIVED = {0: "survived"}
UNTESTED = {33: "no tests", 5: "no tests"}
TIMED_OUT = {code for code, status in CAUGHT.items() if status == "timeout"}
# mutmut stops a mutant's tests after (estimate + 1 s) x this of wall-clock time, and after twice that of CPU time;
# its estimate is the tests' call time alone, without fixtures and collection (on test_verification.py 11 s of
# 21 s). At 3, survivors of registry, chain and report were stopped at exactly (estimate + 1 s) x 3 while two
# runs shared this machine's 2 cores, and counted as caught. At 10 a mutant has to take about four times what
# its tests take unmutated, on a loaded machine too, before it counts as caught by a timeout.
TIMEOUT_MULTIPLIER = 10.0
# The project's mypy settings for the package, on the command line so that any staging tree has them; mutmut's
# generated lines carry "type: ignore" comments that need not apply. An element "mypy" is how mutmut knows to read
# mypy's JSON lines.
MYPY = [sys.executable, "-m", "mypy", "-O", "json", "--strict", "--python-version", "3.11", "--explicit-package-bases",
        "--ignore-missing-imports", "--no-warn-unused-ignores", "src/trail_import_handler"]
BY_MYPY = 37  # mutmut's exit code for a mutant the type checker rejected
_EARLIER_MULTIPLIER = 3.0  # what results kept without a recorded multiplier ran under


def stage(modules: list[str]) -> None:
    """A fresh staging tree: the package under src/, the tests, and the settings mutmut reads."""
    if STAGE.exists():
        shutil.rmtree(STAGE)
    (STAGE / "src").mkdir(parents=True)
    shutil.copytree(PACKAGE, STAGE / "src" / "trail_import_handler", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", STAGE / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("registry", "app.py", "cdk.json", "package.json"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, STAGE / name)
        elif source.exists():
            shutil.copy2(source, STAGE / name)
    tests = ", ".join(json.dumps(f"tests/{t}") for t in RUN_TESTS)
    files = ", ".join(json.dumps(f"src/trail_import_handler/{m.replace('.', '/')}.py") for m in modules)
    (STAGE / "pyproject.toml").write_text(f"""\
[tool.pytest.ini_options]
testpaths = ["tests"]
# The AWS tools' judgements (35 s a case) run in a subprocess: what they judge, the tests beside them pin.
addopts = "-p no:cacheprovider -m 'not aws_tool'"
markers = ["aws_tool: runs one of AWS's own tools in a subprocess"]
# src/ is the package under test (mutmut's copy of it runs from mutants/src); the constructs come from the project.
pythonpath = ["src", {json.dumps(str(ROOT / "constructs"))}]

[tool.mutmut]
source_paths = ["src"]
only_mutate = [{files}]
tests_dir = [{tests}]
timeout_multiplier = {TIMEOUT_MULTIPLIER}
also_copy = ["registry", "app.py", "cdk.json", "package.json"]
# `make test` runs mypy --strict: a mutant it rejects never lands, so it is caught without running a test.
type_check_command = {json.dumps(MYPY)}
""")


def caught_by_mypy() -> set[str]:
    """The mutants in the staging tree that mypy rejects, found as mutmut's own pre-filter finds them: kept
    results from before mypy judged them are classified with them."""
    probe = ("import json, sys; from mutmut.configuration import config; "
             "from mutmut.mutation.file_mutation import filter_mutants_with_type_checker as f; "
             "config().type_check_command = json.loads(sys.argv[1]); print(json.dumps(sorted(f())))")
    found = subprocess.run([sys.executable, "-c", probe, json.dumps(MYPY)], cwd=STAGE, env=_env(),
                           capture_output=True, text=True, check=True)
    return set(json.loads(found.stdout.splitlines()[-1]))


def _head() -> str:
    """The commit the package and tests are at, "+changes" when either differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    return git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain", "lambda", "tests") else "")


def _env() -> dict[str, str]:
    """mutmut's environment: the syntheses the tests need made once for the whole run (tests/syntheses.py), not in
    every forked session."""
    return {**os.environ, "SYNTHESES_DIR": str(STAGE / "syntheses")}


def without_cdk() -> None:
    """Synthesize what the tests need into their files, then check that the tests, set up with them, leave aws_cdk
    unimported. mutmut forks its workers from the process that ran the tests, and waits for whichever child ends
    first: the Node that importing aws_cdk starts is a child too, and when it ends the run stops."""
    env = _env()
    tests = [f"tests/{t}" for t in RUN_TESTS]
    # The fixtures synthesize: setting up every test once, in a process of its own, makes every file.
    made = subprocess.run([sys.executable, "-m", "pytest", "--setup-only", "-q", *tests], cwd=STAGE,
                          env={**env, "PYTHONPATH": f"src{os.pathsep}{ROOT / 'constructs'}"},
                          capture_output=True, text=True, check=False)
    if made.returncode:
        raise SystemExit(f"setting up the tests failed:\n{made.stdout[-2000:]}")
    probe = ("import sys, pytest; code = pytest.main(['--setup-only', '-q', *sys.argv[1:]]); "
             "sys.exit(code or (99 if 'aws_cdk' in sys.modules else 0))")
    collected = subprocess.run([sys.executable, "-c", probe, *tests], cwd=STAGE, env=env,
                               capture_output=True, text=True, check=False)
    if collected.returncode == 99:
        raise SystemExit("the tests under mutation import aws_cdk though their syntheses are kept: import it where "
                         "it is used, and keep what it makes with tests/syntheses.py")
    if collected.returncode:
        raise SystemExit(f"setting up the tests failed:\n{collected.stdout[-2000:]}")


def _meta_path(module: str) -> Path:
    return STAGE / "mutants" / "src" / "trail_import_handler" / f"{module.replace('.', '/')}.py.meta"


def restore(modules: list[str]) -> list[str]:
    """Put each module's kept results where mutmut reads them (its ``.meta`` files); the modules that had some.
    mutmut keeps a result only while its function's hash is the one recorded with it."""
    state = json.loads(STATE.read_text()) if STATE.exists() else {}
    resumed = []
    for module in modules:
        kept = state.get(module)
        if not kept:
            continue
        prefix = f"trail_import_handler.{module}."
        # A timeout under another limit says nothing under this one: such a mutant runs again.
        limit_changed = kept.get("timeout_multiplier", _EARLIER_MULTIPLIER) != TIMEOUT_MULTIPLIER
        codes = {f"{prefix}{function}__mutmut_{n}": code for function, by_number in kept["codes"].items()
                 for n, code in enumerate(by_number, start=1)
                 if code is not None and not (limit_changed and code in TIMED_OUT)}
        meta = _meta_path(module)
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"exit_code_by_key": codes, "hash_by_function_name": kept["hashes"],
                                    "type_check_error_by_key": {}, "durations_by_key": {},
                                    "estimated_durations_by_key": {}}))
        resumed.append(module)
    return resumed


def remember(modules: list[str], rejected: set[str] | None = None) -> None:
    """Keep each module's mutants' results from mutmut's ``.meta`` files in the state file: per function, the exit
    code of each numbered mutant (null when not run), and the function's hash. A mutant in ``rejected`` (mypy's)
    is caught whatever a run of its tests found before."""
    state = json.loads(STATE.read_text()) if STATE.exists() else {}
    # The limit the staged run had (a run staged before the limit changed keeps its own).
    settings = tomllib.loads((STAGE / "pyproject.toml").read_text())["tool"]["mutmut"]
    multiplier = float(settings.get("timeout_multiplier", 15.0))  # mutmut's default
    for module in modules:
        meta = _meta_path(module)
        if not meta.exists():
            continue
        data = json.loads(meta.read_text())
        prefix = f"trail_import_handler.{module}."
        by_function: dict[str, dict[int, int | None]] = {}
        rejected_here = {n for n in rejected or set() if n in data["exit_code_by_key"]}
        for name in rejected_here:
            data["exit_code_by_key"][name] = BY_MYPY
        if rejected_here:
            meta.write_text(json.dumps(data))
        for name, code in data["exit_code_by_key"].items():
            function, _, number = name.removeprefix(prefix).rpartition("__mutmut_")
            by_function.setdefault(function, {})[int(number)] = code
        state[module] = {
            "timeout_multiplier": multiplier,
            "hashes": data["hash_by_function_name"],
            "codes": {f: [numbered.get(n) for n in range(1, max(numbered) + 1)]
                      for f, numbered in sorted(by_function.items())},
        }
    STATE.write_text("{\n" + ",\n".join(f"{json.dumps(m)}: {json.dumps(state[m], sort_keys=True)}"
                                         for m in sorted(state)) + "\n}\n")


def run(modules: list[str], results: dict[str, Any]) -> dict[str, Any]:
    """Run mutmut over ``modules`` in the staging tree, resuming from their kept results; each module's counts and
    survivors."""
    commit = _head() + ("" if RUN_TESTS == TESTS else f" (tests: {' '.join(RUN_TESTS)})")
    stage(modules)
    resumed = set(restore(modules))
    without_cdk()
    started = time.monotonic()
    _mutmut_run([])
    elapsed = time.monotonic() - started
    remember(modules, caught_by_mypy())
    found: dict[str, Any] = {}
    for module in modules:
        earlier = results.get(module, {}).get("commit", "").split(",")[0]
        found |= collect([module], f"{earlier}, resumed at {commit}" if module in resumed and earlier else commit)
    found["_seconds"] = round(elapsed)
    return found


def rerun_survivors(modules: list[str], results: dict[str, Any], only: list[str] | None = None) -> dict[str, Any]:
    """Run the last run's survivors of ``modules`` again against the tests as they are now: after tests were added
    for them, this costs their own mutants, not the whole modules'. The staging tree of the last run is reused
    while its sources are today's; otherwise a fresh one is staged with the kept results."""
    def current() -> bool:
        # The whole package, not only these modules: tests written against a changed module fail in mutmut's clean
        # run of a tree staged before the change.
        staged = STAGE / "src" / "trail_import_handler"
        copies = ((staged / source.relative_to(PACKAGE), source) for source in PACKAGE.rglob("*.py"))
        return all(_meta_path(m).exists() for m in modules) and all(
            copy.is_file() and copy.read_bytes() == source.read_bytes() for copy, source in copies)

    if current():
        for tests in (STAGE / "tests", STAGE / "mutants" / "tests"):
            shutil.rmtree(tests)
            shutil.copytree(ROOT / "tests", tests, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        stage(modules)
        restore(modules)
    without_cdk()
    names = [s["mutant"] for m in modules for s in results.get(m, {}).get("survivors", [])
             if not only or any(part in s["mutant"] for part in only)]
    if names:
        _mutmut_run(names)
    remember(modules, caught_by_mypy())
    commit = _head()
    found: dict[str, Any] = {}
    for module in modules:
        which = f"{len(names)} chosen survivors" if only else "survivors"
        found |= collect([module], f"{results.get(module, {}).get('commit', '')}, {which} rerun at {commit}")
    return found


def _mutmut_run(names: list[str]) -> None:
    """``mutmut run`` in the staging tree; a run that failed (its clean tests or stats, say) keeps nothing."""
    ran = subprocess.run([sys.executable, "-m", "mutmut", "run", *names], cwd=STAGE, env=_env(), check=False)
    if ran.returncode != 0:
        sys.exit(f"mutmut run failed (exit {ran.returncode}) in {STAGE}: no results kept; its output says why")


def collect(modules: list[str], commit: str) -> dict[str, Any]:
    """Each module's counts and survivors, from the results mutmut left in the staging tree."""
    env = _env()
    found: dict[str, Any] = {}
    for module in modules:
        meta = _meta_path(module)
        if not meta.exists():
            found[module] = {"error": "mutmut wrote no results"}
            continue
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        counts = {"caught": 0, "by mypy": 0, "survived": 0, "untested": 0, "other": 0, "not run": 0}
        survivors = []
        for name, code in sorted(codes.items()):
            if code is None:
                counts["not run"] += 1  # the run was stopped before this mutant's turn
            elif code == BY_MYPY:
                counts["by mypy"] += 1
            elif code in CAUGHT:
                counts["caught"] += 1
            elif code in SURVIVED or code in UNTESTED:
                counts["survived" if code in SURVIVED else "untested"] += 1
                survivors.append({"mutant": name, "status": "survived" if code in SURVIVED else "no tests",
                                  "diff": _diff(name, env)})
            else:
                counts["other"] += 1
                survivors.append({"mutant": name, "status": f"exit {code}", "diff": _diff(name, env)})
        found[module] = {**counts, "survivors": survivors, "commit": commit}
    return found


def _diff(mutant: str, env: dict[str, str]) -> str:
    """The mutant's changed lines, as ``mutmut show`` gives them (asked twice: it answers nothing while a run that
    is still going rewrites its results)."""
    for _ in range(2):
        shown = subprocess.run([sys.executable, "-m", "mutmut", "show", mutant], cwd=STAGE, env=env,
                               capture_output=True, text=True, check=False).stdout
        lines = [line for line in shown.splitlines() if not line.startswith(("+++", "---", "@@", "#"))]
        changed = [n for n, line in enumerate(lines) if line.startswith(("+", "-"))]
        if changed:
            # The line before the change as context: two mutants can change like lines in different places.
            context = [lines[changed[0] - 1]] if changed[0] > 0 and lines[changed[0] - 1].strip() else []
            return "\n".join(context + [lines[n] for n in changed])
    return ""


@dataclass
class Explained:
    """A survivor's entry: ``equivalent`` ones leave the count, ``left`` ones stay in it."""

    verdict: str
    why: str


def explanations() -> dict[str, Explained]:
    """The survivors' entries, keyed by the mutant's function and its changed lines (its number moves with edits)."""
    if not SURVIVORS.exists():
        return {}
    data = tomllib.loads(SURVIVORS.read_text())
    return {entry["key"]: Explained(entry["verdict"], entry["why"]) for entry in data.get("survivor", [])}


def key_of(survivor: dict[str, Any]) -> str:
    """``module.function``, the line before the change and the changed lines, whitespace collapsed."""
    function = re.sub(r"__mutmut_\d+$", "", survivor["mutant"]).replace("trail_import_handler.", "")
    function = re.sub(r"\.x[_ǁ]", ".", function)
    lines = " | ".join(re.sub(r"\s+", " ", line).strip() for line in survivor["diff"].splitlines())
    return f"{function}: {lines}"


def report(results: dict[str, Any]) -> int:
    """Write REPORT.md; the number of survivors with no entry."""
    known = explanations()
    rows, sections, unexplained = [], [], 0
    totals = {"caught": 0, "by mypy": 0, "equivalent": 0, "left": 0, "counted": 0}
    for module in sorted(m for m in results if not m.startswith("_")):
        entry = results[module]
        if "error" in entry:
            rows.append(f"| {module} | | {entry['error']} | | | | | | |")
            continue
        equivalent = left = 0
        lines = []
        # A run stopped early leaves mutants unrun: counted apart, in neither the score nor the survivors.
        not_run = entry.get("not run", 0) + sum(1 for s in entry["survivors"] if s["status"] == "exit None")
        for survivor in (s for s in entry["survivors"] if s["status"] != "exit None"):
            key = key_of(survivor)
            why = known.get(key)
            if why is None:
                unexplained += 1
                left += 1
                verdict, text = "unexplained", "no entry in survivors.toml"
            else:
                verdict, text = why.verdict, why.why
                if why.verdict == "equivalent":
                    equivalent += 1
                else:
                    left += 1
            shown_key = f"\n\n  key: `{key}`" if why is None else ""
            lines.append(f"- **{verdict}** `{survivor['mutant']}` ({survivor['status']}){shown_key}\n\n"
                         f"  ```diff\n" + "\n".join(f"  {d}" for d in survivor["diff"].splitlines()) +
                         f"\n  ```\n\n  {text}\n")
        by_mypy = entry.get("by mypy", 0)
        caught = entry["caught"] + by_mypy
        counted = caught + left
        score = f"{100 * caught / counted:.1f}%" if counted else "none run"
        totals["caught"] += entry["caught"]
        totals["by mypy"] += by_mypy
        totals["equivalent"] += equivalent
        totals["left"] += left
        totals["counted"] += counted
        rows.append(f"| {module} | {entry.get('commit', '')} | {caught + equivalent + left + not_run} | "
                    f"{not_run} | {entry['caught']} | {by_mypy} | {equivalent} | {left} | {score} |")
        if lines:
            sections.append(f"### {module}\n\n" + "\n".join(lines))
    overall = 100 * (totals["caught"] + totals["by mypy"]) / totals["counted"] if totals["counted"] else 100.0
    never = sorted(set(_modules()) - set(results))
    pending = f"Not run yet: {', '.join(never)}.\n\n" if never else ""
    REPORT.write_text(
        "# Mutation testing of the handler package\n\n"
        "Written by `make mutation` (`scripts/mutation.py`, mutmut). A mutant is caught when a test fails or times "
        "out (\"caught\"), or when mypy --strict, which `make test` runs, rejects it (\"by mypy\"); an equivalent "
        "survivor behaves as the original for every input and leaves the count; every other survivor counts against "
        "the score and is explained below.\n\n"
        f"Tests run against each mutant: the ones among {', '.join(TESTS)} that reach the mutated function.\n\n"
        "| module | run at | mutants | not run | caught | by mypy | equivalent | left | score |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        + "\n".join(rows) +
        f"\n| **all** | | | | {totals['caught']} | {totals['by mypy']} | {totals['equivalent']} | {totals['left']} "
        f"| **{overall:.1f}%** |\n\n"
        + pending + "## Survivors\n\n" + ("\n".join(sections) or "None.\n"))
    return unexplained


def _modules() -> list[str]:
    """Every module of the handler package, as ``verification.chain``."""
    return sorted(str(p.relative_to(PACKAGE).with_suffix("")).replace("/", ".") for p in PACKAGE.rglob("*.py")
                  if p.name != "__init__.py")


def _keep(found: dict[str, Any]) -> dict[str, Any]:
    """The kept results with ``found`` in place of its modules' old ones. Read again now, not when the run began:
    a run in another staging tree may have kept its own meanwhile."""
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(found)
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules of trail_import_handler (default: every one)")
    parser.add_argument("--report", action="store_true", help="only rewrite the report from the kept results")
    parser.add_argument("--collect", metavar="COMMIT",
                        help="keep the results the last run left in build/mutation (one stopped early, say) as "
                             "those of COMMIT, then write the report")
    parser.add_argument("--rerun-survivors", action="store_true",
                        help="run the last run's survivors of MODULES again against today's tests")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="with --rerun-survivors: only the survivors whose names contain one of these")
    parser.add_argument("--tests", nargs="+", metavar="FILE", choices=TESTS,
                        help="only these of the test files (those that reach MODULES, say; mutmut-stats.json in the "
                             "staging tree tells which)")
    parser.add_argument("--stage", type=Path,
                        help="the staging tree (default build/mutation): a second one keeps the first run's mutants "
                             "for --rerun-survivors while another run goes on")
    args = parser.parse_args()
    global STAGE, RUN_TESTS
    STAGE = args.stage.resolve() if args.stage else STAGE
    RUN_TESTS = args.tests or TESTS
    DOCS.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.collect:
        remember(args.modules, caught_by_mypy())
        results = _keep(collect(args.modules, args.collect))
    elif args.rerun_survivors:
        results = _keep(rerun_survivors(args.modules, results, args.only))
    elif not args.report:
        modules = args.modules or _modules()
        found = run(modules, results)
        print(f"mutation run of {len(modules)} module(s): {found.pop('_seconds')} s")
        results = _keep(found)
    unexplained = report(results)
    print(f"report: {REPORT.relative_to(ROOT)}; {unexplained} survivor(s) without an entry in "
          f"{SURVIVORS.relative_to(ROOT)}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
