"""The session folder contract: ``session.toml``, ``trial.toml`` and where files live.

::

    SESSION/
      session.toml                 athlete, date, cameras (names in order), board, fps
      calibration/<camera>.mp4     board videos (or <camera>/ folders of images)
      calibration/calibration.toml the rig (aniposelib format), written by `liftlab calibrate`
      trials/<trial>/trial.toml    exercise, load_kg, one_rm_kg, pain, notes
      trials/<trial>/<camera>.mp4  synchronised videos, same camera names as session.toml
      trials/<trial>/<camera>.timestamps.csv  optional host timestamps (capture)
      truth/                       only for virtual-lab sessions: the ground truth

Everything here is plain parsing and validation; no video is opened.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomli_w

from liftlab.core.context import TrialContext
from liftlab.core.errors import InputError, check_all

Exercise = Literal["squat", "front_squat", "clean", "snatch", "knee_curl"]
EXERCISES: tuple[str, ...] = ("squat", "front_squat", "clean", "snatch", "knee_curl")
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".avi", ".mov", ".mkv")


@dataclass(frozen=True)
class BoardSpec:
    """A calibration board. ``squares_x``/``squares_y`` count squares (checkerboard inner
    corners are one fewer each way); sizes in mm."""

    type: Literal["charuco", "checkerboard"] = "charuco"
    squares_x: int = 7
    squares_y: int = 5
    square_mm: float = 40.0
    marker_mm: float = 30.0
    dictionary: str = "DICT_4X4_50"

    def __post_init__(self) -> None:
        problems = []
        if self.type not in ("charuco", "checkerboard"):
            problems.append(f"board type must be 'charuco' or 'checkerboard', got {self.type!r}")
        if self.squares_x < 2 or self.squares_y < 2:
            problems.append("a board needs at least 2 x 2 squares")
        if self.square_mm <= 0:
            problems.append(f"square_mm must be positive, got {self.square_mm}")
        if self.type == "charuco" and not (0 < self.marker_mm < self.square_mm):
            problems.append(f"marker_mm must lie between 0 and square_mm ({self.square_mm}), "
                            f"got {self.marker_mm}")
        check_all(problems, where="[board] in session.toml",
                  fix="measure the printed board and write its squares and sizes in mm")


@dataclass(frozen=True)
class SessionConfig:
    athlete: str
    date: str
    cameras: tuple[str, ...]
    fps: float = 60.0
    board: BoardSpec = field(default_factory=BoardSpec)
    history: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        problems = []
        if not str(self.athlete).strip():
            problems.append("athlete must be named")
        if not self.cameras:
            problems.append("cameras must list at least one camera name")
        if len(set(self.cameras)) != len(self.cameras):
            problems.append(f"camera names must be unique, got {list(self.cameras)}")
        if not (self.fps > 0):
            problems.append(f"fps must be positive, got {self.fps}")
        try:
            dt.date.fromisoformat(str(self.date))
        except ValueError:
            problems.append(f"date must be YYYY-MM-DD, got {self.date!r}")
        check_all(problems, where="session.toml")

    def to_toml(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"athlete": self.athlete, "date": str(self.date),
                               "cameras": list(self.cameras), "fps": self.fps,
                               "board": asdict(self.board)}
        if self.history:
            doc["history"] = self.history
        doc.update(self.extra)
        return doc


@dataclass(frozen=True)
class TrialConfig(TrialContext):
    """``trials/<trial>/trial.toml``: the shared trial context plus any extra keys."""

    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = self._context_checks()
        if self.exercise not in EXERCISES:
            problems.append(f"exercise must be one of {', '.join(EXERCISES)}, got {self.exercise!r}")
        check_all(problems, where=f"trials/{self.name}/trial.toml")

    def to_toml(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"exercise": self.exercise}
        if self.load_kg is not None:
            doc["load_kg"] = float(self.load_kg)
        if self.one_rm_kg is not None:
            doc["one_rm_kg"] = float(self.one_rm_kg)
        if self.pain:
            doc["pain"] = list(self.pain)
        if self.notes:
            doc["notes"] = self.notes
        doc.update(self.extra)
        return doc


def _read_toml(path: Path, fix: str) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"Missing {path.name}", where=str(path), fix=fix)
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name} is not valid TOML: {exc}", where=str(path), fix=fix) from exc


def write_toml(path: Path, doc: dict[str, Any]) -> Path:
    """Write TOML atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(tomli_w.dumps(doc).encode())
    tmp.replace(path)
    return path


