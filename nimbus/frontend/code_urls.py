"""Presigned code-download URLs: what GetFunction's ``Code.Location`` and GetLayerVersion's
``Content.Location`` hand out.

On AWS these are S3 presigned URLs valid for 10 minutes ("Code.Location: a presigned URL
that you can use to download the deployment package ... valid for 10 minutes", GetFunction
API reference): whoever holds one may download that one package, without credentials, until
it expires. Nimbus serves the package itself (``GET /_nimbus/code/<sha256>.zip``) and signs
the URL with a key of its own, derived from the node key (so every node of a cluster signs
and accepts the same URLs, and no access key of any user is involved):

    /_nimbus/code/<sha>.zip?X-Nimbus-Expires=<epoch s>&X-Nimbus-Signature=<hex HMAC-SHA256>

The signature covers the blob and the expiry; the gate accepts it only on that path. As S3
answers, an expired URL is 403 AccessDenied "Request has expired", and a tampered one 403
(S3 says SignatureDoesNotMatch; the brief of this API is AccessDenied for both, which SDKs
and browsers treat alike).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Final

from nimbus.clock import Clock
from nimbus.errors import AccessDeniedError

VALID_FOR_S: Final = 600  # AWS: "valid for 10 minutes"
EXPIRES: Final = "X-Nimbus-Expires"
SIGNATURE: Final = "X-Nimbus-Signature"
PATH: Final = re.compile(r"^/_nimbus/code/(?P<key>[0-9a-f]{64})\.zip$")
DERIVATION: Final = b"code-download-url"  # NodeKey.derive's purpose


class CodeUrlDenied(AccessDeniedError):
    """An expired or tampered code URL, answered in S3's XML error shape."""

    error_type = "AccessDenied"


class CodeUrls:
    def __init__(self, key: bytes, clock: Clock, *, valid_for_s: int = VALID_FOR_S) -> None:
        self._key = key
        self._clock = clock
        self._valid_for_s = valid_for_s

    def location(self, base_url: str, blob_key: str) -> str:
        """The presigned URL of ``blob_key`` under ``base_url`` (the endpoint the caller used)."""
        expires = int(self._clock.now()) + self._valid_for_s
        return (
            f"{base_url.rstrip('/')}/_nimbus/code/{blob_key}.zip"
            f"?{EXPIRES}={expires}&{SIGNATURE}={self._signature(blob_key, expires)}"
        )

    def _signature(self, blob_key: str, expires: int) -> str:
        message = f"GET\n/_nimbus/code/{blob_key}.zip\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    @staticmethod
    def is_presigned(path: str, query: Mapping[str, str]) -> bool:
        """Whether a request is a code download carrying this module's signature (the gate
        then checks it instead of SigV4)."""
        return SIGNATURE in query and PATH.match(path) is not None

    def check(self, path: str, query: Mapping[str, str]) -> None:
        """Raises ``CodeUrlDenied`` unless ``path``+``query`` is a URL ``location`` made and
        it has not expired. Constant-time comparison: the signature is a secret's MAC."""
        found = PATH.match(path)
        raw_expires = query.get(EXPIRES, "")
        if found is None or not (raw_expires.isascii() and raw_expires.isdigit()):
            raise CodeUrlDenied("Query-string authentication requires the Signature and Expires.")
        expires = int(raw_expires)
        expected = self._signature(found.group("key"), expires)
        if not hmac.compare_digest(expected.encode(), query.get(SIGNATURE, "").encode()):
            raise CodeUrlDenied(
                "The request signature we calculated does not match the signature you provided."
            )
        if self._clock.now() > expires:
            raise CodeUrlDenied("Request has expired")


def code_location(urls: CodeUrls | None, base_url: str, blob_key: str) -> str:
    """Where a code package is downloaded: presigned by ``urls``, or plain without them."""
    if urls is None:
        return f"{base_url.rstrip('/')}/_nimbus/code/{blob_key}.zip"
    return urls.location(base_url, blob_key)
