"""Plain typed inputs of the storage layer (validated frozen dataclasses).

The repository takes these, not the science or capture types, so storage depends on nothing
but :mod:`liftlab.core`. Each has a ``from_...`` constructor for the object the pipeline
already holds (duck-typed: no import of the capture package).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from liftlab import __version__
from liftlab.core.context import TrialContext
from liftlab.core.errors import InputError, check_all
from liftlab.storage.models import POSITIONS, STRENGTH_SIDES, STRENGTH_UNITS

Position = Literal["supine", "prone", "side_lying", "seated", "standing"]
StrengthUnit = Literal["N", "Nm", "kg"]
StrengthSide = Literal["left", "right", "bilateral"]
RunStatus = Literal["ok", "failed"]


def parse_date(value: dt.date | str, *, what: str) -> dt.date:
    """An ISO date (``YYYY-MM-DD``) or a ``date``; :class:`InputError` otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"Expected {what} as YYYY-MM-DD, but got {value!r}",
                         fix="write the date as e.g. 2026-11-24") from None


def sha256_file(path: str | Path, *, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    """Who and when: one session folder of one athlete.

    ``name`` is the session folder's name; (athlete, date, name) identifies the session.
    ``pain_outside_lifting`` is context for the report (e.g. ``("walking",)``), never a verdict.
    """

    athlete: str
    date: dt.date
    name: str
    folder_path: str | None = None
    notes: str = ""
    pain_outside_lifting: tuple[str, ...] = ()
    history: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "date", parse_date(self.date, what="session date"))
        object.__setattr__(self, "pain_outside_lifting",
                           tuple(str(p) for p in self.pain_outside_lifting))
        problems = []
        if not str(self.athlete).strip():
            problems.append("athlete must be named")
        if not str(self.name).strip():
            problems.append("session name (folder name) must not be empty")
        check_all(problems, where="SessionInfo")

    @classmethod
    def from_session(cls, session: Any, *, notes: str = "") -> SessionInfo:
        """From a :class:`liftlab.capture.session.Session` (``root`` and ``config``)."""
        cfg = session.config
        history = dict(getattr(cfg, "history", {}) or {})
        pain = history.get("pain_outside_lifting", ())
        if isinstance(pain, str):
            pain = (pain,)
        root = Path(session.root)
        return cls(athlete=cfg.athlete, date=cfg.date, name=root.name,
                   folder_path=str(root.resolve()), notes=notes,
                   pain_outside_lifting=tuple(pain), history=history)


@dataclass(frozen=True)
class TrialInfo(TrialContext):
    """A trial's context: exercise, load, 1RM, pain (0-10 per rep, or one for the set)."""

    def __post_init__(self) -> None:
        problems = self._context_checks()
        if not str(self.exercise).strip():
            problems.append("exercise must not be empty")
        check_all(problems, where=f"TrialInfo {self.name!r}")

    @classmethod
    def from_config(cls, config: Any) -> TrialInfo:
        """From a :class:`liftlab.capture.session.TrialConfig` (same field names)."""
        return cls(name=config.name, exercise=config.exercise, load_kg=config.load_kg,
                   one_rm_kg=config.one_rm_kg, pain=tuple(config.pain),
                   notes=getattr(config, "notes", "") or "")


@dataclass(frozen=True)
class CalibrationInfo:
    """The rig a trial was reconstructed with: aniposelib TOML text and its quality."""

    rig_toml: str
    camera_errors_px: Mapping[str, float] = field(default_factory=dict)
    verdict: str | None = None
    parameters: Mapping[str, Any] | None = None
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.rig_toml.strip():
            raise InputError("CalibrationInfo.rig_toml is empty",
                             fix="pass the text of calibration.toml (aniposelib format)")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.rig_toml.encode()).hexdigest()

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> CalibrationInfo:
        """Read ``calibration.toml``; other fields as keywords."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"No calibration file at {path}", fix="run `liftlab calibrate` first")
        provenance = {"path": str(path), **dict(kwargs.pop("provenance", {}))}
        return cls(rig_toml=path.read_text(), provenance=provenance, **kwargs)


@dataclass(frozen=True)
class VideoInfo:
    """One camera's video of a trial."""

    camera: str
    path: str
    sha256: str | None = None
    fps: float | None = None
    n_frames: int | None = None
    width_px: int | None = None
    height_px: int | None = None

    @classmethod
    def from_file(cls, camera: str, path: str | Path, *, fps: float | None = None,
                  n_frames: int | None = None, width_px: int | None = None,
                  height_px: int | None = None, hash_file: bool = True) -> VideoInfo:
        """Describe a video file, hashing its bytes (SHA-256) unless ``hash_file`` is False."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"No video file at {path}", where=f"camera {camera!r}")
        return cls(camera=camera, path=str(path.resolve()),
                   sha256=sha256_file(path) if hash_file else None, fps=fps,
                   n_frames=n_frames, width_px=width_px, height_px=height_px)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class RunInfo:
    """One processing run (provenance). ``run_uuid`` identifies it: saving the same run twice
    updates its history row instead of adding one."""

    run_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    software_version: str = __version__
    model: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    timings_s: Mapping[str, float] = field(default_factory=dict)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime = field(default_factory=_utc_now)
    status: RunStatus = "ok"
    error: str | None = None

    def __post_init__(self) -> None:
        if self.status not in ("ok", "failed"):
            raise InputError(f"RunInfo.status must be 'ok' or 'failed', got {self.status!r}")


@dataclass(frozen=True)
class StrengthMeasurement:
    """One strength test: muscle group, side, position, value with unit (N, Nm or kg).

    ``date`` defaults to the date of ``session`` when one is named, else to today.
    """

    athlete: str
    muscle_group: str
    side: StrengthSide
    position: Position
    value: float
    unit: StrengthUnit
    date: dt.date | None = None
    session: str | None = None
    method: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        if self.date is not None:
            object.__setattr__(self, "date", parse_date(self.date, what="test date"))
        elif not self.session:
            object.__setattr__(self, "date", dt.date.today())
        object.__setattr__(self, "muscle_group", str(self.muscle_group).strip().lower())
        problems = []
        if not str(self.athlete).strip():
            problems.append("athlete must be named")
        if not self.muscle_group:
            problems.append("muscle group must be named (e.g. quadriceps)")
        if self.side not in STRENGTH_SIDES:
            problems.append(f"side must be one of {', '.join(STRENGTH_SIDES)}, got {self.side!r}")
        if self.position not in POSITIONS:
            problems.append(f"position must be one of {', '.join(POSITIONS)}, "
                            f"got {self.position!r}")
        if self.unit not in STRENGTH_UNITS:
            problems.append(f"unit must be one of {', '.join(STRENGTH_UNITS)}, got {self.unit!r}")
        try:
            if not float(self.value) > 0:
                problems.append(f"value must be > 0, got {self.value}")
        except (TypeError, ValueError):
            problems.append(f"value must be a number, got {self.value!r}")
        check_all(problems, where="strength test",
                  fix="e.g. --muscle quadriceps --side left --position seated --value 310 --unit N")
