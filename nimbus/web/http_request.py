"""An HTTP request to a function URL or an HTTP API, as read off the wire (a frozen value
the event builders take), and the response the platform sends back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class HttpRequest:
    method: str  # upper-case
    raw_path: str  # as sent (percent-encoding kept), the endpoint's own prefix removed
    raw_query: str  # without the "?"
    headers: tuple[tuple[str, str], ...]  # names lower-cased, in the order received
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    domain_name: str = ""  # the endpoint's host name (no port)
    scheme: str = "http"
    port: int = 80
    # The whole path as sent, the endpoint's prefix included (path-style requests): what a
    # SigV4 signature covers.
    full_path: str = ""

    def header(self, name: str) -> str | None:
        """The first value of ``name`` (lower-case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True, kw_only=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...] = ()  # may repeat (set-cookie)
    body: bytes = b""


def text_response(status: int, message: str) -> HttpResponse:
    """A platform answer (an error the function never saw), as AWS's endpoints give them:
    a short JSON body ``{"Message": ...}``."""
    body = ('{"Message":"' + message.replace('"', "'") + '"}').encode()
    return HttpResponse(status=status, headers=(("content-type", "application/json"),), body=body)
