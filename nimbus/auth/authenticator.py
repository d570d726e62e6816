"""Who sent a request: its SigV4 signature checked against the key's secret (a thin shell
over the pure ``auth.signed_request`` and ``auth.sigv4``, and a ``CredentialSource``).

The checks run in AWS's order and the cheap ones first, so a request that cannot be valid
never costs a key lookup: the signature's shape (MissingAuthenticationToken,
IncompleteSignature), its credential scope and time (InvalidSignature), the key
(UnrecognizedClient, ExpiredToken) — ``identify``, before the body is read — then the
signature itself over the body (InvalidSignature) — ``verify``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nimbus.auth import signed_request, sigv4
from nimbus.auth.errors import UnrecognizedClientError
from nimbus.auth.ports import CredentialSource, SigningIdentity
from nimbus.auth.principal import Principal
from nimbus.clock import Clock


@dataclass(frozen=True, kw_only=True)
class Authenticated:
    """A request whose signature verified."""

    principal: Principal
    service: str  # the service the credential scope names ("lambda", "sqs", ...)
    presigned: bool  # signed in the query string rather than the Authorization header
    access_key_id: str


@dataclass(frozen=True, kw_only=True)
class Claim:
    """A request whose key is known and whose signature is still to be checked."""

    request: signed_request.HttpRequest
    signed: signed_request.SignedRequest
    identity: SigningIdentity


class Authenticator:
    def __init__(
        self,
        credentials: CredentialSource,
        *,
        region: str,
        services: frozenset[str],
        clock: Clock,
    ) -> None:
        self._credentials = credentials
        self._region = region
        self._services = services
        self._clock = clock

    async def authenticate(
        self,
        method: str,
        raw_path: bytes,
        query_string: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes = b"",
        *,
        body_sha256: str | None = None,
        service: str | None = None,
    ) -> Authenticated:
        """The principal that signed this request, or the ``auth.errors`` error AWS answers.

        ``raw_path`` is the path exactly as received (ASGI ``raw_path``, no query);
        ``body_sha256`` (hex) may stand for ``body`` when it was hashed while being read;
        ``service``, when the caller knows which API the request is for, is the only service
        the credential scope may name (else any of ``services``)."""
        claim = await self.identify(method, raw_path, query_string, headers, service=service)
        return self.verify(claim, body, body_sha256=body_sha256)

    async def identify(
        self,
        method: str,
        raw_path: bytes,
        query_string: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        *,
        service: str | None = None,
    ) -> Claim:
        """Every check but the signature itself, which needs the body: a request that cannot
        be valid (unsigned, malformed, out of time, an unknown key) is refused before its
        body is read — up to 70 MB for CreateFunction — so nobody without a key can make the
        server buffer one."""
        request = signed_request.HttpRequest(
            method=method, raw_path=raw_path, query_string=query_string, headers=headers
        )
        signed = signed_request.parse(request)
        sigv4.check_scope(
            signed, region=self._region, services=self._services, expected_service=service
        )
        sigv4.check_time(signed, self._clock.now())
        identity = await self._credentials.resolve(signed.access_key_id, signed.session_token)
        if identity is None:
            raise UnrecognizedClientError()
        return Claim(request=request, signed=signed, identity=identity)

    def verify(self, claim: Claim, body: bytes, *, body_sha256: str | None = None) -> Authenticated:
        """``claim``'s request, now with its body, if its signature is right (pure)."""
        signed = claim.signed
        sigv4.verify(
            signed, claim.request, claim.identity.secret, body=body, body_sha256=body_sha256
        )
        return Authenticated(
            principal=claim.identity.principal,
            service=signed.service,
            presigned=signed.presigned,
            access_key_id=signed.access_key_id,
        )
