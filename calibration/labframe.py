"""The lab frame (Z up, origin on the floor, mm) and the board-geometry scale check.

Convention (agreed with the virtual-lab renderer): a board lying face up on the floor, in the
board frame of :mod:`liftlab.calibration.boards` (origin at its outer top-left corner as
printed, x along ``squares_x``, y down the page, z into the board), gives the lab frame
``lab = (x_b, -y_b, -z_b)``: X along the board's squares_x edge, Z up out of the floor, origin
at the board's corner.  The athlete's facing direction is never assumed.

A :class:`LabFrame` is the rigid map ``x_lab = R @ x_rig + t`` from the frame a calibration
came out in (aniposelib's: the first camera's) to the lab; :func:`apply_lab_frame` re-expresses
a :class:`~liftlab.core.cameras.Rig` in it.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from liftlab.calibration.boards import Board
from liftlab.calibration.detect import Detections, image_files
from liftlab.core.cameras import Camera, Rig
from liftlab.core.errors import CalibrationError, InputError

log = logging.getLogger(__name__)

#: Board frame -> lab frame (x, -y, -z).
BOARD_TO_LAB = np.diag([1.0, -1.0, -1.0])

FrameSource = Literal["floor", "board_view", "file", "imported"]


@dataclass(frozen=True)
class LabFrame:
    """``x_lab = rotation @ x_rig + translation_mm`` and how it was found."""

    rotation: np.ndarray
    translation_mm: np.ndarray
    source: FrameSource
    on_floor: bool
    cameras: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def matrix(self) -> np.ndarray:
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.translation_mm
        return m

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "on_floor": self.on_floor, "cameras": list(self.cameras),
                "matrix_rig_to_lab": self.matrix.tolist(), **self.details}


def apply_lab_frame(rig: Rig, frame: LabFrame) -> Rig:
    """The rig with every camera's extrinsics re-expressed in the lab frame."""
    r_inv = frame.rotation.T
    cams = []
    for c in rig.cameras:
        r_new = c.R @ r_inv
        t_new = c.translation_mm - r_new @ frame.translation_mm
        cams.append(Camera(c.name, c.size, c.matrix, c.distortions,
                           cv2.Rodrigues(r_new)[0].ravel(), t_new))
    return Rig(tuple(cams), dict(rig.metadata))


def triangulate_px(cameras: list[Camera], points_px: np.ndarray) -> np.ndarray:
    """Linear (DLT) triangulation of distorted pixels (C, N, 2) -> (N, 3); NaN with < 2 views.

    Well conditioned (Hartley's normalisation): normalised image coordinates and a world
    frame centred on the cameras, scaled to their spread.  Small and vectorised on purpose:
    calibration checks must not depend on the reconstruction stage, and aniposelib's
    triangulate flips a global JAX flag.
    """
    pts = np.asarray(points_px, dtype=float)
    n_cams, n = pts.shape[:2]
    centres = np.array([c.center_mm for c in cameras])
    c0 = centres.mean(axis=0)
    scale = max(float(np.mean(np.linalg.norm(centres - c0, axis=1))), 1.0)
    ok = np.all(np.isfinite(pts), axis=-1)  # (C, N)
    a = np.zeros((n, 2 * n_cams, 4))
    for i, cam in enumerate(cameras):
        norm = np.zeros((n, 2))
        if ok[i].any():
            norm[ok[i]] = cv2.undistortPoints(pts[i, ok[i]].reshape(-1, 1, 2), cam.matrix,
                                              cam.distortions).reshape(-1, 2)
        r = cam.R
        p = np.hstack([r, ((r @ c0 + cam.translation_mm) / scale)[:, None]])
        w = ok[i][:, None]
        a[:, 2 * i] = (norm[:, :1] * p[2] - p[0]) * w
        a[:, 2 * i + 1] = (norm[:, 1:] * p[2] - p[1]) * w
    out = np.full((n, 3), np.nan)
    good = ok.sum(axis=0) >= 2
    if good.any():
        _, _, vh = np.linalg.svd(a[good])
        h = vh[:, -1]
        out[good] = h[:, :3] / h[:, 3:4] * scale + c0
    return out


