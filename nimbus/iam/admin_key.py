"""The administrator key: the account's own (root) access key, so a fresh Nimbus can be used
at once and nobody is locked out.

- Settings give it (NIMBUS_ADMIN_ACCESS_KEY_ID / NIMBUS_ADMIN_SECRET_ACCESS_KEY): that key is
  made exactly those values at every start (scripts and tests know their key).
- Otherwise, when the store holds no root key, one is created, printed once on stderr and
  written to ``<data_dir>/admin.credentials`` (mode 0600) as an AWS shared-credentials file
  with a ``[nimbus]`` profile: ``AWS_SHARED_CREDENTIALS_FILE=... AWS_PROFILE=nimbus``.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from nimbus.iam.identities import Identities

_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
FILE_NAME = "admin.credentials"
PROFILE = "nimbus"


class AdminKeyError(ValueError):
    """Settings that cannot be an access key (the message says what to fix)."""


@dataclass(frozen=True, kw_only=True)
class AdminKey:
    access_key_id: str
    secret_access_key: str
    created: bool  # minted at this start (printed and written to the credentials file)


def check_admin_key(access_key_id: str, secret: str) -> None:
    if bool(access_key_id) != bool(secret):
        raise AdminKeyError(
            "Set both NIMBUS_ADMIN_ACCESS_KEY_ID and NIMBUS_ADMIN_SECRET_ACCESS_KEY, or neither."
        )
    if _KEY_ID.fullmatch(access_key_id) is None:
        raise AdminKeyError(
            "NIMBUS_ADMIN_ACCESS_KEY_ID must be 16 to 128 characters of A-Z and 0-9 "
            "(like AKIAIOSFODNN7EXAMPLE)."
        )
    if len(secret) < 16:
        raise AdminKeyError("NIMBUS_ADMIN_SECRET_ACCESS_KEY must be at least 16 characters.")


def credentials_file_text(access_key_id: str, secret: str, region: str) -> str:
    return (
        f"[{PROFILE}]\n"
        f"aws_access_key_id = {access_key_id}\n"
        f"aws_secret_access_key = {secret}\n"
        f"region = {region}\n"
    )


def write_credentials_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def banner(key: AdminKey, *, credentials_file: Path, endpoint: str, region: str) -> str:
    line = "=" * 78
    return (
        f"\n{line}\n"
        "Nimbus created its administrator access key. It is shown only this once:\n\n"
        f"    AWS_ACCESS_KEY_ID={key.access_key_id}\n"
        f"    AWS_SECRET_ACCESS_KEY={key.secret_access_key}\n\n"
        f"It is also in {credentials_file} (mode 0600, profile [{PROFILE}]):\n\n"
        f"    export AWS_SHARED_CREDENTIALS_FILE={credentials_file} AWS_PROFILE={PROFILE}\n"
        f"    aws --endpoint-url {endpoint} sts get-caller-identity\n\n"
        f"or `aws configure` with the two values above and region {region}.\n"
        "Set NIMBUS_ADMIN_ACCESS_KEY_ID / NIMBUS_ADMIN_SECRET_ACCESS_KEY to choose the key.\n"
        f"{line}\n"
    )


async def ensure_admin_key(
    identities: Identities,
    *,
    access_key_id: str,
    secret: str,
    data_dir: Path,
    region: str,
    endpoint: str,
    console: TextIO | None = None,
) -> AdminKey | None:
    """Apply the settings' key, or create the first root key; None when a root key exists
    and the settings name none."""
    check_admin_key(access_key_id, secret) if (access_key_id or secret) else None
    if access_key_id:
        await identities.put_root_key(access_key_id, secret)
        return AdminKey(access_key_id=access_key_id, secret_access_key=secret, created=False)
    if await identities.list_access_keys(None):
        return None
    key, minted = await identities.create_access_key(None)
    admin = AdminKey(access_key_id=key.access_key_id, secret_access_key=minted, created=True)
    path = data_dir / FILE_NAME
    write_credentials_file(path, credentials_file_text(admin.access_key_id, minted, region))
    out = console if console is not None else sys.stderr
    out.write(banner(admin, credentials_file=path.resolve(), endpoint=endpoint, region=region))
    out.flush()
    return admin
