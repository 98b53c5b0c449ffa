"""Everything one coach report needs, read from the session database into plain containers.

:func:`load_report_data` is the only place the report touches the database: it finds the
athlete and the session, reads the trials, reps, per-frame series, videos, provenance,
strength tests and a summary of every other session (for the trend), and hands on one
:class:`ReportData`. Figures and layout work from that alone.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from liftlab.core.errors import InputError, LiftlabError
from liftlab.metrics.settings import ReadingThresholds, load_thresholds
from liftlab.reports.text import Reason, parse_reasons
from liftlab.storage.db import Database
from liftlab.storage.models import (
    SIDE_METRICS,
    Athlete,
    Calibration,
    CameraVideo,
    FrameSeries,
    LabSession,
    ProcessingRun,
    Rep,
    StrengthTest,
    Trial,
)
from liftlab.storage.repository import series_from_bytes

log = logging.getLogger(__name__)

#: The alignment calibration movement: recorded, but not read for valgus.
CALIBRATION_EXERCISE = "knee_curl"


@dataclass(frozen=True)
class RepData:
    """One stored repetition: phases (s), reading, reasons, pain, per-side peak metrics."""

    index: int
    start_s: float | None
    bottom_s: float | None
    end_s: float | None
    reading: str
    reasons: tuple[Reason, ...]
    pain: float | None
    left: dict[str, Any]
    right: dict[str, Any]
    rules: tuple[dict[str, Any], ...] = ()

    def side(self, side: str) -> dict[str, Any]:
        return self.left if side == "left" else self.right

    def peak_mm(self, side: str) -> float | None:
        return self.side(side).get("medial_knee_shift_peak_mm")


@dataclass(frozen=True)
class VideoData:
    """A camera's video of the trial and where its 2D keypoints should be."""

    camera: str
    path: Path
    fps: float | None
    keypoints_path: Path | None


@dataclass(frozen=True)
class Provenance:
    """What made the numbers: software, model, calibration quality, settings of the run."""

    software_version: str | None = None
    model: str | None = None
    processed_at: dt.datetime | None = None
    calibration_verdict: str | None = None
    camera_errors_px: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class TrialData:
    """One trial (set) with its context, reading, reps and per-frame series (or None)."""

    id: int
    name: str
    exercise: str
    load_kg: float | None
    one_rm_kg: float | None
    percent_1rm: float | None
    pain: tuple[float, ...]
    alignment_source: str | None
    alignment_left_deg: float | None
    alignment_right_deg: float | None
    reading: str | None
    reasons: tuple[Reason, ...]
    reps: tuple[RepData, ...]
    series: pd.DataFrame | None
    videos: tuple[VideoData, ...]
    provenance: Provenance

    @property
    def is_calibration(self) -> bool:
        return self.exercise == CALIBRATION_EXERCISE

    def peak_mm(self, side: str) -> float | None:
        """Largest medial knee shift over the trial's reps on ``side`` (None when none)."""
        values = [v for r in self.reps if (v := r.peak_mm(side)) is not None]
        return max(values) if values else None

    def mean_peak_mm(self, side: str) -> float | None:
        values = [v for r in self.reps if (v := r.peak_mm(side)) is not None]
        return float(np.mean(values)) if values else None

    def max_metric(self, name: str) -> float | None:
        """Largest per-side rep metric ``name`` over both sides and every rep."""
        values = [v for r in self.reps for s in (r.left, r.right)
                  if (v := s.get(name)) is not None]
        return max(values) if values else None

    def n_valgus_reps(self) -> int:
        return sum(r.reading != "none" for r in self.reps)


@dataclass(frozen=True)
class SessionData:
    """The session the report is about, with its processed trials in recording order."""

    id: int
    date: dt.date
    name: str
    folder_path: str | None
    notes: str | None
    pain_outside_lifting: tuple[str, ...]
    trials: tuple[TrialData, ...]

    @property
    def lifts(self) -> tuple[TrialData, ...]:
        """The trials read for valgus (the knee-curl calibration movement excluded)."""
        return tuple(t for t in self.trials if not t.is_calibration)


@dataclass(frozen=True)
class SessionSummary:
    """One session of the athlete, summarised for the trend across sessions."""

    id: int
    date: dt.date
    name: str
    n_trials: int
    n_reps: int
    n_red_flag_reps: int
    median_peak_left_mm: float | None
    median_peak_right_mm: float | None
    max_load_kg: float | None


@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything one athlete's report shows."""

    athlete: str
    session: SessionData
    history: tuple[SessionSummary, ...]
    strength: pd.DataFrame
    strength_pattern: pd.DataFrame | None
    thresholds: ReadingThresholds
    threshold_source: str


