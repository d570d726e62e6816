"""What the `nimbus` commands that call a server share: the credentials they sign with, SigV4
signing of their httpx requests, and a failed call turned into one line on stderr and exit 1.

Credentials are looked up in this order (the first complete set wins):

1. ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN``), as the AWS
   CLI and SDKs read them;
2. ``NIMBUS_ADMIN_ACCESS_KEY_ID`` / ``NIMBUS_ADMIN_SECRET_ACCESS_KEY``, the administrator key
   a server started with the same environment has;
3. ``<data_dir>/admin.credentials``, profile ``[nimbus]``: the key the server's first start
   created (``nimbus.iam.admin_key``), so `nimbus invoke` beside `nimbus server` just works.

With none, requests go unsigned (a server with NIMBUS_AUTH=off accepts them). Signing uses
``nimbus.auth.sigv4``'s canonical pieces, the very code the server verifies with, so the CLI
needs no AWS SDK.
"""

from __future__ import annotations

import configparser
import os
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, NoReturn
from xml.etree import ElementTree

import httpx
import typer

from nimbus.auth import signing
from nimbus.auth.sigv4 import GLOBAL_REGION, GLOBAL_SERVICES

# The file and profile `nimbus server` writes (nimbus.iam.admin_key; a unit test keeps the two
# in step — importing that module here would load the store layer into every CLI call).
CREDENTIALS_FILE = "admin.credentials"
PROFILE = "nimbus"
DEFAULT_ENDPOINT = "http://127.0.0.1:9001"

EndpointOption = Annotated[
    str, typer.Option("--endpoint", envvar="NIMBUS_ENDPOINT", help="The Nimbus server to talk to.")
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The server's data directory, whose admin.credentials is used when no key is in "
        "the environment [NIMBUS_DATA_DIR, else .nimbus].",
    ),
]
# Errors that mean the key, not the request, is wrong: the message says which key was used.
_KEY_ERRORS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
_MISSING_TOKEN = frozenset({"MissingAuthenticationTokenException", "MissingAuthenticationToken"})


class CredentialsError(ValueError):
    """Credentials that are there but unusable (half set, a malformed file)."""


