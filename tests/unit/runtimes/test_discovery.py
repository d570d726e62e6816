"""The runtime table from probed interpreters (pure), the NIMBUS_RUNTIMES setting, and AWS's
create-block dates for deprecated runtimes."""

from __future__ import annotations

from datetime import date

import pytest

from nimbus.control import validation
from nimbus.errors import InvalidParameterValueError
from nimbus.runtimes import registry
from nimbus.runtimes.discovery import Broken, Interpreter, build_table, parse_overrides


def py(path: str, minor: int, source: str = "pyenv") -> Interpreter:
    return Interpreter(
        kind="python", path=path, version=(3, minor), source=source, prefix=f"/p/3.{minor}"
    )


def node(path: str, major: int, source: str = "PATH") -> Interpreter:
    return Interpreter(kind="node", path=path, version=(major, 4), source=source)


def test_each_interpreter_offers_the_runtime_of_its_version() -> None:
    table = build_table([py("/s/python", 11, "server"), py("/e/3.12", 12), node("/n/node", 20)])
    assert table.runnable() == (
        "python3.11",
        "python3.12",
        "nodejs20.x",
        "provided.al2",
        "provided.al2023",
        "provided",
    )
    found = table.interpreter("python3.12")
    assert found is not None and found.path == "/e/3.12"
    assert table.interpreter("python3.13") is None


def test_the_first_candidate_of_a_version_wins() -> None:
    table = build_table([py("/usr/bin/python3.12", 12, "/usr/bin"), py("/pyenv/3.12", 12)])
    found = table.interpreter("python3.12")
    assert found is not None and found.path == "/usr/bin/python3.12"


def test_missing_runtimes_say_where_nimbus_looked() -> None:
    table = build_table([py("/old/python3.9", 9)])
    reasons = {entry.runtime: entry.reason for entry in table.entries if not entry.available}
    assert "looked in PATH, /usr/bin, pyenv, uv" in reasons["python3.14"]
    assert "NIMBUS_RUNTIMES=python3.14=/path/to/python3.14" in reasons["python3.14"]
    assert "looked in PATH" in reasons["nodejs22.x"]
    # A Python too old for the runtime client is found but not offered.
    assert reasons["python3.9"].startswith("/old/python3.9 is Python 3.9")
    assert "python3.9" not in table.runnable()


def test_a_mapping_is_used_and_never_silently_replaced() -> None:
    found: list[Interpreter | Broken] = [
        py("/mine/python", 12, "setting"),
        py("/wrong/python", 13, "setting"),
        Broken(kind="node", path="/nope", source="setting", error="No such file"),
        py("/pyenv/3.12", 12),
        py("/pyenv/3.13", 13),
        node("/usr/bin/node", 22),
    ]
    table = build_table(
        found,
        {"python3.12": "/mine/python", "python3.11": "/wrong/python", "nodejs22.x": "/nope"},
    )
    mapped = table.interpreter("python3.12")
    assert mapped is not None and mapped.path == "/mine/python"
    # A mapping to the wrong version or to nothing runnable leaves the runtime missing,
    # with the reason, even though another interpreter would do.
    entries = {entry.runtime: entry for entry in table.entries}
    assert not entries["python3.11"].available
    assert "maps it to /wrong/python, which is python3.13" in entries["python3.11"].reason
    assert not entries["nodejs22.x"].available
    assert "does not run: No such file" in entries["nodejs22.x"].reason
    # Setting candidates do not stand in for runtimes they were not mapped to.
    unmapped = table.interpreter("python3.13")
    assert unmapped is not None and unmapped.path == "/pyenv/3.13"


def test_parse_overrides() -> None:
    assert parse_overrides("") == {}
    assert parse_overrides(" python3.12=/a/py , nodejs20.x=/b/node,") == {
        "python3.12": "/a/py",
        "nodejs20.x": "/b/node",
    }
    with pytest.raises(ValueError, match="not runtime=/path"):
        parse_overrides("python3.12")
    with pytest.raises(ValueError, match=r"'ruby3\.3' is not a Python or Node\.js runtime"):
        parse_overrides("ruby3.3=/usr/bin/ruby")


def test_deprecated_runtimes_are_blocked_from_aws_create_block_dates() -> None:
    assert registry.blocked_for_create("python3.8", date(2026, 1, 1))
    assert registry.blocked_for_create("nodejs16.x", date(2026, 1, 1))
    assert not registry.blocked_for_create("python3.9", date(2027, 1, 31))
    assert registry.blocked_for_create("python3.9", date(2027, 2, 1))
    assert not registry.blocked_for_create("python3.13", date(2030, 1, 1))


def test_validation_refuses_a_blocked_runtime_with_aws_message() -> None:
    runnable = ("python3.9", "python3.12")
    assert validation.runtime("python3.9", runnable, today=date(2027, 1, 31)) == "python3.9"
    with pytest.raises(InvalidParameterValueError) as exc:
        validation.runtime("python3.9", runnable, today=date(2027, 2, 1))
    assert str(exc.value).startswith(
        "The runtime parameter of python3.9 is no longer supported for creating or updating "
        "AWS Lambda functions."
    )
    with pytest.raises(InvalidParameterValueError, match="cannot run on this Nimbus host"):
        validation.runtime("python3.13", runnable, today=date(2027, 1, 1))
