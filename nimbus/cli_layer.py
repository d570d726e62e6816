"""`nimbus layer …`: package a directory as a layer and publish it (PublishLayerVersion).

Talks to the server with httpx and the Lambda JSON body directly, signed as every CLI call is
(``nimbus.cli_client``), so the CLI needs no AWS SDK.
"""

from __future__ import annotations

import base64
import io
import os
import zipfile
from pathlib import Path
from typing import Annotated

import typer

from nimbus.cli_client import DEFAULT_ENDPOINT, DataDirOption, EndpointOption, Session, target

layer_app = typer.Typer(no_args_is_help=True, help="Publish and inspect layers.")

# Zip entries get a fixed timestamp so the same directory always gives the same CodeSha256.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_directory(root: Path) -> bytes:
    """The files under ``root`` as a zip, paths relative to it (a Python layer holds
    ``python/…``), execute bits kept, in a stable order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for file_name in sorted(files):
                path = Path(folder) / file_name
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=_EPOCH)
                info.external_attr = (path.stat().st_mode & 0o777) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


@layer_app.command("publish")
def publish(
    name: Annotated[str, typer.Argument(help="Layer name (or layer ARN).")],
    directory: Annotated[
        Path,
        typer.Argument(
            exists=True, file_okay=False, dir_okay=True, help="Directory to zip, e.g. with python/."
        ),
    ],
    runtime: Annotated[
        list[str] | None,
        typer.Option("--runtime", help="A compatible runtime (repeatable), e.g. python3.11."),
    ] = None,
    architecture: Annotated[
        list[str] | None,
        typer.Option("--architecture", help="A compatible architecture (repeatable)."),
    ] = None,
    description: Annotated[str, typer.Option(help="Description of this version.")] = "",
    license_info: Annotated[str | None, typer.Option(help="License, e.g. MIT.")] = None,
    endpoint: EndpointOption = DEFAULT_ENDPOINT,
    data_dir: DataDirOption = None,
) -> None:
    """Zip DIRECTORY and publish it as the next version of layer NAME; prints the new
    version's ARN."""
    data = zip_directory(directory)
    if not data or len(data) <= 22:  # an empty zip is just its end-of-directory record
        typer.echo(f"{directory} holds no files.", err=True)
        raise typer.Exit(1)
    body: dict[str, object] = {
        "Content": {"ZipFile": base64.b64encode(data).decode()},
        "Description": description,
    }
    if runtime:
        body["CompatibleRuntimes"] = runtime
    if architecture:
        body["CompatibleArchitectures"] = architecture
    if license_info is not None:
        body["LicenseInfo"] = license_info
    with Session(target(endpoint, data_dir), timeout=300) as session:
        response = session.call(
            "POST", f"/2018-10-31/layers/{name}/versions", service="lambda", json=body
        )
    typer.echo(response.json()["LayerVersionArn"])
