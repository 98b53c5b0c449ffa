"""Reports: one PDF per athlete for the coach.

``build_report(db_url_or_db, athlete, *, session=None, out, page="a4")`` and
``build_session_reports(db, session_id, out_dir)`` (in :mod:`liftlab.reports.pdf`); the data
they read is :func:`liftlab.reports.data.load_report_data`. Imported lazily so that
``import liftlab.reports`` stays light (no matplotlib or reportlab until a report is made).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report", "build_session_reports", "load_report_data"]


def __getattr__(name: str) -> Any:
    if name in ("build_report", "build_session_reports"):
        from liftlab.reports import pdf

        return getattr(pdf, name)
    if name == "load_report_data":
        from liftlab.reports.data import load_report_data

        return load_report_data
    raise AttributeError(f"module 'liftlab.reports' has no attribute {name!r}")
