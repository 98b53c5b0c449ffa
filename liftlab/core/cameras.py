"""Camera models of a rig, and their aniposelib TOML form.

Conventions (stated once, used everywhere):

- World (lab) frame: right-handed, Z up, millimetres, origin on the floor.
- ``world_to_camera``: ``x_cam = R @ x_world + t`` with ``R = Rodrigues(rotation)``;
  the camera looks along its +Z, image x right, image y down (OpenCV).
  The camera centre in the lab is ``-R.T @ t``.
- Intrinsics: OpenCV pinhole ``matrix`` (pixels) and 5 ``distortions`` (k1, k2, p1, p2, k3).
- Image ``size`` is (width, height) in pixels.

The TOML layout is aniposelib's (one ``[cam_i]`` table per camera with ``name``, ``size``,
``matrix``, ``distortions``, ``rotation``, ``translation``; plus ``[metadata]``), so a rig
file loads in aniposelib and anipose.  Unlike ``CameraGroup.load`` (which sorts the tables
as strings, putting ``cam_10`` before ``cam_2``), :func:`Rig.load` keeps the written order.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tomli_w

from liftlab.core.errors import InputError, check_all


@dataclass(frozen=True)
class Camera:
    """One calibrated camera (see the module docstring for conventions)."""

    name: str
    size: tuple[int, int]
    matrix: np.ndarray
    distortions: np.ndarray
    rotation: np.ndarray
    translation_mm: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "matrix", np.asarray(self.matrix, dtype=float).reshape(3, 3))
        d = np.zeros(5)
        dist = np.asarray(self.distortions, dtype=float).ravel()
        d[: min(5, dist.size)] = dist[:5]
        object.__setattr__(self, "distortions", d)
        object.__setattr__(self, "rotation", np.asarray(self.rotation, dtype=float).reshape(3))
        object.__setattr__(
            self, "translation_mm", np.asarray(self.translation_mm, dtype=float).reshape(3)
        )
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))
        problems = []
        if not self.name:
            problems.append("a camera needs a name")
        if self.size[0] <= 0 or self.size[1] <= 0:
            problems.append(f"image size must be positive, got {self.size}")
        if not np.all(np.isfinite(self.matrix)) or self.matrix[0, 0] <= 0 or self.matrix[1, 1] <= 0:
            problems.append("camera matrix must be finite with positive focal lengths")
        check_all(problems, where=f"camera {self.name!r}")

    @property
    def R(self) -> np.ndarray:  # noqa: N802 - the usual symbol
        """World-to-camera rotation matrix."""
        return cv2.Rodrigues(self.rotation)[0]

    @property
    def center_mm(self) -> np.ndarray:
        """Camera centre in the lab frame, mm."""
        return -self.R.T @ self.translation_mm

    @property
    def projection(self) -> np.ndarray:
        """3x4 projection matrix ``K [R | t]`` (undistorted pixels)."""
        return self.matrix @ np.hstack([self.R, self.translation_mm[:, None]])

    def project(self, points_mm: np.ndarray) -> np.ndarray:
        """Project lab points (..., 3) to distorted pixels (..., 2); NaN stays NaN."""
        pts = np.asarray(points_mm, dtype=float)
        flat = pts.reshape(-1, 3)
        out = np.full((flat.shape[0], 2), np.nan)
        ok = np.all(np.isfinite(flat), axis=1)
        if ok.any():
            img, _ = cv2.projectPoints(
                flat[ok], self.rotation, self.translation_mm, self.matrix, self.distortions
            )
            out[ok] = img.reshape(-1, 2)
        return out.reshape(pts.shape[:-1] + (2,))

    def depth_mm(self, points_mm: np.ndarray) -> np.ndarray:
        """Depth along the optical axis (..., ) of lab points (..., 3)."""
        pts = np.asarray(points_mm, dtype=float)
        return (pts @ self.R.T + self.translation_mm)[..., 2]

    def undistort_px(self, points_px: np.ndarray) -> np.ndarray:
        """Distorted pixels (..., 2) to undistorted *pixels* (..., 2) (not normalised)."""
        pts = np.asarray(points_px, dtype=float)
        flat = pts.reshape(-1, 2)
        out = np.full_like(flat, np.nan)
        ok = np.all(np.isfinite(flat), axis=1)
        if ok.any():
            und = cv2.undistortPoints(
                flat[ok].reshape(-1, 1, 2), self.matrix, self.distortions, P=self.matrix
            )
            out[ok] = und.reshape(-1, 2)
        return out.reshape(pts.shape)

    def to_dict(self) -> dict[str, Any]:
        """aniposelib's table for this camera."""
        return {
            "name": self.name,
            "size": [int(self.size[0]), int(self.size[1])],
            "matrix": self.matrix.tolist(),
            "distortions": self.distortions.tolist(),
            "rotation": self.rotation.tolist(),
            "translation": self.translation_mm.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, where: str = "calibration") -> Camera:
        missing = [k for k in ("name", "size", "matrix", "distortions", "rotation", "translation")
                   if k not in d]
        check_all([f"missing key {k!r}" for k in missing], where=where,
                  fix="write the camera table in aniposelib's format")
        return cls(
            name=str(d["name"]), size=tuple(d["size"]), matrix=np.array(d["matrix"]),
            distortions=np.array(d["distortions"]), rotation=np.array(d["rotation"]),
            translation_mm=np.array(d["translation"]),
        )


