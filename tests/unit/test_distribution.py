"""The schema meets the plan for going past one database host (traceseal/distribution.py).

Citus refuses to distribute a table whose primary or unique keys lack the distribution
column, and PostgreSQL refuses a partitioned table whose keys lack the partition column;
foreign keys may go from a distributed table only to a reference table or to a co-located
one through the distribution column, and from a reference table only to reference tables.
These checks read the models' metadata, so a new table or key is checked as it is written.
"""

from __future__ import annotations

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKeyConstraint,
    MetaData,
    Table,
    UniqueConstraint,
)

from traceseal.distribution import LOCAL, PLAN, REFERENCE, Distributed
from traceseal.models import Base

TABLES = Base.metadata.tables


def _unique_keys(table: Table) -> list[tuple[str, set[str]]]:
    keys = [("primary key", {c.name for c in table.primary_key.columns})]
    keys += [
        (str(c.name), {col.name for col in c.columns})
        for c in table.constraints
        if isinstance(c, UniqueConstraint)
    ]
    keys += [(str(i.name), {c.name for c in i.columns}) for i in table.indexes if i.unique]
    return keys


def _violations(table: Table, placement: Distributed) -> list[str]:
    name = table.name
    found = []
    for key, columns in _unique_keys(table):
        for needed in filter(None, (placement.column, placement.partitioned_by)):
            if needed not in columns:
                found.append(f"{name}: {key} {sorted(columns)} lacks {needed}")
    for fk in table.constraints:
        if isinstance(fk, ForeignKeyConstraint):
            found += _foreign_key_violations(name, placement, fk)
    return found


def _foreign_key_violations(
    name: str, placement: Distributed, fk: ForeignKeyConstraint
) -> list[str]:
    target = fk.referred_table.name
    other = PLAN.get(target)
    if other == REFERENCE:
        return []
    if isinstance(other, Distributed) and other.group == placement.group:
        pairs = {(e.parent.name, e.column.name) for e in fk.elements}
        if (placement.column, other.column) in pairs:
            return []
    return [f"{name}: foreign key to {target} ({other}) cannot follow it to the workers"]


def test_every_table_is_placed() -> None:
    assert sorted(set(TABLES) - set(PLAN)) == [], "add the new tables to distribution.PLAN"
    assert sorted(set(PLAN) - set(TABLES)) == [], "PLAN names tables that do not exist"


@pytest.mark.parametrize(
    "name", sorted(n for n, p in PLAN.items() if isinstance(p, Distributed) and not p.pending)
)
def test_distributed_tables_keep_their_column_in_every_key(name: str) -> None:
    placement = PLAN[name]
    assert isinstance(placement, Distributed)
    assert placement.column in TABLES[name].columns
    assert not TABLES[name].columns[placement.column].nullable, "a NULL has no shard"
    assert _violations(TABLES[name], placement) == []


@pytest.mark.parametrize(
    "name", sorted(n for n, p in PLAN.items() if isinstance(p, Distributed) and p.pending)
)
def test_pending_changes_are_still_pending(name: str) -> None:
    """A table noted as needing a change still needs it: once made, drop the note."""
    placement = PLAN[name]
    assert isinstance(placement, Distributed)
    assert _violations(TABLES[name], placement) != []


def test_co_located_tables_share_the_column_type() -> None:
    groups: dict[str, set[str]] = {}
    for name, placement in PLAN.items():
        if isinstance(placement, Distributed):
            column = TABLES[name].columns[placement.column]
            groups.setdefault(placement.group, set()).add(column.type.compile())
    assert {group: len(types) for group, types in groups.items()} == dict.fromkeys(groups, 1)


@pytest.mark.parametrize("name", sorted(n for n, p in PLAN.items() if p == REFERENCE))
def test_reference_tables_refer_only_to_reference_tables(name: str) -> None:
    targets = {fk.column.table.name for fk in TABLES[name].foreign_keys}
    assert {t: PLAN[t] for t in targets if PLAN[t] != REFERENCE} == {}


@pytest.mark.parametrize("name", sorted(n for n, p in PLAN.items() if p == LOCAL))
def test_local_tables_refer_to_no_distributed_table(name: str) -> None:
    targets = {fk.column.table.name for fk in TABLES[name].foreign_keys}
    assert [t for t in targets if isinstance(PLAN[t], Distributed)] == []


def test_the_checks_catch_a_key_without_the_column() -> None:
    """The scan log's key as it was before migration 0021 would fail both rules."""
    scans = PLAN["scans"]
    assert isinstance(scans, Distributed)
    old = Table(
        "scans",
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        *(Column(c.name, c.type) for c in TABLES["scans"].columns if c.name != "id"),
    )
    assert _violations(old, scans) == [
        "scans: primary key ['id'] lacks slot",
        "scans: primary key ['id'] lacks scanned_at",
    ]
