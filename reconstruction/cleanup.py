"""Clean-up of 3D trajectories: spike removal, short-gap filling, zero-lag low-pass.

Order matters and is the one Pose2Sim and most marker-based pipelines use:

1. :func:`hampel_3d` - a spike is a 3D position farther from the running median (window
   ``2 * half_window + 1`` frames) than ``n_sigma`` robust standard deviations (1.4826 MAD of
   the distances, floored at ``min_deviation_mm``); spikes become NaN.
2. :func:`fill_gaps` - gaps of at most ``max_gap_frames`` are interpolated (PCHIP: no
   overshoot); longer gaps stay NaN and are reported, because inventing a knee for a quarter
   of a second would be a silent wrong trajectory.
3. :func:`lowpass` - Butterworth, 2nd order run forward and backward (``filtfilt``: zero lag,
   effectively 4th order, -6 dB at the cut-off), designed on the *measured* fps. Default
   cut-offs: 6 Hz squat (slow movement, Pose2Sim and Winter's 4-6 Hz), 12 Hz clean and snatch
   (bar and knee speeds several times higher). Each NaN-free segment is filtered on its own;
   segments too short for the filter's padding are left unfiltered.
"""

from __future__ import annotations

import numpy as np

from liftlab.core.errors import InputError

DEFAULT_CUTOFF_HZ: dict[str, float] = {"squat": 6.0, "front_squat": 6.0, "knee_curl": 6.0,
                                       "clean": 12.0, "snatch": 12.0}


def hampel_3d(points_mm: np.ndarray, *, half_window: int = 3, n_sigma: float = 3.0,
              min_deviation_mm: float = 10.0) -> np.ndarray:
    """(F, K) bool mask of spikes in (F, K, 3) points (see module docstring)."""
    from numpy.lib.stride_tricks import sliding_window_view

    n_f = points_mm.shape[0]
    w = 2 * half_window + 1
    if n_f < w:
        return np.zeros(points_mm.shape[:2], dtype=bool)
    pad = np.pad(points_mm, ((half_window, half_window), (0, 0), (0, 0)),
                 mode="constant", constant_values=np.nan)
    win = sliding_window_view(pad, w, axis=0)  # (F, K, 3, w)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(win, axis=-1)  # (F, K, 3)
        dist_win = np.linalg.norm(win - med[..., None], axis=2)  # (F, K, w)
        mad = 1.4826 * np.nanmedian(dist_win, axis=-1)
    dev = np.linalg.norm(points_mm - med, axis=-1)
    limit = np.fmax(n_sigma * mad, min_deviation_mm)
    return np.nan_to_num(dev, nan=0.0) > np.nan_to_num(limit, nan=np.inf)


def fill_gaps(points_mm: np.ndarray, *, max_gap_frames: int = 6) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Interpolate interior gaps of at most ``max_gap_frames`` frames (PCHIP per coordinate).

    Returns the filled copy and the (F, K) mask of filled samples. Gaps at the start or end
    and longer gaps stay NaN.
    """
    from scipy.interpolate import PchipInterpolator

    out = points_mm.copy()
    filled = np.zeros(points_mm.shape[:2], dtype=bool)
    if max_gap_frames <= 0:
        return out, filled
    t = np.arange(points_mm.shape[0])
    for k in range(points_mm.shape[1]):
        ok = np.all(np.isfinite(points_mm[:, k]), axis=-1)
        if ok.sum() < 2 or ok.all():
            continue
        missing = ~ok
        # gap lengths: label runs of missing frames
        edges = np.diff(np.concatenate([[0], missing.astype(int), [0]]))
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        todo = np.zeros_like(missing)
        for s, e in zip(starts, ends, strict=True):
            if s > 0 and e < len(t) and e - s <= max_gap_frames:
                todo[s:e] = True
        if not todo.any():
            continue
        interp = PchipInterpolator(t[ok], points_mm[ok, k], axis=0, extrapolate=False)
        out[todo, k] = interp(t[todo])
        filled[todo, k] = True
    return out, filled


def lowpass(points_mm: np.ndarray, *, fps: float, cutoff_hz: float,
            order: int = 2) -> np.ndarray:
    """Zero-lag Butterworth low-pass along time of (F, ...) data, per NaN-free segment."""
    from scipy.signal import butter, filtfilt

    if not fps > 0:
        raise InputError(f"fps must be positive, got {fps}")
    if not 0 < cutoff_hz < fps / 2:
        raise InputError(f"cutoff_hz must lie in (0, {fps / 2:g}) for {fps:g} fps, "
                         f"got {cutoff_hz}", fix="lower the cut-off or check the video's fps")
    b, a = butter(order, cutoff_hz / (fps / 2))
    padlen = 3 * max(len(a), len(b))
    flat = points_mm.reshape(points_mm.shape[0], -1).copy()
    for j in range(flat.shape[1]):
        ok = np.isfinite(flat[:, j])
        if not ok.any():
            continue
        edges = np.diff(np.concatenate([[0], ok.astype(int), [0]]))
        for s, e in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0], strict=True):
            if e - s > padlen:
                flat[s:e, j] = filtfilt(b, a, flat[s:e, j], padlen=padlen)
    return flat.reshape(points_mm.shape)