def _close_names(name: str, names: list[str]) -> list[str]:
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=5, cutoff=0.5)
    contains = [n for n in names if name.lower() in n.lower() or n.lower() in name.lower()]
    return list(dict.fromkeys([lowered[c] for c in close] + contains))


def find_athlete(s: Session, athlete: str) -> Athlete:
    """The athlete named ``athlete`` (exact, else a unique case-insensitive match).

    Raises
    ------
    InputError
        No such athlete; the message lists close names (or every name when few).
    """
    row = s.scalar(sa.select(Athlete).where(Athlete.name == athlete))
    if row is not None:
        return row
    names = list(s.scalars(sa.select(Athlete.name).order_by(Athlete.name)))
    same = [n for n in names if n.lower() == athlete.strip().lower()]
    if len(same) == 1:
        return s.scalar(sa.select(Athlete).where(Athlete.name == same[0]))
    close = _close_names(athlete, names)
    if close:
        hint = "close names: " + ", ".join(close)
    elif names and len(names) <= 10:
        hint = "athletes in the database: " + ", ".join(names)
    else:
        hint = f"{len(names)} athletes in the database, none close"
    raise InputError(f"No athlete named {athlete!r}", where=hint,
                     fix="give --athlete exactly as stored (`liftlab query reps` lists them)")


def _processed(query: sa.Select) -> sa.Select:
    return query.where(Trial.processed_at.is_not(None))


def _pick_session(s: Session, athlete: Athlete, session: str | int | None) -> LabSession:
    sessions = list(s.scalars(sa.select(LabSession).where(LabSession.athlete_id == athlete.id)
                              .order_by(LabSession.date, LabSession.id)))
    processed_ids = set(s.scalars(_processed(
        sa.select(Trial.session_id).join(LabSession, Trial.session_id == LabSession.id)
        .where(LabSession.athlete_id == athlete.id))))
    known = ", ".join(f"{x.id} ({x.date}, {x.name})" for x in sessions) or "none"
    if session is None:
        candidates = [x for x in sessions if x.id in processed_ids]
        if not candidates:
            raise InputError(f"Athlete {athlete.name!r} has no processed trials",
                             where=f"sessions: {known}",
                             fix="run `liftlab process SESSION` for one of their sessions first")
        return candidates[-1]
    key = str(session).strip()
    matches = [x for x in sessions if key in (str(x.id), x.name, str(x.date))]
    if len(matches) != 1:
        found = "No session" if not matches else f"{len(matches)} sessions"
        raise InputError(f"{found} of {athlete.name!r} match {key!r}", where=f"sessions: {known}",
                         fix="give --session as a session id, folder name or date from the list")
    if matches[0].id not in processed_ids:
        raise InputError(f"Session {key!r} of {athlete.name!r} has no processed trials",
                         where=f"sessions: {known}",
                         fix="run `liftlab process SESSION` first, or pick another session")
    return matches[0]


def _rep_data(rep: Rep) -> RepData:
    sides: dict[str, dict[str, Any]] = {}
    for side in ("left", "right"):  # the complete stored dict, the real columns win
        sides[side] = dict((rep.metrics or {}).get(side) or {})
        sides[side].update({name: getattr(rep, f"{side}_{name}") for name in SIDE_METRICS})
    rules = (rep.extra or {}).get("rules") or []
    return RepData(index=rep.rep_index, start_s=rep.start_s, bottom_s=rep.bottom_s,
                   end_s=rep.end_s, reading=rep.reading, reasons=parse_reasons(rep.reasons),
                   pain=rep.pain, left=sides["left"], right=sides["right"],
                   rules=tuple(r for r in rules if isinstance(r, dict)))


def _keypoints_path(video_path: Path, camera: str, trial: str,
                    folder_path: str | None) -> Path | None:
    """``SESSION/derived/<trial>/keypoints_<camera>.npz`` (SESSION from the session row, else
    from the video's place ``SESSION/trials/<trial>/<camera>.mp4``)."""
    if folder_path:
        root = Path(folder_path)
    elif len(video_path.parents) >= 3 and video_path.parent.parent.name == "trials":
        root = video_path.parents[2]
    else:
        return None
    return root / "derived" / trial / f"keypoints_{camera}.npz"


def _series(s: Session, trial_id: int) -> pd.DataFrame | None:
    row = s.execute(sa.select(FrameSeries.format, FrameSeries.data)
                    .where(FrameSeries.trial_id == trial_id)).first()
    if row is None:
        return None
    try:
        return series_from_bytes(bytes(row.data))
    except (OSError, ValueError) as exc:  # a damaged blob: report without the curve
        log.warning("per-frame series of trial %d unreadable (%s): %s", trial_id, row.format, exc)
        return None


