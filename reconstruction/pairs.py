"""Left/right pairs (hips, knees) decided jointly over all views, sided by the leg below.

A detector's left/right labels of a pair whose two points lie close together in an image
(the hips seen from the front-oblique: 16-24 px apart against ~5 px scatter) are unreliable:
the view may swap them, or put both near the middle ("half-swapped"). Judging each view
against the 3D of the others (:func:`liftlab.reconstruction.consistency.fix_swaps`) fails
there, because the swapped view pollutes the reference and a good view gets the blame.

:func:`resolve_pair` instead scores every assignment of the pair at once: each view either
keeps its labels, swaps them, or is left out of this pair in this frame (costing
``drop_cost_px``, so a half-swapped view that fits neither way is dropped). Left and right
are triangulated from the kept views (confidence-weighted DLT) and the assignment with the
smallest summed reprojection error wins. Geometry alone cannot tell an assignment from its
mirror image (every view swapped: same error, left and right exchanged in 3D); that tie is
broken by the leg below, whose labels are decided reliably because its points are far apart
in every image: the left hip lies on the left knee's side (``lateral_ref_mm``, the left-minus-
right vector of the knees and ankles), as does the left knee on the left ankle's side.

Written by hand because it is a small exhaustive search (3**C assignments, C <= 6 cameras)
vectorised over frames, which no library offers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import product

import numpy as np

from liftlab.core.cameras import Rig
from liftlab.core.landmarks import INDEX
from liftlab.reconstruction.triangulation import (
    Normalisation,
    reprojection_errors,
    solve_normal,
    triangulate_robust,
    view_normal_matrices,
)

#: Largest number of cameras searched exhaustively (3**6 = 729 assignments per frame).
MAX_CAMERAS = 6
_KEEP, _SWAP, _DROP = 0, 1, 2


@dataclass(frozen=True)
class PairResolution:
    """Outcome of :func:`resolve_pair` (C views, F frames).

    Attributes
    ----------
    points_px, weights
        Repaired copies of the inputs (dropped views: NaN and weight 0 for the pair).
    swapped, dropped
        (C, F) views whose labels were exchanged / that were left out of the pair.
    left_mm, right_mm
        (F, 3) the pair triangulated from the chosen assignment (NaN where undecided).
    """

    points_px: np.ndarray
    weights: np.ndarray
    swapped: np.ndarray
    dropped: np.ndarray
    left_mm: np.ndarray
    right_mm: np.ndarray


def _assignments(n_cam: int) -> np.ndarray:
    """(H, C) every keep / swap / drop state per view."""
    return np.array(list(product((_KEEP, _SWAP, _DROP), repeat=n_cam)), dtype=np.int8)


def resolve_pair(rig: Rig, points_px: np.ndarray, weights: np.ndarray, left: int, right: int,
                 *, drop_cost_px: float | np.ndarray = 15.0,
                 lateral_ref_mm: np.ndarray | None = None, max_dropped: int = 1,
                 anchors_mm: tuple[np.ndarray, np.ndarray] | None = None,
                 length_tolerance: float = 0.25,
                 norm: Normalisation | None = None) -> PairResolution:
    """Choose per view and frame keep / swap / drop for one left/right landmark pair.

    Parameters
    ----------
    rig
        The cameras, in the order of the first axis of ``points_px``.
    points_px
        (C, F, K, 2) undistorted pixels, NaN = not seen.
    weights
        (C, F, K) confidences, 0 = not seen.
    left, right
        Landmark indices of the pair.
    drop_cost_px
        Cost of leaving a view out (a number or one per view): a view whose summed
        left + right reprojection error exceeds it under both labelings is dropped.
    lateral_ref_mm
        (F, 3) left-minus-right direction of a reliable pair below (NaN = unknown): the
        chosen left point must lie on its side. Without it the assignment with fewer swaps
        wins the mirror tie.
    max_dropped
        Most views left out of the pair in one frame.
    anchors_mm
        (F, 3) left and right points of the segment's other end (the ankles for the knees):
        an assignment whose left or right segment length differs from its trial median (of
        the labels as detected) by more than ``length_tolerance`` is a ghost (a swapped view
        can meet the others' rays far from the body) and is not chosen.
    norm
        Normalisation of ``rig`` (computed when omitted).

    Returns
    -------
    PairResolution
        Views with fewer than two seen views in a frame are left as they are.
    """
    n_cam, n_f = weights.shape[:2]
    norm = norm or Normalisation.from_rig(rig)
    tau = np.broadcast_to(np.asarray(drop_cost_px, dtype=float), (n_cam,))[:, None]
    p_l, p_r = points_px[:, :, left], points_px[:, :, right]
    w_l, w_r = weights[:, :, left], weights[:, :, right]
    seen = (w_l > 0) & (w_r > 0)
    m_l, m_r = view_normal_matrices(norm, p_l), view_normal_matrices(norm, p_r)
    ref = None if lateral_ref_mm is None else np.asarray(lateral_ref_mm, dtype=float)
    best_cost = np.full(n_f, np.inf)
    best = np.zeros((n_cam, n_f), dtype=np.int8)
    best_l = np.full((n_f, 3), np.nan)
    best_r = np.full((n_f, 3), np.nan)
    typical = None
    for states in _assignments(n_cam):
        keep = (states == _KEEP)[:, None] & seen
        swap = (states == _SWAP)[:, None] & seen
        used = keep | swap
        wl = np.where(keep, w_l, np.where(swap, w_r, 0.0))
        wr = np.where(keep, w_r, np.where(swap, w_l, 0.0))
        sk, ss = keep[..., None, None], swap[..., None, None]
        mats_l = np.where(sk, m_l, np.where(ss, m_r, 0.0))
        mats_r = np.where(sk, m_r, np.where(ss, m_l, 0.0))
        x_l = solve_normal(np.einsum("cf,cfij->fij", wl ** 2, mats_l))
        x_r = solve_normal(np.einsum("cf,cfij->fij", wr ** 2, mats_r))
        e_ll = reprojection_errors(norm, x_l, p_l)
        e_rr = reprojection_errors(norm, x_r, p_r)
        e_lr = reprojection_errors(norm, x_l, p_r)
        e_rl = reprojection_errors(norm, x_r, p_l)
        per_view = np.where(keep, e_ll + e_rr, np.where(swap, e_lr + e_rl, 0.0))
        dropped = (states == _DROP)[:, None] & seen
        cost = (np.nan_to_num(per_view, nan=np.inf).sum(0) + (tau * dropped).sum(0)
                + 1e-3 * swap.sum(0))  # fewer swaps win exact ties
        cost[(used.sum(0) < 2) | (dropped.sum(0) > max_dropped)] = np.inf
        if anchors_mm is not None:
            lengths = [np.linalg.norm(norm.to_mm(x) - a, axis=-1)
                       for x, a in ((x_l, anchors_mm[0]), (x_r, anchors_mm[1]))]
            if typical is None:  # the first assignment keeps every label
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    typical = [np.nanmedian(v) for v in lengths]
            for v, t in zip(lengths, typical, strict=True):
                cost[np.abs(v - t) > length_tolerance * t] = np.inf
        if ref is not None:
            side = np.einsum("fi,fi->f", norm.to_mm(x_l) - norm.to_mm(x_r), ref)
            cost[side < 0] = np.inf  # NaN side (no reference) constrains nothing
        better = cost < best_cost
        best_cost[better] = cost[better]
        best[:, better] = np.where(seen[:, better], states[:, None], _KEEP)
        best_l[better], best_r[better] = x_l[better], x_r[better]
    swapped = best == _SWAP
    dropped = best == _DROP
    pts, w = points_px.copy(), weights.copy()
    c, f = np.nonzero(swapped)
    pts[c, f, left], pts[c, f, right] = points_px[c, f, right], points_px[c, f, left]
    w[c, f, left], w[c, f, right] = weights[c, f, right], weights[c, f, left]
    c, f = np.nonzero(dropped)
    pts[c, f, left] = pts[c, f, right] = np.nan
    w[c, f, left] = w[c, f, right] = 0.0
    return PairResolution(points_px=pts, weights=w, swapped=swapped, dropped=dropped,
                          left_mm=norm.to_mm(best_l), right_mm=norm.to_mm(best_r))


def _lateral(left_mm: np.ndarray, right_mm: np.ndarray) -> np.ndarray:
    """Sum over pairs of the unit left-minus-right vectors, (F, 3); NaN where none known."""
    d = left_mm - right_mm
    with np.errstate(invalid="ignore", divide="ignore"):
        d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    ok = np.all(np.isfinite(d), axis=-1)
    out = np.where(ok[..., None], d, 0.0).sum(axis=1)
    out[~ok.any(axis=1)] = np.nan
    return out


def resolve_legs(rig: Rig, points_px: np.ndarray, weights: np.ndarray, *,
                 names: tuple[str, ...] = ("knee",), drop_cost_px: float | np.ndarray = 15.0,
                 threshold_px: float = 15.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Resolve the knees (sided by the feet), then optionally the hips (sided by both).

    Parameters
    ----------
    points_px, weights
        (C, F, K, 2) undistorted pixels and (C, F, K) confidences, feet already repaired
        (:func:`liftlab.reconstruction.consistency.fix_swaps`).
    names
        Pairs resolved, in order, each sided by the ones before and the feet: ``"knee"``
        and/or ``"hip"``. Only the knees by default: on the rendered sessions the hips
        were not helped (a swapped and half-swapped front-oblique view lets a wrongly
        mirrored other view fit almost as well, see the module docstring).
    drop_cost_px
        See :func:`resolve_pair`.
    threshold_px
        Gate of the robust triangulation of the feet.

    Returns
    -------
    points, weights, swapped, dropped
        Repaired copies and (C, F, len(names)) masks, in the order of ``names``. Unchanged inputs when there
        are fewer than three or more than :data:`MAX_CAMERAS` cameras.
    """
    n_cam, n_f, _ = weights.shape
    swapped = np.zeros((n_cam, n_f, len(names)), dtype=bool)
    dropped = np.zeros_like(swapped)
    if not 3 <= n_cam <= MAX_CAMERAS:
        return points_px, weights, swapped, dropped
    norm = Normalisation.from_rig(rig)
    feet = [(INDEX[f"left_{n}"], INDEX[f"right_{n}"]) for n in ("ankle", "heel", "foot_index")]
    idx = np.array(feet).T.ravel()  # lefts then rights
    tri = triangulate_robust(rig, points_px[:, :, idx].reshape(n_cam, -1, 2),
                             weights[:, :, idx].reshape(n_cam, -1), threshold_px=threshold_px,
                             norm=norm)
    x = tri.points_mm.reshape(n_f, 2, len(feet), 3)
    ref = _lateral(x[:, 0], x[:, 1])
    pts, w = points_px, weights
    sides = []
    anchors = (x[:, 0, 0], x[:, 1, 0])  # the ankles
    for g, name in enumerate(names):
        res = resolve_pair(rig, pts, w, INDEX[f"left_{name}"], INDEX[f"right_{name}"],
                           drop_cost_px=drop_cost_px, lateral_ref_mm=ref, norm=norm,
                           anchors_mm=anchors)
        anchors = (res.left_mm, res.right_mm)
        pts, w = res.points_px, res.weights
        swapped[..., g], dropped[..., g] = res.swapped, res.dropped
        sides.append((res.left_mm, res.right_mm))
        pairs_l = np.stack([s[0] for s in sides] + [x[:, 0, 0]], axis=1)
        pairs_r = np.stack([s[1] for s in sides] + [x[:, 1, 0]], axis=1)
        ref = _lateral(pairs_l, pairs_r)
    return pts, w, swapped, dropped
