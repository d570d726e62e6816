"""`nimbus sign …`: make signing keys, sign deployment packages, check a signature.

Everything runs locally (no server): ``keygen`` writes an Ed25519 private key and prints the
signing profile version ARN to allow in a code signing config; ``zip`` writes the signed
archive (the signature rides in the zip's comment, see ``control/code_signature.py``);
``verify`` says who signed an archive and whether it is intact.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

sign_app = typer.Typer(no_args_is_help=True, help="Sign deployment packages for code signing.")

RegionOption = Annotated[
    str | None, typer.Option(help="Region in the profile ARN [NIMBUS_REGION, else us-east-1].")
]
AccountOption = Annotated[
    str | None,
    typer.Option(help="Account in the profile ARN [NIMBUS_ACCOUNT_ID, else 000000000000]."),
]


def _where(region: str | None, account: str | None) -> tuple[str, str]:
    from nimbus.config import Settings

    settings = Settings.from_env()
    return region or settings.region, account or settings.account_id


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(1)


@sign_app.command("keygen")
def keygen(
    name: Annotated[str, typer.Argument(help="Signing profile name (2-64 letters, digits, _).")],
    out: Annotated[
        Path, typer.Option("--out", help="Directory for NAME.pem (created if missing).")
    ] = Path("."),
    region: RegionOption = None,
    account: AccountOption = None,
) -> None:
    """Write a new Ed25519 signing key to OUT/NAME.pem (0600) and print its signing profile
    version ARN: allow it in a code signing config's SigningProfileVersionArns."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from nimbus.control import code_signature

    region, account = _where(region, account)
    key = Ed25519PrivateKey.generate()
    try:
        arn = code_signature.profile_version_arn(
            region=region, account=account, name=name, public_key=code_signature.raw_public_key(key)
        )
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.pem"
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        # O_EXCL: never overwrite a key (code signed with it would lose its publisher).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError as exc:
        raise _fail(f"{path} exists: choose another name or --out directory.") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    typer.echo(f"wrote {path}", err=True)
    typer.echo(arn)


@sign_app.command("zip")
def sign_zip(
    archive: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The zip to sign.")],
    key: Annotated[
        Path, typer.Option("--key", exists=True, dir_okay=False, help="Private key (keygen's PEM).")
    ],
    profile: Annotated[
        str, typer.Option("--profile", help="Signing profile name (keygen's NAME).")
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where to write [IN-signed.zip].")
    ] = None,
    region: RegionOption = None,
    account: AccountOption = None,
) -> None:
    """Sign ARCHIVE with KEY as profile PROFILE; prints the signing profile version ARN."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from nimbus.control import code_signature

    region, account = _where(region, account)
    try:
        private_key = load_pem_private_key(key.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise _fail(f"{key} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(private_key, Ed25519PrivateKey):
        raise _fail(f"{key} is not an Ed25519 key (make one with `nimbus sign keygen`).")
    try:
        signed = code_signature.sign(
            archive.read_bytes(), private_key, region=region, account=account, name=profile
        )
    except ValueError as exc:  # SignatureFormatError, a bad profile name
        raise _fail(f"cannot sign {archive}: {exc}") from exc
    target = output or archive.with_name(f"{archive.stem}-signed.zip")
    target.write_bytes(signed)
    verdict = code_signature.verify(signed)
    assert isinstance(verdict, code_signature.Signed)
    typer.echo(f"wrote {target}", err=True)
    typer.echo(verdict.profile_version_arn)


@sign_app.command("verify")
def verify(
    archive: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The zip to check.")],
) -> None:
    """Print the signing profile version ARN that signed ARCHIVE (exit 0); exit 1 when it
    is unsigned or its signature does not match its content."""
    from nimbus.control import code_signature

    match code_signature.verify(archive.read_bytes()):
        case code_signature.Signed(profile_version_arn=arn):
            typer.echo(arn)
        case code_signature.Unsigned():
            raise _fail(f"{archive} is not signed.")
        case code_signature.Broken(reason=reason):
            raise _fail(f"{archive} fails the integrity check: {reason}.")
