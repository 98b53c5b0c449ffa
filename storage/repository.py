"""Idempotent writes and exact reads of trial results.

Rule: **replace + history.** A trial is identified by (athlete, session date, session name,
trial name). :func:`save_trial_result` writes everything about one trial in ONE transaction:
it upserts the athlete, session, calibration and trial rows, deletes the trial's previous
results (videos, trajectory, reps, per-frame series) and inserts the new ones, and upserts
one ``processing_runs`` row keyed by ``(run_uuid, trial)``. So processing a session twice
leaves one set of results plus one history row per run, saving the same run twice changes
nothing, and a failure anywhere leaves the previous results untouched.

Concurrency: the athlete/session/trial rows are taken with ``INSERT ... ON CONFLICT DO
UPDATE ... RETURNING id`` (race-free get-or-create; on PostgreSQL it also locks the trial row
until commit, so two writers of one trial queue). Transient PostgreSQL failures
(serialization, deadlock) are retried by :meth:`Database.write`; SQLite writers queue on
``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from liftlab.core.containers import Trajectory3D
from liftlab.core.errors import InputError, check_all
from liftlab.storage.db import Database, jsonable
from liftlab.storage.inputs import (
    CalibrationInfo,
    RunInfo,
    SessionInfo,
    StrengthMeasurement,
    TrialInfo,
    VideoInfo,
)
from liftlab.storage.models import (
    READINGS,
    SIDE_METRICS,
    Athlete,
    Calibration,
    CameraVideo,
    FrameSeries,
    LabSession,
    ProcessingRun,
    Rep,
    StrengthTest,
    Trajectory,
    Trial,
)

SERIES_FORMAT = "parquet"
_REP_KEYS = {"index", "start_s", "bottom_s", "end_s", "reading", "reasons", "left", "right",
             "pain"}
_TRIAL_KEYS = {"reps", "reading", "reasons", "alignment", "exercise", "load_kg", "one_rm_kg",
               "percent_1rm"}


# --------------------------------------------------------------------------- validation
def check_analysis(analysis: Mapping[str, Any]) -> list[str]:
    """Problems with a ``liftlab analyze`` JSON dict (DESIGN section 3); empty when valid."""
    problems: list[str] = []
    if not isinstance(analysis, Mapping):
        return [f"analysis_json must be a dict, got {type(analysis).__name__}"]
    trial = analysis.get("trial")
    reps = analysis.get("reps")
    if not isinstance(trial, Mapping):
        problems.append("analysis_json['trial'] must be a dict")
        trial = {}
    if not isinstance(reps, list):
        problems.append("analysis_json['reps'] must be a list")
        reps = []
    if trial.get("reading") is not None and trial.get("reading") not in READINGS:
        problems.append(f"trial reading must be one of {READINGS}, got {trial.get('reading')!r}")
    if "reps" in trial and trial["reps"] != len(reps):
        problems.append(f"trial says {trial['reps']} reps but {len(reps)} are listed")
    alignment = trial.get("alignment", {})
    if alignment is not None and not isinstance(alignment, Mapping):
        problems.append("trial alignment must be a dict {source, left_deg, right_deg}")
    seen: set[int] = set()
    for i, rep in enumerate(reps):
        if not isinstance(rep, Mapping):
            problems.append(f"rep #{i} must be a dict")
            continue
        index = rep.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 1:
            problems.append(f"rep #{i}: index must be an integer >= 1, got {index!r}")
        elif index in seen:
            problems.append(f"rep index {index} appears twice")
        else:
            seen.add(index)
        if rep.get("reading") not in READINGS:
            problems.append(f"rep #{i}: reading must be one of {READINGS}, "
                            f"got {rep.get('reading')!r}")
        for side in ("left", "right"):
            if rep.get(side) is not None and not isinstance(rep.get(side), Mapping):
                problems.append(f"rep #{i}: {side} must be a dict of metrics")
    return problems


def _series_problems(series_df: Any) -> list[str]:
    if not isinstance(series_df, pd.DataFrame):
        return [f"series_df must be a pandas DataFrame, got {type(series_df).__name__}"]
    if "time_s" not in series_df.columns:
        return ["series_df must have a time_s column (DESIGN section 3 CSV columns)"]
    if len(set(map(str, series_df.columns))) != series_df.shape[1]:
        return ["series_df column names must be unique strings"]
    return []


# --------------------------------------------------------------------------- encoding
def trajectory_to_bytes(trajectory: Trajectory3D) -> bytes:
    """The exact ``.npz`` bytes :meth:`Trajectory3D.save` writes."""
    with tempfile.TemporaryDirectory(prefix="liftlab-traj-") as tmp:
        path = trajectory.save(Path(tmp) / "trajectory.npz")
        return path.read_bytes()


def trajectory_from_bytes(data: bytes) -> Trajectory3D:
    with tempfile.TemporaryDirectory(prefix="liftlab-traj-") as tmp:
        path = Path(tmp) / "trajectory.npz"
        path.write_bytes(data)
        return Trajectory3D.load(path)


def series_to_bytes(series_df: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    series_df.to_parquet(buffer, index=False)
    return buffer.getvalue()


def series_from_bytes(data: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(data))


def _num(value: Any) -> float | None:
    """A finite float or None (NaN, inf, missing)."""
    cleaned = jsonable(value)
    return float(cleaned) if isinstance(cleaned, (int, float)) and not isinstance(cleaned, bool) \
        else None


# --------------------------------------------------------------------------- upserts
def _insert(session: Session, model: type) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def _upsert_id(session: Session, model: type, values: dict[str, Any], keys: Sequence[str],
               update: Sequence[str] = ()) -> int:
    """Insert or update on the unique ``keys``; the row's id (race-free get-or-create)."""
    stmt = _insert(session, model).values(**values)
    columns = list(update) or [keys[0]]  # a no-op update still returns (and locks) the row
    stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={c: stmt.excluded[c] for c in columns})
    primary = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    return int(session.execute(stmt.returning(primary)).scalar_one())


