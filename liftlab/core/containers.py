"""The two hand-off containers of liftlab, each validated in one place.

Conventions (true of every array in liftlab):

- The first axis is time (frames), the second the landmark (in :data:`LANDMARKS` order
  unless ``landmarks`` says otherwise), the last the coordinate.
- Missing values are NaN, never zero.
- :class:`Keypoints2D` is in pixels of the *original* (distorted) image, x right, y down.
- :class:`Trajectory3D` is in millimetres in the lab frame (right-handed, Z up, origin on the
  floor): ``frame == "lab_zup_mm"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from liftlab.core.errors import InputError, check_all
from liftlab.core.landmarks import INDEX, LANDMARKS

LAB_FRAME = "lab_zup_mm"


def _landmark_problems(landmarks: tuple[str, ...], n: int) -> list[str]:
    problems = []
    if len(landmarks) != n:
        problems.append(f"expected {len(landmarks)} landmarks from names, but the array has {n}")
    if len(set(landmarks)) != len(landmarks):
        problems.append("landmark names must be unique")
    return problems


@dataclass(frozen=True)
class Keypoints2D:
    """2D keypoints of one camera: ``points_px`` (F, K, 2), ``confidence`` (F, K) in [0, 1].

    ``source`` records the detector and its settings (provenance).
    """

    camera: str
    fps: float
    points_px: np.ndarray
    confidence: np.ndarray
    image_size: tuple[int, int]
    landmarks: tuple[str, ...] = LANDMARKS
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pts = np.asarray(self.points_px, dtype=float)
        conf = np.asarray(self.confidence, dtype=float)
        object.__setattr__(self, "points_px", pts)
        object.__setattr__(self, "confidence", conf)
        object.__setattr__(self, "landmarks", tuple(self.landmarks))
        object.__setattr__(self, "image_size", (int(self.image_size[0]), int(self.image_size[1])))
        problems = []
        if pts.ndim != 3 or pts.shape[-1] != 2:
            problems.append(f"points_px must be (frames, landmarks, 2), got {pts.shape}")
        elif conf.shape != pts.shape[:2]:
            problems.append(f"confidence must be {pts.shape[:2]}, got {conf.shape}")
        else:
            problems += _landmark_problems(self.landmarks, pts.shape[1])
        if not (self.fps > 0):
            problems.append(f"fps must be positive, got {self.fps}")
        if np.any((conf < 0) | (conf > 1)):
            problems.append("confidence must lie in [0, 1]")
        check_all(problems, where=f"2D keypoints of camera {self.camera!r}")

    @property
    def n_frames(self) -> int:
        return int(self.points_px.shape[0])

    def detected_fraction(self) -> float:
        """Fraction of frames where any landmark was detected."""
        if self.n_frames == 0:
            return 0.0
        return float(np.mean(np.any(np.isfinite(self.points_px[..., 0]), axis=1)))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(
            tmp, points_px=self.points_px, confidence=self.confidence,
            meta=json.dumps({"camera": self.camera, "fps": self.fps,
                             "image_size": list(self.image_size),
                             "landmarks": list(self.landmarks), "source": self.source}),
        )
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Keypoints2D:
        with np.load(Path(path)) as z:
            meta = json.loads(str(z["meta"]))
            return cls(camera=meta["camera"], fps=meta["fps"], points_px=z["points_px"],
                       confidence=z["confidence"], image_size=tuple(meta["image_size"]),
                       landmarks=tuple(meta["landmarks"]), source=meta["source"])


@dataclass(frozen=True)
class Trajectory3D:
    """3D landmark trajectories of one trial in the lab frame, mm.

    Parameters
    ----------
    points_mm
        (F, K, 3), NaN where missing.
    fps
        Frames per second of the measured data.
    landmarks
        K names.
    n_views
        (F, K) cameras used per point (0 when missing or unknown).
    reproj_error_px
        (F, K) mean reprojection error of the views used (NaN when unknown).
    filled
        (F, K) True where the value was interpolated across a short gap.
    start_time_s
        Time of frame 0.
    provenance
        What made it (operations applied, settings), appended by each operation.
    """

    points_mm: np.ndarray
    fps: float
    landmarks: tuple[str, ...] = LANDMARKS
    n_views: np.ndarray | None = None
    reproj_error_px: np.ndarray | None = None
    filled: np.ndarray | None = None
    start_time_s: float = 0.0
    frame: str = LAB_FRAME
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pts = np.asarray(self.points_mm, dtype=float)
        object.__setattr__(self, "points_mm", pts)
        object.__setattr__(self, "landmarks", tuple(self.landmarks))
        problems = []
        if pts.ndim != 3 or pts.shape[-1] != 3:
            problems.append(f"points_mm must be (frames, landmarks, 3), got {pts.shape}")
            check_all(problems, where="Trajectory3D")
        shape = pts.shape[:2]
        problems += _landmark_problems(self.landmarks, pts.shape[1])
        defaults = {"n_views": (np.zeros(shape, dtype=np.int16), np.int16),
                    "reproj_error_px": (np.full(shape, np.nan), float),
                    "filled": (np.zeros(shape, dtype=bool), bool)}
        for name, (default, dtype) in defaults.items():
            value = getattr(self, name)
            arr = default if value is None else np.asarray(value, dtype=dtype)
            if arr.shape != shape:
                problems.append(f"{name} must be {shape}, got {arr.shape}")
            object.__setattr__(self, name, arr)
        if not (self.fps > 0):
            problems.append(f"fps must be positive, got {self.fps}")
        if self.frame != LAB_FRAME:
            problems.append(f"frame must be {LAB_FRAME!r}, got {self.frame!r}")
        check_all(problems, where="Trajectory3D")

    @property
    def n_frames(self) -> int:
        return int(self.points_mm.shape[0])

    @property
    def time_s(self) -> np.ndarray:
        return self.start_time_s + np.arange(self.n_frames) / self.fps

    def index(self, name: str) -> int:
        try:
            return self.landmarks.index(name)
        except ValueError:
            raise InputError(f"Landmark {name!r} is not in this trajectory",
                             where=f"landmarks: {', '.join(self.landmarks)}",
                             fix="use MediaPipe's lower-snake-case names (e.g. left_knee)") from None

    def point(self, name: str) -> np.ndarray:
        """(F, 3) trajectory of one landmark."""
        return self.points_mm[:, self.index(name), :]

    def has(self, name: str) -> bool:
        return name in self.landmarks

    def with_points(self, points_mm: np.ndarray, *, operation: str | None = None,
                    **changes: Any) -> Trajectory3D:
        """A copy with new points (same shape), recording ``operation`` in the provenance."""
        prov = dict(self.provenance)
        if operation:
            prov["operations"] = list(prov.get("operations", [])) + [operation]
        return replace(self, points_mm=points_mm, provenance=prov, **changes)

    def save(self, path: str | Path) -> Path:
        """Exact round trip through a compressed ``.npz`` (written atomically)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(
            tmp, points_mm=self.points_mm, n_views=self.n_views,
            reproj_error_px=self.reproj_error_px, filled=self.filled,
            meta=json.dumps({"fps": self.fps, "landmarks": list(self.landmarks),
                             "start_time_s": self.start_time_s, "frame": self.frame,
                             "provenance": self.provenance}, default=str),
        )
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Trajectory3D:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"No trajectory file at {path}", fix="run `liftlab process` first")
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            return cls(points_mm=z["points_mm"], fps=meta["fps"],
                       landmarks=tuple(meta["landmarks"]), n_views=z["n_views"],
                       reproj_error_px=z["reproj_error_px"], filled=z["filled"],
                       start_time_s=meta["start_time_s"], frame=meta["frame"],
                       provenance=meta["provenance"])


def full_landmark_array(points: dict[str, np.ndarray], n_frames: int) -> np.ndarray:
    """(F, 33, 3) array in :data:`LANDMARKS` order from a dict of (F, 3); absent names are NaN."""
    out = np.full((n_frames, len(LANDMARKS), 3), np.nan)
    for name, value in points.items():
        out[:, INDEX[name], :] = value
    return out
