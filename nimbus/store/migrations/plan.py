"""What start-up must do to a store before upgrading it: a pure decision over what it found.

Three kinds of store reach `migrator`: a new one (no tables), one Alembic already manages (an
``alembic_version`` row), and one written by the code before Alembic (``create_all`` plus a
``nimbus_meta`` row ``schema=1``, no ``alembic_version``). The last is stamped at the revision
that reproduces that schema, then upgraded like any other. Anything else is refused rather
than guessed at: running revision 0001 over tables that already exist would fail half-way, and
a store from a newer Nimbus has revisions this code cannot undo.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

# The pre-Alembic marker: nimbus_meta's row key and the only value ever written.
LEGACY_MARKER_TABLE = "nimbus_meta"
LEGACY_MARKER_KEY = "schema"
LEGACY_MARKER_VALUE = "1"
# The revision that is exactly the schema the pre-Alembic code created.
LEGACY_REVISION = "0001"


class StoreSchemaError(RuntimeError):
    """The store's schema is not one this code can bring to head; nothing was changed."""


@dataclass(frozen=True, kw_only=True)
class StoreState:
    tables: frozenset[str]  # every table in the store's schema
    revision: str | None  # alembic_version's row; None without the table or the row
    legacy_marker: str | None  # nimbus_meta's "schema" value; None without the table or row


@dataclass(frozen=True, kw_only=True)
class Plan:
    stamp: str | None  # record this revision, without running it, before upgrading to head


def plan(state: StoreState, *, known_revisions: Set[str], own_tables: Set[str]) -> Plan:
    """Raises StoreSchemaError for a store from a newer Nimbus, an unknown marker, or Nimbus
    tables (``own_tables``) that neither Alembic nor the old marker accounts for. Other tables
    are left alone: a PostgreSQL database may be shared with other applications."""
    if state.revision is not None:
        if state.revision not in known_revisions:
            raise StoreSchemaError(
                f"the store is at schema revision {state.revision!r}, which this Nimbus does "
                "not know: it was written by a newer version"
            )
        return Plan(stamp=None)
    if state.legacy_marker is not None:
        if state.legacy_marker != LEGACY_MARKER_VALUE:
            raise StoreSchemaError(
                f"the store's pre-Alembic schema marker is {state.legacy_marker!r}; "
                f"only {LEGACY_MARKER_VALUE!r} was ever written"
            )
        return Plan(stamp=LEGACY_REVISION)
    strays = state.tables & own_tables
    if strays:
        raise StoreSchemaError(
            "the store has tables but no schema revision or marker: " + ", ".join(sorted(strays))
        )
    return Plan(stamp=None)
