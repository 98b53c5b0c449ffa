"""Multi-view consistency of 2D detections: left/right swaps, another person, jumps.

Each view is judged against the others, not by guessing: for every camera ``c`` the points
are triangulated robustly from the *other* cameras and projected into ``c``
(:func:`leave_one_out_predictions`). Then per camera and frame

- a **left/right swap** is when the mirrored detection (``MIRROR_PERMUTATION``) fits that
  prediction much better than the detection as-is (:func:`detect_swaps`); it is fixed by
  permuting the landmarks back (:func:`apply_swaps`), separately for the lower and upper body;
- **another person** (a bystander, or a detector that jumped) is when the detection as a whole
  (median over landmarks) is far from the prediction relative to the person's size
  (:func:`detect_foreign_views`); that view is dropped for that frame.

:func:`track_jumps` flags sudden jumps of the hip centre of one camera (useful with two
cameras, where views cannot out-vote each other). :func:`select_person` picks, for a
multi-person detector, the candidate consistent across views and time.
"""

from __future__ import annotations

import warnings
from itertools import product

import numpy as np

from liftlab.core.cameras import Rig
from liftlab.core.landmarks import INDEX, LANDMARKS, MIRROR_PERMUTATION
from liftlab.reconstruction.triangulation import (
    Normalisation,
    reprojection_errors,
    solve_normal,
    triangulate_robust,
    view_normal_matrices,
)

_MIRROR = np.array(MIRROR_PERMUTATION)


def _sided(*parts: str) -> np.ndarray:
    return np.array([i for i, n in enumerate(LANDMARKS)
                     if n.startswith(("left_", "right_")) and any(p in n for p in parts)])


#: Groups of sided landmarks whose left/right swap is decided together: the detector swaps
#: whole legs when they cross (side views, gait), and the upper body on its own.
SWAP_GROUPS: dict[str, np.ndarray] = {
    "hips": _sided("hip"),
    "knees": _sided("knee"),
    "feet": _sided("ankle", "heel", "foot_index"),
    "upper": np.array([i for i, n in enumerate(LANDMARKS)
                       if _MIRROR[i] != i and not any(p in n for p in
                                                      ("hip", "knee", "ankle", "heel", "foot"))]),
}


def leave_one_out_predictions(rig: Rig, points_px: np.ndarray, weights: np.ndarray, *,
                              threshold_px: float | np.ndarray = 15.0) -> np.ndarray:
    """Where each view *should* see each landmark according to the other views.

    Parameters
    ----------
    points_px
        (C, F, K, 2) undistorted pixels.
    weights
        (C, F, K) confidences, 0 = not seen.

    Returns
    -------
    (C, F, K, 2) undistorted pixels, NaN where fewer than two other views agree.
    """
    n_cam = points_px.shape[0]
    shape = points_px.shape[1:3]
    thr = np.broadcast_to(np.asarray(threshold_px, dtype=float), (n_cam,))
    norm = Normalisation.from_rig(rig)
    out = np.full(points_px.shape, np.nan)
    if n_cam < 3:
        return out
    for c in range(n_cam):
        others = [i for i in range(n_cam) if i != c]
        sub = rig.subset([rig.names[i] for i in others])
        tri = triangulate_robust(sub, points_px[others].reshape(n_cam - 1, -1, 2),
                                 weights[others].reshape(n_cam - 1, -1),
                                 threshold_px=thr[others])
        x_n = norm.from_mm(tri.points_mm)
        out[c] = norm.project_px(x_n)[c].reshape(shape + (2,))
    return out


def _group_error(points_px: np.ndarray, predicted: np.ndarray, idx: np.ndarray,
                 perm: np.ndarray | None) -> np.ndarray:
    """Median distance over landmarks ``idx`` -> (C, F) (robust to single wrong points)."""
    src = points_px if perm is None else points_px[:, :, perm]
    return _nanmedian(np.linalg.norm(src[:, :, idx] - predicted[:, :, idx], axis=-1))


def detect_swaps(points_px: np.ndarray, predicted: np.ndarray, *,
                 ratio: float = 0.5, min_gain_px: float = 5.0) -> np.ndarray:
    """Left/right swaps per view, frame and group of :data:`SWAP_GROUPS`.

    A group is swapped when its mirrored detection fits the prediction from the other
    views better by a factor ``ratio`` and by ``min_gain_px``.

    Returns
    -------
    (C, F, G) bool, G in the order of :data:`SWAP_GROUPS`.
    """
    out = []
    for idx in SWAP_GROUPS.values():
        as_is = _group_error(points_px, predicted, idx, None)
        mirrored = _group_error(points_px, predicted, idx, _MIRROR)
        with np.errstate(invalid="ignore"):
            out.append((mirrored < ratio * as_is) & (as_is - mirrored > min_gain_px))
    return np.stack(out, axis=-1)


