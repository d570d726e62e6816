"""`nimbus sign keygen | zip | verify`, run in-process."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from nimbus.cli import app
from nimbus.testing.archive import make_zip

runner = CliRunner()


def test_keygen_zip_and_verify_round_trip(tmp_path: Path) -> None:
    made = runner.invoke(
        app,
        ["sign", "keygen", "prod", "--out", str(tmp_path / "keys"), "--account", "123456789012"],
    )
    assert made.exit_code == 0, made.output
    key = tmp_path / "keys" / "prod.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    arn = made.stdout.strip().splitlines()[-1]
    assert arn.startswith("arn:aws:signer:us-east-1:123456789012:/signing-profiles/prod/")

    archive = tmp_path / "fn.zip"
    archive.write_bytes(make_zip({"app.py": "def handler(e, c):\n    return e\n"}))
    signed = runner.invoke(
        app,
        [
            "sign",
            "zip",
            "--key",
            str(key),
            "--profile",
            "prod",
            "--account",
            "123456789012",
            str(archive),
        ],
    )
    assert signed.exit_code == 0, signed.output
    assert signed.stdout.strip().splitlines()[-1] == arn
    out = tmp_path / "fn-signed.zip"
    checked = runner.invoke(app, ["sign", "verify", str(out)])
    assert checked.exit_code == 0 and checked.stdout.strip() == arn

    data = bytearray(out.read_bytes())
    data[40] ^= 1
    out.write_bytes(bytes(data))
    broken = runner.invoke(app, ["sign", "verify", str(out)])
    assert broken.exit_code == 1 and "fails the integrity check" in broken.output
    unsigned = runner.invoke(app, ["sign", "verify", str(archive)])
    assert unsigned.exit_code == 1 and "is not signed" in unsigned.output


def test_keygen_never_overwrites_a_key(tmp_path: Path) -> None:
    assert runner.invoke(app, ["sign", "keygen", "prod", "--out", str(tmp_path)]).exit_code == 0
    before = (tmp_path / "prod.pem").read_bytes()
    again = runner.invoke(app, ["sign", "keygen", "prod", "--out", str(tmp_path)])
    assert again.exit_code == 1 and "exists" in again.output
    assert (tmp_path / "prod.pem").read_bytes() == before


def test_signing_what_is_not_a_zip_or_with_a_bad_name_says_why(tmp_path: Path) -> None:
    assert runner.invoke(app, ["sign", "keygen", "prod", "--out", str(tmp_path)]).exit_code == 0
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = runner.invoke(
        app, ["sign", "zip", "--key", str(tmp_path / "prod.pem"), "--profile", "prod", str(text)]
    )
    assert result.exit_code == 1 and "not a zip archive" in result.output
    bad = runner.invoke(app, ["sign", "keygen", "a-b", "--out", str(tmp_path)])
    assert bad.exit_code == 1 and "2-64 letters" in bad.output
