"""Alembic environment for liftlab's database (run in code by ``upgrade_database``).

The caller passes an open connection in ``config.attributes["connection"]``; with a URL in
``sqlalchemy.url`` instead (the ``alembic`` command line), an engine is made from it. On
PostgreSQL the migration holds an advisory lock so that several processes opening a new
database at once migrate it exactly once.
"""

from __future__ import annotations

from alembic import context

from liftlab.storage.db import MIGRATION_LOCK_KEY, create_engine
from liftlab.storage.models import Base

target_metadata = Base.metadata


def _run(connection) -> None:  # noqa: ANN001 - alembic's Connection
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        conn = conn.execution_options(liftlab_write=True)
        _run(conn)
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
