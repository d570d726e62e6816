"""The `nimbus` command."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from nimbus.cli_client import DEFAULT_ENDPOINT, DataDirOption, EndpointOption
from nimbus.cli_credentials import credentials_app
from nimbus.cli_layer import layer_app
from nimbus.cli_sign import sign_app
from nimbus.config import Settings

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Nimbus: AWS Lambda you can run yourself."
)


app.add_typer(layer_app, name="layer")
app.add_typer(sign_app, name="sign")
app.add_typer(credentials_app, name="credentials")


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
    cpu_limit: Annotated[
        str | None,
        typer.Option(
            help="shares (CPU weights by memory) | quota (hard CPU quota) [NIMBUS_CPU_LIMIT]."
        ),
    ] = None,
    function_network: Annotated[
        str | None,
        typer.Option(
            help="isolated (own network namespace, NAT out, no host services) | host "
            "(share the host's network) [NIMBUS_FUNCTION_NETWORK]."
        ),
    ] = None,
    function_host_ports: Annotated[
        str | None,
        typer.Option(
            help="Host TCP ports isolated functions reach at their gateway address, e.g. "
            "5432,6379 [NIMBUS_FUNCTION_HOST_PORTS]."
        ),
    ] = None,
    region: Annotated[str | None, typer.Option(help="Region in ARNs [NIMBUS_REGION].")] = None,
    account_id: Annotated[
        str | None, typer.Option(help="Account id in ARNs [NIMBUS_ACCOUNT_ID].")
    ] = None,
    auth: Annotated[
        str | None,
        typer.Option(
            help="on (SigV4 + IAM on every request) | off (no checks, everyone is root; "
            "loopback only) [NIMBUS_AUTH]."
        ),
    ] = None,
) -> None:
    """Run a Nimbus node: the Lambda API, the data plane and a worker host."""
    from nimbus.app import run
    from nimbus.frontend.auth_mode import loopback_problem

    settings = Settings.from_env(
        host=host,
        port=port,
        data_dir=data_dir,
        store=store,
        isolation=isolation,
        cpu_limit=cpu_limit,
        function_network=function_network,
        function_host_ports=function_host_ports,
        region=region,
        account_id=account_id,
        auth=auth.strip().lower() if auth is not None else None,
    )
    problem = loopback_problem(settings.auth, settings.host)
    if problem is not None:
        typer.echo(problem, err=True)
        raise typer.Exit(2)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run(settings)


@app.command()
def invoke(
    name: Annotated[str, typer.Argument(help="Function name or ARN (name:qualifier works).")],
    payload: Annotated[str, typer.Option(help="JSON event.")] = "{}",
    qualifier: Annotated[str | None, typer.Option(help="Version or alias.")] = None,
    invocation_type: Annotated[
        str, typer.Option(help="RequestResponse | Event | DryRun.")
    ] = "RequestResponse",
    tail: Annotated[bool, typer.Option(help="Print the log tail to stderr.")] = False,
    endpoint: EndpointOption = DEFAULT_ENDPOINT,
    data_dir: DataDirOption = None,
) -> None:
    """Invoke a function and print its response."""
    import base64
    import sys

    from nimbus.cli_client import Session, target

    params = {"Qualifier": qualifier} if qualifier else {}
    headers = {"X-Amz-Invocation-Type": invocation_type}
    if tail:
        headers["X-Amz-Log-Type"] = "Tail"
    with Session(target(endpoint, data_dir), timeout=960) as session:
        response = session.send(
            "POST",
            f"/2015-03-31/functions/{name}/invocations",
            service="lambda",
            content=payload.encode(),
            params=params,
            headers=headers,
        )
        if tail and "x-amz-log-result" in response.headers:
            sys.stderr.write(base64.b64decode(response.headers["x-amz-log-result"]).decode())
        if response.status_code >= 400:
            typer.echo(session.target.explain(response), err=True)
            raise typer.Exit(1)
    if response.content:
        typer.echo(response.text)
    if "x-amz-function-error" in response.headers:
        raise typer.Exit(1)


@app.command()
def logs(
    name: Annotated[str, typer.Argument(help="Function name.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events.")
    ] = False,
    endpoint: EndpointOption = DEFAULT_ENDPOINT,
    data_dir: DataDirOption = None,
) -> None:
    """Print a function's logs (log group /aws/lambda/NAME)."""
    import time

    from nimbus.cli_client import Session, target

    after = 0
    with Session(target(endpoint, data_dir)) as session:
        while True:
            response = session.call(
                "GET", f"/_nimbus/logs/{name}", service="logs", params={"after": after}
            )
            for event in response.json()["events"]:
                after = event["id"]
                typer.echo(event["message"].rstrip("\n"))
            if not follow:
                return
            time.sleep(0.5)


@app.command()
def metrics(endpoint: EndpointOption = DEFAULT_ENDPOINT, data_dir: DataDirOption = None) -> None:
    """Print invocation metrics per function and for the account (JSON)."""
    from nimbus.cli_client import Session, target

    with Session(target(endpoint, data_dir)) as session:
        typer.echo(session.call("GET", "/_nimbus/metrics", service="lambda").text)


@app.command()
def runtimes(
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """List the runtimes this host can run, the interpreter each uses, and why any is
    missing. Map one explicitly with NIMBUS_RUNTIMES="python3.12=/path/to/python3.12"."""
    import json
    import sys

    from nimbus.runtimes import discovery, probe

    settings = Settings.from_env()
    try:
        overrides = discovery.parse_overrides(settings.runtimes)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    table = probe.discover(overrides=overrides, server_python=sys.executable)
    if as_json:
        rows = [
            {
                "runtime": entry.runtime,
                "available": entry.available,
                "interpreter": entry.interpreter.path if entry.interpreter else None,
                "source": entry.interpreter.source if entry.interpreter else None,
                "reason": entry.reason or None,
            }
            for entry in table.entries
        ]
        typer.echo(json.dumps({"runtimes": rows}, indent=2))
        return
    for entry in table.entries:
        if entry.interpreter is not None:
            where = f"{entry.interpreter.path} ({entry.interpreter.source})"
            typer.echo(f"{entry.runtime:<12} {where}")
        else:
            typer.echo(f"{entry.runtime:<12} missing: {entry.reason}")
    typer.echo(f"{'provided.al2023':<12} always (custom runtimes: your bootstrap)")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
