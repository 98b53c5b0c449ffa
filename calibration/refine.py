"""Final board-constrained bundle adjustment of a rig, with full intrinsics.

Written here because no installed library does it: aniposelib's bundle adjustment refines
one focal length and k1 (k2) per camera with the principal point fixed and treats board
corners as free 3D points (the board geometry is only a soft penalty), and OpenCV's
``stereoCalibrate`` links two cameras only.  This step keeps aniposelib's result as the start
and refines, with ``scipy.optimize.least_squares`` (sparse Jacobian, soft-L1 loss), every
camera's pose (the first camera fixed as gauge), fx, fy, cx, cy and the radial terms of the
chosen model, plus one rigid board pose per frame; the board's true geometry is exact.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import lil_matrix

from liftlab.calibration.boards import Board
from liftlab.core.cameras import Camera, Rig

log = logging.getLogger(__name__)

_N_RADIAL = {"none": 0, "k1": 1, "k1k2": 2, "k1k2p1p2k3": 2}


def _initial_board_poses(rig: Rig, corners: np.ndarray, board: Board, min_corners: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: board pose in the rig frame (rvec, tvec) from the camera seeing most corners."""
    counts = np.sum(np.isfinite(corners[..., 0]), axis=2)  # (C, F)
    n_frames = corners.shape[1]
    rvecs = np.full((n_frames, 3), np.nan)
    tvecs = np.full((n_frames, 3), np.nan)
    for f in range(n_frames):
        c = int(np.argmax(counts[:, f]))
        if counts[c, f] < min_corners:
            continue
        cam = rig.cameras[c]
        ok = np.isfinite(corners[c, f, :, 0])
        res, rv, tv = cv2.solvePnP(board.object_points_mm[ok], corners[c, f, ok], cam.matrix,
                                   cam.distortions, flags=cv2.SOLVEPNP_IPPE)
        if not res:
            continue
        r_bc = cv2.Rodrigues(rv)[0]
        r_br = cam.R.T @ r_bc
        rvecs[f] = cv2.Rodrigues(r_br)[0].ravel()
        tvecs[f] = cam.R.T @ (tv.ravel() - cam.translation_mm)
    return rvecs, tvecs


def refine_rig(rig: Rig, corners: np.ndarray, board: Board, *, distortion: str = "k1k2",
               min_corners: int = 6, max_nfev: int = 200, loss_scale_px: float = 1.0) -> Rig:
    """Refine a rig on board views.

    Parameters
    ----------
    rig
        Starting rig (e.g. aniposelib's), any frame, mm.
    corners
        (C, F, n_corners, 2) detected corners, NaN where unseen, frames matched across cameras.
    board
        The board.
    distortion
        Lens model; its radial terms (k1 or k1, k2) are refined, other terms kept.
    """
    n_rad = _N_RADIAL.get(distortion, 2)
    n_cams, n_frames = corners.shape[:2]
    b_r, b_t = _initial_board_poses(rig, corners, board, min_corners)
    frames = np.flatnonzero(np.isfinite(b_r[:, 0]))
    if frames.size == 0:
        return rig
    fidx = {int(f): i for i, f in enumerate(frames)}
    obs = []  # (camera, frame slot, corner id, x, y)
    for c in range(n_cams):
        for f in frames:
            ok = np.flatnonzero(np.isfinite(corners[c, f, :, 0]))
            if ok.size >= min_corners:
                obs.append(np.column_stack([np.full(ok.size, c), np.full(ok.size, fidx[int(f)]),
                                            ok, corners[c, f, ok]]))
    obs_a = np.concatenate(obs)
    cam_of, slot_of, id_of = (obs_a[:, i].astype(int) for i in range(3))
    xy = obs_a[:, 3:5]
    n_cp = 6 + 4 + n_rad
    base = [c for c in rig.cameras]

    def pack() -> np.ndarray:
        out = []
        for c in base:
            k = c.matrix
            out += [*c.rotation, *c.translation_mm, k[0, 0], k[1, 1], k[0, 2], k[1, 2],
                    *c.distortions[:n_rad]]
        out += list(np.column_stack([b_r[frames], b_t[frames]]).ravel())
        return np.asarray(out, float)

    def cameras(x: np.ndarray) -> list[Camera]:
        out = []
        for i, c in enumerate(base):
            p = x[i * n_cp:(i + 1) * n_cp]
            k = np.array([[p[6], 0, p[8]], [0, p[7], p[9]], [0, 0, 1]])
            d = c.distortions.copy()
            d[:n_rad] = p[10:10 + n_rad]
            out.append(Camera(c.name, c.size, k, d, p[:3], p[3:6]))
        return out

    gauge = np.concatenate([base[0].rotation, base[0].translation_mm])

    def full(x_free: np.ndarray) -> np.ndarray:
        return np.concatenate([gauge, x_free])  # the first camera's pose is fixed

    def residuals(x_free: np.ndarray) -> np.ndarray:
        x = full(x_free)
        poses = x[n_cams * n_cp:].reshape(-1, 6)
        res = np.empty_like(xy)
        obj = board.object_points_mm
        for i, cam in enumerate(cameras(x)):
            sel = cam_of == i
            if not sel.any():
                continue
            rv, tv = poses[slot_of[sel], :3], poses[slot_of[sel], 3:]
            pts = _rotate(rv, obj[id_of[sel]]) + tv
            proj, _ = cv2.projectPoints(pts, cam.rotation, cam.translation_mm, cam.matrix,
                                        cam.distortions)
            res[sel] = proj.reshape(-1, 2) - xy[sel]
        return res.ravel()

    n_obs = len(xy)
    sparsity = lil_matrix((2 * n_obs, n_cams * n_cp + 6 * len(frames)), dtype=np.int8)
    rows = np.arange(n_obs)
    for j in range(n_cp):
        sparsity[2 * rows, cam_of * n_cp + j] = 1
        sparsity[2 * rows + 1, cam_of * n_cp + j] = 1
    for j in range(6):
        sparsity[2 * rows, n_cams * n_cp + slot_of * 6 + j] = 1
        sparsity[2 * rows + 1, n_cams * n_cp + slot_of * 6 + j] = 1
    x0 = pack()[6:]
    sol = least_squares(residuals, x0, jac_sparsity=sparsity.tocsr()[:, 6:], loss="soft_l1",
                        f_scale=loss_scale_px, x_scale="jac", max_nfev=max_nfev, method="trf")
    log.info("board bundle adjustment: %d observations, cost %.3g -> %.3g", n_obs,
             0.5 * np.sum(residuals(x0) ** 2), 0.5 * np.sum(residuals(sol.x) ** 2))
    return Rig(tuple(cameras(full(sol.x))), dict(rig.metadata))


def _rotate(rvecs: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Rodrigues rotation of each point (N, 3) by its own rotation vector (N, 3)."""
    theta = np.linalg.norm(rvecs, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(theta > 1e-12, rvecs / theta, 0.0)
    cos, sin = np.cos(theta), np.sin(theta)
    return (points * cos + np.cross(k, points) * sin
            + k * np.sum(k * points, axis=1, keepdims=True) * (1 - cos))
