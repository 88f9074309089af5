"""Connect the simulator to real boto3 clients at the HTTP boundary.

botocore serializes and validates each request against the service model,
signs it, then emits ``before-send``; the handler here answers with a JSON
1.1 body as the service would, so botocore parses the answer, maps error
codes to its exception classes and applies its own retry rules.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from .enforcement import IamEnforcement
from .service_error import ServiceError
from .simulator import CloudTrailImportSimulator

if TYPE_CHECKING:
    from botocore.hooks import BaseEventHooks

_EVENT = "before-send.cloudtrail"
_TIMESTAMP_FIELDS = ("StartEventTime", "EndEventTime", "StartTime", "EndTime")


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class Connection:
    """The simulator's answer to CloudTrail requests on one event emitter, made as ``caller`` (a role ARN)."""

    def __init__(self, simulator: CloudTrailImportSimulator, caller: str | None = None) -> None:
        self.simulator = simulator
        """The simulator that answers."""
        self.caller = caller
        """The role ARN the requests are made as, for the simulator's IAM checks; None: no IAM check."""

    def attach(self, events: BaseEventHooks) -> None:
        """Answer CloudTrail requests sent by clients using ``events``."""
        handler: Any = self
        # First, so that this answer wins over any other before-send hook.
        events.register_first(_EVENT, handler, unique_id=f"cloudtrail-import-simulator-{id(self)}")

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
        body = request.body or b"{}"
        params = request_params(body if isinstance(body, bytes) else str(body).encode())
        status, data, content_type = answer_json(self.simulator, operation, params, self.caller)
        headers: Any = {"Content-Type": content_type, "x-amzn-RequestId": "sim-" + operation}
        return AWSResponse(request.url, status, headers, _Body(data))


def _encode(value: object) -> float | str:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()  # blobs travel as base64 in the JSON protocol
    raise TypeError(f"cannot encode {type(value).__name__}")


def request_params(body: bytes) -> dict[str, Any]:
    """A JSON 1.1 request's parameters, its timestamps (epoch seconds on the wire) as datetimes."""
    params: dict[str, Any] = json.loads(body.decode() or "{}")
    for name in _TIMESTAMP_FIELDS:
        if name in params:
            params[name] = datetime.fromtimestamp(float(params[name]), UTC)
    return params


def answer_json(simulator: CloudTrailImportSimulator, operation: str, params: dict[str, Any],
                caller: str | None = None) -> tuple[int, bytes, str]:
    """The simulator's answer to one request, as the JSON 1.1 protocol carries it: status, body and content type
    (a web page's, when something other than the service answered)."""
    try:
        status, answer = 200, simulator.handle(operation, params, caller)
    except ServiceError as error:
        if error.page is not None:
            return error.status, error.page.encode(), "text/html"
        status, answer = error.status, {"__type": error.code, "message": error.message}
    return status, json.dumps(answer, default=_encode).encode(), "application/x-amz-json-1.1"


class SimulatedTime:
    """A stand-in for botocore's ``time`` module (``botocore.endpoint.time``): retry backoff passes on the
    simulator's clock instead of the wall clock; everything else is the real module."""

    def __init__(self, simulator: CloudTrailImportSimulator) -> None:
        self._simulator = simulator
        self.slept = 0.0
        """Seconds botocore has slept between retries, on the simulator's clock."""

    def sleep(self, seconds: float) -> None:
        """Advance the simulator's clock by seconds, as botocore's backoff would wait them."""
        self.slept += seconds
        self._simulator.advance(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


# moto answers every service it knows, CloudTrail included, and resets boto3's
# default session when it starts: give it this config, then enter
# ``default_session`` inside ``mock_aws``.
MOTO_CONFIG: Any = {"core": {"passthrough": {"services": ["cloudtrail"]}}}


@contextlib.contextmanager
def default_session(simulator: CloudTrailImportSimulator, caller: str | None = None) -> Iterator[boto3.Session]:
    """Make boto3's default session answer CloudTrail from ``simulator`` while inside.

    With ``caller`` (a role ARN) and ``simulator.iam`` set, every call of the session's clients, to any
    service, is authorized against that role's policies first (``IamEnforcement``).
    """
    previous = boto3.DEFAULT_SESSION
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name=simulator.region)
    if simulator.iam is not None and caller is not None:
        IamEnforcement(simulator.iam, caller).attach(session.events)
    Connection(simulator, caller).attach(session.events)
    boto3.DEFAULT_SESSION = session
    try:
        yield session
    finally:
        boto3.DEFAULT_SESSION = previous
