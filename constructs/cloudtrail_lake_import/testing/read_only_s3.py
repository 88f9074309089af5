"""A read-only S3 on loopback that serves a snapshot of buckets: for tools that must be run as processes.

It answers what archive readers send, path-style (botocore uses path-style
for an IP endpoint by itself): ListObjects and ListObjectsV2 (prefix,
delimiter, marker, start-after, continuation), GetObject and HeadObject with
their ``x-amz-meta-*`` metadata, GetBucketLocation, and S3's XML errors
(NoSuchKey, NoSuchBucket). Each request may wait ``latency`` seconds, the
round trip of a reader outside the bucket's region, without using the CPU,
so that what is measured is the reader, not the stand-in.
"""

from __future__ import annotations

import contextlib
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from ._loopback import serving

_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_MODIFIED = "2024-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    metadata: dict[str, str] = field(default_factory=dict)


class Snapshot:
    """Buckets of objects, keys kept sorted for listing."""

    def __init__(self) -> None:
        self.buckets: dict[str, dict[str, StoredObject]] = {}
        self.denied: set[str] = set()
        """Keys whose GetObject answers AccessDenied, as a bucket or key policy would."""
        self._sorted: dict[str, list[str]] = {}

    @classmethod
    def of(cls, s3: Any, *buckets: str) -> Snapshot:
        """What ``buckets`` hold now, read through a boto3 client (moto's, say)."""
        snapshot = cls()
        for bucket in buckets:
            snapshot.buckets[bucket] = {}
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    answer = s3.get_object(Bucket=bucket, Key=item["Key"])
                    snapshot.buckets[bucket][item["Key"]] = StoredObject(answer["Body"].read(),
                                                                         dict(answer.get("Metadata") or {}))
        return snapshot

    def keys(self, bucket: str) -> list[str]:
        if bucket not in self._sorted:
            self._sorted[bucket] = sorted(self.buckets[bucket])
        return self._sorted[bucket]