def similarity_fit(src: np.ndarray, dst: np.ndarray, *, with_scale: bool = False
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """Umeyama fit ``dst ~ s R src + t`` of (N, 3) point sets; returns (R, t, s)."""
    src = np.asarray(src, float)
    dst = np.asarray(dst, float)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    u, d, vt = np.linalg.svd(xd.T @ xs / len(src))
    sign = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[2, 2] = -1
    r = u @ sign @ vt
    s = float(np.trace(np.diag(d) @ sign) / np.mean(np.sum(xs**2, 1))) if with_scale else 1.0
    return r, mu_d - s * r @ mu_s, s


def _frame_from_board_points(points_rig: np.ndarray, board_pts: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray, float]:
    """Lab frame from board corners triangulated in the rig frame; returns (R, t, rms_mm)."""
    r_br, t_br, _ = similarity_fit(board_pts, points_rig)  # x_rig = R_br x_b + t_br
    resid = points_rig - (board_pts @ r_br.T + t_br)
    rms = float(np.sqrt(np.mean(np.sum(resid**2, 1))))
    rot = BOARD_TO_LAB @ r_br.T
    return rot, -rot @ t_br, rms


def floor_images(calibration_dir: Path, cameras: list[str]) -> dict[str, Path]:
    """``calibration/floor/<camera>.png|jpg`` stills present, by camera."""
    folder = Path(calibration_dir) / "floor"
    if not folder.is_dir():
        return {}
    found = {p.stem: p for p in image_files(folder)}
    return {c: found[c] for c in cameras if c in found}


def lab_frame_from_floor(rig: Rig, images: dict[str, Path], board: Board, *,
                         min_cameras: int = 2, min_corners: int = 6) -> LabFrame:
    """Lab frame from one still per camera of the board lying on the floor.

    The board is detected in every still; its corners seen by two or more cameras are
    triangulated with the calibrated rig and the board is fitted to them (a multi-view fit is
    better conditioned in depth than any single camera's solvePnP); each camera's own
    solvePnP pose is kept as a consistency check (``details["pnp_spread_mm"]``).

    Raises
    ------
    CalibrationError
        Fewer than ``min_cameras`` cameras see the board.
    """
    seen: dict[str, np.ndarray] = {}
    missing = []
    for name, path in images.items():
        if name not in rig.names:
            continue
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise InputError(f"Cannot read the floor still of {name!r}", where=str(path),
                             fix="replace it with a PNG or JPEG of the board on the floor")
        ids, corners = board.detect(img)
        if ids.size >= min_corners:
            filled = np.full((board.n_corners, 2), np.nan)
            filled[ids] = corners
            seen[name] = filled
        else:
            missing.append(name)
    if len(seen) < min_cameras:
        raise CalibrationError(
            f"The floor board was seen by {len(seen)} camera(s) ({', '.join(seen) or 'none'}; "
            f"not by {', '.join(missing) or 'the others'}), needs {min_cameras}",
            where=str(next(iter(images.values())).parent) if images else "calibration/floor",
            fix="lay the board flat on the floor where at least two cameras see it whole and "
                "take one still per camera into calibration/floor/<camera>.png")
    names = list(seen)
    cams = [rig[n] for n in names]
    pts = triangulate_px(cams, np.stack([seen[n] for n in names]))
    good = np.all(np.isfinite(pts), axis=1)
    if good.sum() < 4:
        raise CalibrationError("The floor board's corners were not seen by two cameras at once",
                               where="calibration/floor",
                               fix="place the board where two cameras see the same corners")
    rot, t, rms = _frame_from_board_points(pts[good], board.object_points_mm[good])
    origins = []
    for name, cam in zip(names, cams, strict=True):
        ok = np.isfinite(seen[name][:, 0])
        res, rv, tv = cv2.solvePnP(board.object_points_mm[ok], seen[name][ok], cam.matrix,
                                   cam.distortions, flags=cv2.SOLVEPNP_IPPE)
        if res:  # board origin in the rig frame from this camera alone
            origins.append(cam.R.T @ (tv.ravel() - cam.translation_mm))
    spread = float(np.max(np.linalg.norm(np.array(origins) - np.median(origins, 0), axis=1)))
    return LabFrame(rot, t, "floor", True, tuple(names),
                    {"floor_fit_rms_mm": rms, "pnp_spread_mm": spread,
                     "not_seen_by": missing})


def lab_frame_from_views(rig: Rig, detections: list[Detections], board: Board) -> LabFrame:
    """Fallback lab frame: the board where the most cameras saw it (not on the floor)."""
    by_frame: dict[int, dict[str, np.ndarray]] = {}
    for det in detections:
        for f, c in zip(det.frames, det.corners_px, strict=True):
            by_frame.setdefault(int(f), {})[det.camera] = c
    if not by_frame:
        raise CalibrationError("No board view to place the lab frame on",
                               fix="add calibration/floor/<camera>.png stills or --frame FILE")

    def score(item: tuple[int, dict[str, np.ndarray]]) -> tuple[int, int]:
        views = item[1]
        return (len(views), int(sum(np.isfinite(v[:, 0]).sum() for v in views.values())))

    frame, views = max(by_frame.items(), key=score)
    names = list(views)
    pts = triangulate_px([rig[n] for n in names], np.stack([views[n] for n in names]))
    good = np.all(np.isfinite(pts), axis=1)
    if good.sum() < 4:
        raise CalibrationError("No board view was seen by two cameras to place the lab frame on",
                               fix="add calibration/floor/<camera>.png stills or --frame FILE")
    rot, t, rms = _frame_from_board_points(pts[good], board.object_points_mm[good])
    return LabFrame(rot, t, "board_view", False, tuple(names),
                    {"frame_index": frame, "fit_rms_mm": rms})


def load_frame_toml(path: str | Path) -> LabFrame:
    """A lab frame from TOML: ``matrix = [[...4 rows...]]``, rig -> lab, mm, rigid."""
    path = Path(path)
    fix = ("write matrix = [[r11, r12, r13, tx], [r21, r22, r23, ty], [r31, r32, r33, tz], "
           "[0, 0, 0, 1]] mapping calibration coordinates to lab (mm)")
    try:
        doc = tomllib.loads(path.read_text())
        m = np.asarray(doc["matrix"], dtype=float)
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as exc:
        raise InputError(f"Cannot read a lab-frame matrix: {exc}", where=str(path), fix=fix) from exc
    r = m[:3, :3] if m.shape == (4, 4) else None
    if (r is None or not np.allclose(r @ r.T, np.eye(3), atol=1e-6)
            or np.linalg.det(r) < 0 or not np.allclose(m[3], [0, 0, 0, 1])):
        raise InputError("The lab-frame matrix must be a 4x4 rigid transform (rotation, no "
                         "mirror, last row 0 0 0 1)", where=str(path), fix=fix)
    return LabFrame(r, m[:3, 3], "file", bool(doc.get("on_floor", True)), (),
                    {"file": str(path)})


def board_geometry_error(rig: Rig, detections: list[Detections], board: Board, *,
                         min_points: int = 6) -> dict[str, float]:
    """Pooled distance (mm) of triangulated board corners from the board's true geometry.

    For every view seen by two or more cameras the corners are triangulated and the board
    fitted rigidly; ``rms_mm`` pools the residuals, ``scale_ratio`` is the median best-fit
    scale (triangulated / true: 1.02 means the rig measures 2% large).
    """
    by_frame: dict[int, dict[str, np.ndarray]] = {}
    for det in detections:
        for f, c in zip(det.frames, det.corners_px, strict=True):
            by_frame.setdefault(int(f), {})[det.camera] = c
    sq, scales, n_views = [], [], 0
    for views in by_frame.values():
        if len(views) < 2:
            continue
        names = list(views)
        pts = triangulate_px([rig[n] for n in names], np.stack([views[n] for n in names]))
        good = np.all(np.isfinite(pts), axis=1)
        if good.sum() < min_points:
            continue
        obj = board.object_points_mm[good]
        r, t, _ = similarity_fit(obj, pts[good])
        sq.append(np.sum((pts[good] - (obj @ r.T + t)) ** 2, 1))
        scales.append(similarity_fit(obj, pts[good], with_scale=True)[2])
        n_views += 1
    if not sq:
        return {"rms_mm": float("nan"), "scale_ratio": float("nan"), "views": 0}
    return {"rms_mm": float(np.sqrt(np.mean(np.concatenate(sq)))),
            "scale_ratio": float(np.median(scales)), "views": n_views}
