"""Export the database for other tools: CSV or Parquet tables, TRC trajectories for OpenSim.

Tables (one file each in ``out_dir``): ``sessions``, ``trials``, ``reps``, ``series`` (every
stored per-frame table, stacked, with athlete/session/trial columns in front) and
``strength_tests``. TRC: one file per stored trajectory, named
``<athlete>__<session date>__<session>__<trial>.trc`` (unsafe characters replaced by ``_``),
written by :func:`liftlab.reconstruction.trc.write_trc`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import pandas as pd
import sqlalchemy as sa

from liftlab.core.errors import InputError, StorageError
from liftlab.storage.db import Database
from liftlab.storage.models import (
    SIDE_METRICS,
    Athlete,
    FrameSeries,
    LabSession,
    Rep,
    StrengthTest,
    Trajectory,
    Trial,
)
from liftlab.storage.queries import (
    athlete_id,
    order_reps,
    read_frame,
    rep_context_columns,
    rep_select,
    trials_table,
)
from liftlab.storage.repository import series_from_bytes, trajectory_from_bytes

TableFormat = Literal["csv", "parquet"]
ExportFormat = Literal["csv", "parquet", "trc"]


def safe_name(text: str) -> str:
    """``text`` reduced to letters, digits, ``-``, ``_`` and ``.`` (for file names)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "unnamed"


def _filter(stmt: sa.Select, aid: int | None) -> sa.Select:
    return stmt if aid is None else stmt.where(LabSession.athlete_id == aid)


def sessions_table(db: Database, *, athlete: str | None = None) -> pd.DataFrame:
    aid = None if athlete is None else athlete_id(db, athlete)
    stmt = (sa.select(Athlete.name.label("athlete"), LabSession.id.label("session_id"),
                      LabSession.date.label("session_date"), LabSession.name.label("session"),
                      LabSession.folder_path, LabSession.notes, LabSession.pain_outside_lifting)
            .select_from(LabSession).join(Athlete, LabSession.athlete_id == Athlete.id)
            .order_by(Athlete.name, LabSession.date, LabSession.name))
    frame = read_frame(db, _filter(stmt, aid))
    frame["pain_outside_lifting"] = frame["pain_outside_lifting"].map(
        lambda v: "; ".join(v) if isinstance(v, list) else ("" if v is None else str(v)))
    return frame


def reps_table(db: Database, *, athlete: str | None = None) -> pd.DataFrame:
    """Every rep with its context (all athletes unless ``athlete``)."""
    aid = None if athlete is None else athlete_id(db, athlete)
    side_cols = [getattr(Rep, f"{side}_{m}") for side in ("left", "right")
                 for m in (*SIDE_METRICS, "reading")]
    stmt = rep_select(*rep_context_columns(), Rep.start_s, Rep.bottom_s, Rep.end_s, Rep.reading,
                       Rep.reasons, Rep.pain, *side_cols)
    return read_frame(db, order_reps(_filter(stmt, aid)))


def series_table(db: Database, *, athlete: str | None = None) -> pd.DataFrame:
    """All per-frame tables stacked, with athlete, session_date, session, trial in front."""
    aid = None if athlete is None else athlete_id(db, athlete)
    stmt = (sa.select(Athlete.name, LabSession.date, LabSession.name, Trial.name,
                      FrameSeries.data)
            .select_from(FrameSeries).join(Trial, FrameSeries.trial_id == Trial.id)
            .join(LabSession, Trial.session_id == LabSession.id)
            .join(Athlete, LabSession.athlete_id == Athlete.id)
            .order_by(Athlete.name, LabSession.date, LabSession.name, Trial.name))
    parts = []
    with db.engine.connect() as conn:
        for name, date, session, trial, data in conn.execute(_filter(stmt, aid)):
            frame = series_from_bytes(bytes(data))
            frame.insert(0, "trial", trial)
            frame.insert(0, "session", session)
            frame.insert(0, "session_date", date)
            frame.insert(0, "athlete", name)
            parts.append(frame)
    if not parts:
        return pd.DataFrame(columns=["athlete", "session_date", "session", "trial", "time_s"])
    return pd.concat(parts, ignore_index=True)


def strength_table(db: Database, *, athlete: str | None = None) -> pd.DataFrame:
    aid = None if athlete is None else athlete_id(db, athlete)
    stmt = (sa.select(Athlete.name.label("athlete"), StrengthTest.date, StrengthTest.muscle_group,
                      StrengthTest.side, StrengthTest.position, StrengthTest.value,
                      StrengthTest.unit, StrengthTest.method, StrengthTest.notes)
            .select_from(StrengthTest).join(Athlete, StrengthTest.athlete_id == Athlete.id)
            .order_by(Athlete.name, StrengthTest.date, StrengthTest.id))
    if aid is not None:
        stmt = stmt.where(StrengthTest.athlete_id == aid)
    return read_frame(db, stmt)


def export_tables(db: Database, out_dir: str | Path, *, fmt: TableFormat = "csv",
                  athlete: str | None = None) -> list[Path]:
    """Write sessions, trials, reps, series and strength_tests as CSV or Parquet files."""
    if fmt not in ("csv", "parquet"):
        raise InputError(f"Expected table format csv or parquet, got {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = {"sessions": sessions_table(db, athlete=athlete),
              "trials": trials_table(db, athlete),
              "reps": reps_table(db, athlete=athlete),
              "series": series_table(db, athlete=athlete),
              "strength_tests": strength_table(db, athlete=athlete)}
    written = []
    for name, frame in tables.items():
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        written.append(path)
    return written


def export_trc(db: Database, out_dir: str | Path, *, athlete: str | None = None) -> list[Path]:
    """One TRC file per stored trajectory (lab frame, mm), named after athlete/session/trial."""
    try:
        from liftlab.reconstruction.trc import write_trc
    except ImportError as error:
        raise StorageError(f"TRC export is not available: {error}",
                           fix="install liftlab completely (liftlab.reconstruction.trc)") from None
    aid = None if athlete is None else athlete_id(db, athlete)
    stmt = (sa.select(Athlete.name, LabSession.date, LabSession.name, Trial.name, Trajectory.npz)
            .select_from(Trajectory).join(Trial, Trajectory.trial_id == Trial.id)
            .join(LabSession, Trial.session_id == LabSession.id)
            .join(Athlete, LabSession.athlete_id == Athlete.id)
            .order_by(Athlete.name, LabSession.date, LabSession.name, Trial.name))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with db.engine.connect() as conn:
        for name, date, session, trial, data in conn.execute(_filter(stmt, aid)):
            stem = "__".join(safe_name(p) for p in (name, str(date), session, trial))
            path = out / f"{stem}.trc"
            write_trc(trajectory_from_bytes(bytes(data)), path)
            written.append(path)
    return written


def export(db: Database, out_dir: str | Path, *, fmt: ExportFormat = "csv",
           athlete: str | None = None) -> list[Path]:
    """``liftlab export``: tables (csv, parquet) or trajectories (trc) into ``out_dir``."""
    if fmt == "trc":
        return export_trc(db, out_dir, athlete=athlete)
    return export_tables(db, out_dir, fmt=fmt, athlete=athlete)
