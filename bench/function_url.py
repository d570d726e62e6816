"""Warm latency through a function URL (a NONE URL: no signature, the resource policy
checked on every request) next to a direct Invoke of the same function, both over one
keep-alive socket written by hand (the server's own latency) and from httpx.

    python -m bench.function_url [--warm 2000]
"""

from __future__ import annotations

import argparse
import time
from urllib.parse import urlsplit

import httpx

from bench.common import deploy, raw_invoke_loop, raw_loop, report, running_server, summary
from nimbus.testing.server import NimbusServer

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"


def public_url(client: httpx.Client, name: str) -> str:
    deploy(client, name, HANDLER)
    base = f"/2021-10-31/functions/{name}/url"
    url: str = client.post(base, json={"AuthType": "NONE"}).json()["FunctionUrl"]
    policy = f"/2015-03-31/functions/{name}/policy"
    client.post(
        policy,
        json={
            "StatementId": "url",
            "Action": "lambda:InvokeFunctionUrl",
            "Principal": "*",
            "FunctionUrlAuthType": "NONE",
        },
    ).raise_for_status()
    client.post(
        policy,
        json={
            "StatementId": "url-invoke",
            "Action": "lambda:InvokeFunction",
            "Principal": "*",
            "InvokedViaFunctionUrl": True,
        },
    ).raise_for_status()
    return url


def raw_url_loop(server: NimbusServer, url: str, count: int) -> list[float]:
    host = urlsplit(url).netloc
    request = f"GET /?q=1 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bench\r\n\r\n".encode()
    return raw_loop(server, request, count)


def httpx_loop(
    client: httpx.Client, method: str, path: str, count: int, **kw: object
) -> list[float]:
    timings = []
    deadline = time.monotonic() + 60
    for _ in range(count):
        started = time.perf_counter()
        response = client.request(method, path, **kw)  # type: ignore[arg-type]
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
        if time.monotonic() > deadline:
            break
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm", type=int, default=2000)
    args = parser.parse_args()
    with running_server() as server:
        with server.http(timeout=60) as client:
            url = public_url(client, "url-bench")
            host = urlsplit(url).netloc
            # Warm both paths (one environment serves both: the same function, $LATEST).
            raw_url_loop(server, url, 20)
            raw_invoke_loop(server, "url-bench", 20)
            results = {
                "function_url_raw_client": summary(raw_url_loop(server, url, args.warm)),
                "invoke_raw_client": summary(raw_invoke_loop(server, "url-bench", args.warm)),
                "invoke_httpx": summary(
                    httpx_loop(
                        client,
                        "POST",
                        "/2015-03-31/functions/url-bench/invocations",
                        args.warm,
                        content=b"{}",
                    )
                ),
            }
        with httpx.Client(base_url=server.url, headers={"host": host}) as plain:
            results["function_url_httpx"] = summary(httpx_loop(plain, "GET", "/?q=1", args.warm))
    report("function URL vs Invoke, warm (ms)", results)


if __name__ == "__main__":
    main()
