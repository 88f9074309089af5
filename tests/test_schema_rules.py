"""The registry type's schema and the handler's parser accept the same values.

CloudFormation validates a resource of the type against its schema before any
handler runs; the handler then parses the same properties (``parse_properties``,
shared with the custom resource). If the schema admits a value the parser
refuses, a template passes validation and fails in the handler; if the parser
takes a value the schema refuses, the schema states a rule the handler does
not keep. Hypothesis draws values on both sides of every bound, and the two
verdicts must agree.

Two differences are the custom resource's and deliberate, so they are checked
one way only (what the schema admits, the parser takes): the parser also takes
booleans and whole numbers written as strings, as CloudFormation sends every
custom resource property, and an empty string for an optional property, which
is how a template leaves it unset.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from cloudtrail_lake_import import _type_package as type_package
from trail_import_handler import properties as rules
from trail_import_handler import registry_verification, verification_resource
from trail_import_handler.errors import ImportResourceError
from trail_import_handler.properties import parse_properties

SCHEMA = type_package.schema()
READ_ONLY = {p.rsplit("/", 1)[-1] for p in SCHEMA["readOnlyProperties"]}
WRITABLE = {name: spec for name, spec in SCHEMA["properties"].items() if name not in READ_ONLY}
# What CloudFormation checks before the handler runs: the writable properties, as a template gives them.
INPUT_SCHEMA = {"type": "object", "properties": WRITABLE, "required": SCHEMA["required"],
                "additionalProperties": False, "allOf": SCHEMA["allOf"]}
VALIDATOR = Draft7Validator(INPUT_SCHEMA, format_checker=Draft7Validator.FORMAT_CHECKER)
# One valid resource, as a template writes it for the type (times left out: start < end is a rule of two values).
BASE: dict[str, Any] = {
    "EventDataStoreArn": "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/trail-archive",
    "S3LocationUri": "s3://trail-logs/org-trail",
    "S3BucketRegion": "us-east-1",
    "S3BucketAccessRoleArn": "arn:aws:iam::111122223333:role/TrailImportAccess",
}
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def schema_accepts(model: dict[str, Any]) -> bool:
    return VALIDATOR.is_valid(model)


def parser_accepts(model: dict[str, Any]) -> bool:
    """What the type's handler takes: its own verification's properties, then the import's."""
    try:
        verifying = registry_verification.requested(model) is not None
        parse_properties(registry_verification.import_properties(
            model, registry_verification.Verified(0, 0, 0, "") if verifying else None))
    except ImportResourceError:
        return False
    return True


def _near(pattern: str, alphabet: str, max_size: int) -> st.SearchStrategy[str]:
    """Strings around ``pattern``: matches of it, and matches with a character added, removed or changed."""
    matching = st.from_regex(re.compile(pattern), fullmatch=True)
    return st.one_of(
        matching,
        st.tuples(matching, st.integers(0, 2000), st.sampled_from(alphabet)).map(
            lambda t: t[0][: t[1] % (len(t[0]) + 1)] + t[2] + t[0][t[1] % (len(t[0]) + 1):]),
        st.tuples(matching, st.integers(0, 2000)).map(lambda t: t[0][: t[1] % (len(t[0]) + 1)]),
        st.text(alphabet=alphabet, max_size=max_size),
    )