def apply_swaps(points_px: np.ndarray, weights: np.ndarray,
                swaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Permute back the swapped groups flagged by :func:`detect_swaps` (copies)."""
    pts, w = points_px.copy(), weights.copy()
    for g, idx in enumerate(SWAP_GROUPS.values()):
        c, f = np.nonzero(swaps[..., g])
        if c.size == 0:
            continue
        src = _MIRROR[idx]
        pts[c[:, None], f[:, None], idx[None, :]] = points_px[c[:, None], f[:, None], src[None, :]]
        w[c[:, None], f[:, None], idx[None, :]] = weights[c[:, None], f[:, None], src[None, :]]
    return pts, w


def _group_hypothesis_costs(norm: Normalisation, points_px: np.ndarray, weights: np.ndarray,
                            idx: np.ndarray, flips: np.ndarray, dropped: np.ndarray, *,
                            threshold_px: np.ndarray, drop_px: float) -> tuple[np.ndarray, np.ndarray,
                                                              np.ndarray]:
    """Score every flip pattern of one swap group in every frame.

    For pattern ``h`` (``flips[h, c]``: view ``c`` mirrored; ``dropped[h, c]``: view ``c``
    left out, at a cost of ``drop_px^2``) the group's landmarks are
    triangulated from all views (confidence-weighted DLT), views whose group error (mean over
    the group's landmarks) exceeds their gate are dropped and the rest solved again. The cost
    is ``sum_c min(e_c, gate_c)^2`` over the views that saw the group, so one bad view costs
    at most one gate whatever it shows.

    Returns
    -------
    cost (H, F), points (H, F, L, 3) normalised, view errors (H, C, F).
    """
    n_cam, n_f = weights.shape[:2]
    n_l = idx.size
    versions = []
    for perm in (idx, _MIRROR[idx]):
        p = points_px[:, :, perm].reshape(n_cam, -1, 2)
        versions.append((p, view_normal_matrices(norm, p),
                         weights[:, :, perm].reshape(n_cam, -1)))
    thr = threshold_px[:, None]
    costs, points, errors = [], [], []
    for pattern, out in zip(flips, dropped, strict=True):
        pick = [versions[int(f)] for f in pattern]
        pts = np.stack([pick[c][0][c] for c in range(n_cam)])
        mats = np.stack([pick[c][1][c] for c in range(n_cam)])
        w_all = np.stack([pick[c][2][c] for c in range(n_cam)])
        w = np.where(out[:, None], 0.0, w_all)
        x = solve_normal(np.einsum("cn,cnij->nij", w ** 2, mats))
        err = _nanmean(reprojection_errors(norm, x, pts).reshape(n_cam, n_f, n_l))
        keep = np.repeat(~(err > thr), n_l, axis=1) & (w > 0)
        redo = keep.sum(0) >= 2
        w2 = np.where(keep, w, 0.0)
        x[redo] = solve_normal(np.einsum("cn,cnij->nij", w2[:, redo] ** 2, mats[:, redo]))
        err = _nanmean(reprojection_errors(norm, x, pts).reshape(n_cam, n_f, n_l))
        seen = (w.reshape(n_cam, n_f, n_l) > 0).any(-1)
        cost = np.where(seen, np.minimum(np.nan_to_num(err, nan=np.inf), thr) ** 2, 0.0)
        was_seen = (w_all.reshape(n_cam, n_f, n_l) > 0).any(-1)
        cost += np.where(was_seen & out[:, None], drop_px ** 2, 0.0)
        costs.append(cost.sum(0))
        points.append(x.reshape(n_f, n_l, 3))
        errors.append(np.where(seen, err, np.nan))
    return np.stack(costs), np.stack(points), np.stack(errors)


def _smoothest_path(cost: np.ndarray, points_mm: np.ndarray, *,
                    continuity_mm: float) -> np.ndarray:
    """Viterbi over hypotheses: (H, F) costs, (H, F, L, 3) points -> (F,) chosen hypothesis.

    Transition cost between hypothesis ``i`` at ``t - 1`` and ``j`` at ``t`` is
    ``(mean_L |x_j(t) - x_i(t - 1)| / continuity_mm)^2`` (0 where either is unsolved).
    """
    n_h, n_f = cost.shape
    acc = cost[:, 0].copy()
    back = np.zeros((n_f, n_h), dtype=np.intp)
    for t in range(1, n_f):
        step = np.linalg.norm(points_mm[:, None, t - 1] - points_mm[None, :, t], axis=-1)
        trans = np.nan_to_num((step.mean(-1) / continuity_mm) ** 2, nan=0.0)  # (H, H)
        total = acc[:, None] + trans
        back[t] = np.argmin(total, axis=0)
        acc = total[back[t], np.arange(n_h)] + cost[:, t]
    path = np.empty(n_f, dtype=np.intp)
    path[-1] = int(np.argmin(acc))
    for t in range(n_f - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def fix_swaps(rig: Rig, points_px: np.ndarray, weights: np.ndarray, *,
              threshold_px: float = 15.0, min_gain_px: float = 6.0,
              reject_group_outliers: bool = True, continuity_mm: float = 10.0,
              drop_px: float = 10.0,
              predicted: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detect and undo left/right swaps per view, frame and group; drop inconsistent views.

    Every swap group of :data:`SWAP_GROUPS` is decided on its own (a detector often swaps the
    hips of a front-oblique view while its knees are right). For each frame every pattern of
    mirrored views (``2^C``, C <= ~6) is scored jointly by :func:`_group_hypothesis_costs`;
    each mirrored view costs ``min_gain_px^2`` extra, so a view is only flipped when that
    makes the views agree clearly better. Scoring all views together, rather than each view
    against a prediction from the others, keeps a swapped view from spoiling the prediction
    its neighbours are judged by.

    Frames are not decided alone: with small left-right separations (hips seen obliquely:
    ~20 px for ~5 px detector scatter) a wrong pattern can fit one frame about as well, but
    its 3D jumps away from the neighbouring frames. The pattern sequence is the cheapest path
    (Viterbi, :func:`_smoothest_path`) through per-frame costs plus the group's 3D step
    between consecutive frames, ``(step / continuity_mm)^2``. This also settles the global
    mirror (a pattern and its complement fit a frame equally, e.g. 2 of 4 views swapped, but
    only one continues the left and right tracks).

    With ``reject_group_outliers`` a view whose group error still exceeds ``threshold_px``
    under the chosen pattern (with >= 2 other views agreeing) is dropped for the group's
    landmarks in that frame (weight 0, NaN): one inconsistent view cannot drag the group.

    ``predicted`` is accepted for compatibility and not used.

    Returns
    -------
    points, weights, swaps
        Repaired copies and the (C, F, G) mask of groups repaired.
    """
    del predicted
    n_cam, n_f, _ = weights.shape
    swaps = np.zeros((n_cam, n_f, len(SWAP_GROUPS)), dtype=bool)
    pts, w = points_px.copy(), weights.copy()
    if n_cam < 3:
        return pts, w, swaps
    norm = Normalisation.from_rig(rig)
    thr = np.broadcast_to(np.asarray(threshold_px, dtype=float), (n_cam,))
    flips = np.array(list(product((False, True), repeat=n_cam)))  # (H, C)
    dropped = np.zeros_like(flips)
    if n_cam >= 4:  # leave one view out (never flipped): the 3 or more others still check
        one = [(f, np.arange(n_cam) == c) for c in range(n_cam) for f in flips if not f[c]]
        flips = np.concatenate([flips, [f for f, _ in one]])
        dropped = np.concatenate([dropped, [d for _, d in one]])
    drop = np.zeros((n_cam, n_f, weights.shape[2]), dtype=bool)
    for g, idx in enumerate(SWAP_GROUPS.values()):
        cost, x, err = _group_hypothesis_costs(norm, points_px, weights, idx, flips, dropped,
                                               threshold_px=thr, drop_px=drop_px)
        seen = (weights[:, :, idx] > 0).any(-1)  # (C, F)
        n_flip = (flips[:, :, None] & seen[None]).sum(1)  # (H, F)
        penal = np.where(np.isfinite(x[..., 0]).all(-1), cost, np.inf) \
            + min_gain_px ** 2 * n_flip
        penal[:, ~np.isfinite(penal).any(0)] = 0.0  # group not solvable: no evidence
        best = _smoothest_path(penal, norm.scale_mm * x, continuity_mm=continuity_mm)
        swaps[:, :, g] = (flips[best].T & seen)
        drop[:, :, idx] |= (dropped[best].T & seen)[:, :, None]
        if reject_group_outliers:
            e = err[best, :, np.arange(n_f)].T  # (C, F)
            agree = (~(e > thr[:, None]) & seen).sum(0)
            bad = (e > thr[:, None]) & (agree >= 2)
            drop[:, :, idx] |= bad[:, :, None]
    pts, w = apply_swaps(points_px, weights, swaps)
    w[drop] = 0.0
    pts[drop] = np.nan
    return pts, w, swaps


def person_height_px(points_px: np.ndarray) -> np.ndarray:
    """Vertical extent of the detected landmarks per view and frame, (C, F) (NaN if none)."""
    y = points_px[..., 1]
    seen = np.isfinite(y)
    hi = np.where(seen, y, -np.inf).max(-1)
    lo = np.where(seen, y, np.inf).min(-1)
    return np.where(seen.any(-1), hi - lo, np.nan)


def detect_foreign_views(points_px: np.ndarray, predicted: np.ndarray, *,
                         max_error_fraction: float = 0.15,
                         min_error_px: float = 30.0) -> np.ndarray:
    """Views that saw someone else (or nonsense) in a frame, (C, F) bool.

    True when the median distance between detection and prediction over the landmarks
    exceeds ``max(min_error_px, max_error_fraction * person height)``.
    """
    med = _nanmedian(np.linalg.norm(points_px - predicted, axis=-1))
    limit = np.maximum(min_error_px, max_error_fraction * np.nan_to_num(
        person_height_px(points_px), nan=0.0))
    return np.nan_to_num(med, nan=0.0) > limit


def _nanmean(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN; all-NaN rows give NaN without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=-1)


def _nanmedian(values: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN; all-NaN rows give NaN without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=-1)


def hip_centre_px(points_px: np.ndarray) -> np.ndarray:
    """(..., F, K, 2) -> (..., F, 2) mid-hip."""
    return 0.5 * (points_px[..., INDEX["left_hip"], :] + points_px[..., INDEX["right_hip"], :])


def track_jumps(points_px: np.ndarray, *, max_step_fraction: float = 0.25) -> np.ndarray:
    """Frames where one camera's hip centre jumps by more than ``max_step_fraction`` of the
    person's height since the previous detection, (F,) bool for (F, K, 2) input."""
    hip = hip_centre_px(points_px)
    height = person_height_px(points_px[None])[0]
    out = np.zeros(hip.shape[0], dtype=bool)
    ok = np.nonzero(np.isfinite(hip[:, 0]))[0]
    if ok.size < 2:
        return out
    step = np.linalg.norm(np.diff(hip[ok], axis=0), axis=-1)
    scale = np.fmax(height[ok[1:]], height[ok[:-1]])
    out[ok[1:]] = step > max_step_fraction * np.nan_to_num(scale, nan=np.inf)
    return out


def select_person(rig: Rig, candidates: np.ndarray, *, threshold_px: float = 30.0,
                  iterations: int = 2) -> np.ndarray:
    """Choose one person per view and frame among multi-person candidates.

    Parameters
    ----------
    candidates
        (C, F, P, K, 3) undistorted x, y, confidence per view, frame, person; NaN = absent.

    Starting from the tallest candidate of each view, each view's candidate is re-chosen
    as the one closest (median over landmarks) to the leave-one-out prediction of the other
    views' current choices; views with no prediction keep the candidate nearest in time.

    Returns
    -------
    (C, F, K, 3) the chosen person's points and confidence.
    """
    n_cam, n_f, n_p = candidates.shape[:3]
    pts = candidates[..., :2]
    height = person_height_px(pts.reshape(n_cam, n_f * n_p, -1, 2)).reshape(n_cam, n_f, n_p)
    choice = np.argmax(np.nan_to_num(height, nan=-1.0), axis=-1)  # (C, F)
    c_idx, f_idx = np.meshgrid(np.arange(n_cam), np.arange(n_f), indexing="ij")
    for _ in range(iterations):
        chosen = candidates[c_idx, f_idx, choice]
        w = np.nan_to_num(chosen[..., 2], nan=0.0)
        pred = leave_one_out_predictions(rig, chosen[..., :2], w, threshold_px=threshold_px)
        d = np.linalg.norm(pts - pred[:, :, None], axis=-1)  # (C, F, P, K)
        score = _nanmedian(d)
        has = np.isfinite(score).any(-1)
        best = np.argmin(np.where(np.isfinite(score), score, np.inf), axis=-1)
        choice = np.where(has, best, choice)
    return candidates[c_idx, f_idx, choice]