def _athlete_id(session: Session, name: str) -> int:
    return _upsert_id(session, Athlete, {"name": name.strip()}, ["name"])


def _session_id(session: Session, info: SessionInfo) -> int:
    athlete_id = _athlete_id(session, info.athlete)
    values = {"athlete_id": athlete_id, "date": info.date, "name": info.name,
              "folder_path": info.folder_path, "notes": info.notes or None,
              "pain_outside_lifting": list(info.pain_outside_lifting),
              "history": jsonable(dict(info.history))}
    return _upsert_id(session, LabSession, values, ["athlete_id", "date", "name"],
                      ["folder_path", "notes", "pain_outside_lifting", "history"])


def _calibration_id(session: Session, session_id: int, info: CalibrationInfo) -> int:
    values = {"session_id": session_id, "rig_sha256": info.sha256, "rig_toml": info.rig_toml,
              "parameters": jsonable(dict(info.parameters)) if info.parameters else None,
              "camera_errors_px": jsonable(dict(info.camera_errors_px)),
              "verdict": info.verdict, "provenance": jsonable(dict(info.provenance))}
    return _upsert_id(session, Calibration, values, ["session_id", "rig_sha256"],
                      ["parameters", "camera_errors_px", "verdict", "provenance"])


def _trial_values(info: TrialInfo, analysis: Mapping[str, Any] | None) -> dict[str, Any]:
    trial = dict((analysis or {}).get("trial") or {})
    alignment = dict(trial.get("alignment") or {})
    return {"exercise": info.exercise, "load_kg": info.load_kg, "one_rm_kg": info.one_rm_kg,
            "percent_1rm": info.percent_1rm, "pain": list(info.pain), "notes": info.notes or None,
            "alignment_source": alignment.get("source"),
            "alignment_left_deg": _num(alignment.get("left_deg")),
            "alignment_right_deg": _num(alignment.get("right_deg")),
            "alignment_provenance": jsonable({k: v for k, v in alignment.items()
                                              if k not in ("source", "left_deg", "right_deg")}),
            "n_reps": len((analysis or {}).get("reps") or []) if analysis is not None else None,
            "reading": trial.get("reading"), "reasons": jsonable(list(trial.get("reasons", []))),
            "details": _trial_details(analysis)}