_EDGES = "/.-:_+=,@ \n\r\t\x00\x1f\x7f\u2028Zz0123456789aAT"
STRINGS: dict[str, st.SearchStrategy[str]] = {
    "EventDataStoreArn": _near(rules.EVENT_DATA_STORE_ARN, _EDGES + "arnwsclodtiveyf", 200),
    "S3LocationUri": st.one_of(
        _near(rules.S3_LOCATION_URI, _EDGES + "s3bucket", 80),
        # Either side of the prefix's 1024 characters, and of a bucket name's 3 and 63.
        st.builds(lambda bucket, n, c: f"s3://{bucket}/" + c * n,
                  st.sampled_from(["ab", "abc", "a" * 63, "a" * 64, "a..b", "a.b"]),
                  st.sampled_from([0, 1, 1023, 1024, 1025]), st.sampled_from(["p", "é", "/", "\x01"])),
    ),
    "S3BucketRegion": _near(rules.REGION, _EDGES + "useastwr", 30),
    "S3BucketAccessRoleArn": _near(rules.ROLE_ARN, _EDGES + "arnwsimole", 120),
    "StartEventTime": _near(rules.EVENT_TIME, _EDGES, 40),
    "EndEventTime": _near(rules.EVENT_TIME, _EDGES, 40),
    "RetryToken": st.one_of(st.text(max_size=300), st.integers(250, 260).map(lambda n: "r" * n)),
    "VerifyWith": _near(verification_resource.STATE_MACHINE_ARN, _EDGES + "arnwstemchiSM", 140),
}
_OTHER_JSON = st.one_of(st.booleans(), st.integers(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _same_type(spec: dict[str, Any], value: Any) -> bool:
    """True when ``value`` is of the JSON type the schema gives the property."""
    kind = spec["type"]
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    raise AssertionError(f"a property of type {kind} that this test does not know")


def _values(name: str) -> st.SearchStrategy[Any]:
    kind = WRITABLE[name]["type"]
    if kind == "string":
        return st.one_of(STRINGS[name], _OTHER_JSON)
    if kind == "boolean":
        return st.one_of(st.booleans(), st.sampled_from(["true", "false", "TRUE", "yes", "1", ""]), _OTHER_JSON)
    # MaxFailedEntries: both sides of 0 and of the largest long, as numbers and as strings.
    edges = st.sampled_from([-1, 0, 1, rules.MAX_FAILED_ENTRIES - 1, rules.MAX_FAILED_ENTRIES,
                             rules.MAX_FAILED_ENTRIES + 1, 2**64])
    numbers = st.one_of(edges, st.integers(), st.integers(-3, 3).map(lambda d: rules.MAX_FAILED_ENTRIES + d))
    return st.one_of(numbers, numbers.map(str), numbers.map(float), _OTHER_JSON)


def test_every_writable_property_has_values_drawn_for_it() -> None:
    assert set(WRITABLE) == {"EventDataStoreArn", "S3LocationUri", "S3BucketRegion", "S3BucketAccessRoleArn",
                             "StartEventTime", "EndEventTime", "WaitForCompletion", "MaxFailedEntries",
                             "RetryToken", "Preflight", "VerifyWith", "ReconcileStrictly"}
    assert set(STRINGS) == {n for n, spec in WRITABLE.items() if spec["type"] == "string"}
    # Without this checker, "format": "date-time" would check nothing here (CloudFormation does check it).
    assert "date-time" in Draft7Validator.FORMAT_CHECKER.checkers


def test_the_schema_states_the_parsers_own_rules() -> None:
    """The bounds are written once in properties.py; the schema carries the same text."""
    props = SCHEMA["properties"]
    assert props["EventDataStoreArn"]["pattern"] == rules.EVENT_DATA_STORE_ARN
    assert props["S3LocationUri"]["pattern"] == rules.S3_LOCATION_URI
    assert props["S3BucketRegion"]["pattern"] == rules.REGION
    assert props["S3BucketAccessRoleArn"]["pattern"] == rules.ROLE_ARN
    assert props["StartEventTime"]["pattern"] == props["EndEventTime"]["pattern"] == rules.EVENT_TIME
    assert (props["MaxFailedEntries"]["minimum"], props["MaxFailedEntries"]["maximum"]) == (0, 2**63 - 1)
    assert props["RetryToken"]["maxLength"] == 256
    assert props["VerifyWith"]["pattern"] == verification_resource.STATE_MACHINE_ARN


def _agree(name: str, value: Any) -> None:
    model = {**BASE, name: value}
    by_schema, by_parser = schema_accepts(model), parser_accepts(model)
    if by_schema:
        assert by_parser, f"the schema admits {name}={value!r}, the parser refuses it"
    one_way = not _same_type(WRITABLE[name], value) or (value == "" and name not in SCHEMA["required"])
    if not one_way:
        assert by_schema == by_parser, f"the parser takes {name}={value!r}, the schema refuses it"


@pytest.mark.parametrize("name", sorted(WRITABLE))
def test_the_schema_and_the_parser_agree_on_every_value_of_a_property(name: str) -> None:
    @SETTINGS
    @given(value=_values(name))
    @example(value="")
    def agree(value: Any) -> None:
        _agree(name, value)

    agree()


_ARN = "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/"
_ROLE = "arn:aws:iam::111122223333:role/"
_TIME = "2024-01-01T00:00:00Z"
_MACHINE = "arn:aws:states:us-east-1:111122223333:stateMachine:CloudTrailLakeVerification-Example"
# Each bound from both sides, so that a bound moved on one side only is caught on every run.
BOUNDARIES: list[tuple[str, Any]] = [
    *[("EventDataStoreArn", _ARN + "s" * n) for n in (0, 1, 128, 129)],
    ("EventDataStoreArn", _ARN + "store\n"),
    ("EventDataStoreArn", _ARN.replace("111122223333", "11112222333") + "store"),
    *[("S3BucketAccessRoleArn", _ROLE + "r" * n) for n in (0, 1, 512, 513)],
    ("S3BucketAccessRoleArn", _ROLE + "path/to/Role@x=1,y"), ("S3BucketAccessRoleArn", _ROLE + "Rolé"),
    *[("S3LocationUri", f"s3://{bucket}") for bucket in ("ab", "abc", "a" * 63, "a" * 64, "a..b", "a.b", "-ab", "ab-")],
    *[("S3LocationUri", "s3://trail-logs/" + c * n) for n in (1023, 1024, 1025) for c in ("p", "é")],
    *[("S3LocationUri", "s3://trail-logs" + rest) for rest in ("/", "//", "/a//b", "/a/", "/a\n", "/a\x1f", "/a\x7f",
                                                               "\n", "/a\u2028//b")],
    *[("S3BucketRegion", r) for r in ("us-east-1", "us-east-10", "us-east-100", "us-east", "us-gov-west-1",
                                      "us-east-1\n")],
    *[(name, t) for name in ("StartEventTime", "EndEventTime") for t in (
        _TIME, "2024-01-01T00:00:00.123456789+23:59", "2024-01-01T00:00:00+24:00", "2024-01-01T23:59:60Z",
        "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z",
        "2024-01-01T00:00Z", "2024-01-01t00:00:00z", "2024-01-01 00:00:00Z", _TIME + "\n", "2024-01-01T00:00:00")],
    *[("RetryToken", "r" * n) for n in (0, 1, 256, 257)],
    *[("MaxFailedEntries", n) for n in (-1, 0, 2**63 - 1, 2**63, 25.0, 25.5, "25", "-1")],
    *[(name, v) for name in ("WaitForCompletion", "Preflight") for v in (True, False, "true", "False", 1, "yes")],
    # Refused alone on both sides: a verification needs a window, and strictness a verification.
    *[("VerifyWith", f"arn:aws:states:us-east-1:111122223333:stateMachine:{'m' * n}") for n in (0, 1, 80, 81)],
    ("VerifyWith", "arn:aws:states:us-east-1:111122223333:stateMachine:Verify\n"),
    *[("ReconcileStrictly", v) for v in (True, False, "true")],
]


@pytest.mark.parametrize(("model", "accepted"), [
    ({"VerifyWith": _MACHINE, "StartEventTime": _TIME}, False),
    ({"VerifyWith": _MACHINE, "StartEventTime": _TIME, "EndEventTime": "2024-01-02T00:00:00.5Z"}, True),
    ({"VerifyWith": _MACHINE, "StartEventTime": _TIME, "EndEventTime": "2024-01-02T00:00:00Z",
      "ReconcileStrictly": True}, True),
    ({"ReconcileStrictly": False}, False),
])
def test_the_schema_and_the_parser_agree_on_what_a_verification_needs(model: dict[str, Any], accepted: bool) -> None:
    assert schema_accepts({**BASE, **model}) is accepted
    assert parser_accepts({**BASE, **model}) is accepted


@pytest.mark.parametrize(("name", "value"), BOUNDARIES, ids=[f"{n}={v!r:.24}" for n, v in BOUNDARIES])
def test_the_schema_and_the_parser_agree_at_every_bound(name: str, value: Any) -> None:
    _agree(name, value)


def _valid(name: str) -> st.SearchStrategy[Any]:
    """Values of one property that the schema admits on their own."""
    spec = WRITABLE[name]
    if "pattern" in spec:
        return st.from_regex(re.compile(spec["pattern"]), fullmatch=True).filter(
            lambda v: schema_accepts({**BASE, name: v}))
    if spec["type"] == "boolean":
        return st.booleans()
    if spec["type"] == "integer":
        return st.integers(spec.get("minimum"), spec.get("maximum"))
    return st.text(max_size=spec.get("maxLength"))


MODELS = st.fixed_dictionaries({name: _valid(name) for name in SCHEMA["required"]},
                               optional={name: _valid(name) for name in WRITABLE if name not in SCHEMA["required"]})


@SETTINGS
@given(model=MODELS)
def test_every_resource_the_schema_admits_the_parser_takes(model: dict[str, Any]) -> None:
    assume(schema_accepts(model))
    start, end = model.get("StartEventTime"), model.get("EndEventTime")
    if start and end and datetime.fromisoformat(start) >= datetime.fromisoformat(end):
        # The one rule the schema cannot state: the parser names both properties.
        with pytest.raises(ImportResourceError, match=r"StartEventTime \(.*\) must be before EndEventTime"):
            parse_properties(model)
        return
    assert parser_accepts(model), model


@pytest.mark.parametrize(("name", "value", "bound"), [
    ("MaxFailedEntries", 2**63, "from 0 to 9223372036854775807"),
    ("MaxFailedEntries", -1, "from 0 to 9223372036854775807"),
    ("RetryToken", "r" * 257, "at most 256 characters; got 'rrrr"),
    ("S3LocationUri", "s3://trail-logs/" + "p" * 1025, "(the prefix is 1025 characters long; at most 1024)"),
    ("S3LocationUri", "s3://trail..logs/x", "without '..'"),
    ("StartEventTime", "2024-01-01T00:00Z", "an RFC 3339 time with seconds and an offset"),
])
def test_a_value_past_a_bound_is_refused_with_the_bound_it_broke(name: str, value: Any, bound: str) -> None:
    assert not schema_accepts({**BASE, name: value})
    with pytest.raises(ImportResourceError, match=re.escape(bound)) as refused:
        parse_properties({**BASE, name: value})
    assert str(refused.value).startswith(f"{name}: expected")
