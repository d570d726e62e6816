"""KnownDestinations: which destination ARNs name a function, queue or topic this node has."""

from __future__ import annotations

import pytest

from nimbus.errors import QueueDoesNotExistError, ResourceNotFoundError
from nimbus.events.destinations import KnownDestinations
from nimbus.model.arn import Arns

HERE = "us-east-1:000000000000"


class Functions:
    async def config(self, name: str, qualifier: str | None) -> object:
        if name != "fn" or qualifier not in (None, "live"):
            raise ResourceNotFoundError("Function not found")
        return object()


class Queues:
    def get_queue_url(self, name: str) -> str:
        if name != "q":
            raise QueueDoesNotExistError("The specified queue does not exist.")
        return f"http://localhost/000000000000/{name}"


class Topics:
    def list_topics(self) -> list[str]:
        return [f"arn:aws:sns:{HERE}:t"]


KNOWN = KnownDestinations(
    functions=Functions(),
    queues=Queues(),
    topics=Topics(),
    arns=Arns(region="us-east-1", account="000000000000"),
)


@pytest.mark.parametrize(
    ("arn", "exists"),
    [
        (f"arn:aws:sqs:{HERE}:q", True),
        (f"arn:aws:sqs:{HERE}:other", False),
        (f"arn:aws:sqs:{HERE}:q:extra", False),
        ("arn:aws:sqs:eu-west-1:000000000000:q", False),  # another region
        ("arn:aws:sqs:us-east-1:111111111111:q", False),  # another account
        (f"arn:aws:sns:{HERE}:t", True),
        (f"arn:aws:sns:{HERE}:other", False),
        (f"arn:aws:lambda:{HERE}:function:fn", True),
        (f"arn:aws:lambda:{HERE}:function:fn:live", True),
        (f"arn:aws:lambda:{HERE}:function:fn:gone", False),
        (f"arn:aws:lambda:{HERE}:function:other", False),
        (f"arn:aws:lambda:{HERE}:layer:fn", False),
        (f"arn:aws:events:{HERE}:event-bus/default", False),
        ("not-an-arn", False),
    ],
)
async def test_exists(arn: str, exists: bool) -> None:
    assert await KNOWN.exists(arn) is exists