def _provenance(s: Session, trial: Trial) -> Provenance:
    run = s.scalar(sa.select(ProcessingRun).where(ProcessingRun.trial_id == trial.id,
                                                  ProcessingRun.status == "ok")
                   .order_by(ProcessingRun.finished_at.desc().nulls_last(),
                             ProcessingRun.id.desc()).limit(1))
    calib = (s.get(Calibration, trial.calibration_id)
             if trial.calibration_id is not None else None)
    return Provenance(
        software_version=run.software_version if run else None,
        model=run.model if run else None, processed_at=trial.processed_at,
        calibration_verdict=calib.verdict if calib else None,
        camera_errors_px=dict(calib.camera_errors_px or {}) if calib else {},
        settings=dict(run.settings or {}) if run else {})


def _trial_data(s: Session, trial: Trial, folder_path: str | None) -> TrialData:
    reps = tuple(_rep_data(r) for r in s.scalars(
        sa.select(Rep).where(Rep.trial_id == trial.id).order_by(Rep.rep_index)))
    videos = []
    for v in s.scalars(sa.select(CameraVideo).where(CameraVideo.trial_id == trial.id)
                       .order_by(CameraVideo.id)):
        path = Path(v.path)
        videos.append(VideoData(camera=v.camera, path=path, fps=v.fps,
                                keypoints_path=_keypoints_path(path, v.camera, trial.name,
                                                               folder_path)))
    return TrialData(
        id=trial.id, name=trial.name, exercise=trial.exercise, load_kg=trial.load_kg,
        one_rm_kg=trial.one_rm_kg, percent_1rm=trial.percent_1rm,
        pain=tuple(float(p) for p in (trial.pain or []) if isinstance(p, int | float)),
        alignment_source=trial.alignment_source, alignment_left_deg=trial.alignment_left_deg,
        alignment_right_deg=trial.alignment_right_deg, reading=trial.reading,
        reasons=parse_reasons(trial.reasons), reps=reps, series=_series(s, trial.id),
        videos=tuple(videos), provenance=_provenance(s, trial))


def _history(s: Session, athlete: Athlete) -> tuple[SessionSummary, ...]:
    """Per-session summary from the rep columns only (no blobs), oldest first."""
    query = _processed(
        sa.select(LabSession.id, LabSession.date, LabSession.name, Trial.id.label("trial_id"),
                  Trial.exercise, Trial.load_kg, Rep.reading, Rep.left_medial_knee_shift_peak_mm,
                  Rep.right_medial_knee_shift_peak_mm)
        .join(Trial, Trial.session_id == LabSession.id)
        .outerjoin(Rep, Rep.trial_id == Trial.id)
        .where(LabSession.athlete_id == athlete.id, Trial.exercise != CALIBRATION_EXERCISE))
    frame = pd.DataFrame(s.execute(query).all(),
                         columns=["id", "date", "name", "trial_id", "exercise", "load_kg",
                                  "reading", "left", "right"])
    out = []
    for (sid, date, name), g in frame.groupby(["id", "date", "name"], sort=False):
        reps = g[g["reading"].notna()]
        out.append(SessionSummary(
            id=int(sid), date=date, name=str(name), n_trials=int(g["trial_id"].nunique()),
            n_reps=len(reps), n_red_flag_reps=int((reps["reading"] == "red_flag").sum()),
            median_peak_left_mm=_median(reps["left"]), median_peak_right_mm=_median(reps["right"]),
            max_load_kg=_median(g["load_kg"], how="max")))
    return tuple(sorted(out, key=lambda x: (x.date, x.id)))


def _median(values: pd.Series, *, how: str = "median") -> float | None:
    values = pd.to_numeric(values, errors="coerce").dropna()
    if values.empty:
        return None
    return float(values.max() if how == "max" else values.median())


def _strength(s: Session, db: Database, athlete: Athlete) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    rows = s.execute(sa.select(StrengthTest.date, StrengthTest.muscle_group, StrengthTest.side,
                               StrengthTest.position, StrengthTest.value, StrengthTest.unit)
                     .where(StrengthTest.athlete_id == athlete.id)
                     .order_by(StrengthTest.muscle_group, StrengthTest.position,
                               StrengthTest.side, StrengthTest.date)).all()
    table = pd.DataFrame(rows, columns=["date", "muscle_group", "side", "position", "value",
                                        "unit"])
    if table.empty:
        return table, None
    try:
        from liftlab.storage.strength import strength_pattern
    except ImportError:  # storage without the strength module: table only
        return table, None
    try:
        return table, strength_pattern(db, athlete.name)
    except LiftlabError as exc:
        log.warning("strength pattern of %s not available: %s", athlete.name, exc)
        return table, None


