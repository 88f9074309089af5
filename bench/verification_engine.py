"""ArchiveVerification at organization scale, projected from one piece measured.

One piece, one (account, region, day) of a busy trail, is verified by the state machine's own step
(``archive_verification.verify_piece``), against moto's S3 in this process. Its requests are counted by operation
and its bytes by what S3 returned. Two CPU figures are taken: the piece's whole run, which includes moto's own
work and is an upper bound, and the verification's own work on the same bytes (gunzip, SHA-256 and JSON of every
digest and log file, and each digest's RSA signature check), measured apart.

The projection multiplies the piece by 100 accounts x 17 regions x 7 years of days. Each piece's Lambda time is
its CPU, or its S3 round trips at an assumed 20 ms each, 16 at a time, whichever is longer. It is priced at the
list prices below (data with a date, not logic), beside what CloudTrail Lake charges to ingest the same
uncompressed bytes (``pricing.ingestion_cost``, the preflight's estimate).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "constructs"), str(ROOT / "lambda"), str(ROOT)]
for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"), ("AWS_REGION", "us-east-1"),
                    ("AWS_DEFAULT_REGION", "us-east-1")):
    os.environ.setdefault(name, value)

from bench.prices import PRICE, PRICES_AS_OF  # noqa: E402

ACCOUNTS, REGIONS, YEARS = 100, 17, 7
DAYS = 365 * YEARS + 2  # seven years hold two leap days
MAX_CONCURRENCY = 1000
MEMORY_GB = 1.0                           # the verifier function's memory
LATENCY = 0.020                           # an S3 round trip in the bucket's region (assumed)
WORKERS = 16                              # requests at once in one piece (archive_verification._WORKERS)
# State transitions: each child execution runs one Task state (entered once), and the Map states count once
# per item as well (Step Functions pricing: "each time a step of your workflow is executed").
TRANSITIONS_PER_PIECE = 2
TRANSITIONS_PER_SLICE = 2
INVOCATION_OVERHEAD_MS = 50               # Lambda's own start and the piece's report write, beside the work
LOGS_PER_HOUR, EVENTS_PER_LOG = 12, 40    # a busy management-events trail: a log file every five minutes


def measure() -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from cloudtrail_lake_import.testing import MOTO_CONFIG, CloudTrailImportSimulator, SignedArchive, default_session
    from trail_import_handler import archive_verification
    from trail_import_handler.pricing import ingestion_cost

    day = datetime(2024, 3, 1, tzinfo=UTC)
    simulator = CloudTrailImportSimulator()
    calls: Counter[str] = Counter()
    received = [0]
    with mock_aws(config=MOTO_CONFIG), default_session(simulator) as session:
        s3 = boto3.client("s3")
        for bucket in ("trail-logs", "reports"):
            s3.create_bucket(Bucket=bucket)
        archive = SignedArchive(s3, "trail-logs")
        simulator.public_keys.append(archive.key.entry())
        archive.write(["111122223333"], ["us-east-1"], day - timedelta(hours=3), 24 + 6,
                      logs_per_hour=LOGS_PER_HOUR, events_per_log=EVENTS_PER_LOG)
        os.environ.update({archive_verification.SOURCE_ENV: "s3://trail-logs",
                           archive_verification.SOURCE_REGION_ENV: "us-east-1",
                           archive_verification.REPORTS_ENV: "reports"})
        request = {"start": "2024-03-01T00:00:00Z", "end": "2024-03-02T00:00:00Z", "accounts": [], "regions": []}
        plan = archive_verification.handler({"step": "plan", "run": "bench", "request": request})
        (piece,) = json.loads(s3.get_object(Bucket="reports", Key=plan["pieces"]["Key"])["Body"].read())
        session.events.register("before-call.s3", lambda model, **_: calls.update([model.name]))
        session.events.register("after-call.s3.GetObject",
                                lambda parsed, **_: received.__setitem__(0, received[0] + parsed["ContentLength"]))
        cpu = time.process_time()
        wall = time.perf_counter()
        archive_verification.handler({"step": "verify", "run": "bench", "request": request, "piece": piece})
        piece_cpu, piece_wall = time.process_time() - cpu, time.perf_counter() - wall
        record = s3.get_object(Bucket="reports", Key="verifications/bench/pieces/111122223333/us-east-1/"
                                                     "2024-03-01.json")
        report_bytes = int(record["ContentLength"])
        report = json.loads(record["Body"].read())
        bodies = [s3.get_object(Bucket="trail-logs", Key=k)["Body"].read()
                  for k in archive.log_keys + archive.digest_keys if "2024/03/01" in k]
    own_cpu = _own_work(bodies)
    inflated = sum(len(gzip.decompress(b)) for b in bodies)
    (summary,) = report["slices"]
    requests = dict(calls)
    reads = sum(n for op, n in requests.items() if op in ("GetObject", "HeadObject"))
    lists_puts = sum(requests.values()) - reads
    piece_ms = max(own_cpu * 1000, reads * LATENCY * 1000 / WORKERS) + INVOCATION_OVERHEAD_MS
    pieces, slices = ACCOUNTS * REGIONS * DAYS, ACCOUNTS * REGIONS
    # A slice's roll-up reads each of its days' reports (a GET each, a LIST a thousand) and writes one; the summary
    # reads each slice's. Their work is round trips, as a piece's is.
    rollup_ms = DAYS * LATENCY * 1000 / WORKERS + INVOCATION_OVERHEAD_MS
    rollup_reads, rollup_lists_puts = pieces + slices, slices * (-(-DAYS // 1000) + 1)
    cost = {
        "s3_requests": pieces * (reads * PRICE["s3_get"] + lists_puts * PRICE["s3_list_put"])
        + rollup_reads * PRICE["s3_get"] + rollup_lists_puts * PRICE["s3_list_put"],
        "lambda": (pieces + slices) * PRICE["lambda_request"]
        + (pieces * piece_ms + slices * rollup_ms) / 1000 * MEMORY_GB * PRICE["lambda_gb_second_arm"],
        "step_functions": (pieces * TRANSITIONS_PER_PIECE + slices * TRANSITIONS_PER_SLICE) * PRICE["sfn_transition"],
        "report_storage_month": pieces * report_bytes / 1024**3 * PRICE["s3_gb_month"],
    }
    wall_seconds = (pieces * piece_ms + slices * rollup_ms) / MAX_CONCURRENCY / 1000
    total = sum(cost.values())
    ingestion = ingestion_cost(inflated * pieces)
    return {
        "piece": {"digests": summary["digests"]["valid"], "log_files": summary["logFiles"]["valid"],
                  "events": summary["eventsInWindow"], "requests": requests, "bytes_read": received[0],
                  "uncompressed_bytes": inflated, "report_bytes": report_bytes,
                  "cpu_ms_with_moto": round(piece_cpu * 1000), "wall_ms_with_moto": round(piece_wall * 1000),
                  "own_cpu_ms": round(own_cpu * 1000, 1), "modelled_ms": round(piece_ms)},
        "projection": {"accounts": ACCOUNTS, "regions": REGIONS, "days": DAYS, "pieces": pieces,
                       "max_concurrency": MAX_CONCURRENCY,
                       "wall_hours": round(wall_seconds / 3600, 2), "rollup_ms": round(rollup_ms),
                       "cost_usd": {k: round(v, 2) for k, v in cost.items()}, "total_usd": round(total, 2),
                       "ingestion_usd": ingestion,
                       "share_of_ingestion": {k: round(total / v, 5) for k, v in ingestion.items() if v}},
        "assumptions": {"latency_s": LATENCY, "workers": WORKERS, "memory_gb": MEMORY_GB,
                        "invocation_overhead_ms": INVOCATION_OVERHEAD_MS, "logs_per_hour": LOGS_PER_HOUR,
                        "events_per_log": EVENTS_PER_LOG, "prices_as_of": PRICES_AS_OF, "prices": PRICE},
    }


def _own_work(bodies: list[bytes]) -> float:
    """CPU seconds of the verification's own work on these bodies: gunzip, SHA-256 and JSON of each, and one RSA
    signature check per digest (the same key size as CloudTrail's, 2048 bits)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key()
    signature = private.sign(b"digest", padding.PKCS1v15(), hashes.SHA256())
    began = time.process_time()
    for body in bodies:
        inflated = gzip.decompress(body)
        hashlib.sha256(inflated).hexdigest()
        data = json.loads(inflated)
        if "digestStartTime" in data:
            public.verify(signature, b"digest", padding.PKCS1v15(), hashes.SHA256())
    return time.process_time() - began


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
