"""Recursive loop detection's count in the trace header, and the stop decision, with
literal headers."""

from __future__ import annotations

import pytest

from nimbus.errors import RecursiveInvocationError
from nimbus.events import lineage
from nimbus.events.loop_guard import LoopGuard
from nimbus.model.arn import Arns

ARNS = Arns(region="us-east-1", account="000000000000")
F = "arn:aws:lambda:us-east-1:000000000000:function:f"
H = lineage.function_hash(F)


def test_a_header_parses_with_its_lineage_and_renders_back() -> None:
    text = (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;"
        "Lineage=a87bd80c:1|68fd508a:5"
    )
    header = lineage.parse(text)
    assert header.root == "1-5759e988-bd862e3fe1be46a994272793"
    assert header.lineage == (("a87bd80c", 1), ("68fd508a", 5))
    assert lineage.render(header) == text


@pytest.mark.parametrize(
    "text", [None, "", "garbage", "Lineage=x", "Lineage=a:b|:3|c:-1", "Lineage=a:\u00b2"]
)
def test_headers_without_a_usable_lineage_start_a_chain(text: str | None) -> None:
    assert lineage.prior_invocations(lineage.parse(text), F) == 0


def test_the_first_invocation_runs_with_count_zero_and_keeps_the_callers_root() -> None:
    header, prior = lineage.next_hop(
        "Root=1-aaaaaaaa-bbbbbbbbbbbbbbbbbbbbbbbb;Parent=1;Sampled=1;Lineage=68fd508a:5",
        F,
        new_root="1-new",
        new_parent="p2",
    )
    assert prior == 0
    assert header == (
        f"Root=1-aaaaaaaa-bbbbbbbbbbbbbbbbbbbbbbbb;Parent=p2;Sampled=1;Lineage=68fd508a:5|{H}:0"
    )
    fresh, _ = lineage.next_hop(None, F, new_root="1-new", new_parent="p")
    assert fresh == f"Root=1-new;Parent=p;Sampled=0;Lineage={H}:0"


def test_each_hop_counts_one_more_and_the_17th_is_the_one_to_stop() -> None:
    header: str | None = None
    priors = []
    for _ in range(17):
        header, prior = lineage.next_hop(header, F, new_root="1-r", new_parent="p")
        priors.append(prior)
    assert priors == list(range(17))
    assert [lineage.is_loop_to_stop(p) for p in priors] == [False] * 16 + [True]


def test_another_functions_entry_does_not_count_for_this_one() -> None:
    other = "arn:aws:lambda:us-east-1:000000000000:function:g"
    header, _ = lineage.next_hop(f"Lineage={H}:15", other, new_root="r", new_parent="p")
    assert lineage.prior_invocations(lineage.parse(header), F) == 16
    assert lineage.prior_invocations(lineage.parse(header), other) == 1


class Settings:
    def __init__(self, mode: str) -> None:
        self.value = mode

    async def mode(self, name: str) -> str:
        return self.value


class Counter:
    def __init__(self) -> None:
        self.dropped: list[str] = []

    def recursion_dropped(self, name: str) -> None:
        self.dropped.append(name)


async def test_the_guard_stops_the_17th_hop_only_when_terminate() -> None:
    counter = Counter()
    settings = Settings("Terminate")
    guard = LoopGuard(recursion=settings, metrics=counter, arns=ARNS)
    assert f"{H}:15" in await guard.trace_for("f", f"Lineage={H}:14", 0.0)
    with pytest.raises(RecursiveInvocationError):
        await guard.trace_for("f", f"Lineage={H}:15", 0.0)
    assert counter.dropped == ["f"]
    settings.value = "Allow"
    assert f"{H}:16" in await guard.trace_for("f", f"Lineage={H}:15", 0.0)
    assert counter.dropped == ["f"]


def test_a_header_url_quoted_by_botocore_parses_as_its_unquoted_text() -> None:
    # botocore's add_recursion_detection_header quotes _X_AMZN_TRACE_ID: "|" becomes "%7C".
    quoted = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Lineage=a87bd80c:1%7C68fd508a:5"
    assert lineage.parse(quoted).lineage == (("a87bd80c", 1), ("68fd508a", 5))
