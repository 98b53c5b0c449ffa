"""Storage: the session database (SQLAlchemy 2 ORM, Alembic migrations), queries and export.

Infrastructure only: it stores what the science stages produce; science never imports it.
Public names are loaded lazily (``liftlab --help`` must not import SQLAlchemy or pandas).

>>> from liftlab.storage import open_database, save_trial_result   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC: dict[str, str] = {
    "Database": "db", "open_database": "db", "upgrade_database": "db", "resolve_url": "db",
    "SessionInfo": "inputs", "TrialInfo": "inputs", "CalibrationInfo": "inputs",
    "VideoInfo": "inputs", "RunInfo": "inputs", "StrengthMeasurement": "inputs",
    "save_trial_result": "repository", "record_failed_run": "repository",
    "save_strength_test": "repository", "load_trajectory": "repository",
    "load_series": "repository", "find_trial_id": "repository",
    "athlete_reps": "queries", "red_flags": "queries", "load_vs_peak": "queries",
    "asymmetry": "queries", "sessions_without_alignment": "queries",
    "strength_by_position": "queries", "trials_table": "queries",
    "strength_pattern": "strength", "classify_strength": "strength",
    "export_tables": "export", "export_trc": "export",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'liftlab.storage' has no attribute {name!r}")
    module = importlib.import_module(f"liftlab.storage.{_PUBLIC[name]}")
    return getattr(module, name)
