"""Intrinsics (OpenCV) and rig extrinsics (aniposelib bundle adjustment) from board views.

Each camera's intrinsics start from ``cv2.calibrateCamera`` on its own board views (full
pinhole: both focal lengths, principal point, k1 k2 by default), because aniposelib's own
start (``initCameraMatrix2D``) pins the principal point to the image centre.  The views are
then handed to aniposelib's ``CameraGroup.calibrate_rows`` (initial extrinsics from the
board-pose graph, iterative bundle adjustment) through :class:`~.boards.AniposeBoard`.
Hands on a :class:`~liftlab.core.cameras.Rig` in the first camera's frame, mm, plus numbers
for the quality verdict.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from liftlab.calibration.boards import AniposeBoard, Board
from liftlab.calibration.detect import Detections, detect_images, detect_source, require_board
from liftlab.calibration.labframe import triangulate_px
from liftlab.calibration.quality import CameraQuality, QualityThresholds, judge_camera
from liftlab.calibration.refine import refine_rig
from liftlab.core.cameras import Camera, Rig
from liftlab.core.errors import CalibrationError, check_all

log = logging.getLogger(__name__)

DistortionModel = Literal["none", "k1", "k1k2", "k1k2p1p2k3"]
BundleParameters = Literal["extrinsics", "extrinsics_focal_distortion"]

_DIST_FLAGS = {
    "none": cv2.CALIB_ZERO_TANGENT_DIST | cv2.CALIB_FIX_K1 | cv2.CALIB_FIX_K2 | cv2.CALIB_FIX_K3,
    "k1": cv2.CALIB_ZERO_TANGENT_DIST | cv2.CALIB_FIX_K2 | cv2.CALIB_FIX_K3,
    "k1k2": cv2.CALIB_ZERO_TANGENT_DIST | cv2.CALIB_FIX_K3,
    "k1k2p1p2k3": 0,
}


@dataclass(frozen=True)
class CalibrationSettings:
    """How calibration runs; numbers with units in their names, bounds checked.

    Attributes
    ----------
    max_views_per_camera
        Video frames examined per camera, evenly spaced (default 200: a 60-s video at
        60 fps is examined every 18th frame).
    min_corners_per_view
        Corners a view needs to count (default 6; a pose needs 4, distortion more).
    max_intrinsic_views
        Views given to ``cv2.calibrateCamera`` per camera, evenly chosen (default 80).
    distortion
        Lens model of the intrinsic start (default ``"k1k2"``: radial only, the model
        that stays well conditioned with few views).
    bundle_parameters
        What aniposelib's bundle adjustment refines: ``"extrinsics"`` (default; keeps the
        OpenCV intrinsics) or ``"extrinsics_focal_distortion"`` (also one focal length
        and k1, k2 per camera, with fx = fy and the principal point fixed).
    refine
        Finish with liftlab's board-constrained bundle adjustment of every pose and the full
        intrinsics (fx, fy, cx, cy, radial terms; see ``refine``), default True.
    min_floor_cameras
        Cameras that must see the floor board (default 2).
    seed
        Seed of aniposelib's random point sampling, for repeatable results.
    thresholds
        Limits of the quality verdict.
    """

    max_views_per_camera: int = 200
    min_corners_per_view: int = 6
    max_intrinsic_views: int = 80
    distortion: DistortionModel = "k1k2"
    bundle_parameters: BundleParameters = "extrinsics"
    refine: bool = True
    min_floor_cameras: int = 2
    seed: int = 0
    thresholds: QualityThresholds = field(default_factory=QualityThresholds)

    def __post_init__(self) -> None:
        problems = []
        if not (2 <= self.max_views_per_camera <= 100_000):
            problems.append(f"max_views_per_camera must be 2-100000, got {self.max_views_per_camera}")
        if not (4 <= self.min_corners_per_view <= 1000):
            problems.append(f"min_corners_per_view must be >= 4, got {self.min_corners_per_view}")
        if not (3 <= self.max_intrinsic_views <= 1000):
            problems.append(f"max_intrinsic_views must be 3-1000, got {self.max_intrinsic_views}")
        if self.distortion not in _DIST_FLAGS:
            problems.append(f"distortion must be one of {list(_DIST_FLAGS)}, got {self.distortion!r}")
        if self.bundle_parameters not in ("extrinsics", "extrinsics_focal_distortion"):
            problems.append("bundle_parameters must be 'extrinsics' or "
                            f"'extrinsics_focal_distortion', got {self.bundle_parameters!r}")
        if self.min_floor_cameras < 2:
            problems.append(f"min_floor_cameras must be >= 2, got {self.min_floor_cameras}")
        check_all(problems, where="calibration settings")


def _evenly(n: int, k: int) -> np.ndarray:
    return np.arange(n) if n <= k else np.unique(np.linspace(0, n - 1, k).round().astype(int))


def intrinsics_from_detections(det: Detections, board: Board, *,
                               settings: CalibrationSettings = CalibrationSettings()
                               ) -> tuple[Camera, CameraQuality]:
    """OpenCV intrinsics of one camera from its board views, with its quality verdict."""
    th = settings.thresholds
    require_board(det, min_views=th.min_views_warn)
    pick = _evenly(det.n_views, settings.max_intrinsic_views)
    obj, img = [], []
    for v in pick:
        ok = np.isfinite(det.corners_px[v, :, 0])
        obj.append(board.object_points_mm[ok].astype(np.float32))
        img.append(det.corners_px[v, ok].astype(np.float32).reshape(-1, 1, 2))
    if len(obj) < 2:
        raise CalibrationError(
            f"Camera {det.camera!r} saw the board in {len(obj)} view(s): intrinsics need at "
            "least 2 (ideally 20)", where=det.source,
            fix=f"film or photograph the board from more angles with {det.camera}")
    try:
        _, k, dist, rvecs, tvecs = cv2.calibrateCamera(
            obj, img, det.image_size, None, None, flags=_DIST_FLAGS[settings.distortion],
            criteria=(cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 100, 1e-9))
    except cv2.error as exc:
        raise CalibrationError(f"Camera {det.camera!r}: OpenCV could not calibrate ({exc.err})",
                               where=det.source,
                               fix="film the board tilted at several angles, not only face on") from exc
    errs = []
    for o, i, rv, tv in zip(obj, img, rvecs, tvecs, strict=True):
        proj, _ = cv2.projectPoints(o, rv, tv, k, dist)
        errs.append(np.linalg.norm(proj.reshape(-1, 2) - i.reshape(-1, 2), axis=1))
    cam = Camera(det.camera, det.image_size, k, dist.ravel()[:5], np.zeros(3), np.zeros(3))
    quality = judge_camera(det.camera, views=det.n_views, frames_read=det.frames_read,
                           errors_px=np.concatenate(errs), corners_px=det.corners_px,
                           image_size=det.image_size, thresholds=th)
    return cam, quality


def calibrate_intrinsics(images_or_video: str | Path | list[Path] | Detections, board: Board, *,
                         camera: str | None = None,
                         settings: CalibrationSettings = CalibrationSettings()
                         ) -> tuple[Camera, CameraQuality]:
    """Intrinsics of one camera from board photos, a board video or its detections.

    Parameters
    ----------
    images_or_video
        A video file, a folder of images, a list of image files, or :class:`Detections`.
    board
        The board in the views.
    camera
        Camera name (default: the file or folder name).

    Returns
    -------
    camera, quality
        The camera (extrinsics zero) and its quality numbers and verdict.
    """
    if isinstance(images_or_video, Detections):
        det = images_or_video
    elif isinstance(images_or_video, (list, tuple)):
        paths = [Path(p) for p in images_or_video]
        det = detect_images(paths, board, camera=camera or (paths[0].parent.name if paths else "camera"),
                            min_corners=settings.min_corners_per_view)
    else:
        p = Path(images_or_video)
        det = detect_source(p, board, camera=camera or p.stem,
                            max_views=settings.max_views_per_camera,
                            min_corners=settings.min_corners_per_view)
    return intrinsics_from_detections(det, board, settings=settings)


def _rows(det: Detections) -> list[dict]:
    rows = []
    for f, c in zip(det.frames, det.corners_px, strict=True):
        ok = np.flatnonzero(np.isfinite(c[:, 0]))
        rows.append({"framenum": int(f), "corners": c[ok].reshape(-1, 1, 2).astype(np.float64),
                     "ids": ok.reshape(-1, 1), "filled": c.reshape(-1, 1, 2).copy()})
    return rows


@contextlib.contextmanager
def _quiet_seeded(seed: int):
    """aniposelib prints and samples with the global NumPy RNG: capture and seed, then restore."""
    state = np.random.get_state()
    np.random.seed(seed)
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            yield
    finally:
        np.random.set_state(state)
        if buf.getvalue():
            log.debug("aniposelib: %s", buf.getvalue()[-2000:])


def aligned_views(detections: list[Detections]) -> tuple[np.ndarray, np.ndarray]:
    """Stack views by frame index: frames (F,), corners (C, F, n_corners, 2) NaN-filled."""
    frames = np.unique(np.concatenate([d.frames for d in detections])) if detections else []
    frames = np.asarray(frames, dtype=int)
    n_corners = detections[0].corners_px.shape[1]
    out = np.full((len(detections), len(frames), n_corners, 2), np.nan)
    for i, d in enumerate(detections):
        out[i, np.searchsorted(frames, d.frames)] = d.corners_px
    return frames, out


def reprojection_errors(rig: Rig, corners: np.ndarray) -> np.ndarray:
    """Per-camera reprojection distances (C, F*N) of corners triangulated from >= 2 cameras."""
    cams = list(rig.cameras)
    c, f, n, _ = corners.shape
    flat = corners.reshape(c, f * n, 2)
    pts = triangulate_px(cams, flat)
    errs = np.full((c, f * n), np.nan)
    for i, cam in enumerate(cams):
        errs[i] = np.linalg.norm(cam.project(pts) - flat[i], axis=1)
    return errs


def calibrate_rig(detections: list[Detections], board: Board, *,
                  settings: CalibrationSettings = CalibrationSettings()
                  ) -> tuple[Rig, list[CameraQuality]]:
    """Intrinsics and extrinsics of several cameras from synchronised board views.

    Views are matched across cameras by frame index.  Returns the rig in aniposelib's frame
    (the first camera's, mm) and each camera's quality (views, shared views, reprojection
    error of multi-view corners, coverage) with its verdict.
    """
    from aniposelib.cameras import Camera as ACamera
    from aniposelib.cameras import CameraGroup

    if len(detections) < 2:
        raise CalibrationError("A rig calibration needs at least two cameras",
                               fix="use --intrinsics-only for a single camera")
    intrinsics = [intrinsics_from_detections(d, board, settings=settings)[0] for d in detections]
    frames, corners = aligned_views(detections)
    seen = np.sum(np.isfinite(corners[..., 0]), axis=2) >= settings.min_corners_per_view
    shared = seen & (seen.sum(axis=0, keepdims=True) >= 2)
    lonely = [d.camera for d, s in zip(detections, shared, strict=True) if not s.any()]
    if lonely:
        raise CalibrationError(
            f"Camera(s) {', '.join(lonely)} never saw the board at the same time as another "
            "camera", fix="film the board where these cameras and a neighbour see it together, "
                          "with all cameras recording in sync")
    extra_dist = settings.bundle_parameters == "extrinsics_focal_distortion"
    group = CameraGroup([ACamera(name=c.name, size=c.size, matrix=c.matrix.copy(),
                                 dist=c.distortions.copy(), extra_dist=extra_dist)
                         for c in intrinsics], metadata={})
    rows = [_rows(d) for d in detections]
    try:
        with _quiet_seeded(settings.seed):
            group.calibrate_rows(rows, AniposeBoard(board), init_intrinsics=False,
                                 init_extrinsics=True, verbose=False,
                                 only_extrinsics=settings.bundle_parameters == "extrinsics")
    except ValueError as exc:
        raise CalibrationError(f"aniposelib could not link the cameras: {exc}",
                               fix="film the board so that every camera shares views with "
                                   "a neighbour") from exc
    rig = Rig.from_aniposelib(group)
    if settings.refine:
        rig = refine_rig(rig, corners, board, distortion=settings.distortion,
                         min_corners=settings.min_corners_per_view)
    errs = reprojection_errors(rig, corners)
    qualities = []
    for i, d in enumerate(detections):
        qualities.append(judge_camera(
            d.camera, views=d.n_views, frames_read=d.frames_read, errors_px=errs[i],
            corners_px=d.corners_px, image_size=d.image_size, thresholds=settings.thresholds,
            shared_views=int(shared[i].sum())))
    return rig, qualities
