"""The API reference: every public name documented, and the build refusing one that is not."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import api_docs


def test_every_public_construct_prop_and_test_helper_has_documentation() -> None:
    assert api_docs.undocumented(api_docs.MODULES) == []


@pytest.fixture
def careless_module(tmp_path: Path) -> Iterator[str]:
    """A package a careless change could leave behind: one of each kind of gap the build must name."""
    (tmp_path / "careless_pkg.py").write_text(textwrap.dedent('''
        """A module with its docstring."""
        from constructs import Construct

        __all__ = ["Bare", "Widget", "helper", "documented"]


        class Bare:
            def method(self) -> None:
                pass


        class Widget(Construct):
            """A construct whose second prop has no :param line.

            :param colour: the colour.
            """

            def __init__(self, scope: Construct, construct_id: str, *, colour: str, size: int) -> None:
                super().__init__(scope, construct_id)

            @property
            def size(self) -> int:
                return 1


        def helper(*, retries: int) -> None:
            """A function with a keyword and no :param line."""


        def documented(*, retries: int) -> None:
            """A function whose keyword is documented.

            :param retries: how many times.
            """
    '''))
    sys.path.insert(0, str(tmp_path))
    yield "careless_pkg"
    sys.path.remove(str(tmp_path))
    sys.modules.pop("careless_pkg", None)


def test_the_check_names_each_undocumented_class_method_prop_and_property(careless_module: str) -> None:
    # As if it were the constructs module, whose functions' keywords are checked too.
    original = api_docs.MODULES[0]
    api_docs.MODULES[0] = careless_module
    try:
        missing = api_docs.undocumented([careless_module])
    finally:
        api_docs.MODULES[0] = original
    assert sorted(missing) == sorted([
        "careless_pkg.Bare: no docstring",
        "careless_pkg.Bare.method: no docstring",
        "careless_pkg.Widget.__init__: prop size has no ':param size:'",
        "careless_pkg.Widget.size: no docstring",
        "careless_pkg.helper: prop retries has no ':param retries:'",
    ])


def test_the_build_fails_on_an_undocumented_name_and_writes_nothing(careless_module: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(api_docs, "MODULES", [careless_module])
    out = tmp_path / "api"
    assert api_docs.main([str(out)]) == 1
    assert "careless_pkg.Bare: no docstring" in capsys.readouterr().err
    assert not out.exists()


def test_the_reference_renders_the_constructs_their_props_and_the_simulator(tmp_path: Path) -> None:
    out = tmp_path / "api"
    assert api_docs.main([str(out)]) == 0
    constructs = (out / "cloudtrail_lake_import.html").read_text()
    for name in ("TrailImport", "ImportAccessRole", "ImportMonitor", "ResourceTypeRegistration",
                 "max_failed_entries", "retry_token", "encryption_key", "preflight", "allow_import_from"):
        assert name in constructs, name
    testing = (out / "cloudtrail_lake_import" / "testing.html").read_text()
    assert "CloudTrailImportSimulator" in testing
    assert "MOTO_CONFIG" in testing
