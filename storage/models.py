"""The session database schema as SQLAlchemy 2 typed ORM classes.

Units are in the column names (``_mm``, ``_deg``, ``_s``, ``_kg``, ``_px``). Every table has
an integer surrogate key ``id``; the natural keys that must stay unique are enforced with
named unique constraints:

- ``athletes(name)``
- ``sessions(athlete_id, date, name)`` (``name`` is the session folder's name)
- ``trials(session_id, name)``
- ``reps(trial_id, rep_index)``

Results of a trial (``camera_videos``, ``trajectories``, ``reps``, ``frame_series``) are
*replaced* each time the trial is saved; ``processing_runs`` keeps the history of every run
(see :mod:`liftlab.storage.repository` and ``docs/schema.md``). The Alembic migrations in
``liftlab/storage/migrations`` build exactly this schema (a test compares them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

READINGS: tuple[str, ...] = ("none", "transient", "red_flag")
POSITIONS: tuple[str, ...] = ("supine", "prone", "side_lying", "seated", "standing")
STRENGTH_UNITS: tuple[str, ...] = ("N", "Nm", "kg")
STRENGTH_SIDES: tuple[str, ...] = ("left", "right", "bilateral")
RUN_STATUSES: tuple[str, ...] = ("ok", "failed")

#: Per-side rep metrics stored as real columns ``left_<name>`` / ``right_<name>``.
SIDE_METRICS: tuple[str, ...] = (
    "medial_knee_shift_peak_mm",
    "knee_over_foot_peak_mm",
    "shank_frontal_tilt_peak_deg",
    "knee_abduction_peak_deg",
    "hip_adduction_peak_deg",
    "hip_int_rotation_peak_deg",
    "knee_flexion_peak_deg",
    "heel_lift_mm",
    "foot_rotation_deg",
    "foot_slide_mm",
)

#: Trials read without a calibrated alignment (partial index; queries must use this text).
UNCALIBRATED_SQL = "alignment_source IS NULL OR alignment_source <> 'calibration'"

#: Red-flag reps (partial index for the red-flag query).
RED_FLAG_SQL = "reading = 'red_flag'"

#: JSON on SQLite, JSONB on PostgreSQL (queryable with ``->>``).
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (needed by migrations)."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Athlete(Base):
    __tablename__ = "athletes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)


class LabSession(Base):
    """One recording session of one athlete (one session folder)."""

    __tablename__ = "sessions"
    __table_args__ = (
        sa.UniqueConstraint("athlete_id", "date", "name"),
        sa.Index(None, "athlete_id", "date"),
        sa.Index(None, "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(sa.Date)
    name: Mapped[str] = mapped_column(sa.String(200))
    folder_path: Mapped[str | None] = mapped_column(sa.Text)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    pain_outside_lifting: Mapped[list[Any] | None] = mapped_column(JSONType)
    history: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)


class Calibration(Base):
    """A camera rig used in a session (deduplicated by the SHA-256 of its TOML text)."""

    __tablename__ = "calibrations"
    __table_args__ = (sa.UniqueConstraint("session_id", "rig_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("sessions.id", ondelete="CASCADE"))
    rig_sha256: Mapped[str] = mapped_column(sa.String(64))
    rig_toml: Mapped[str] = mapped_column(sa.Text)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    camera_errors_px: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    verdict: Mapped[str | None] = mapped_column(sa.String(64))
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)


class Trial(Base):
    """One trial (set) of a session, with its context and trial-level reading."""

    __tablename__ = "trials"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "name"),
        sa.Index(None, "reading"),
        sa.Index(None, "load_kg"),
        sa.Index(None, "alignment_source"),
        sa.Index("ix_trials_uncalibrated_session_id", "session_id",
                 sqlite_where=sa.text(UNCALIBRATED_SQL), postgresql_where=sa.text(UNCALIBRATED_SQL)),
        sa.CheckConstraint(_in("reading", READINGS), name="reading"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("sessions.id", ondelete="CASCADE"))
    calibration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("calibrations.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(sa.String(200))
    exercise: Mapped[str] = mapped_column(sa.String(32))
    load_kg: Mapped[float | None] = mapped_column(sa.Float)
    one_rm_kg: Mapped[float | None] = mapped_column(sa.Float)
    percent_1rm: Mapped[float | None] = mapped_column(sa.Float)
    pain: Mapped[list[Any] | None] = mapped_column(JSONType)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    alignment_source: Mapped[str | None] = mapped_column(sa.String(32))
    alignment_left_deg: Mapped[float | None] = mapped_column(sa.Float)
    alignment_right_deg: Mapped[float | None] = mapped_column(sa.Float)
    alignment_provenance: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    n_reps: Mapped[int | None] = mapped_column(sa.Integer)
    reading: Mapped[str | None] = mapped_column(sa.String(16))
    reasons: Mapped[list[Any] | None] = mapped_column(JSONType)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    processed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class CameraVideo(Base):
    __tablename__ = "camera_videos"
    __table_args__ = (sa.UniqueConstraint("trial_id", "camera"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(sa.ForeignKey("trials.id", ondelete="CASCADE"))
    camera: Mapped[str] = mapped_column(sa.String(100))
    path: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    fps: Mapped[float | None] = mapped_column(sa.Float)
    n_frames: Mapped[int | None] = mapped_column(sa.Integer)
    width_px: Mapped[int | None] = mapped_column(sa.Integer)
    height_px: Mapped[int | None] = mapped_column(sa.Integer)


class Trajectory(Base):
    """The trial's Trajectory3D: the exact ``.npz`` bytes plus its shape as columns."""

    __tablename__ = "trajectories"

    trial_id: Mapped[int] = mapped_column(
        sa.ForeignKey("trials.id", ondelete="CASCADE"), primary_key=True)
    fps: Mapped[float] = mapped_column(sa.Float)
    n_frames: Mapped[int] = mapped_column(sa.Integer)
    n_landmarks: Mapped[int] = mapped_column(sa.Integer)
    landmarks: Mapped[list[Any]] = mapped_column(JSONType)
    frame: Mapped[str] = mapped_column(sa.String(32))
    start_time_s: Mapped[float] = mapped_column(sa.Float)
    npz: Mapped[bytes] = mapped_column(sa.LargeBinary)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Rep(Base):
    """One repetition: phases (s from trial start), reading, and per-side peak metrics."""

    __tablename__ = "reps"
    __table_args__ = (
        sa.UniqueConstraint("trial_id", "rep_index"),
        sa.Index(None, "reading"),
        sa.Index("ix_reps_red_flag_trial_id", "trial_id",
                 sqlite_where=sa.text(RED_FLAG_SQL), postgresql_where=sa.text(RED_FLAG_SQL)),
        sa.CheckConstraint(_in("reading", READINGS), name="reading"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(sa.ForeignKey("trials.id", ondelete="CASCADE"))
    rep_index: Mapped[int] = mapped_column(sa.Integer)
    start_s: Mapped[float | None] = mapped_column(sa.Float)
    bottom_s: Mapped[float | None] = mapped_column(sa.Float)
    end_s: Mapped[float | None] = mapped_column(sa.Float)
    reading: Mapped[str] = mapped_column(sa.String(16))
    reasons: Mapped[list[Any] | None] = mapped_column(JSONType)
    pain: Mapped[float | None] = mapped_column(sa.Float)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    # per-side metrics as real columns (the complete dicts are in ``metrics``)
    left_medial_knee_shift_peak_mm: Mapped[float | None] = mapped_column(sa.Float)
    left_knee_over_foot_peak_mm: Mapped[float | None] = mapped_column(sa.Float)
    left_shank_frontal_tilt_peak_deg: Mapped[float | None] = mapped_column(sa.Float)
    left_knee_abduction_peak_deg: Mapped[float | None] = mapped_column(sa.Float)
    left_hip_adduction_peak_deg: Mapped[float | None] = mapped_column(sa.Float)
    left_hip_int_rotation_peak_deg: Mapped[float | None] = mapped_column(sa.Float)
    left_knee_flexion_peak_deg: Mapped[float | None] = mapped_column(sa.Float)
    left_heel_lift_mm: Mapped[float | None] = mapped_column(sa.Float)
    left_foot_rotation_deg: Mapped[float | None] = mapped_column(sa.Float)
    left_foot_slide_mm: Mapped[float | None] = mapped_column(sa.Float)
    left_reading: Mapped[str | None] = mapped_column(sa.String(16))
    right_medial_knee_shift_peak_mm: Mapped[float | None] = mapped_column(sa.Float)
    right_knee_over_foot_peak_mm: Mapped[float | None] = mapped_column(sa.Float)
    right_shank_frontal_tilt_peak_deg: Mapped[float | None] = mapped_column(sa.Float)
    right_knee_abduction_peak_deg: Mapped[float | None] = mapped_column(sa.Float)
    right_hip_adduction_peak_deg: Mapped[float | None] = mapped_column(sa.Float)
    right_hip_int_rotation_peak_deg: Mapped[float | None] = mapped_column(sa.Float)
    right_knee_flexion_peak_deg: Mapped[float | None] = mapped_column(sa.Float)
    right_heel_lift_mm: Mapped[float | None] = mapped_column(sa.Float)
    right_foot_rotation_deg: Mapped[float | None] = mapped_column(sa.Float)
    right_foot_slide_mm: Mapped[float | None] = mapped_column(sa.Float)
    right_reading: Mapped[str | None] = mapped_column(sa.String(16))


class FrameSeries(Base):
    """The per-frame CSV of DESIGN section 3 as one Parquet blob per trial."""

    __tablename__ = "frame_series"

    trial_id: Mapped[int] = mapped_column(
        sa.ForeignKey("trials.id", ondelete="CASCADE"), primary_key=True)
    format: Mapped[str] = mapped_column(sa.String(16))
    columns: Mapped[list[Any]] = mapped_column(JSONType)
    n_rows: Mapped[int] = mapped_column(sa.Integer)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


class StrengthTest(Base):
    """An isometric strength test (handheld dynamometer or similar) in a given position."""

    __tablename__ = "strength_tests"
    __table_args__ = (
        sa.Index(None, "athlete_id", "date"),
        sa.CheckConstraint(_in("position", POSITIONS), name="position"),
        sa.CheckConstraint(_in("unit", STRENGTH_UNITS), name="unit"),
        sa.CheckConstraint(_in("side", STRENGTH_SIDES), name="side"),
        sa.CheckConstraint("value > 0", name="value_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("sessions.id", ondelete="SET NULL"))
    date: Mapped[dt.date] = mapped_column(sa.Date)
    muscle_group: Mapped[str] = mapped_column(sa.String(64))
    side: Mapped[str] = mapped_column(sa.String(16))
    position: Mapped[str] = mapped_column(sa.String(16))
    value: Mapped[float] = mapped_column(sa.Float)
    unit: Mapped[str] = mapped_column(sa.String(4))
    method: Mapped[str | None] = mapped_column(sa.Text)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)


class ProcessingRun(Base):
    """One processing of one trial: software, model, settings, timings, outcome (history)."""

    __tablename__ = "processing_runs"
    __table_args__ = (
        sa.UniqueConstraint("run_uuid", "trial_id"),
        sa.Index(None, "trial_id"),
        sa.CheckConstraint(_in("status", RUN_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_uuid: Mapped[str] = mapped_column(sa.String(64))
    trial_id: Mapped[int] = mapped_column(sa.ForeignKey("trials.id", ondelete="CASCADE"))
    software_version: Mapped[str] = mapped_column(sa.String(64))
    model: Mapped[str | None] = mapped_column(sa.String(200))
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    timings_s: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    started_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    status: Mapped[str] = mapped_column(sa.String(16))
    error: Mapped[str | None] = mapped_column(sa.Text)
