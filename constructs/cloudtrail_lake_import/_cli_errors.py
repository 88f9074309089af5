"""How the command line reports what stops it: one sentence, exit code 2.

A service error becomes: the request, the resource it was about (named as the user typed it), the service's
code and message, and what to do. Never a web page's markup or a traceback.
"""

from __future__ import annotations

import functools
import http
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import botocore.session
import click
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ProfileNotFound,
)

from trail_import_handler.errors import ImportResourceError

from ._cli_settings import ATTEMPTS

F = TypeVar("F", bound=Callable[..., Any])


class _Failed(click.ClickException):
    exit_code = 2


_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
# AWS's answers to credentials it does not accept (STS, S3 and the JSON services each have their own).
_REFUSED = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
            "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSignatureException", "RequestExpired"}
_BUSY = {"ThrottlingException", "Throttling", "ThrottledException", "SlowDown", "RequestLimitExceeded",
         "TooManyRequestsException", "ServiceUnavailable", "ServiceUnavailableException", "InternalError",
         "InternalFailure", "InternalServerError", "InternalServerException", "RequestTimeout"}
# A request's parameters as the user typed them (ParamValidationError names the former).
_TYPED = {"ImportId": "IMPORT_ID", "Destination": "--destination", "ImportStatus": "--status",
          "EventDataStore": "--destination", "RoleName": "--role-arn", "Bucket": "SOURCE", "Prefix": "SOURCE"}


def _aws_errors(command: F) -> F:
    """Turn what the AWS SDK raises into one clear sentence and exit code 2."""
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except NoCredentialsError:
            raise _Failed("No AWS credentials found: set AWS_PROFILE, pass --profile or run 'aws configure'.") from None
        except ProfileNotFound as error:
            raise _Failed(f"{error}: check --profile or AWS_PROFILE.") from None
        except NoRegionError:
            raise _Failed("No AWS region: pass --region or set AWS_REGION.") from None
        except ClientError as error:
            context = click.get_current_context(silent=True)
            raise _Failed(explain(error, {**(context.params if context else {}), **kwargs})) from None
        except ParamValidationError as error:
            raise _Failed(_invalid(error)) from None
        except (ImportResourceError, BotoCoreError) as error:
            raise _Failed(str(error)) from None
    return wrapper  # type: ignore[return-value]


def explain(error: ClientError, typed: Mapping[str, Any]) -> str:
    """One sentence for a service's error answer; ``typed`` are the command's arguments, to name the resource."""
    answer = error.response.get("Error", {})
    meta = error.response.get("ResponseMetadata", {})
    code, message = str(answer.get("Code") or ""), _prose(str(answer.get("Message") or ""))
    status = int(meta.get("HTTPStatusCode") or 0)
    operation = error.operation_name or "the request"
    resource, argument = _resource(operation, typed)
    on = f"{operation} on {resource}" if resource else operation
    content_type = str(meta.get("HTTPHeaders", {}).get("content-type", ""))
    if content_type.startswith("text/html") or message.startswith("<"):
        return (f"{on} was answered by a web page (HTTP {status} {_phrase(status)}), not by AWS: a proxy or "
                f"firewall between you and AWS, or an outage, answered; check HTTPS_PROXY and try again later.")
    said = f"{code} ({message})" if message and message != code else code or f"HTTP {status} {_phrase(status)}"
    return f"{on} failed with {said}: {_advice(code, status, operation, argument)}."


def _advice(code: str, status: int, operation: str, argument: str | None) -> str:
    if code in _DENIED:
        return f"your credentials need permission for {operation}"
    if code in _REFUSED:
        return "AWS refused your credentials; refresh them ('aws sso login', say) or choose another --profile"
    if code in _BUSY or status >= 500 or status == 429:
        return f"AWS kept answering so through {ATTEMPTS} attempts; try again later"
    if code == "NoSuchBucket":
        return "check the bucket name in SOURCE"
    if code in ("ImportNotFoundException", "EventDataStoreNotFoundException"):
        what = "IMPORT_ID" if code.startswith("Import") else "--destination"
        return f"check {what} and --region (imports and event data stores are regional)"
    if argument:
        return f"check {argument} against the message"
    return "check the arguments against the message"


def _resource(operation: str, typed: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """What the request was about, and the argument the user named it with."""
    source, import_id = typed.get("source"), typed.get("import_id")
    if isinstance(source, str) and operation in _operations("s3"):
        return f"bucket {source.removeprefix('s3://').split('/', 1)[0]}", "SOURCE"
    if import_id and operation in ("GetImport", "ListImportFailures", "StopImport", "StartImport"):
        return f"import {import_id}", "IMPORT_ID"
    if typed.get("destination") and operation in ("GetEventDataStore", "ListImports"):
        return f"event data store {typed['destination']}", "--destination"
    if typed.get("role_arn") and operation in _operations("iam"):
        return f"role {typed['role_arn']}", "--role-arn"
    return None, None


@functools.cache
def _operations(service: str) -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_service_model(service).operation_names)


def _invalid(error: ParamValidationError) -> str:
    """botocore refused to send a request: its report, with the parameters named as the user typed them."""
    report = str(error.kwargs.get("report", error))
    lines = [re.sub(r"parameter (\w+)", lambda m: _TYPED.get(m.group(1), m.group(1)), line.strip())
             for line in report.splitlines() if line.strip()]
    return f"Not sent to AWS: {'; '.join(lines)}."


def _prose(text: str) -> str:
    return " ".join(text.split()).rstrip(".")


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "(no standard meaning)"