def _trial_details(analysis: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Everything of the analyze JSON's trial dict without a column of its own (rules,
    consistency, warnings, ...) plus its top-level extras (e.g. ``settings``)."""
    if analysis is None:
        return None
    trial = {k: v for k, v in dict(analysis.get("trial") or {}).items()
             if k not in _TRIAL_KEYS}
    top = {k: v for k, v in analysis.items() if k not in ("trial", "reps")}
    return jsonable({**trial, **top}) or None


def _trial_id(session: Session, session_id: int, info: TrialInfo, values: dict[str, Any]) -> int:
    return _upsert_id(session, Trial, {"session_id": session_id, "name": info.name, **values},
                      ["session_id", "name"], list(values))


def rep_row(trial_id: int, rep: Mapping[str, Any], trial_info: TrialInfo) -> dict[str, Any]:
    """One ``reps`` row from one rep of the analyze JSON."""
    index = int(rep["index"])
    left, right = dict(rep.get("left") or {}), dict(rep.get("right") or {})
    row: dict[str, Any] = {
        "trial_id": trial_id, "rep_index": index, "start_s": _num(rep.get("start_s")),
        "bottom_s": _num(rep.get("bottom_s")), "end_s": _num(rep.get("end_s")),
        "reading": rep["reading"], "reasons": jsonable(list(rep.get("reasons") or [])),
        "pain": _num(rep["pain"]) if rep.get("pain") is not None
        else trial_info.pain_for_rep(index),
        "metrics": jsonable({"left": left, "right": right}),
        "extra": jsonable({k: v for k, v in rep.items() if k not in _REP_KEYS}) or None,
    }
    for side, metrics in (("left", left), ("right", right)):
        for name in SIDE_METRICS:
            row[f"{side}_{name}"] = _num(metrics.get(name))
        reading = metrics.get("reading")
        row[f"{side}_reading"] = None if reading is None else str(reading)
    return row


def _delete_results(session: Session, trial_id: int) -> None:
    for model in (CameraVideo, Trajectory, Rep, FrameSeries):
        session.execute(sa.delete(model).where(model.trial_id == trial_id))


def _insert_videos(session: Session, trial_id: int, videos: Sequence[VideoInfo]) -> None:
    if videos:
        session.execute(sa.insert(CameraVideo), [
            {"trial_id": trial_id, "camera": v.camera, "path": str(v.path), "sha256": v.sha256,
             "fps": _num(v.fps), "n_frames": v.n_frames, "width_px": v.width_px,
             "height_px": v.height_px} for v in videos])


def _insert_trajectory(session: Session, trial_id: int, trajectory: Trajectory3D) -> None:
    session.execute(sa.insert(Trajectory).values(
        trial_id=trial_id, fps=float(trajectory.fps), n_frames=trajectory.n_frames,
        n_landmarks=len(trajectory.landmarks), landmarks=list(trajectory.landmarks),
        frame=trajectory.frame, start_time_s=float(trajectory.start_time_s),
        npz=trajectory_to_bytes(trajectory), provenance=jsonable(trajectory.provenance)))


def _insert_reps(session: Session, trial_id: int, analysis: Mapping[str, Any],
                 trial_info: TrialInfo) -> None:
    rows = [rep_row(trial_id, rep, trial_info) for rep in analysis.get("reps", [])]
    if rows:
        session.execute(sa.insert(Rep), rows)


def _insert_series(session: Session, trial_id: int, series_df: pd.DataFrame) -> None:
    session.execute(sa.insert(FrameSeries).values(
        trial_id=trial_id, format=SERIES_FORMAT, columns=[str(c) for c in series_df.columns],
        n_rows=int(len(series_df)), data=series_to_bytes(series_df)))


def _upsert_run(session: Session, trial_id: int, run: RunInfo) -> None:
    values = {"software_version": run.software_version, "model": run.model,
              "settings": jsonable(dict(run.settings)), "timings_s": jsonable(dict(run.timings_s)),
              "started_at": run.started_at, "finished_at": run.finished_at,
              "status": run.status, "error": run.error}
    _upsert_id(session, ProcessingRun, {"run_uuid": run.run_uuid, "trial_id": trial_id, **values},
               ["run_uuid", "trial_id"], list(values))


# --------------------------------------------------------------------------- public writes
def save_trial_result(db: Database, *, session_info: SessionInfo, trial_info: TrialInfo,
                      calibration: CalibrationInfo | None = None,
                      videos: Sequence[VideoInfo] = (),
                      trajectory: Trajectory3D | None = None,
                      analysis_json: Mapping[str, Any] | None = None,
                      series_df: pd.DataFrame | None = None,
                      run_info: RunInfo | None = None) -> int:
    """Store one processed trial, replacing its previous results, in one transaction.

    Parameters
    ----------
    db
        The open database.
    session_info, trial_info
        Identify the trial (athlete, session date + folder name, trial name) and its context.
    calibration
        The rig used (deduplicated per session by the SHA-256 of its TOML text).
    videos
        One :class:`VideoInfo` per camera.
    trajectory
        The trial's 3D trajectory; stored as its exact ``.npz`` bytes.
    analysis_json
        The ``liftlab analyze`` JSON (DESIGN section 3): ``trial{reps, reading, reasons,
        alignment{source, left_deg, right_deg}}`` and ``reps[...]``.
    series_df
        The per-frame table with the DESIGN CSV columns (``time_s`` first); stored as one
        Parquet blob per trial and loaded back by :func:`load_series`.
    run_info
        Provenance of this processing run (a new run id when omitted).

    Returns
    -------
    int
        The trial's id (stable across re-saves).

    Raises
    ------
    InputError
        Invalid inputs (every problem listed); nothing is written.
    """
    problems: list[str] = []
    if analysis_json is not None:
        problems += check_analysis(analysis_json)
    if series_df is not None:
        problems += _series_problems(series_df)
    if trajectory is not None and not isinstance(trajectory, Trajectory3D):
        problems.append(f"trajectory must be a Trajectory3D, got {type(trajectory).__name__}")
    cameras = [v.camera for v in videos]
    if len(set(cameras)) != len(cameras):
        problems.append(f"video cameras must be unique, got {cameras}")
    where = f"trial {trial_info.name!r} of {session_info.athlete!r} {session_info.date}"
    check_all(problems, where=where, fix="pass the outputs of `liftlab analyze` unchanged")
    run = run_info or RunInfo()
    trial_values = _trial_values(trial_info, analysis_json)
    trial_values["processed_at"] = run.finished_at

    def write(session: Session) -> int:
        session_id = _session_id(session, session_info)
        values = dict(trial_values)
        values["calibration_id"] = (None if calibration is None
                                    else _calibration_id(session, session_id, calibration))
        trial_id = _trial_id(session, session_id, trial_info, values)
        _delete_results(session, trial_id)
        _insert_videos(session, trial_id, videos)
        if trajectory is not None:
            _insert_trajectory(session, trial_id, trajectory)
        if analysis_json is not None:
            _insert_reps(session, trial_id, analysis_json, trial_info)
        if series_df is not None:
            _insert_series(session, trial_id, series_df)
        _upsert_run(session, trial_id, run)
        return trial_id

    return db.write(write)


def record_failed_run(db: Database, *, session_info: SessionInfo, trial_info: TrialInfo,
                      run_info: RunInfo) -> int:
    """Record a failed processing of a trial; its previous results stay as they were."""
    if run_info.status != "failed":
        raise InputError("record_failed_run needs RunInfo(status='failed', error=...)")

    def write(session: Session) -> int:
        session_id = _session_id(session, session_info)
        trial_id = _upsert_id(session, Trial, {"session_id": session_id, "name": trial_info.name,
                                               "exercise": trial_info.exercise},
                              ["session_id", "name"])
        _upsert_run(session, trial_id, run_info)
        return trial_id

    return db.write(write)


def save_strength_test(db: Database, measurement: StrengthMeasurement) -> int:
    """Store one strength test; the athlete is created when new. Returns the row id.

    ``measurement.session`` (optional) names one of the athlete's sessions by folder name or
    by date (YYYY-MM-DD, when that date has exactly one session).
    """

    def write(session: Session) -> int:
        athlete_id = _athlete_id(session, measurement.athlete)
        session_id, date = None, measurement.date
        if measurement.session:
            session_id, session_date = _find_session(session, athlete_id, measurement.athlete,
                                                     measurement.session)
            date = date or session_date
        row = StrengthTest(athlete_id=athlete_id, session_id=session_id, date=date,
                           muscle_group=measurement.muscle_group, side=measurement.side,
                           position=measurement.position, value=float(measurement.value),
                           unit=measurement.unit, method=measurement.method or None,
                           notes=measurement.notes or None)
        session.add(row)
        session.flush()
        return int(row.id)

    return db.write(write)


def _find_session(session: Session, athlete_id: int, athlete: str,
                  key: str) -> tuple[int, dt.date]:
    """(id, date) of the athlete's session named ``key`` (folder name, or a unique date)."""
    query = sa.select(LabSession.id, LabSession.name, LabSession.date).where(
        LabSession.athlete_id == athlete_id)
    rows = session.execute(query).all()
    matches = [(int(r.id), r.date) for r in rows if r.name == key or str(r.date) == key]
    if len(matches) != 1:
        known = ", ".join(f"{r.name} ({r.date})" for r in rows) or "none"
        found = "no session" if not matches else f"{len(matches)} sessions"
        raise InputError(f"{found} of {athlete!r} match {key!r}", where=f"sessions: {known}",
                         fix="give the session folder name, or omit --session")
    return matches[0]


