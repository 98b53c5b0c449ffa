"""Opening the database: URLs, clear connection errors, migrations == models, SQLite settings."""

from __future__ import annotations

import multiprocessing as mp

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from test_storage_fixtures import PG_SKIP, PG_URL

from liftlab.cli import main
from liftlab.core.errors import StorageError
from liftlab.storage.db import (
    create_engine,
    open_database,
    resolve_url,
    safe_url,
    schema_is_current,
)
from liftlab.storage.models import Base

pytest_plugins = ["test_storage_fixtures"]  # fixtures db_url, db (SQLite + PostgreSQL)


def test_resolve_url_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIFTLAB_DB", raising=False)
    assert resolve_url(None) == "sqlite:///liftlab.db"
    monkeypatch.setenv("LIFTLAB_DB", "sqlite:///from_env.db")
    assert resolve_url(None) == "sqlite:///from_env.db"
    assert resolve_url("sqlite:///given.db") == "sqlite:///given.db"


def test_plain_postgresql_url_uses_psycopg() -> None:
    engine = create_engine("postgresql://u:secret@127.0.0.1:5432/x")
    assert engine.url.drivername == "postgresql+psycopg"
    assert safe_url(engine.url) == "postgresql+psycopg://u@127.0.0.1:5432/x"


@pytest.mark.parametrize(("url", "match"), [
    ("mysql://u:pw@localhost/x", "Expected a sqlite or postgresql database"),
    ("not a url at all", "Expected a database URL"),
    ("sqlite:////no/such/folder/liftlab.db", "cannot connect to sqlite:////no/such/folder"),
    ("postgresql://liftlab:s3cret-pw@127.0.0.1:1/liftlab", "cannot connect to postgresql"),
])
def test_bad_urls_give_one_clear_error(url: str, match: str) -> None:
    with pytest.raises(StorageError, match=match) as info:
        open_database(url)
    assert "s3cret-pw" not in str(info.value)
    assert "Fix:" in str(info.value)


def test_missing_sqlite_file_is_an_error_when_not_creating(tmp_path) -> None:
    with pytest.raises(StorageError, match="No database at"):
        open_database(f"sqlite:///{tmp_path / 'absent.db'}", create=False)
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.postgres
def test_bad_credentials_name_the_url_not_the_password() -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    url = sa.make_url(PG_URL)
    bad = url.set(username="no_such_role_liftlab", password="s3cret-pw")
    with pytest.raises(StorageError, match=r"cannot connect to postgresql\+psycopg://"
                                           r"no_such_role_liftlab@.*Fix: check --db") as info:
        open_database(bad.render_as_string(hide_password=False))
    assert "s3cret-pw" not in str(info.value)


def test_cli_reports_bad_db_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["query", "trials", "--db", "postgresql://liftlab:s3cret-pw@127.0.0.1:1/x"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("liftlab: error: cannot connect to postgresql")
    assert "Traceback" not in err and "s3cret-pw" not in err
    assert len(err.strip().splitlines()) == 1


def test_migrations_build_exactly_the_models(db) -> None:
    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
    assert schema_is_current(db.engine)


def test_open_twice_keeps_data_and_schema(db_url) -> None:
    first = open_database(db_url)
    with first.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO athletes (name, created_at) "
                             "VALUES ('A', CURRENT_TIMESTAMP)")
    first.dispose()
    second = open_database(db_url)
    with second.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM athletes").scalar_one() == 1
    second.dispose()


def test_sqlite_runs_wal_with_foreign_keys(tmp_path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        with pytest.raises(sa.exc.IntegrityError):
            conn.exec_driver_sql("INSERT INTO sessions (athlete_id, date, name, created_at) "
                                 "VALUES (999, '2026-01-01', 's', CURRENT_TIMESTAMP)")
    db.dispose()


def _open_and_count(args: tuple[str, object]) -> int:
    url, barrier = args
    barrier.wait(timeout=120)  # all processes open the new database together
    db = open_database(url)
    with db.engine.connect() as conn:
        count = conn.exec_driver_sql("SELECT count(*) FROM athletes").scalar_one()
    db.dispose()
    return int(count)


@pytest.mark.slow
def test_several_processes_create_one_new_database(db_url) -> None:
    context = mp.get_context("spawn")
    with context.Manager() as manager, context.Pool(3) as pool:
        barrier = manager.Barrier(3)
        counts = pool.map(_open_and_count, [(db_url, barrier)] * 3)
    assert counts == [0, 0, 0]


def test_an_old_database_is_upgraded_on_open(db_url) -> None:
    from alembic import command
    from alembic.config import Config

    from liftlab.storage.db import MIGRATIONS_DIR

    engine = create_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.commit()
    assert not schema_is_current(engine)
    assert "ix_trials_uncalibrated_session_id" not in {
        ix["name"] for ix in sa.inspect(engine).get_indexes("trials")}
    engine.dispose()
    db = open_database(db_url)
    assert schema_is_current(db.engine)
    assert "ix_trials_uncalibrated_session_id" in {
        ix["name"] for ix in sa.inspect(db.engine).get_indexes("trials")}
    db.dispose()
