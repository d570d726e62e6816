"""`make bench`: run every benchmark in turn (each prints JSON and a table)."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    "bench.invoke_latency",
    "bench.throughput",
    "bench.async_accept",
    "bench.sqs_roundtrip",
    "bench.sqs_mapping",
    "bench.function_url",
]


def main() -> None:
    failed = []
    for module in BENCHMARKS:
        print(f"== {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module]).returncode != 0:
            failed.append(module)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