# --------------------------------------------------------------------------- reads
def find_trial_id(db: Database, *, athlete: str, trial: str, session: str | None = None) -> int:
    """The id of ``trial`` of ``athlete`` (in ``session``: folder name or date, when given)."""
    query = (sa.select(Trial.id, LabSession.name, LabSession.date)
             .join(LabSession, Trial.session_id == LabSession.id)
             .join(Athlete, LabSession.athlete_id == Athlete.id)
             .where(Athlete.name == athlete, Trial.name == trial))
    with db.read() as s:
        rows = s.execute(query).all()
    if session is not None:
        rows = [r for r in rows if session in (r.name, str(r.date))]
    if len(rows) != 1:
        raise InputError(f"{len(rows)} trials named {trial!r} for athlete {athlete!r}"
                         + (f" in session {session!r}" if session else ""),
                         fix="name the session (folder name or date) to pick one")
    return int(rows[0].id)


def load_trajectory(db: Database, trial_id: int) -> Trajectory3D:
    """The stored :class:`Trajectory3D` of a trial, exactly as saved."""
    with db.read() as s:
        data = s.scalar(sa.select(Trajectory.npz).where(Trajectory.trial_id == trial_id))
    if data is None:
        raise InputError(f"No trajectory stored for trial id {trial_id}",
                         fix="process the trial first (`liftlab process`)")
    return trajectory_from_bytes(bytes(data))


def load_series(db: Database, trial_id: int) -> pd.DataFrame:
    """The stored per-frame table of a trial (DESIGN CSV columns), exactly as saved."""
    with db.read() as s:
        row = s.execute(sa.select(FrameSeries.format, FrameSeries.data)
                        .where(FrameSeries.trial_id == trial_id)).first()
    if row is None:
        raise InputError(f"No per-frame series stored for trial id {trial_id}",
                         fix="process the trial first (`liftlab process`)")
    if row.format != SERIES_FORMAT:
        raise InputError(f"Series of trial id {trial_id} is stored as {row.format!r}; this "
                         f"liftlab reads {SERIES_FORMAT!r}", fix="upgrade liftlab")
    return series_from_bytes(bytes(row.data))
