"""Measurement noise: the planted-foot reference and the noise floor of a per-frame series.

Why (measured, see ``benchmarks/bench_reading_noise.py``): the medial knee shift is the knee's
distance from a plane turned by the foot's heel -> foot_index axis. That axis is short
(150-270 mm), so a few mm of landmark noise turn the plane by 1-2 deg per frame, i.e. 5-10 mm
at the knee at depth: the largest single noise source of the shift. But during a squat the
foot is planted. :func:`planted_foot` therefore replaces the heel, foot_index and ankle by a
running median (a robust average over ``foot_window_s``) wherever the foot, low-passed at
``foot_cutoff_hz``, stays within a noise-scaled tolerance of it, and keeps the per-frame foot where it really moves
(heel lift, foot turn: the ``foot_instability`` rule fires there anyway), with a linear
blend between the two so no step appears in any series. On exact data the tolerance is
``foot_min_tolerance_mm`` (0.1 mm) and every metric stays exact.

:func:`noise_floor` measures what noise is left in a per-frame series from the frames where
the athlete stands still between reps (the true shift is constant there), so thresholds can be
raised to a multiple of it (:mod:`liftlab.metrics.reading`). Written by hand: a running
median (``scipy.ndimage.median_filter``) and a pooled MAD are all it takes; no library models
"a planted foot".
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import median_filter

from liftlab.metrics.filtering import lowpass
from liftlab.metrics.frames import Leg

#: 1.4826 x MAD estimates the SD of Gaussian noise.
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class PlantedFoot:
    """A leg whose foot landmarks are the planted reference where the foot is still.

    ``leg`` has heel, foot_index (``toe``) and ankle replaced; ``slow`` has them low-passed
    at the detection cut-off (foot motion: heel lift, turn, slide); ``moving`` (F,) is the
    blend weight (0 = planted reference, 1 = per-frame foot); ``noise_mm`` the robust per-axis
    SD of the low-passed foot landmarks around the reference; ``tolerance_mm`` the deviation
    below which the reference is used.
    """

    leg: Leg
    slow: Leg
    moving: np.ndarray
    noise_mm: float
    tolerance_mm: float


def _bridge(x: np.ndarray) -> np.ndarray:
    """Columns of ``x`` (F, N) with NaN gaps linearly bridged (all-NaN columns left as NaN)."""
    out = x.copy()
    t = np.arange(x.shape[0])
    for j in range(x.shape[1]):
        ok = np.isfinite(x[:, j])
        if ok.any() and not ok.all():
            out[:, j] = np.interp(t, t[ok], x[ok, j])
    return out


def planted_foot(lg: Leg, *, fps: float, window_s: float = 4.0, tolerance_sd: float = 4.0,
                 min_tolerance_mm: float = 0.1, detect_cutoff_hz: float | None = 2.0
                 ) -> PlantedFoot:
    """Heel, foot_index and ankle replaced by their running median where the foot is still.

    Parameters
    ----------
    lg
        One side's landmarks (already low-passed as documented in filtering.py).
    fps
        Frame rate of the data.
    window_s
        Length of the running median (s). Longer = less noise; a foot that moves for less
        than half of it (a heel lift) does not drag the reference along.
    tolerance_sd
        A frame uses the reference while every foot landmark lies within
        ``max(min_tolerance_mm, tolerance_sd * noise)`` of it; beyond twice that the per-frame
        foot is used; linear blend in between.
    min_tolerance_mm
        Tolerance floor (exact data have no noise).
    detect_cutoff_hz
        The deviation from the reference is judged on the foot low-passed at this cut-off
        (a heel lift lasts about a second; noise is broadband); ``None`` = as given.

    Returns
    -------
    PlantedFoot
        NaN stays NaN where a per-frame landmark is missing.
    """
    foot = np.stack([lg.heel, lg.toe, lg.ankle], axis=1)  # (F, 3 points, 3)
    n = foot.shape[0]
    if n < 3 or not np.isfinite(foot).any():
        return PlantedFoot(lg, lg, np.ones(n), float("nan"), float("nan"))
    slow = (foot if detect_cutoff_hz is None
            else lowpass(foot, fps=fps, cutoff_hz=detect_cutoff_hz))
    # running median on the foot resampled to ~10 Hz (it is low-passed at ~2 Hz), then
    # interpolated back: the same reference at a fraction of the cost on long trials
    step = max(1, int(fps // 10))
    t = np.arange(n)
    coarse = _bridge(slow.reshape(n, -1))[::step]
    width = max(1, int(round(window_s * fps / step)) | 1)
    ref_c = median_filter(coarse, size=(min(width, 2 * coarse.shape[0] - 1), 1), mode="nearest")
    ref = np.stack([np.interp(t, t[::step], ref_c[:, j]) for j in range(ref_c.shape[1])],
                   axis=1).reshape(foot.shape)
    dev = slow - ref
    noise = float(MAD_TO_SD * np.nanmedian(np.abs(dev)))
    tol = max(min_tolerance_mm, tolerance_sd * noise)
    with np.errstate(invalid="ignore"):
        worst = np.nanmax(np.linalg.norm(dev, axis=-1), axis=1)
    worst = np.where(np.isfinite(worst), worst, np.inf)
    moving = np.clip((worst - tol) / max(tol, 1e-12), 0.0, 1.0)  # tol 0: always per frame
    blended = ref + moving[:, None, None] * (foot - ref)  # NaN where a point is NaN
    return PlantedFoot(replace(lg, heel=blended[:, 0], toe=blended[:, 1], ankle=blended[:, 2]),
                       replace(lg, heel=slow[:, 0], toe=slow[:, 1], ankle=slow[:, 2]),
                       moving, noise, tol)


@dataclass(frozen=True)
class NoiseFloor:
    """Noise left in a per-frame series: robust SD (``sd``) and SD of its time derivative
    (``velocity_sd``, units/s) over ``frames`` still standing frames; NaN when too few."""

    sd: float
    velocity_sd: float
    frames: int


def noise_floor(series: np.ndarray, still: np.ndarray, *, fps: float, min_frames: int
                ) -> NoiseFloor:
    """Robust SD of ``series`` over the runs of ``still`` frames, each run about its median.

    Parameters
    ----------
    series
        (F,) per-frame values (e.g. the filtered medial knee shift, mm).
    still
        (F,) bool: frames where the true value is constant (standing between reps).
    fps
        Frame rate (for the derivative).
    min_frames
        Fewer usable frames than this: NaN (no floor).
    """
    x = np.asarray(series, dtype=float)
    mask = np.asarray(still, dtype=bool) & np.isfinite(x)
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    resid, vel = [], []
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
        if b - a < 3:
            continue
        seg = x[a:b]
        resid.append(seg - np.median(seg))
        vel.append(np.gradient(seg, 1.0 / fps))
    used = int(sum(r.size for r in resid))
    if used < max(3, min_frames):
        return NoiseFloor(float("nan"), float("nan"), used)
    r, v = np.concatenate(resid), np.concatenate(vel)
    return NoiseFloor(float(MAD_TO_SD * np.median(np.abs(r))),
                      float(MAD_TO_SD * np.median(np.abs(v - np.median(v)))), used)


def standing_baseline(series: np.ndarray, still: np.ndarray, *, fps: float, anchor_s: float = 0.5,
                      min_frames: int = 3) -> np.ndarray:
    """Slowly varying baseline of ``series`` through its standing values (F,).

    Each run of ``still`` frames gives two anchors, the medians of its first and last
    ``anchor_s`` (at their mid times); the baseline is linear between anchors and constant
    beyond them, so a rep is referred to how the athlete stood just before and just after it
    and a slow drift of the landmarks' bias cancels. Zero when no run has ``min_frames``.
    """
    x = np.asarray(series, dtype=float)
    mask = np.asarray(still, dtype=bool) & np.isfinite(x)
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    span = max(1, int(round(anchor_s * fps)))
    times, values = [], []
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
        if b - a < max(1, min_frames):
            continue
        for lo, hi in ((a, min(b, a + span)), (max(a, b - span), b)):
            times.append(0.5 * (lo + hi - 1))
            values.append(float(np.median(x[lo:hi])))
    if not times:
        return np.zeros_like(x)
    order = np.argsort(times)
    return np.interp(np.arange(x.size), np.asarray(times)[order], np.asarray(values)[order])
