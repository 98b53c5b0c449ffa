"""Vectorised, confidence-weighted DLT triangulation with per-view outlier rejection.

Every function works on all frames and landmarks at once: points are flattened to N =
frames x landmarks, and views come first: ``points_px`` is (C, N, 2) *undistorted* pixels
(see :meth:`liftlab.core.Camera.undistort_px`), ``weights`` (C, N) in [0, 1] with 0 meaning
"not seen".

Why by hand: aniposelib's ``triangulate`` is a plain (unweighted) DLT and its
``triangulate_ransac`` loops over points in Python (~200 points/s here). Here the DLT is
written as normal equations: each view contributes a 4x4 matrix ``M_c = w_c^2 (a a^T + b b^T)``
with ``a = x P_3 - P_1`` and ``b = y P_3 - P_2`` (P in normalised camera coordinates and a
normalised world frame, Hartley-style, so the system is well conditioned). Any subset of views
is solved by summing its ``M_c`` and solving the 3x3 inhomogeneous system (W = 1) in closed
form, so scoring every pair of views for every point costs a few array operations.

Robust scheme (:func:`triangulate_robust`), in the spirit of RANSAC but exhaustive over pairs
(C <= ~8 cameras): every pair of views that saw the point is triangulated, each pair scores
the confidence-weighted count of views that agree with it within their threshold; the best
pair's agreeing views are solved together (weighted), and views still above the threshold are
dropped once more. A point needs ``min_views`` agreeing views or stays NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from liftlab.core.cameras import Rig
from liftlab.core.errors import InputError


@dataclass(frozen=True)
class Normalisation:
    """Projection matrices in normalised coordinates for well-conditioned DLT.

    ``projections_n[c] = [R_c | t_c] @ T`` where ``T`` maps normalised world points to lab mm:
    ``X_mm = scale_mm * X_n + centre_mm``. Image points are normalised with ``K^-1``.
    """

    matrices: np.ndarray  # (C, 3, 3) intrinsic matrices K
    projections_n: np.ndarray  # (C, 3, 4)
    centre_mm: np.ndarray  # (3,)
    scale_mm: float

    @classmethod
    def from_rig(cls, rig: Rig) -> Normalisation:
        centres = np.array([c.center_mm for c in rig.cameras])
        centre = centres.mean(axis=0)
        scale = float(np.mean(np.linalg.norm(centres - centre, axis=1))) or 1000.0
        t_world = np.eye(4)
        t_world[:3, :3] *= scale
        t_world[:3, 3] = centre
        proj = np.stack([np.hstack([c.R, c.translation_mm[:, None]]) @ t_world
                         for c in rig.cameras])
        return cls(matrices=np.stack([c.matrix for c in rig.cameras]), projections_n=proj,
                   centre_mm=centre, scale_mm=scale)

    def normalise_px(self, points_px: np.ndarray) -> np.ndarray:
        """(C, N, 2) undistorted pixels -> normalised image coordinates (C, N, 2)."""
        k = self.matrices
        x = (points_px[..., 0] - k[:, None, 0, 2] - k[:, None, 0, 1]
             * (points_px[..., 1] - k[:, None, 1, 2]) / k[:, None, 1, 1]) / k[:, None, 0, 0]
        y = (points_px[..., 1] - k[:, None, 1, 2]) / k[:, None, 1, 1]
        return np.stack([x, y], axis=-1)

    def project_px(self, points_n: np.ndarray) -> np.ndarray:
        """Normalised world points (N, 3) -> undistorted pixels in every view (C, N, 2)."""
        cam = np.einsum("cij,nj->cni", self.projections_n[:, :, :3], points_n)
        cam += self.projections_n[:, None, :, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            xy = cam[..., :2] / cam[..., 2:3]
        k = self.matrices
        u = k[:, None, 0, 0] * xy[..., 0] + k[:, None, 0, 1] * xy[..., 1] + k[:, None, 0, 2]
        v = k[:, None, 1, 1] * xy[..., 1] + k[:, None, 1, 2]
        out = np.stack([u, v], axis=-1)
        out[cam[..., 2] <= 0] = np.nan  # behind the camera: no valid projection
        return out

    def to_mm(self, points_n: np.ndarray) -> np.ndarray:
        return points_n * self.scale_mm + self.centre_mm

    def from_mm(self, points_mm: np.ndarray) -> np.ndarray:
        return (points_mm - self.centre_mm) / self.scale_mm


def view_normal_matrices(norm: Normalisation, points_px: np.ndarray) -> np.ndarray:
    """Per-view DLT normal matrices (C, N, 4, 4) (unweighted; NaN points give zeros)."""
    xy = norm.normalise_px(points_px)
    p = norm.projections_n  # (C, 3, 4)
    a = xy[..., 0:1] * p[:, None, 2, :] - p[:, None, 0, :]  # (C, N, 4)
    b = xy[..., 1:2] * p[:, None, 2, :] - p[:, None, 1, :]
    a = np.nan_to_num(a, nan=0.0)
    b = np.nan_to_num(b, nan=0.0)
    return a[..., :, None] * a[..., None, :] + b[..., :, None] * b[..., None, :]


def solve_normal(m: np.ndarray) -> np.ndarray:
    """Solve summed normal matrices (N, 4, 4) for X (N, 3) with W = 1 (Cramer's rule).

    Singular systems (fewer than two independent views) give NaN.
    """
    a = m[:, :3, :3]
    r = -m[:, :3, 3]
    c0 = np.cross(a[:, 1], a[:, 2])
    c1 = np.cross(a[:, 2], a[:, 0])
    c2 = np.cross(a[:, 0], a[:, 1])
    det = np.einsum("ni,ni->n", a[:, 0], c0)
    adj = np.stack([c0, c1, c2], axis=-1)  # inverse = adj / det (a symmetric)
    trace = np.einsum("nii->n", a)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.einsum("nij,nj->ni", adj, r) / det[:, None]
    bad = ~(np.abs(det) > 1e-12 * np.maximum(trace, 1e-300) ** 3)
    x[bad] = np.nan
    return x


def reprojection_errors(norm: Normalisation, points_n: np.ndarray,
                        points_px: np.ndarray) -> np.ndarray:
    """(C, N) pixel distance between observations and the projection of ``points_n``."""
    proj = norm.project_px(points_n)
    return np.linalg.norm(proj - points_px, axis=-1)


def _weighted_solve(mats: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return solve_normal(np.einsum("cn,cnij->nij", weights ** 2, mats))


@dataclass(frozen=True)
class Triangulation:
    """Result of a triangulation of N points from C views.

    Attributes
    ----------
    points_mm
        (N, 3) lab mm, NaN where not triangulated.
    used
        (C, N) bool, views that entered the final solution.
    errors_px
        (C, N) reprojection error in every view that saw the point (NaN otherwise).
    """

    points_mm: np.ndarray
    used: np.ndarray
    errors_px: np.ndarray

    @property
    def n_views(self) -> np.ndarray:
        return self.used.sum(axis=0).astype(np.int16)

    @property
    def mean_error_px(self) -> np.ndarray:
        e = np.where(self.used, self.errors_px, 0.0).sum(axis=0)
        n = self.used.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, e / n, np.nan)


def _check_shapes(rig: Rig, points_px: np.ndarray, weights: np.ndarray) -> None:
    if points_px.ndim != 3 or points_px.shape[-1] != 2 or points_px.shape[0] != len(rig):
        raise InputError(f"points_px must be (cameras={len(rig)}, N, 2), got {points_px.shape}")
    if weights.shape != points_px.shape[:2]:
        raise InputError(f"weights must be {points_px.shape[:2]}, got {weights.shape}")


def triangulate_dlt(rig: Rig, points_px: np.ndarray, weights: np.ndarray | None = None, *,
                    norm: Normalisation | None = None) -> Triangulation:
    """Plain (confidence-weighted) DLT with every view that saw the point.

    Parameters
    ----------
    rig
        The cameras, in the order of the first axis of ``points_px``.
    points_px
        (C, N, 2) undistorted pixels, NaN where not seen.
    weights
        (C, N) confidence in [0, 1]; default 1 where seen.
    """
    points_px = np.asarray(points_px, dtype=float)
    seen = np.all(np.isfinite(points_px), axis=-1)
    w = seen.astype(float) if weights is None else np.where(seen, weights, 0.0)
    _check_shapes(rig, points_px, w)
    norm = norm or Normalisation.from_rig(rig)
    mats = view_normal_matrices(norm, points_px)
    x_n = _weighted_solve(mats, w)
    used = (w > 0) & np.isfinite(x_n[:, 0])[None, :]
    errors = np.where(seen, reprojection_errors(norm, x_n, points_px), np.nan)
    x_n[used.sum(axis=0) < 2] = np.nan
    return Triangulation(points_mm=norm.to_mm(x_n), used=used & (used.sum(0) >= 2),
                         errors_px=errors)


def triangulate_robust(rig: Rig, points_px: np.ndarray, weights: np.ndarray | None = None, *,
                       threshold_px: float | np.ndarray = 15.0, min_views: int = 2,
                       chunk_points: int = 20000,
                       norm: Normalisation | None = None) -> Triangulation:
    """Consensus DLT: best pair of views by agreement, then weighted solve of its inliers.

    Parameters
    ----------
    rig
        The cameras, in the order of the first axis of ``points_px``.
    points_px
        (C, N, 2) undistorted pixels, NaN where not seen.
    weights
        (C, N) confidence in [0, 1]; 0 = not seen.
    threshold_px
        Reprojection error above which a view disagrees: a number or one per view (C,)
        (see :func:`adaptive_thresholds`).
    min_views
        Agreeing views needed for a point (>= 2).
    chunk_points
        Points processed at once (memory: ~C * chunk * 200 bytes).
    """
    points_px = np.asarray(points_px, dtype=float)
    n_cam = points_px.shape[0]
    seen = np.all(np.isfinite(points_px), axis=-1)
    w = seen.astype(float) if weights is None else np.where(seen, np.asarray(weights), 0.0)
    _check_shapes(rig, points_px, w)
    if min_views < 2:
        raise InputError(f"min_views must be >= 2, got {min_views}")
    thr = np.broadcast_to(np.asarray(threshold_px, dtype=float), (n_cam,))[:, None]
    norm = norm or Normalisation.from_rig(rig)
    n = points_px.shape[1]
    out_x = np.full((n, 3), np.nan)
    out_used = np.zeros((n_cam, n), dtype=bool)
    out_err = np.full((n_cam, n), np.nan)
    pairs = list(combinations(range(n_cam), 2))
    for lo in range(0, n, chunk_points):
        sl = slice(lo, min(n, lo + chunk_points))
        pts, wc = points_px[:, sl], w[:, sl]
        valid = wc > 0
        mats = view_normal_matrices(norm, pts)
        best_score = np.full(pts.shape[1], -np.inf)
        best_inl = np.zeros(valid.shape, dtype=bool)
        for i, j in pairs:
            both = valid[i] & valid[j]
            if not both.any():
                continue
            x_n = solve_normal(mats[i] + mats[j])
            err = reprojection_errors(norm, x_n, pts)
            inl = valid & (err < thr)
            # confidence-weighted agreement; ties go to the smaller total inlier error
            score = (np.where(inl, wc, 0.0).sum(0)
                     - 1e-6 * np.where(inl, err, 0.0).sum(0))
            score[~(both & inl[i] & inl[j])] = -np.inf
            better = score > best_score
            best_score[better] = score[better]
            best_inl[:, better] = inl[:, better]
        x_n = _weighted_solve(mats, np.where(best_inl, wc, 0.0))
        err = reprojection_errors(norm, x_n, pts)
        keep = best_inl & (err < thr)
        redo = (keep.sum(0) != best_inl.sum(0)) & (keep.sum(0) >= 2)
        if redo.any():
            x_n[redo] = _weighted_solve(mats[:, redo], np.where(keep[:, redo], wc[:, redo], 0.0))
            err[:, redo] = reprojection_errors(norm, x_n[redo], pts[:, redo])
        ok = (keep.sum(0) >= min_views) & np.isfinite(x_n[:, 0])
        x_n[~ok] = np.nan
        out_x[sl] = x_n
        out_used[:, sl] = keep & ok
        out_err[:, sl] = np.where(valid, err, np.nan)
    return Triangulation(points_mm=norm.to_mm(out_x), used=out_used, errors_px=out_err)


def adaptive_thresholds(errors_px: np.ndarray, used: np.ndarray, *, base_px: float,
                        factor: float = 3.0, floor_px: float = 4.0) -> np.ndarray:
    """Per-view gate from the errors of the inliers of a first pass.

    ``thr_c = clip(factor * median_c, floor_px, base_px)``: a view whose keypoints agree
    tightly with the others (a close, sharp camera) gets a tighter gate than a distant one,
    never looser than ``base_px``. Views with no inlier keep ``base_px``.
    """
    thr = np.full(errors_px.shape[0], float(base_px))
    for c in range(errors_px.shape[0]):
        e = errors_px[c][used[c] & np.isfinite(errors_px[c])]
        if e.size >= 20:
            thr[c] = float(np.clip(factor * np.median(e), floor_px, base_px))
    return thr