_REPR_FIELDS = re.compile(r"ReadingThresholds\(([^)]*)\)")
_REPR_VALUE = re.compile(r"(\w+)=(-?[\d.]+(?:e-?\d+)?)")


def _stored_reading_thresholds(settings: dict[str, Any]) -> dict[str, float] | None:
    """Reading thresholds recorded in a run's settings: ``{"thresholds": {"reading": {...}}}``
    or the repr of a ``Thresholds`` (what ``liftlab process`` records); None when absent."""
    stored = settings.get("thresholds")
    if isinstance(stored, dict):
        stored = stored.get("reading", stored)
        if isinstance(stored, dict):
            return {k: v for k, v in stored.items() if isinstance(v, int | float)}
    if isinstance(stored, str) and (match := _REPR_FIELDS.search(stored)):
        return {k: float(v) for k, v in _REPR_VALUE.findall(match.group(1))}
    return None


def _thresholds(trials: tuple[TrialData, ...]) -> tuple[ReadingThresholds, str]:
    """The reading thresholds the trials were processed with (run settings), else defaults."""
    known = set(ReadingThresholds.__dataclass_fields__)
    for trial in trials:
        stored = _stored_reading_thresholds(trial.provenance.settings)
        if stored and set(stored) & known:
            values = {k: v for k, v in stored.items() if k in known}
            for name, value in values.items():  # keep the dataclass's int fields int
                if ReadingThresholds.__dataclass_fields__[name].type in ("int", int):
                    values[name] = int(value)
            return ReadingThresholds(**values), "as recorded with the processing run"
    return load_thresholds().reading, "liftlab defaults"


def load_report_data(db: Database, athlete: str, *, session: str | int | None = None) -> ReportData:
    """Read what the report of ``athlete`` shows.

    Parameters
    ----------
    db
        The open database.
    athlete
        The athlete's stored name (a unique case-insensitive match is accepted).
    session
        Session id, folder name or date; default: the newest session with processed trials.

    Raises
    ------
    InputError
        Unknown athlete (close names listed), no processed trials, unknown session.
    """
    with db.read() as s:
        row = find_athlete(s, athlete)
        chosen = _pick_session(s, row, session)
        trials = tuple(_trial_data(s, t, chosen.folder_path) for t in s.scalars(
            _processed(sa.select(Trial).where(Trial.session_id == chosen.id)).order_by(Trial.id)))
        pain = chosen.pain_outside_lifting or (chosen.history or {}).get("pain_outside_lifting")
        if isinstance(pain, str):
            pain = [pain]
        session_data = SessionData(
            id=chosen.id, date=chosen.date, name=chosen.name, folder_path=chosen.folder_path,
            notes=chosen.notes, pain_outside_lifting=tuple(str(p) for p in (pain or [])),
            trials=trials)
        history = _history(s, row)
        strength, pattern = _strength(s, db, row)
        name = row.name
    thresholds, source = _thresholds(trials)
    return ReportData(athlete=name, session=session_data, history=history, strength=strength,
                      strength_pattern=pattern, thresholds=thresholds, threshold_source=source)


def session_athletes(db: Database, session: str | int | None) -> list[tuple[str, int]]:
    """``(athlete, session id)`` of every athlete recorded on the lab day of ``session``.

    ``session`` is a session id or folder name (its date is the lab day) or a date
    (YYYY-MM-DD); ``None`` means the newest day with processed trials. Only sessions with
    processed trials are listed.
    """
    with db.read() as s:
        processed = _processed(
            sa.select(LabSession.id, LabSession.date, LabSession.name, Athlete.name.label("who"))
            .join(Trial, Trial.session_id == LabSession.id)
            .join(Athlete, LabSession.athlete_id == Athlete.id)).distinct()
        rows = s.execute(processed).all()
    if not rows:
        raise InputError("The database has no processed trials",
                         fix="run `liftlab process SESSION` first")
    if session is None:
        day = max(r.date for r in rows)
    else:
        key = str(session).strip()
        days = {r.date for r in rows if key in (str(r.id), r.name, str(r.date))}
        if len(days) != 1:
            known = ", ".join(sorted({f"{r.id} ({r.date}, {r.name})" for r in rows}))
            found = "No processed session" if not days else f"Sessions on {len(days)} dates"
            raise InputError(f"{found} match {key!r}", where=f"processed sessions: {known}",
                             fix="give --session as a session id, folder name or date")
        day = days.pop()
    return sorted({(r.who, r.id) for r in rows if r.date == day})
