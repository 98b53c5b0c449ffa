"""Virtual cameras of the virtual lab: a rig of realistic cameras on an arc around the athlete.

:func:`make_rig` hands on a :class:`liftlab.core.Rig` (OpenCV pinhole + 5-term distortion,
``world_to_camera`` extrinsics, lab frame Z up in mm), the same type a real calibration gives,
so every stage downstream cannot tell a virtual rig from a real one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from liftlab.core.cameras import Camera, Rig
from liftlab.core.errors import check_all


def look_at_rotation(center_mm: np.ndarray, target_mm: np.ndarray, *,
                     roll_deg: float = 0.0) -> np.ndarray:
    """World-to-camera rotation matrix of a camera at ``center_mm`` looking at ``target_mm``.

    Rows are the camera axes in the lab frame: x right, y down (image), z forward; the image
    is upright (camera y has no component along the lab's +Z) before ``roll_deg`` is applied
    (positive = clockwise in the image).
    """
    forward = np.asarray(target_mm, float) - np.asarray(center_mm, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    if np.linalg.norm(right) < 1e-9:  # looking straight down or up
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward])
    roll = math.radians(roll_deg)
    c, s = math.cos(roll), math.sin(roll)
    roll_m = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return roll_m @ rot


def make_camera(name: str, center_mm: Sequence[float], target_mm: Sequence[float], *,
                size: tuple[int, int] = (640, 480), fov_deg: float = 60.0,
                principal_offset_px: tuple[float, float] = (0.0, 0.0),
                distortions: Sequence[float] = (0.0, 0.0, 0.0, 0.0, 0.0),
                roll_deg: float = 0.0) -> Camera:
    """One camera at ``center_mm`` looking at ``target_mm``.

    Parameters
    ----------
    name
        Camera name.
    center_mm, target_mm
        Camera centre and aim point in the lab frame (mm).
    size
        Image (width, height) in pixels.
    fov_deg
        Horizontal field of view across the image width (degrees), before distortion.
    principal_offset_px
        Principal point offset from the image centre (pixels).
    distortions
        OpenCV (k1, k2, p1, p2, k3).
    roll_deg
        Rotation about the optical axis.
    """
    width, height = int(size[0]), int(size[1])
    focal_px = 0.5 * width / math.tan(math.radians(fov_deg) / 2.0)
    matrix = np.array([[focal_px, 0.0, (width - 1) / 2.0 + principal_offset_px[0]],
                       [0.0, focal_px, (height - 1) / 2.0 + principal_offset_px[1]],
                       [0.0, 0.0, 1.0]])
    rot = look_at_rotation(np.asarray(center_mm, float), np.asarray(target_mm, float),
                           roll_deg=roll_deg)
    rvec = cv2.Rodrigues(rot)[0].ravel()
    tvec = -rot @ np.asarray(center_mm, float)
    return Camera(name=name, size=(width, height), matrix=matrix,
                  distortions=np.asarray(distortions, float), rotation=rvec, translation_mm=tvec)


def make_rig(n_cameras: int, *, radius_mm: float = 3500.0, height_mm: float = 1200.0,
             size: tuple[int, int] = (640, 480), fov_deg: float = 60.0,
             target_mm: Sequence[float] = (0.0, 0.0, 1000.0), facing_deg: float = 90.0,
             arc_deg: float = 240.0, seed: int = 0, jitter: bool = True) -> Rig:
    """A rig of ``n_cameras`` realistic cameras on an arc around the capture volume.

    Cameras ``cam1..camN`` stand on a circle of ``radius_mm`` around ``target_mm`` (projected
    on the floor) at ``height_mm``, spread evenly over ``arc_deg`` centred on the athlete's
    front (``facing_deg``: azimuth of the athlete's forward direction, measured from lab +X
    toward +Y), all aiming at ``target_mm``. With ``jitter`` each camera gets its own
    realistic imperfections drawn from ``seed``: focal length +-3 %, principal point a few
    pixels off centre, lens distortion k1 in [-0.2, -0.05], small k2, p1, p2, aim +-60 mm and
    roll +-1.5 deg.

    Parameters
    ----------
    n_cameras
        Number of cameras (>= 1).
    radius_mm, height_mm
        Horizontal distance of the cameras from the target and their height above the floor.
    size
        Image (width, height) in pixels; (480, 640) or (720, 1280) for portrait cameras.
    fov_deg
        Nominal horizontal field of view (10-120 degrees).
    target_mm
        Aim point in the lab (mm): the athlete's mid-body.
    facing_deg
        Azimuth the athlete faces; cameras sit on the arc centred there.
    arc_deg
        Angular spread of the cameras (0-360).
    seed
        Random seed of the imperfections.
    jitter
        False gives ideal cameras (no distortion, centred principal point).

    Returns
    -------
    Rig
        Cameras in order cam1..camN, metadata ``{"source": "virtual"}``.
    """
    problems = []
    if int(n_cameras) != n_cameras or n_cameras < 1:
        problems.append(f"expected at least 1 camera, but got {n_cameras}")
    if not radius_mm > 0:
        problems.append(f"radius_mm must be positive, got {radius_mm}")
    if not 10.0 <= fov_deg <= 120.0:
        problems.append(f"fov_deg must lie in 10-120, got {fov_deg}")
    if not 0.0 <= arc_deg <= 360.0:
        problems.append(f"arc_deg must lie in 0-360, got {arc_deg}")
    if len(size) != 2 or min(size) < 16:
        problems.append(f"size must be (width, height) of at least 16 px, got {size}")
    check_all(problems, where="virtual rig", fix="use e.g. make_rig(4, size=(640, 480))")
    rng = np.random.default_rng(seed)
    target = np.asarray(target_mm, float)
    n = int(n_cameras)
    if n == 1:
        azimuths = [facing_deg]
    elif arc_deg >= 360.0:
        azimuths = [facing_deg + 360.0 * i / n for i in range(n)]
    else:
        azimuths = list(np.linspace(facing_deg - arc_deg / 2, facing_deg + arc_deg / 2, n))
    cameras = []
    for i, az in enumerate(azimuths):
        a = math.radians(az)
        center = np.array([target[0] + radius_mm * math.cos(a),
                           target[1] + radius_mm * math.sin(a), height_mm])
        if jitter:
            fov = math.degrees(2 * math.atan(math.tan(math.radians(fov_deg) / 2)
                                             * (1 + rng.uniform(-0.03, 0.03))))
            offset = tuple(rng.uniform(-6.0, 6.0, 2))
            dist = (rng.uniform(-0.2, -0.05), rng.uniform(0.0, 0.06),
                    rng.uniform(-1e-3, 1e-3), rng.uniform(-1e-3, 1e-3), 0.0)
            aim = target + rng.uniform(-60.0, 60.0, 3)
            roll = rng.uniform(-1.5, 1.5)
        else:
            fov, offset, dist, aim, roll = fov_deg, (0.0, 0.0), (0.0,) * 5, target, 0.0
        cameras.append(make_camera(f"cam{i + 1}", center, aim, size=size, fov_deg=fov,
                                   principal_offset_px=offset, distortions=dist, roll_deg=roll))
    return Rig(tuple(cameras), {"source": "virtual", "seed": int(seed)})


def pixel_rays(camera: Camera) -> np.ndarray:
    """Unit ray directions in the lab frame through every pixel centre, (H, W, 3) float32.

    Exact for the camera's lens distortion: pixel centres are undistorted with OpenCV's
    iterative solver run to convergence (the default 5 iterations leave ~0.1 px at the
    corners of a strongly distorted lens).
    """
    width, height = camera.size
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    pix = np.stack([xs.ravel(), ys.ravel()], axis=1).reshape(-1, 1, 2)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-12)
    norm = cv2.undistortPointsIter(pix, camera.matrix, camera.distortions, None, None,
                                   criteria).reshape(-1, 2)
    dirs_cam = np.concatenate([norm, np.ones((norm.shape[0], 1))], axis=1)
    dirs = dirs_cam @ camera.R  # R.T applied to row vectors: camera -> lab
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    return dirs.reshape(height, width, 3).astype(np.float32)
