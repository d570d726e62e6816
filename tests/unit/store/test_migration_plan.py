"""The start-up decision over what a store holds: fresh, managed, pre-Alembic, or refused."""

from __future__ import annotations

import pytest

from nimbus.store.migrations.plan import Plan, StoreSchemaError, StoreState, plan

KNOWN = {"0001", "0002"}
OWN = {"functions", "aliases", "nimbus_meta"}


def state(*tables: str, revision: str | None = None, marker: str | None = None) -> StoreState:
    return StoreState(tables=frozenset(tables), revision=revision, legacy_marker=marker)


def decide(s: StoreState) -> Plan:
    return plan(s, known_revisions=KNOWN, own_tables=OWN)


def test_an_empty_store_is_upgraded_from_nothing() -> None:
    assert decide(state()) == Plan(stamp=None)


def test_other_applications_tables_do_not_make_a_store_look_used() -> None:
    assert decide(state("invoices", "users")) == Plan(stamp=None)


def test_a_managed_store_is_upgraded_from_its_revision() -> None:
    assert decide(state("functions", "alembic_version", revision="0001")) == Plan(stamp=None)


def test_a_managed_store_ignores_a_marker_that_old_code_wrote_back() -> None:
    s = state("functions", "nimbus_meta", "alembic_version", revision="0002", marker="1")
    assert decide(s) == Plan(stamp=None)


def test_a_pre_alembic_store_is_stamped_at_0001() -> None:
    assert decide(state("functions", "nimbus_meta", marker="1")) == Plan(stamp="0001")


def test_a_store_from_a_newer_nimbus_is_refused() -> None:
    with pytest.raises(StoreSchemaError, match="'0007'"):
        decide(state("functions", "alembic_version", revision="0007"))


def test_an_unknown_marker_is_refused() -> None:
    with pytest.raises(StoreSchemaError, match="'2'"):
        decide(state("functions", "nimbus_meta", marker="2"))


def test_nimbus_tables_without_revision_or_marker_are_refused() -> None:
    with pytest.raises(StoreSchemaError, match="aliases, functions"):
        decide(state("functions", "aliases", "invoices"))
