"""Alembic environment: run against the connection :func:`traceseal.db.migrate` passes in."""

from alembic import context

from traceseal.models import Base
from traceseal.verify.partitions import is_partition


def _include_name(name: str | None, type_: str, _parents: object) -> bool:
    # The scan log's monthly partitions (PostgreSQL) are not in the models, by design.
    return not (type_ == "table" and is_partition(name))


config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=True,
    compare_type=True,
    include_name=_include_name,
)
with context.begin_transaction():
    context.run_migrations()
