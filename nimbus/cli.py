"""The `nimbus` command."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from nimbus.config import Settings

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Nimbus: AWS Lambda you can run yourself."
)


@app.callback()
def _root() -> None:
    """Nimbus: AWS Lambda you can run yourself."""


@app.command()
def server(
    host: Annotated[str | None, typer.Option(help="Address to listen on [NIMBUS_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [NIMBUS_PORT].")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the store and code live [NIMBUS_DATA_DIR].")
    ] = None,
    store: Annotated[
        str | None, typer.Option(help="'sqlite' or a postgresql:// URL [NIMBUS_STORE].")
    ] = None,
    isolation: Annotated[
        str | None, typer.Option(help="auto | namespaces | process [NIMBUS_ISOLATION].")
    ] = None,
    region: Annotated[str | None, typer.Option(help="Region in ARNs [NIMBUS_REGION].")] = None,
    account_id: Annotated[
        str | None, typer.Option(help="Account id in ARNs [NIMBUS_ACCOUNT_ID].")
    ] = None,
) -> None:
    """Run a Nimbus node: the Lambda API, the data plane and a worker host."""
    import uvicorn

    from nimbus.app import build_app

    settings = Settings.from_env(
        host=host,
        port=port,
        data_dir=data_dir,
        store=store,
        isolation=isolation,
        region=region,
        account_id=account_id,
    )
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