@dataclass(frozen=True, kw_only=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    source: str  # where they came from, for messages: "AWS_ACCESS_KEY_ID", a file path
    region: str | None = None  # the credentials file's region, when it names one


def parse_credentials_file(text: str, *, source: str, profile: str = PROFILE) -> Credentials:
    """The ``[profile]`` key of an AWS shared-credentials file's text."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=source)
    except configparser.Error as exc:
        raise CredentialsError(f"{source} is not a credentials file: {exc.message}") from None
    if not parser.has_section(profile):
        raise CredentialsError(f"{source} has no [{profile}] profile.")
    section = parser[profile]
    key_id = section.get("aws_access_key_id", "").strip()
    secret = section.get("aws_secret_access_key", "").strip()
    if not key_id or not secret:
        raise CredentialsError(
            f"{source} [{profile}] needs both aws_access_key_id and aws_secret_access_key."
        )
    return Credentials(
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=section.get("aws_session_token", "").strip() or None,
        source=source,
        region=section.get("region", "").strip() or None,
    )


def _from_env(environ: Mapping[str, str], id_name: str, secret_name: str) -> Credentials | None:
    key_id = environ.get(id_name, "").strip()
    secret = environ.get(secret_name, "").strip()
    if not key_id and not secret:
        return None
    if not key_id or not secret:
        have, missing = (id_name, secret_name) if key_id else (secret_name, id_name)
        raise CredentialsError(f"{have} is set but {missing} is not: set both, or neither.")
    token = environ.get("AWS_SESSION_TOKEN", "").strip() if id_name.startswith("AWS_") else ""
    return Credentials(
        access_key_id=key_id, secret_access_key=secret, session_token=token or None, source=id_name
    )


def find_credentials(environ: Mapping[str, str], data_dir: Path) -> Credentials | None:
    """The credentials to sign with (see the module's docstring for the order), or None."""
    for id_name, secret_name in (
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        ("NIMBUS_ADMIN_ACCESS_KEY_ID", "NIMBUS_ADMIN_SECRET_ACCESS_KEY"),
    ):
        found = _from_env(environ, id_name, secret_name)
        if found is not None:
            return found
    path = data_dir / CREDENTIALS_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_credentials_file(text, source=str(path))


# --- Signing --------------------------------------------------------------------------------


def sign(
    *,
    method: str,
    raw_path: bytes,
    query: bytes,
    host: str,
    body: bytes,
    credentials: Credentials,
    region: str,
    service: str,
    now: float,
) -> dict[str, str]:
    """The headers that sign this request with ``credentials`` (``auth.signing``: the same
    pieces the server verifies with); ``raw_path`` and ``query`` exactly as sent."""
    return signing.sign_headers(
        method=method,
        host=host,
        raw_path=raw_path,
        query=query,
        body=body,
        access_key_id=credentials.access_key_id,
        secret=credentials.secret_access_key,
        region=region,
        service=service,
        now=now,
        session_token=credentials.session_token,
    )


class SigV4Auth(httpx.Auth):
    """Signs every request it is given: ``client.get(url, auth=SigV4Auth(...))``."""

    requires_request_body = True

    def __init__(
        self,
        credentials: Credentials,
        *,
        region: str,
        service: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._region = region
        self._service = service
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raw_path, _, _ = request.url.raw_path.partition(b"?")
        request.headers.update(
            sign(
                method=request.method,
                raw_path=raw_path,
                query=request.url.query,
                host=request.headers["host"],
                body=request.content,
                credentials=self._credentials,
                region=self._region,
                service=self._service,
                now=self._clock(),
            )
        )
        yield request


# --- Calling a server -----------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    """Print ``message`` on stderr and exit 1."""
    typer.echo(message, err=True)
    raise typer.Exit(1)


def error_parts(response: httpx.Response) -> tuple[str, str]:
    """An error answer's code and message, whichever protocol's shape it has (Lambda's
    X-Amzn-ErrorType and JSON message, the query protocols' XML <Code> and <Message>)."""
    code = response.headers.get("x-amzn-errortype", "").split(":")[0]
    message = ""
    text = response.text
    if text.lstrip().startswith("{"):
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            message = str(body.get("message") or body.get("Message") or "")
            code = code or str(body.get("__type") or body.get("Type") or "").split("#")[-1]
    elif text.lstrip().startswith("<"):
        root = parse_xml(text)
        if root is not None:
            code = code or child_text(root, "Code")
            message = child_text(root, "Message")
    if not message:
        message = " ".join(text.split())[:300] or response.reason_phrase
    return code or f"HTTP {response.status_code}", message


def parse_xml(text: str) -> ElementTree.Element | None:
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None


def child_text(root: ElementTree.Element, name: str) -> str:
    """The text of the first element under ``root`` named ``name`` in any namespace."""
    for element in root.iter():
        if element.tag.rpartition("}")[2] == name:
            return (element.text or "").strip()
    return ""


@dataclass(frozen=True, kw_only=True)
class Target:
    """A server to call and how to sign for it."""

    endpoint: str
    credentials: Credentials | None
    region: str
    credentials_file: Path | None = None  # where the file was looked for

    def auth(self, service: str) -> SigV4Auth | None:
        if self.credentials is None:
            return None
        # IAM and STS are global: AWS's SDKs sign them for us-east-1 whatever the region.
        region = GLOBAL_REGION if service in GLOBAL_SERVICES else self.region
        return SigV4Auth(self.credentials, region=region, service=service)

    def explain(self, response: httpx.Response) -> str:
        """One line saying why ``response`` failed, with a hint when the key is at fault."""
        code, message = error_parts(response)
        line = f"{code}: {message}"
        if code in _MISSING_TOKEN and self.credentials is None:
            line += (
                " (no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or"
                " NIMBUS_ADMIN_ACCESS_KEY_ID and NIMBUS_ADMIN_SECRET_ACCESS_KEY, or point"
                f" --data-dir at the server's data directory, which holds {CREDENTIALS_FILE}"
                + (f"; there is no {self.credentials_file}" if self.credentials_file else "")
                + ")"
            )
        elif code in _KEY_ERRORS and self.credentials is not None:
            line += (
                f" (signed with {self.credentials.access_key_id} from {self.credentials.source})"
            )
        return line


def target(endpoint: str, data_dir: Path | None) -> Target:
    """The server at ``endpoint`` and the credentials to call it with (exit 1 when they are
    unusable)."""
    from nimbus.config import Settings

    try:
        settings = Settings.from_env(data_dir=data_dir)
        credentials = find_credentials(os.environ, settings.data_dir)
    except (CredentialsError, ValueError) as exc:
        fail(str(exc))
    region = os.environ.get("NIMBUS_REGION", "").strip()
    if not region:
        region = (credentials.region if credentials else None) or settings.region
    return Target(
        endpoint=endpoint.rstrip("/"),
        credentials=credentials,
        region=region,
        credentials_file=settings.data_dir / CREDENTIALS_FILE,
    )


class Session:
    """An httpx client for one command's calls to ``target``: ``send`` signs for a service and
    turns a server that cannot be reached into one line and exit 1; ``call`` also exits on an
    error answer."""

    def __init__(self, target: Target, *, timeout: float = 30.0) -> None:
        self.target = target
        self._client = httpx.Client(base_url=target.endpoint, timeout=timeout)

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._client.close()

    def send(self, method: str, path: str, *, service: str, **options: Any) -> httpx.Response:
        try:
            return self._client.request(
                method, path, auth=self.target.auth(service) or httpx.USE_CLIENT_DEFAULT, **options
            )
        except httpx.ConnectError as exc:
            fail(
                f"Cannot reach Nimbus at {self.target.endpoint} ({_reason(exc)}): is `nimbus "
                "server` running there? (--endpoint / NIMBUS_ENDPOINT)"
            )
        except httpx.TimeoutException:
            fail(f"Nimbus at {self.target.endpoint} did not answer in time.")
        except httpx.HTTPError as exc:
            fail(f"Calling Nimbus at {self.target.endpoint} failed: {_reason(exc)}")

    def call(self, method: str, path: str, *, service: str, **options: Any) -> httpx.Response:
        response = self.send(method, path, service=service, **options)
        if response.status_code >= 400:
            fail(self.target.explain(response))
        return response


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.split("] ", 1)[-1] if text.startswith("[Errno") else text