@dataclass(frozen=True)
class Rig:
    """The cameras of a lab, in session order, with free-form metadata (errors, provenance)."""

    cameras: tuple[Camera, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        names = [c.name for c in self.cameras]
        dup = sorted({n for n in names if names.count(n) > 1})
        check_all([f"camera names must be unique, repeated: {dup}"] if dup else [],
                  where="rig")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def __len__(self) -> int:
        return len(self.cameras)

    def __getitem__(self, name: str) -> Camera:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise InputError(
            f"Camera {name!r} not found in the calibration; it contains {self.names}",
            fix="name the cameras in session.toml as in calibration.toml, or recalibrate",
        )

    def subset(self, names: list[str]) -> Rig:
        """The rig restricted to (and ordered as) ``names``."""
        return Rig(tuple(self[n] for n in names), dict(self.metadata))

    def project(self, points_mm: np.ndarray) -> np.ndarray:
        """Project lab points (..., 3) into every camera: (n_cameras, ..., 2) pixels."""
        return np.stack([c.project(points_mm) for c in self.cameras])

    def to_aniposelib(self):  # -> aniposelib.cameras.CameraGroup
        """An aniposelib CameraGroup in the same order (mm, lab frame)."""
        from aniposelib.cameras import Camera as ACamera
        from aniposelib.cameras import CameraGroup

        cams = [
            ACamera(name=c.name, size=c.size, matrix=c.matrix, dist=c.distortions,
                    rvec=c.rotation, tvec=c.translation_mm)
            for c in self.cameras
        ]
        return CameraGroup(cams, metadata={})

    @classmethod
    def from_aniposelib(cls, group, metadata: dict[str, Any] | None = None) -> Rig:
        cams = tuple(
            Camera(name=str(c.get_name()), size=tuple(c.get_size()), matrix=c.get_camera_matrix(),
                   distortions=c.get_distortions(), rotation=c.get_rotation(),
                   translation_mm=c.get_translation())
            for c in group.cameras
        )
        return cls(cams, dict(metadata or {}))

    def save(self, path: str | Path) -> Path:
        """Write aniposelib-format TOML atomically (tables ``cam_0``.. in this rig's order)."""
        path = Path(path)
        doc: dict[str, Any] = {f"cam_{i}": c.to_dict() for i, c in enumerate(self.cameras)}
        doc["metadata"] = _toml_safe(self.metadata)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(tomli_w.dumps(doc).encode())
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Rig:
        """Read aniposelib-format TOML, keeping the cameras in their ``cam_<i>`` numeric order."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"No calibration file at {path}",
                             fix="run `liftlab calibrate SESSION` or `--import` a calibration")
        try:
            doc = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"Calibration file is not valid TOML: {exc}", where=str(path),
                             fix="re-run `liftlab calibrate`") from exc
        tables = {k: v for k, v in doc.items() if k != "metadata" and isinstance(v, dict)}

        def order(key: str) -> tuple[int, str]:
            tail = key.rsplit("_", 1)[-1]
            return (int(tail), key) if tail.isdigit() else (10**9, key)

        cams = tuple(Camera.from_dict(tables[k], where=f"{path} [{k}]")
                     for k in sorted(tables, key=order))
        if not cams:
            raise InputError("Calibration file holds no camera", where=str(path),
                             fix="re-run `liftlab calibrate`")
        return cls(cams, dict(doc.get("metadata", {})))


def _toml_safe(obj: Any) -> Any:
    """Metadata made TOML-writable: None dropped, numpy scalars/arrays to Python."""
    if isinstance(obj, dict):
        return {str(k): _toml_safe(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [_toml_safe(v) for v in obj if v is not None]
    if isinstance(obj, np.ndarray):
        return _toml_safe(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj
