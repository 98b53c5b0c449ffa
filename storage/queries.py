"""The biomechanist's common questions, each answered as a pandas DataFrame.

Every function takes the open :class:`~liftlab.storage.db.Database` first; filters are
keyword-only. Units are in the column names. Reasons (lists in the database) come back as
one ``"; "``-joined string per row, so the tables print and export cleanly.

=============================  =============================================================
``athlete_reps``               every rep of one athlete across sessions
``red_flags``                  red-flag reps since a date (default: the last 30 days)
``load_vs_peak``               load and %1RM against peak knee-over-foot / medial shift
``asymmetry``                  left minus right of the per-rep peak metrics
``sessions_without_alignment`` sessions with trials whose alignment is not calibrated
``strength_by_position``       strength tests of one athlete, by muscle, position and side
=============================  =============================================================
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa

from liftlab.core.errors import InputError
from liftlab.storage.db import Database
from liftlab.storage.inputs import parse_date
from liftlab.storage.models import (
    RED_FLAG_SQL,
    SIDE_METRICS,
    UNCALIBRATED_SQL,
    Athlete,
    LabSession,
    Rep,
    StrengthTest,
    Trial,
)

#: Metrics compared left vs right by :func:`asymmetry`.
ASYMMETRY_METRICS: tuple[str, ...] = (
    "medial_knee_shift_peak_mm", "knee_over_foot_peak_mm", "knee_abduction_peak_deg",
    "hip_adduction_peak_deg", "hip_int_rotation_peak_deg", "knee_flexion_peak_deg",
)
LAST_MONTH_DAYS = 30


def read_frame(db: Database, statement: sa.Select[Any]) -> pd.DataFrame:
    """Run a SELECT and return its rows as a DataFrame (column names from the statement)."""
    with db.engine.connect() as conn:
        result = conn.execute(statement)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for column in ("reasons",):
        if column in frame.columns:
            frame[column] = frame[column].map(_join_reasons)
    return frame


def _join_reasons(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return str(value)


def athlete_id(db: Database, name: str) -> int:
    """The id of athlete ``name``; an :class:`InputError` listing known names otherwise."""
    with db.read() as s:
        found = s.scalar(sa.select(Athlete.id).where(Athlete.name == name))
        if found is not None:
            return int(found)
        known = s.scalars(sa.select(Athlete.name).order_by(Athlete.name).limit(20)).all()
    raise InputError(f"No athlete named {name!r} in the database",
                     where=f"known athletes: {', '.join(known) or 'none'}",
                     fix="give the name exactly as in session.toml (--athlete)")


def rep_select(*columns: Any) -> sa.Select[Any]:
    return (sa.select(*columns)
            .select_from(Rep)
            .join(Trial, Rep.trial_id == Trial.id)
            .join(LabSession, Trial.session_id == LabSession.id)
            .join(Athlete, LabSession.athlete_id == Athlete.id))


def rep_context_columns() -> list[Any]:
    return [Athlete.name.label("athlete"), LabSession.date.label("session_date"),
            LabSession.name.label("session"), Trial.id.label("trial_id"),
            Trial.name.label("trial"), Trial.exercise, Trial.load_kg, Trial.percent_1rm,
            Rep.rep_index.label("rep")]


def _side_columns(*metrics: str) -> list[Any]:
    return [getattr(Rep, f"{side}_{m}") for m in metrics for side in ("left", "right")]


def order_reps(stmt: sa.Select[Any]) -> sa.Select[Any]:
    return stmt.order_by(Athlete.name, LabSession.date, LabSession.name, Trial.name,
                         Rep.rep_index)


def athlete_reps(db: Database, athlete: str) -> pd.DataFrame:
    """Every rep of ``athlete`` across sessions, oldest first.

    Columns: athlete, session_date, session, trial_id, trial, exercise, load_kg, percent_1rm,
    rep, start_s, bottom_s, end_s, reading, reasons, pain, left_reading, right_reading, then
    ``left_``/``right_`` of every per-side metric (mm, deg).
    """
    aid = athlete_id(db, athlete)
    stmt = rep_select(*rep_context_columns(), Rep.start_s, Rep.bottom_s, Rep.end_s, Rep.reading,
                       Rep.reasons, Rep.pain, Rep.left_reading, Rep.right_reading,
                       *_side_columns(*SIDE_METRICS))
    return read_frame(db, order_reps(stmt.where(LabSession.athlete_id == aid)))


def since_date(since: dt.date | str | None) -> dt.date:
    """``None`` or ``"last_month"``: 30 days ago; otherwise an ISO date."""
    if since is None or since == "last_month":
        return dt.date.today() - dt.timedelta(days=LAST_MONTH_DAYS)
    return parse_date(since, what="--since")


def red_flags(db: Database, since: dt.date | str | None = None, *,
              athlete: str | None = None) -> pd.DataFrame:
    """Red-flag reps in sessions on or after ``since`` (default: the last 30 days).

    Columns: athlete, session_date, session, trial_id, trial, exercise, load_kg, percent_1rm,
    rep, reasons, pain, left/right medial_knee_shift_peak_mm and knee_over_foot_peak_mm.
    """
    stmt = rep_select(*rep_context_columns(), Rep.reasons, Rep.pain,
                       *_side_columns("medial_knee_shift_peak_mm", "knee_over_foot_peak_mm"))
    since = since_date(since)
    # Literal text (not a bound parameter) so that SQLite can use the red-flag partial index.
    stmt = stmt.where(sa.text(f"reps.{RED_FLAG_SQL}"), LabSession.date >= since)
    if athlete is not None:
        stmt = stmt.where(LabSession.athlete_id == athlete_id(db, athlete))
    else:
        # Restating the date filter as IN (recent trials) lets both planners start from the
        # sessions' date index and probe the partial index (about 4x faster at lab scale).
        recent = (sa.select(Trial.id).join(LabSession, Trial.session_id == LabSession.id)
                  .where(LabSession.date >= since))
        stmt = stmt.where(Rep.trial_id.in_(recent))
    return read_frame(db, order_reps(stmt))


def load_vs_peak(db: Database, athlete: str | None = None) -> pd.DataFrame:
    """Per rep: load (kg, %1RM) against the peak knee-over-foot and medial knee shift.

    ``peak_knee_over_foot_mm`` and ``peak_medial_knee_shift_mm`` are the larger of the two
    sides (positive = medial). Without ``athlete`` every athlete's reps are returned (a
    full scan: filter by athlete for interactive use).
    """
    stmt = rep_select(*rep_context_columns(), Rep.reading,
                       *_side_columns("knee_over_foot_peak_mm", "medial_knee_shift_peak_mm"))
    if athlete is not None:
        stmt = stmt.where(LabSession.athlete_id == athlete_id(db, athlete))
    frame = read_frame(db, order_reps(stmt))
    for metric, out in (("knee_over_foot_peak_mm", "peak_knee_over_foot_mm"),
                        ("medial_knee_shift_peak_mm", "peak_medial_knee_shift_mm")):
        sides = frame[[f"left_{metric}", f"right_{metric}"]].astype(float)
        frame[out] = sides.max(axis=1, skipna=True)
    return frame


def asymmetry(db: Database, athlete: str | None = None) -> pd.DataFrame:
    """Per rep, left minus right (``lr_diff_<metric>``) of the peak metrics in
    :data:`ASYMMETRY_METRICS`; positive means the left side is larger (e.g. more medial)."""
    stmt = rep_select(*rep_context_columns(), Rep.reading, *_side_columns(*ASYMMETRY_METRICS))
    if athlete is not None:
        stmt = stmt.where(LabSession.athlete_id == athlete_id(db, athlete))
    frame = read_frame(db, order_reps(stmt))
    for metric in ASYMMETRY_METRICS:
        frame[f"lr_diff_{metric}"] = (frame[f"left_{metric}"].astype(float)
                                      - frame[f"right_{metric}"].astype(float))
    return frame


def sessions_without_alignment(db: Database) -> pd.DataFrame:
    """Sessions having trials whose alignment source is not ``"calibration"`` (or unknown).

    Those trials were read with an assumed or estimated foot alignment: the report asks for
    the 20-s knee-curl calibration movement. Columns: athlete, session_date, session,
    folder_path, n_trials (not calibrated), alignment_sources, trials (both comma-separated,
    sorted). Uses the partial index ``ix_trials_uncalibrated_session_id``.
    """
    postgres = db.dialect == "postgresql"
    source = sa.func.coalesce(Trial.alignment_source, "unknown")
    if postgres:
        sources = sa.func.string_agg(sa.distinct(source), sa.literal_column("','"))
        names = sa.func.string_agg(Trial.name, sa.literal_column("','"))
    else:
        sources = sa.func.group_concat(sa.distinct(source))
        names = sa.func.group_concat(Trial.name, ",")
    stmt = (sa.select(Athlete.name.label("athlete"), LabSession.date.label("session_date"),
                      LabSession.name.label("session"), LabSession.folder_path,
                      sa.func.count(Trial.id).label("n_trials"),
                      sources.label("alignment_sources"), names.label("trials"))
            .select_from(Trial)
            .join(LabSession, Trial.session_id == LabSession.id)
            .join(Athlete, LabSession.athlete_id == Athlete.id)
            .where(sa.text(f"({UNCALIBRATED_SQL})"), Trial.exercise != "knee_curl")
            .group_by(Athlete.name, LabSession.date, LabSession.name, LabSession.folder_path)
            .order_by(Athlete.name, LabSession.date, LabSession.name))
    frame = read_frame(db, stmt)
    for column in ("alignment_sources", "trials"):
        frame[column] = [", ".join(sorted(str(v).split(","))) for v in frame[column]]
    return frame


def strength_by_position(db: Database, athlete: str) -> pd.DataFrame:
    """Strength tests of ``athlete``: date, muscle_group, side, position, value, unit,
    method, notes, session (folder name or empty), sorted by muscle, position, side, date."""
    aid = athlete_id(db, athlete)
    stmt = (sa.select(StrengthTest.date, StrengthTest.muscle_group, StrengthTest.side,
                      StrengthTest.position, StrengthTest.value, StrengthTest.unit,
                      StrengthTest.method, StrengthTest.notes,
                      LabSession.name.label("session"))
            .select_from(StrengthTest)
            .join(LabSession, StrengthTest.session_id == LabSession.id, isouter=True)
            .where(StrengthTest.athlete_id == aid)
            .order_by(StrengthTest.muscle_group, StrengthTest.position, StrengthTest.side,
                      StrengthTest.date, StrengthTest.id))
    return read_frame(db, stmt)


def trials_table(db: Database, athlete: str | None = None) -> pd.DataFrame:
    """One row per trial with its session and athlete (for listings and export)."""
    stmt = (sa.select(Athlete.name.label("athlete"), LabSession.date.label("session_date"),
                      LabSession.name.label("session"), Trial.id.label("trial_id"),
                      Trial.name.label("trial"), Trial.exercise, Trial.load_kg,
                      Trial.one_rm_kg, Trial.percent_1rm, Trial.n_reps, Trial.reading,
                      Trial.reasons, Trial.alignment_source, Trial.alignment_left_deg,
                      Trial.alignment_right_deg, Trial.processed_at)
            .select_from(Trial)
            .join(LabSession, Trial.session_id == LabSession.id)
            .join(Athlete, LabSession.athlete_id == Athlete.id)
            .order_by(Athlete.name, LabSession.date, LabSession.name, Trial.name))
    if athlete is not None:
        stmt = stmt.where(LabSession.athlete_id == athlete_id(db, athlete))
    return read_frame(db, stmt)
