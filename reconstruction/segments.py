"""Segment-length-constrained refinement of 3D leg points (an optional last step).

A person's bones do not change length, but MediaPipe's knee and ankle drift with the gait or
squat phase, so independently triangulated joints make thighs and shanks "breathe" by 5-6 %
on the real demo recording. :func:`refine_segments` takes the cleaned trajectory and, frame
by frame, moves the leg points (hip, knee, ankle, heel, foot index of each side) to minimise

    sum_views  w_cv * |project_c(X_k) - x_ck|^2          (px^2, views that were used)
  + bone_length_weight^2 * sum_bones (|X_a - X_b| - L_ab)^2   (L_ab = median over the trial)
  + anchor_weight^2 * |X_k - X_k,clean|^2     (keeps points smooth and, without views, put;
                                               stiffer for ankle, heel and toe)

with ``w_cv`` the 2D confidence. This is aniposelib's ``triangulate_optim`` limb constraint
idea, written by hand because aniposelib solves one large ``scipy.optimize.least_squares``
over the whole trial (seconds to minutes) while here every (frame, side) is a small
independent problem (15 unknowns): a few Gauss-Newton steps on batched 15x15 normal
equations cost milliseconds for a 100-frame trial. The weights are in px per mm: with
``bone_length_weight = 1`` one millimetre of bone-length change costs as much as 1 px of
reprojection error in one view. The target lengths are the trial's medians, so a trial must
show one person (the robust triangulation and clean-up come first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liftlab.core.cameras import Rig
from liftlab.core.errors import InputError
from liftlab.core.landmarks import INDEX

#: The chain refined on each side (all its points are re-fitted to the 2D).
CHAIN: tuple[str, ...] = ("hip", "knee", "ankle", "heel", "foot_index")
#: Thigh and shank: the segments constrained by default.
LEG_SEGMENTS: tuple[tuple[str, str], ...] = (("hip", "knee"), ("knee", "ankle"))
#: The foot triangle, optional (MediaPipe's heel and toe are less reliable).
_FOOT = ("ankle", "heel", "foot_index")
FOOT_SEGMENTS: tuple[tuple[str, str], ...] = (("ankle", "heel"), ("heel", "foot_index"),
                                              ("ankle", "foot_index"))


@dataclass(frozen=True)
class SegmentRefinement:
    """Refined points and what the refinement did.

    Attributes
    ----------
    points_mm
        (F, K, 3) refined copy (landmarks outside the legs unchanged).
    lengths_mm
        Median length per segment name (``"left_hip-left_knee"``...) used as the target.
    reproj_error_px
        (F, K) mean reprojection error of the refined points over the views used (NaN where
        no view was used or the landmark was not refined).
    """

    points_mm: np.ndarray
    lengths_mm: dict[str, float]
    reproj_error_px: np.ndarray


def _project(proj: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undistorted pixels (C, N, 2) of points (N, 3) and their Jacobians (C, N, 2, 3)."""
    h = np.einsum("cij,nj->cni", proj[:, :, :3], x) + proj[:, None, :, 3]
    z = h[..., 2:3]
    uv = h[..., :2] / z
    jac = (proj[:, None, :2, :3] - uv[..., :, None] * proj[:, None, None, 2, :3]) \
        / z[..., None]
    return uv, jac


