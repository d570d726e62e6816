"""Every bound on what a runtime may make its Runtime API buffer or wait for (pure): request
heads, bodies, trailers, connections and time. See ``runtime_connection``, which applies them."""

from __future__ import annotations

from nimbus.worker.log_format import MAX_RESPONSE_BYTES

# The Runtime Interface Emulator caps what the runtime may post to /init/error and
# /invocation/{id}/error at 1 MiB (http.MaxBytesHandler around both) and answers a larger
# body 413 RequestEntityTooLarge. Nimbus answers the same; the invocation (or Init) still
# ends as a function error, with the error type and without the oversized body.
MAX_ERROR_BYTES = 1024 * 1024

# Every read is bounded, so that no runtime can make the server buffer without limit (the
# event loop, and so every other function, would pay for it). AWS's Runtime API is a Go
# net/http server: it refuses a request line plus headers over http.DefaultMaxHeaderBytes
# (1 MiB, plus the 4,096 bytes of slack net/http allows) with 431. Real runtimes stay far
# below every limit here: their URLs are under 120 bytes (.../invocation/{uuid}/response),
# they send under 10 headers, and the largest, awslambdaric's
# Lambda-Runtime-Function-XRay-Error-Cause, is kept under 1 MiB by the runtime itself.
# Go itself would accept a URL up to the whole MaxHeaderBytes; 8 KiB (then 414, as nginx and
# Apache refuse a longer request line) is Nimbus's own, tighter limit. It is safe because no
# runtime sends such a URL: the longest the Runtime API defines is under 120 bytes.
MAX_URL_BYTES = 8 * 1024
MAX_HEAD_BYTES = (1 << 20) + 4096  # request line + headers, Go's MaxHeaderBytes + slack: 431
# A chunked body's trailers (and any run of framing without body bytes) get the same bound:
# httptools keeps a trailer whole until it ends, as it does a header. Real error trailers
# are a base64 error document, far below it.
MAX_TRAILER_BYTES = MAX_HEAD_BYTES
MAX_HEADERS = 100  # http.client's own _MAXHEADERS: 431
# Connections one environment may hold open at once (a runtime uses one or two; AWS's
# sandbox cannot open thousands either: its RLIMIT_NOFILE is 1,024). Further ones are
# closed as soon as they are accepted.
MAX_CONNECTIONS = 16
# What one environment's connections may buffer in all (request heads and bodies): one
# response at the limit, one head at the limit and room for small requests.
BUFFER_BUDGET = MAX_RESPONSE_BYTES + MAX_HEAD_BYTES + 1024 * 1024
# A request that has begun but not ended this long after its first byte is dropped, with
# what it had buffered. AWS's Runtime API (Go's net/http with no ReadTimeout) has no such
# bound: this one is Nimbus's, so that a runtime cannot pin buffered bytes for ever. It is
# generous for a runtime on the same machine (loopback delivers a 6 MB response in
# milliseconds), but a runtime that trickles a response for longer than this loses it,
# where AWS would wait for the invocation's timeout.
READ_TIMEOUT_S = 10.0
# After refusing a request the server stops sending and reads (and drops) what the client is
# still sending for a short while, so the client sees the answer rather than a reset: the
# "lingering close" of Go's net/http (closeWriteAndWait, 500 ms) and Apache.
LINGER_S = 0.5
LINGER_BYTES = MAX_HEAD_BYTES


def body_limit(url: bytes) -> int:
    """How much of a request body the Runtime API keeps: error posts are capped lower than
    responses (pure)."""
    return MAX_ERROR_BYTES if url.split(b"?", 1)[0].endswith(b"/error") else MAX_RESPONSE_BYTES
