"""Storage: the session database (SQLAlchemy 2 ORM, Alembic migrations), queries and export."""
