"""How long a stack waits after its import has finished, and what the waiting costs in calls.

On the simulator's clock: our Provider (isComplete every 30 s, each check a
framework and a handler invocation) against a hand-written crhelper resource
polling every one or two minutes (its EventBridge rule is minute-granular),
for imports that last 1, 15 and 55 minutes. The crhelper cadence is played
with our own lifecycle, so only the cadence differs.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "constructs"), str(ROOT / "lambda"), str(ROOT)]
os.environ.setdefault("AWS_REGION", "us-east-1")

DURATIONS = (1, 15, 55)
# Imports end at any second: average over end times spread evenly across two minutes.
PHASES = tuple(i * 7.5 for i in range(16))
OURS_INTERVAL = 30.0
CRHELPER_MINUTES = (1, 2)


def _world(minutes: float) -> Any:
    from cloudtrail_lake_import.testing import CloudTrailImportSimulator, ImportPlan

    sim = CloudTrailImportSimulator()
    sim.add_event_data_store("trail-archive")
    sim.default_plan = ImportPlan(duration=timedelta(minutes=minutes), initializing=timedelta(seconds=20))
    return sim


def _props(sim: Any) -> dict[str, str]:
    from tests.driver import import_properties

    return import_properties(f"arn:aws:cloudtrail:us-east-1:{sim.account}:eventdatastore/trail-archive")


def ours(minutes: float) -> dict[str, float]:
    """Our Provider's cadence through on_event / is_complete."""
    from cloudtrail_lake_import.testing import default_session
    from tests.driver import ProviderDriver

    sim = _world(minutes)
    with default_session(sim):
        started = sim.now
        outcome = ProviderDriver(sim, interval=OURS_INTERVAL, timeout=3600).create(_props(sim))
        assert outcome.status == "SUCCESS", outcome.reason
        return _figures(sim, started, minutes, invocations=2 + 2 * outcome.checks)


def crhelper(minutes: float, poll_minutes: int) -> dict[str, float]:
    """A crhelper resource's cadence: create, then one poll each rule period."""
    from cloudtrail_lake_import.testing import default_session
    from trail_import_handler import cloudtrail, lifecycle

    sim = _world(minutes)
    with default_session(sim):
        started = sim.now
        ct = cloudtrail.client()
        begun = lifecycle.begin(ct, "Create", _props(sim), request_id="bench")
        polls = 0
        while True:
            sim.advance(poll_minutes * 60)
            polls += 1
            if lifecycle.check(ct, "Create", _props(sim), begun=begun).complete:
                break
        return _figures(sim, started, minutes, invocations=1 + polls)


def _figures(sim: Any, started: Any, minutes: float, *, invocations: int) -> dict[str, float]:
    (imp,) = sim.imports.values()
    finished = imp.run_started + imp.plan.duration
    return {
        "wait_after_import_seconds": (sim.now - finished).total_seconds(),
        "get_import_calls": len(sim.calls("GetImport")),
        "lambda_invocations": invocations,
        "resource_seconds": (sim.now - started).total_seconds(),
    }


def measure() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for minutes in DURATIONS:
        runs: dict[str, list[dict[str, float]]] = {"ours": []}
        for phase in PHASES:
            length = minutes + phase / 60
            runs["ours"].append(ours(length))
            for poll in CRHELPER_MINUTES:
                runs.setdefault(f"crhelper_{poll}min", []).append(crhelper(length, poll))
        results[str(minutes)] = {name: _mean(rows) for name, rows in runs.items()}
    return results


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(sum(r[key] for r in rows) / len(rows), 1) for key in rows[0]}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
