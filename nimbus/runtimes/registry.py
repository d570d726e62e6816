"""The runtime identifiers AWS Lambda lists, and which family each belongs to."""

from __future__ import annotations

from datetime import date

# Runtimes AWS still accepts for creating functions (Python, Node.js, OS-only).
PYTHON = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
NODEJS = ("nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x")
PROVIDED = ("provided.al2", "provided.al2023")
SUPPORTED = PYTHON + NODEJS + PROVIDED

# Identifiers AWS knows but no longer accepts on create/update ("deprecated").
DEPRECATED = (
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "nodejs",
    "nodejs4.3",
    "nodejs4.3-edge",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "provided",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "java8",
)
# Known to AWS, supported there, but not a family Nimbus runs.
OTHER = (
    "java8.al2",
    "java11",
    "java17",
    "java21",
    "java25",
    "dotnet6",
    "dotnet8",
    "dotnet10",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "ruby4.0",
)


def family_of(runtime: str) -> str:
    if runtime.startswith("python"):
        return "python"
    if runtime.startswith("nodejs"):
        return "nodejs"
    if runtime.startswith("provided"):
        return "provided"
    return "other"


def is_known(runtime: str) -> bool:
    return runtime in SUPPORTED or runtime in DEPRECATED or runtime in OTHER


# Runtimes AWS has deprecated but still lets you create until a date (AWS's "Deprecated
# runtimes" table, docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html): from that day
# CreateFunction and a change of Runtime to it are refused, as the ones in DEPRECATED are.
BLOCK_CREATE: dict[str, date] = {
    "python3.9": date(2027, 2, 1),
    "nodejs18.x": date(2027, 2, 1),
}


def blocked_for_create(runtime: str, today: date) -> bool:
    """Whether AWS refuses new functions (and runtime changes) with this identifier on
    ``today`` (pure)."""
    if runtime in DEPRECATED:
        return True
    blocked_from = BLOCK_CREATE.get(runtime)
    return blocked_from is not None and today >= blocked_from
