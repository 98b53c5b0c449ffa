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

import numpy as np

from liftlab.core.cameras import Rig
from liftlab.core.landmarks import INDEX, LANDMARKS, MIRROR_PERMUTATION
from liftlab.reconstruction.triangulation import Normalisation, triangulate_robust

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


def fix_swaps(rig: Rig, points_px: np.ndarray, weights: np.ndarray, *,
              threshold_px: float = 15.0,
              predicted: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detect and undo left/right swaps; settle ambiguous frames by continuity in time.

    Geometry fixes the swap pattern of a frame only up to a global mirror: when half the
    views or more look swapped (two swapped views agree with each other and out-vote the
    rest, e.g. 2 of 4), the frame is ambiguous. The unambiguous frames are repaired and
    triangulated; for the ambiguous ones each view is judged instead against the 3D
    interpolated in time from the neighbouring unambiguous frames, projected into it.

    Returns
    -------
    points, weights, swaps
        Repaired copies and the (C, F, G) mask of groups repaired.
    """
    pred = predicted if predicted is not None else \
        leave_one_out_predictions(rig, points_px, weights, threshold_px=threshold_px)
    found = detect_swaps(points_px, pred)
    seen = (weights > 0).any(-1)  # (C, F)
    ambiguous = 2 * found.sum(0) >= np.maximum(seen.sum(0), 1)[:, None]  # (F, G)
    ambiguous &= found.any(0)
    found &= ~ambiguous[None]
    pts, w = apply_swaps(points_px, weights, found)
    if not ambiguous.any():
        return pts, w, found
    n_cam, n_f, n_k = weights.shape
    norm = Normalisation.from_rig(rig)
    tri = triangulate_robust(rig, pts.reshape(n_cam, -1, 2), w.reshape(n_cam, -1),
                             threshold_px=threshold_px, norm=norm)
    x = tri.points_mm.reshape(n_f, n_k, 3)
    frames = np.arange(n_f)
    ref = np.full_like(x, np.nan)
    for g, idx in enumerate(SWAP_GROUPS.values()):
        ok_f = ~ambiguous[:, g]
        for k in idx:
            ok = ok_f & np.all(np.isfinite(x[:, k]), axis=-1)
            if ok.any():
                for d in range(3):
                    ref[:, k, d] = np.interp(frames, frames[ok], x[ok, k, d])
    pred_t = norm.project_px(norm.from_mm(ref.reshape(-1, 3))).reshape(n_cam, n_f, n_k, 2)
    again = detect_swaps(pts, pred_t) & ambiguous[None] & seen[..., None]
    pts, w = apply_swaps(pts, w, again)
    return pts, w, found | again


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