@dataclass
class Counters:
    requests: int = 0
    cpu_seconds: float = 0.0
    by_operation: dict[str, int] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    snapshot: Snapshot
    latency: float
    counters: Counters
    lock: threading.Lock
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self, *, head: bool) -> None:
        began = time.thread_time()
        if self.latency:
            time.sleep(self.latency)
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        bucket, _, key = url.path.lstrip("/").partition("/")
        key = unquote(key)
        operation: str
        status: int
        body: bytes | str
        headers: dict[str, str]
        if bucket not in self.snapshot.buckets:
            operation, status, body, headers = "Error", 404, _error("NoSuchBucket", bucket), {}
        elif key:
            operation, status, body, headers = self._object(bucket, key)
        elif "location" in query:
            operation, status, body, headers = "GetBucketLocation", 200, (
                f'<?xml version="1.0" encoding="UTF-8"?><LocationConstraint xmlns="{_NS}"/>'), {}
        else:
            operation, status, body, headers = self._list(bucket, query)
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content-Type", "application/xml"))
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(data)
        with self.lock:
            self.counters.requests += 1
            self.counters.by_operation[operation] = self.counters.by_operation.get(operation, 0) + 1
            self.counters.cpu_seconds += time.thread_time() - began

    def _object(self, bucket: str, key: str) -> tuple[str, int, bytes | str, dict[str, str]]:
        if key in self.snapshot.denied:
            return "GetObject", 403, _error("AccessDenied", key), {}
        stored = self.snapshot.buckets[bucket].get(key)
        if stored is None:
            return "GetObject", 404, _error("NoSuchKey", key), {}
        headers = {"Content-Type": "application/octet-stream", "ETag": '"0"', "Last-Modified":
                   "Mon, 01 Jan 2024 00:00:00 GMT", **{f"x-amz-meta-{k}": v for k, v in stored.metadata.items()}}
        return "GetObject", 200, stored.body, headers

    def _list(self, bucket: str, query: dict[str, str]) -> tuple[str, int, str, dict[str, str]]:
        v2 = query.get("list-type") == "2"
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        after = query.get("continuation-token") or query.get("start-after", "") if v2 else query.get("marker", "")
        limit = min(int(query.get("max-keys") or 1000), 1000)
        keys = self.snapshot.keys(bucket)
        contents: list[str] = []
        prefixes: list[str] = []
        # A page ends after a common prefix too: the next one starts past every key under it.
        past = after + "\U0010ffff" if delimiter and after.endswith(delimiter) else after
        index = max(bisect_right(keys, past), bisect_left(keys, prefix))
        last = ""
        truncated = False
        while index < len(keys):
            key = keys[index]
            if not key.startswith(prefix):
                break
            if len(contents) + len(prefixes) >= limit:
                truncated = True
                break
            rest = key[len(prefix):]
            if delimiter and delimiter in rest:
                common = prefix + rest.split(delimiter, 1)[0] + delimiter
                prefixes.append(common)
                last = common
                index = bisect_right(keys, common + "\U0010ffff")
                continue
            contents.append(key)
            last = key
            index += 1
        items = "".join(f"<Contents><Key>{escape(k)}</Key><LastModified>{_MODIFIED}</LastModified><ETag>&quot;0&quot;"
                        f"</ETag><Size>{len(self.snapshot.buckets[bucket][k].body)}</Size>"
                        "<StorageClass>STANDARD</StorageClass></Contents>" for k in contents)
        items += "".join(f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>" for p in prefixes)
        if v2:
            token = f"<NextContinuationToken>{escape(last)}</NextContinuationToken>" if truncated else ""
            body = (f"<Name>{bucket}</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(contents) + len(prefixes)}"
                    f"</KeyCount><MaxKeys>{limit}</MaxKeys><IsTruncated>{str(truncated).lower()}</IsTruncated>"
                    f"{items}{token}")
        else:
            marker = f"<NextMarker>{escape(last)}</NextMarker>" if truncated and delimiter else ""
            body = (f"<Name>{bucket}</Name><Prefix>{escape(prefix)}</Prefix><Marker>{escape(after)}</Marker>"
                    f"<MaxKeys>{limit}</MaxKeys><IsTruncated>{str(truncated).lower()}</IsTruncated>{items}{marker}")
        document = f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="{_NS}">{body}</ListBucketResult>'
        return ("ListObjectsV2" if v2 else "ListObjects"), 200, document, {}


def _error(code: str, resource: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{code}: {escape(resource)}'
            f"</Message><Resource>{escape(resource)}</Resource><RequestId>0</RequestId></Error>")


@contextlib.contextmanager
def serve(snapshot: Snapshot, *, latency: float = 0.0) -> Iterator[tuple[str, Counters]]:
    """Serve ``snapshot`` on a loopback port while inside: its URL and its request counters."""
    counters = Counters()
    handler = type("ReadOnlyS3", (_Handler,), {"snapshot": snapshot, "latency": latency, "counters": counters,
                                               "lock": threading.Lock()})
    with serving(handler) as url:
        yield url, counters



def main(argv: list[str] | None = None) -> None:
    """``python -m cloudtrail_lake_import.testing.read_only_s3 SNAPSHOT.pickle [LATENCY_SECONDS]``: serve a
    snapshot (``pickle.dump(snapshot, ...)``) as a process of its own. It prints its URL; on SIGTERM it prints
    its counters (requests, CPU seconds, requests by operation) as JSON and ends."""
    import json
    import pickle
    import signal
    import sys

    args = sys.argv[1:] if argv is None else argv
    with open(args[0], "rb") as stream:
        snapshot: Snapshot = pickle.load(stream)  # a snapshot this package wrote, never outside input
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with serve(snapshot, latency=float(args[1]) if len(args) > 1 else 0.0) as (url, counters):
        print(url, flush=True)
        stop.wait()
    print(json.dumps({"requests": counters.requests, "cpu_seconds": counters.cpu_seconds,
                      "by_operation": counters.by_operation}), flush=True)


if __name__ == "__main__":
    main()
