from __future__ import annotations

import base64
import io
import zipfile

import pytest

from nimbus.control import validation
from nimbus.errors import InvalidParameterValueError, NimbusError

RUNNABLE = ["python3.11", "nodejs20.x", "provided.al2", "provided.al2023"]


def b64zip(files: dict[str, str]) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return base64.b64encode(buffer.getvalue()).decode()


def test_runtime_rules() -> None:
    assert validation.runtime("python3.11", RUNNABLE) == "python3.11"
    for bad in ("cobol", "python2.7", "python3.13", None, 3):
        with pytest.raises(InvalidParameterValueError):
            validation.runtime(bad, RUNNABLE)


def test_deprecated_runtime_message() -> None:
    with pytest.raises(InvalidParameterValueError, match="no longer supported"):
        validation.runtime("nodejs12.x", RUNNABLE)


@pytest.mark.parametrize(
    ("value", "runtime", "ok"),
    [
        ("app.handler", "python3.11", True),
        ("src/app.handler", "python3.11", True),
        ("index.handler", "nodejs20.x", True),
        ("nodot", "python3.11", False),
        (".handler", "python3.11", False),
        ("app.", "python3.11", False),
        ("has space.h", "python3.11", False),
        (None, "python3.11", False),
        (None, "provided.al2023", True),
        ("anything", "provided.al2023", True),
        ("x" * 129, "provided.al2023", False),
    ],
)
def test_handler(value: str | None, runtime: str, ok: bool) -> None:
    if ok:
        validation.handler(value, runtime)
    else:
        with pytest.raises(InvalidParameterValueError):
            validation.handler(value, runtime)


def test_ranges() -> None:
    assert validation.int_in_range(128, "MemorySize", 128, 10240) == 128
    for bad in (127, 10241, True, "256", 1.5):
        with pytest.raises(InvalidParameterValueError):
            validation.int_in_range(bad, "MemorySize", 128, 10240)


def test_environment() -> None:
    assert validation.environment({"Variables": {"KEY_1": "v"}}) == {"KEY_1": "v"}
    assert validation.environment(None) == {}
    bad: object
    for bad in (
        {"Variables": {"AWS_REGION": "x"}},
        {"Variables": {"1BAD": "x"}},
        {"Variables": {"OK": 1}},
        {"Variables": {"BIG": "x" * 5000}},
        [],
    ):
        with pytest.raises(InvalidParameterValueError):
            validation.environment(bad)


def test_zip_checks() -> None:
    checked = validation.zip_file(b64zip({"app.py": "x = 1"}))
    assert checked.unzipped_size == 5
    for bad in ("", "!!!", base64.b64encode(b"nope").decode(), b64zip({}), 7):
        with pytest.raises(NimbusError):
            validation.zip_file(bad)


def test_tags() -> None:
    assert validation.tags({"a": "b"}) == {"a": "b"}
    for bad in ({"aws:x": "y"}, {"": "y"}, [1], {"a": 1}, {f"k{i}": "v" for i in range(51)}):
        with pytest.raises(InvalidParameterValueError):
            validation.tags(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("9223372036854775808", None),  # beyond 64 bits
        ("99999999999999999999999", None),
        ("²", None),  # str.isdigit() accepts it; int() does not
        ("١٢", None),  # int() accepts these digits: a client's marker never has them
        ("1e30", None),
        ("1.5", None),
        (" 1", None),
        ("1\n", None),
        ("", None),
        ("-", None),
    ],
)
def test_int64_takes_ascii_decimal_64_bit_numbers_only(text: str, expected: int | None) -> None:
    assert validation.int64(text) == expected
