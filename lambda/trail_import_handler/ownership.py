"""The resources of a registry type: one SSM parameter per resource, named after the type and the resource's Id.

An import cannot be deleted: StopImport ends it, and GetImport finds it for
good. The registry's contract wants a deleted resource gone: Read answers
NotFound and List leaves it out. And a resource exists from its Create's first
answer, before CloudTrail has given it an import while another import holds
the account. So the type keeps a record per resource, keyed by the Id its
Create fixes at once: written before anything is started (so that a
rollback's Delete finds whatever the Create went on to start), rewritten when
the import's id becomes known and when a Create or Update ends, removed when a
Delete ends. Read, Update, Delete and List consult it. Standard parameters
cost nothing; an account holds 10,000 of them per region.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .errors import ImportResourceError

_PAGE = 10  # GetParametersByPath answers at most ten parameters a page


def parameter_path(type_name: str) -> str:
    """The parameter path of a type's records: ``A::B::C`` -> ``/A/B/C``."""
    return "/" + type_name.replace("::", "/")


@dataclass(frozen=True)
class Record:
    """What the type knows of one resource."""

    physical_id: str
    """The import's id once CloudTrail gave one; until then the lifecycle's pending id."""
    properties: dict[str, Any] = field(default_factory=dict)
    """The properties the resource was last given."""
    verified: dict[str, Any] | None = None
    """What the resource's own verification proved before its import began (``VerifyWith``); None without one."""

    def to_json(self) -> str:
        value: dict[str, Any] = {"PhysicalId": self.physical_id, "Properties": self.properties}
        if self.verified is not None:
            value["Verified"] = self.verified
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Record | None:
        """The record ``to_json`` wrote; None for any other value (a parameter someone else put under the path)."""
        try:
            value = json.loads(text)
        except ValueError:
            return None
        physical_id = value.get("PhysicalId") if isinstance(value, dict) else None
        if not isinstance(physical_id, str) or not physical_id:
            return None
        properties, verified = value.get("Properties"), value.get("Verified")
        return cls(physical_id, properties if isinstance(properties, dict) else {},
                   verified if isinstance(verified, dict) else None)


class Ownership:
    """The records of one resource type in one account and region."""

    def __init__(self, ssm: Any, type_name: str) -> None:
        self._ssm = ssm
        self._path = parameter_path(type_name)

    def name(self, resource_id: str) -> str:
        """The parameter that records ``resource_id``."""
        return f"{self._path}/{resource_id}"

    def claim(self, resource_id: str, record: Record) -> bool:
        """Write the first record of ``resource_id`` unless one exists; True when this call wrote it."""
        try:
            self._put(resource_id, record, overwrite=False)
        except _Exists:
            return False
        return True

    def record(self, resource_id: str, record: Record) -> None:
        """Record what the type now knows of ``resource_id``."""
        self._put(resource_id, record, overwrite=True)

    def _put(self, resource_id: str, record: Record, *, overwrite: bool) -> None:
        self._call("PutParameter", self._ssm.put_parameter, resource_id, Name=self.name(resource_id),
                   Value=record.to_json(), Type="String", Overwrite=overwrite,
                   Description="A CloudFormation resource's import; removed when that resource is deleted.")

    def recorded(self, resource_id: str) -> Record | None:
        """The record of ``resource_id``, or None when no such resource exists."""
        try:
            answer = self._call("GetParameter", self._ssm.get_parameter, resource_id, Name=self.name(resource_id))
        except _Missing:
            return None
        return Record.from_json(answer["Parameter"]["Value"])

    def release(self, resource_id: str) -> None:
        """Forget ``resource_id``: the resource is gone."""
        with contextlib.suppress(_Missing):
            self._call("DeleteParameter", self._ssm.delete_parameter, resource_id, Name=self.name(resource_id))

    def page(self, token: str | None) -> tuple[list[tuple[str, Record]], str | None]:
        """One page of the type's resources, by Id, and the next page's token (a page may hold none of them: the
        parameters under the path that are not records are left out)."""
        answer = self._call("GetParametersByPath", self._ssm.get_parameters_by_path, "", Path=self._path,
                            MaxResults=_PAGE, **({"NextToken": token} if token else {}))
        records = [(str(p["Name"]).rsplit("/", 1)[-1], Record.from_json(p["Value"]))
                   for p in answer.get("Parameters", [])]
        return [(resource_id, record) for resource_id, record in records if record is not None], \
            answer.get("NextToken")

    def _call(self, operation: str, method: Any, resource_id: str, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code == "ParameterNotFound":
                raise _Missing from error
            if code == "ParameterAlreadyExists":
                raise _Exists from error
            message = str(error.response.get("Error", {}).get("Message", "")).strip()
            where = f"the record {self.name(resource_id)}" if resource_id else f"the records under {self._path}"
            granted = f"parameter{self._path}/*" if resource_id else f"parameter{self._path}"
            raise ImportResourceError(
                f"ssm:{operation} of {where} failed with {code}: {message} "
                f"(the type's execution role needs ssm:{operation} on {granted}).",
                code=code,
            ) from error


class _Missing(Exception):
    """The parameter does not exist."""


class _Exists(Exception):
    """The parameter exists already."""