def load_session_config(session_dir: str | Path) -> SessionConfig:
    path = Path(session_dir) / "session.toml"
    doc = _read_toml(path, fix="create session.toml with athlete, date, cameras, fps and [board] "
                               "(see README: Session folder)")
    known = {"athlete", "date", "cameras", "fps", "board", "history"}
    missing = [k for k in ("athlete", "cameras") if k not in doc]
    check_all([f"missing key {k!r}" for k in missing], where=str(path),
              fix="add it to session.toml (see README: Session folder)")
    try:
        board = BoardSpec(**doc.get("board", {}))
    except TypeError as exc:
        raise InputError(f"Unknown key in [board]: {exc}", where=str(path),
                         fix="use type, squares_x, squares_y, square_mm, marker_mm, dictionary") from exc
    date = doc.get("date", dt.date.today().isoformat())
    return SessionConfig(athlete=str(doc["athlete"]), date=str(date),
                         cameras=tuple(doc["cameras"]), fps=float(doc.get("fps", 60.0)),
                         board=board, history=dict(doc.get("history", {})),
                         extra={k: v for k, v in doc.items() if k not in known})


def load_trial_config(trial_dir: str | Path) -> TrialConfig:
    trial_dir = Path(trial_dir)
    path = trial_dir / "trial.toml"
    doc = _read_toml(path, fix="create trial.toml with at least exercise = \"squat\"")
    pain = doc.get("pain", ())
    if isinstance(pain, (int, float)):
        pain = (pain,)
    known = {"exercise", "load_kg", "one_rm_kg", "pain", "notes"}
    return TrialConfig(
        name=trial_dir.name, exercise=str(doc.get("exercise", "squat")),
        load_kg=None if doc.get("load_kg") is None else float(doc["load_kg"]),
        one_rm_kg=None if doc.get("one_rm_kg") is None else float(doc["one_rm_kg"]),
        pain=tuple(pain), notes=str(doc.get("notes", "")),
        extra={k: v for k, v in doc.items() if k not in known},
    )


@dataclass(frozen=True)
class Session:
    """A session folder on disk, parsed and checked."""

    root: Path
    config: SessionConfig

    @classmethod
    def open(cls, root: str | Path) -> Session:
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"Session folder {root} does not exist",
                             fix="give the folder that holds session.toml")
        return cls(root=root, config=load_session_config(root))

    @property
    def calibration_dir(self) -> Path:
        return self.root / "calibration"

    @property
    def calibration_file(self) -> Path:
        return self.calibration_dir / "calibration.toml"

    @property
    def trials_dir(self) -> Path:
        return self.root / "trials"

    def trial_names(self) -> list[str]:
        """Trials with a trial.toml, knee_curl (alignment) trials first, then by name."""
        if not self.trials_dir.is_dir():
            return []
        names = sorted(p.name for p in self.trials_dir.iterdir() if (p / "trial.toml").is_file())
        configs = {n: load_trial_config(self.trials_dir / n) for n in names}
        return sorted(names, key=lambda n: (configs[n].exercise != "knee_curl", n))

    def trial(self, name: str) -> TrialConfig:
        return load_trial_config(self.trials_dir / name)

    def video_path(self, trial: str, camera: str) -> Path:
        """The video of ``camera`` in ``trial``; a clear error when it is missing."""
        tdir = self.trials_dir / trial
        for suffix in VIDEO_SUFFIXES:
            p = tdir / f"{camera}{suffix}"
            if p.is_file():
                return p
        found = sorted(p.name for p in tdir.glob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
        raise InputError(
            f"Camera {camera!r} has no video in trial {trial!r} (found: {found or 'none'})",
            where=str(tdir),
            fix=f"record or copy {camera}.mp4 into the trial folder, or remove {camera!r} "
                "from session.toml's cameras",
        )

    def calibration_source(self, camera: str) -> Path:
        """``calibration/<camera>.mp4`` or the ``calibration/<camera>/`` image folder."""
        for suffix in VIDEO_SUFFIXES:
            p = self.calibration_dir / f"{camera}{suffix}"
            if p.is_file():
                return p
        folder = self.calibration_dir / camera
        if folder.is_dir():
            return folder
        raise InputError(
            f"No calibration video or image folder for camera {camera!r}",
            where=str(self.calibration_dir),
            fix=f"film the board with {camera} into calibration/{camera}.mp4 "
                "(`liftlab capture SESSION --calibration`)",
        )


def create_session(root: str | Path, config: SessionConfig) -> Session:
    """Write ``session.toml`` (and the folders) for a new session."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "calibration").mkdir(exist_ok=True)
    (root / "trials").mkdir(exist_ok=True)
    write_toml(root / "session.toml", config.to_toml())
    return Session(root=root, config=config)


def write_trial_config(trial_dir: str | Path, config: TrialConfig) -> Path:
    return write_toml(Path(trial_dir) / "trial.toml", config.to_toml())