def refine_segments(points_mm: np.ndarray, rig: Rig, points_px: np.ndarray,
                    weights: np.ndarray, *, bone_length_weight: float = 1.0,
                    anchor_weight: float = 0.4, foot_anchor_factor: float = 2.0,
                    iterations: int = 5,
                    sides: tuple[str, ...] = ("left", "right"),
                    segments: tuple[tuple[str, str], ...] = LEG_SEGMENTS) -> SegmentRefinement:
    """Pull each frame's leg segments to their median length, keeping the 2D fit.

    Parameters
    ----------
    points_mm
        (F, K, 3) cleaned trajectory (33 MediaPipe landmarks), lab mm.
    rig
        The calibration, in the order of the views of ``points_px``.
    points_px
        (C, F, K, 2) *undistorted* 2D observations.
    weights
        (C, F, K) confidence of the views to fit (0 = view not used for that point, e.g.
        rejected as an outlier by the robust triangulation).
    bone_length_weight
        px of reprojection error per mm of segment-length change (see module docstring).
    anchor_weight
        px per mm pulling each point to its cleaned position (small; keeps points with
        fewer than two views where the clean-up put them).
    foot_anchor_factor
        ``anchor_weight`` multiplier for ankle, heel and toe. MediaPipe's ankles are its
        steadiest leg points (virtual lab: ~13 mm vs ~30 mm for knees), so a length error
        should mostly move the knee: with 1.0 the virtual-lab ankles got ~1.5 mm worse,
        with 2.0 ~0.4 mm, while hips and knees improved more.
    iterations
        Gauss-Newton steps (each a batched solve of the 15x15 normal equations).
    sides
        Which legs to refine.
    segments
        Constrained segments as pairs of names in :data:`CHAIN` (side omitted).
    """
    if points_mm.ndim != 3 or points_mm.shape[-1] != 3:
        raise InputError(f"points_mm must be (F, K, 3), got {points_mm.shape}")
    n_cam = len(rig)
    if points_px.shape[:1] != (n_cam,) or points_px.shape[1:3] != points_mm.shape[:2] \
            or weights.shape != points_px.shape[:3]:
        raise InputError(f"points_px {points_px.shape} / weights {weights.shape} do not match "
                         f"{n_cam} cameras x points {points_mm.shape[:2]}")
    if bone_length_weight < 0 or anchor_weight <= 0 or foot_anchor_factor <= 0 \
            or iterations < 1:
        raise InputError("need bone_length_weight >= 0, anchor_weight > 0, "
                         "foot_anchor_factor > 0, iterations >= 1")
    unknown = sorted({j for seg in segments for j in seg} - set(CHAIN))
    if unknown:
        raise InputError(f"segments name {unknown}, not in the refined chain {CHAIN}")
    pairs = [(CHAIN.index(a), CHAIN.index(b)) for a, b in segments]
    proj = np.stack([c.projection for c in rig.cameras])  # (C, 3, 4)
    idx = np.array([[INDEX[f"{s}_{j}"] for j in CHAIN] for s in sides])  # (S, P)
    n_p = len(CHAIN)
    x0 = np.moveaxis(points_mm[:, idx], 1, 0)  # (S, F, P, 3)
    obs = np.moveaxis(points_px[:, :, idx], 2, 1)  # (C, S, F, P, 2)
    w = np.moveaxis(weights[:, :, idx], 2, 1)
    w = np.where(np.all(np.isfinite(obs), axis=-1), w, 0.0)
    obs = np.nan_to_num(obs)
    lengths = {}
    target = np.empty((len(sides), len(pairs)))
    for si, s in enumerate(sides):
        for bi, (a, b) in enumerate(pairs):
            d = np.linalg.norm(x0[si, :, a] - x0[si, :, b], axis=-1)
            target[si, bi] = np.nanmedian(d) if np.isfinite(d).any() else np.nan
            lengths[f"{s}_{CHAIN[a]}-{s}_{CHAIN[b]}"] = float(target[si, bi])
    ok = np.all(np.isfinite(x0), axis=(-1, -2))  # (S, F): all chain points present
    x = np.where(ok[..., None, None], x0, 0.0)
    anchor = x.copy()
    lam2 = bone_length_weight ** 2
    factor = np.array([foot_anchor_factor if j in _FOOT else 1.0 for j in CHAIN])
    mu2 = (anchor_weight * factor) ** 2  # (P,)
    eye = np.eye(3)
    for _ in range(iterations):
        uv, jac = _project(proj, x.reshape(-1, 3))  # (C, N, 2), (C, N, 2, 3)
        shp = (n_cam,) + x.shape[:-1]
        uv, jac = uv.reshape(shp + (2,)), jac.reshape(shp + (2, 3))
        r = np.nan_to_num(uv - obs)  # (C, S, F, P, 2)
        jac = np.nan_to_num(jac)
        jtj_pt = np.einsum("csfp,csfpki,csfpkj->sfpij", w, jac, jac) + mu2[:, None, None] * eye
        jtr_pt = np.einsum("csfp,csfpki,csfpk->sfpi", w, jac, r) + mu2[:, None] * (x - anchor)
        big = np.zeros(x.shape[:2] + (n_p, n_p, 3, 3))
        big[:, :, np.arange(n_p), np.arange(n_p)] = jtj_pt
        grad = jtr_pt.copy()
        for bi, (a, b) in enumerate(pairs):
            d = x[:, :, a] - x[:, :, b]
            length = np.linalg.norm(d, axis=-1, keepdims=True)
            g = d / np.maximum(length, 1e-9)
            res = length[..., 0] - target[:, bi, None]  # (S, F)
            res = np.nan_to_num(res)
            ggt = lam2 * g[..., :, None] * g[..., None, :]
            big[:, :, a, a] += ggt
            big[:, :, b, b] += ggt
            big[:, :, a, b] -= ggt
            big[:, :, b, a] -= ggt
            grad[:, :, a] += lam2 * res[..., None] * g
            grad[:, :, b] -= lam2 * res[..., None] * g
        mat = big.transpose(0, 1, 2, 4, 3, 5).reshape(x.shape[:2] + (3 * n_p, 3 * n_p))
        step = np.linalg.solve(mat, -grad.reshape(x.shape[:2] + (3 * n_p, 1)))
        x = x + step.reshape(x.shape)
    x = np.where(ok[..., None, None], x, x0)
    out = points_mm.copy()
    out[:, idx] = np.moveaxis(x, 0, 1)
    err = reprojection_error_px(out, rig, points_px, weights)
    mask = np.zeros(points_mm.shape[1], dtype=bool)
    mask[idx.ravel()] = True
    err[:, ~mask] = np.nan
    return SegmentRefinement(points_mm=out, lengths_mm=lengths, reproj_error_px=err)


def reprojection_error_px(points_mm: np.ndarray, rig: Rig, points_px: np.ndarray,
                          weights: np.ndarray) -> np.ndarray:
    """(F, K) mean pixel distance of ``points_mm`` to the 2D of the views with weight > 0."""
    proj = np.stack([c.projection for c in rig.cameras])
    uv, _ = _project(proj, points_mm.reshape(-1, 3))
    d = np.linalg.norm(uv.reshape(points_px.shape) - points_px, axis=-1)  # (C, F, K)
    use = (weights > 0) & np.isfinite(d)
    n = use.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(use, d, 0.0).sum(axis=0) / n, np.nan)
