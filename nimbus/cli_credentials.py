"""`nimbus credentials create | list | delete`: access keys, through the running server's IAM
API (CreateAccessKey, ListAccessKeys, DeleteAccessKey), signed as every CLI call is
(``nimbus.cli_client``).

Without ``--user`` a key is the account's own (root) key, such as the administrator key the
first start created, when the caller is the root; an IAM user's key names the user itself
(IAM: "the user making the request").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from xml.etree import ElementTree

import typer

from nimbus.cli_client import (
    DEFAULT_ENDPOINT,
    DataDirOption,
    EndpointOption,
    Session,
    child_text,
    fail,
    parse_xml,
    target,
)

credentials_app = typer.Typer(
    no_args_is_help=True, help="Create, list and delete access keys (the account's or a user's)."
)

IAM_VERSION = "2010-05-08"

UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        help="The IAM user whose keys these are (left out: the caller's own, the account's "
        "root keys for an administrator key).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def iam_call(
    action: str, params: dict[str, str], *, endpoint: str, data_dir: Path | None
) -> ElementTree.Element:
    """IAM ``action`` (query protocol, form POST to ``/``); its parsed XML answer."""
    form = {"Action": action, "Version": IAM_VERSION, **params}
    with Session(target(endpoint, data_dir)) as session:
        response = session.call("POST", "/", service="iam", data=form)
    root = parse_xml(response.text)
    if root is None:
        fail(f"Nimbus answered {action} with something that is not XML: {response.text[:200]!r}")
    return root


def _user(user: str | None) -> dict[str, str]:
    return {"UserName": user} if user else {}


def _entries(root: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [element for element in root.iter() if element.tag.rpartition("}")[2] == name]


@credentials_app.command("create")
def create(
    user: UserOption = None,
    as_json: JsonOption = False,
    endpoint: EndpointOption = DEFAULT_ENDPOINT,
    data_dir: DataDirOption = None,
) -> None:
    """Create an access key and print it: the secret is shown only this once."""
    root = iam_call("CreateAccessKey", _user(user), endpoint=endpoint, data_dir=data_dir)
    key_id = child_text(root, "AccessKeyId")
    secret = child_text(root, "SecretAccessKey")
    if not key_id or not secret:
        fail("Nimbus answered CreateAccessKey without a key.")
    owner = child_text(root, "UserName") or None
    if as_json:
        typer.echo(
            json.dumps(
                {"AccessKeyId": key_id, "SecretAccessKey": secret, "UserName": owner}, indent=2
            )
        )
    else:
        typer.echo(f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}")
    whose = f"user {owner}" if owner else "the account (root)"
    typer.echo(f"Created an access key of {whose}; the secret is shown only this once.", err=True)


@credentials_app.command("list")
def list_keys(
    user: UserOption = None,
    as_json: JsonOption = False,
    endpoint: EndpointOption = DEFAULT_ENDPOINT,
    data_dir: DataDirOption = None,
) -> None:
    """List access keys (never their secrets)."""
    root = iam_call("ListAccessKeys", _user(user), endpoint=endpoint, data_dir=data_dir)
    keys = [
        {
            "AccessKeyId": child_text(entry, "AccessKeyId"),
            "Status": child_text(entry, "Status"),
            "CreateDate": child_text(entry, "CreateDate"),
            "UserName": child_text(entry, "UserName") or None,
        }
        for entry in _entries(root, "member")
    ]
    if as_json:
        typer.echo(json.dumps({"AccessKeyMetadata": keys}, indent=2))
        return
    for key in keys:
        owner = key["UserName"] or "(root)"
        typer.echo(f"{key['AccessKeyId']:<24} {key['Status']:<9} {key['CreateDate']:<22} {owner}")


@credentials_app.command("delete")
def delete(
    access_key_id: Annotated[str, typer.Argument(help="The key to delete.")],
    user: UserOption = None,
    endpoint: EndpointOption = DEFAULT_ENDPOINT,
    data_dir: DataDirOption = None,
) -> None:
    """Delete an access key: requests signed with it are refused from now on."""
    params = {"AccessKeyId": access_key_id, **_user(user)}
    iam_call("DeleteAccessKey", params, endpoint=endpoint, data_dir=data_dir)
    typer.echo(f"Deleted access key {access_key_id}.", err=True)
