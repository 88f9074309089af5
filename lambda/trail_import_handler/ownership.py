"""Which imports a registry resource owns: one SSM parameter per import, named after the type.

An import cannot be deleted: StopImport ends it, and GetImport finds it for
good. The registry's contract wants a deleted resource gone: Read answers
NotFound and List leaves it out. So the resource type keeps its own record,
written as soon as a Create knows its ImportId (so that a rollback's Delete
finds and stops the import), updated when a Create or Update ends, and removed
when a Delete ends; Read, Update, Delete and List consult it. The parameter holds the properties the
resource was last given, so that Read reports times as the template wrote them.
Standard parameters cost nothing; an account holds 10,000 of them per region.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from .errors import ImportResourceError

_BATCH = 10  # GetParameters takes at most ten names


def parameter_path(type_name: str) -> str:
    """The parameter path of a type's records: ``A::B::C`` -> ``/A/B/C``."""
    return "/" + type_name.replace("::", "/")


class Ownership:
    """The records of one resource type in one account and region."""

    def __init__(self, ssm: Any, type_name: str) -> None:
        self._ssm = ssm
        self._path = parameter_path(type_name)

    def name(self, import_id: str) -> str:
        """The parameter that records ``import_id``."""
        return f"{self._path}/{import_id}"

    def record(self, import_id: str, properties: Mapping[str, Any]) -> None:
        """Record that a resource owns ``import_id``, with the properties it was given."""
        self._put(import_id, properties, overwrite=True)

    def claim(self, import_id: str, properties: Mapping[str, Any]) -> bool:
        """Record ``import_id`` unless a record exists already; True when this call wrote it."""
        try:
            self._put(import_id, properties, overwrite=False)
        except _Exists:
            return False
        return True

    def _put(self, import_id: str, properties: Mapping[str, Any], *, overwrite: bool) -> None:
        value = json.dumps(dict(properties), sort_keys=True, separators=(",", ":"))
        self._call("PutParameter", self._ssm.put_parameter, import_id, Name=self.name(import_id), Value=value,
                   Type="String", Overwrite=overwrite,
                   Description="Owned by a CloudFormation resource; removed when that resource is deleted.")

    def recorded(self, import_id: str) -> dict[str, Any] | None:
        """The properties recorded for ``import_id``, or None when no resource owns it."""
        try:
            answer = self._call("GetParameter", self._ssm.get_parameter, import_id, Name=self.name(import_id))
        except _Missing:
            return None
        value = json.loads(answer["Parameter"]["Value"])
        return value if isinstance(value, dict) else {}

    def release(self, import_id: str) -> None:
        """Forget ``import_id``: no resource owns it any more."""
        with contextlib.suppress(_Missing):
            self._call("DeleteParameter", self._ssm.delete_parameter, import_id, Name=self.name(import_id))

    def owned_among(self, import_ids: Iterable[str]) -> set[str]:
        """Those of ``import_ids`` that a resource owns."""
        ids = list(import_ids)
        owned: set[str] = set()
        for start in range(0, len(ids), _BATCH):
            batch = ids[start:start + _BATCH]
            answer = self._call("GetParameters", self._ssm.get_parameters, batch[0],
                                Names=[self.name(i) for i in batch])
            owned.update(p["Name"].rsplit("/", 1)[-1] for p in answer.get("Parameters", []))
        return owned

    def _call(self, operation: str, method: Any, import_id: str, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code == "ParameterNotFound":
                raise _Missing from error
            if code == "ParameterAlreadyExists":
                raise _Exists from error
            message = str(error.response.get("Error", {}).get("Message", "")).strip()
            raise ImportResourceError(
                f"ssm:{operation} of the record {self.name(import_id)} failed with {code}: {message} "
                f"(the type's execution role needs ssm:{operation} on parameter{self._path}/*).",
                code=code,
            ) from error


class _Missing(Exception):
    """The parameter does not exist."""


class _Exists(Exception):
    """The parameter exists already."""
