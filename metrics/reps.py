"""Repetitions and phases from mid-hip height (squat, front squat, clean/snatch recoveries).

Bottoms are ``scipy.signal.find_peaks`` minima of the (already low-passed) mid-hip height,
0.5 s apart, with a prominence of at least ``prominence_range_fraction`` x the height range
and ``prominence_leg_fraction`` x leg length (opencap-processing ``segment_squat``, with the
fractions lowered so partial reps among deep ones count and a leg-length floor so walking in
and out does not). Phases come from the sign of the vertical velocity with a dead band:
descent = v < -band, ascent = v > band, bottom = between them (pauses at the bottom), stand
elsewhere. A dip in velocity above the band's level mid-way (a sticking point) does not end
a phase while the hip is still more than 30 % of the depth away from standing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.signal import find_peaks

from liftlab.metrics.filtering import derivative
from liftlab.metrics.settings import RepSettings

Phase = Literal["stand", "descent", "bottom", "ascent"]
PHASES: tuple[Phase, ...] = ("stand", "descent", "bottom", "ascent")


@dataclass(frozen=True)
class Rep:
    """One repetition's frame indices: ``start`` (descent begins), ``bottom`` (lowest hip),
    ``bottom_start`` (descent ends), ``ascent_start`` (ascent begins), ``end`` (lockout,
    exclusive: first standing frame). ``depth_mm`` = standing minus lowest mid-hip height."""

    index: int
    start: int
    bottom_start: int
    bottom: int
    ascent_start: int
    end: int
    depth_mm: float


@dataclass(frozen=True)
class Segmentation:
    """Reps, and per frame ``phase`` (index into :data:`PHASES`) and ``rep`` (0 outside)."""

    reps: tuple[Rep, ...]
    phase: np.ndarray
    rep: np.ndarray
    dead_band_mm_s: float
    min_prominence_mm: float

    def phase_names(self) -> np.ndarray:
        """Per-frame phase names."""
        return np.asarray(PHASES, dtype=object)[self.phase]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open [start, end) runs of True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def _refine(v: np.ndarray, i: int, step: int, fine: float, *, lo: int = 0,
            hi: int | None = None) -> int:
    """Move boundary ``i`` (first frame past the dead band) by ``step`` while the speed keeps
    falling and stays above ``fine``: where the motion really starts or stops."""
    hi = v.size if hi is None else hi
    if step < 0:  # boundary = first moving frame; earlier frames still moving slowly
        while i > lo and fine < abs(v[i - 1]) <= abs(v[i]) + 1e-12:
            i -= 1
        return i
    while i < hi and fine < abs(v[i]) <= abs(v[i - 1]) + 1e-12:  # frames still moving
        i += 1
    return i


def segment_reps(height_mm: np.ndarray, *, fps: float, leg_length_mm: float,
                 settings: RepSettings | None = None) -> Segmentation:
    """Find repetitions and phases in a (filtered) mid-hip height series.

    Parameters
    ----------
    height_mm
        (F,) mid-hip height, zero-lag low-passed; NaN gaps are bridged linearly.
    fps
        Measured frame rate.
    leg_length_mm
        Thigh + shank length (for the prominence floor).
    settings
        Segmentation settings (defaults when None).

    Returns
    -------
    Segmentation
    """
    st = settings or RepSettings()
    z = np.asarray(height_mm, dtype=float)
    n = z.size
    phase = np.zeros(n, dtype=np.int8)
    rep_of = np.zeros(n, dtype=np.int32)
    ok = np.isfinite(z)
    if ok.sum() < 3:
        return Segmentation((), phase, rep_of, float("nan"), float("nan"))
    z = np.interp(np.arange(n), np.flatnonzero(ok), z[ok])
    v = derivative(z, fps=fps)
    rng = float(np.ptp(z))
    min_prom = max(st.prominence_range_fraction * rng, st.prominence_leg_fraction * leg_length_mm)
    # velocity noise SD from the stillest 10 % of frames (|N(0, sd)| has its 10th percentile
    # at 0.126 sd); assumes the athlete stands still for at least that long
    noise = float(np.percentile(np.abs(v), 10) / 0.126)
    band = max(st.velocity_dead_band_mm_s, 4.0 * noise)
    fine = max(st.still_speed_mm_s, 3.0 * noise)
    bottoms, _ = find_peaks(-z, prominence=min_prom,
                            distance=max(1, int(round(st.min_rep_interval_s * fps))))
    reps: list[Rep] = []
    prev_end = 0
    for b in bottoms:
        if b < prev_end:
            continue
        top_before = float(np.max(z[prev_end:b + 1]))
        depth = top_before - z[b]
        deep = z < top_before - 0.3 * depth  # "still far from standing"
        # descent: walk back from the bottom through v < -band (and through slow stretches
        # while still deep)
        i = b
        while i > prev_end and (v[i - 1] < -band or deep[i - 1]):
            i -= 1
        start = _refine(v, i, -1, fine, lo=prev_end)
        j = b
        while j > start and v[j - 1] >= -band:
            j -= 1
        bottom_start = _refine(v, j, +1, fine, hi=b)
        k = b
        while k < n - 1 and v[k] <= band and deep[k]:
            k += 1
        ascent_start = _refine(v, k, -1, fine, lo=b)
        m = k
        while m < n and (v[m] > band or deep[m]):
            m += 1
        end = _refine(v, m, +1, fine, hi=n)
        if end <= start + 1:
            continue
        reps.append(Rep(len(reps) + 1, int(start), int(bottom_start), int(b), int(ascent_start),
                        int(end), float(depth)))
        prev_end = end
    for r in reps:
        phase[r.start:r.bottom_start] = 1
        phase[r.bottom_start:r.ascent_start] = 2
        phase[r.ascent_start:r.end] = 3
        rep_of[r.start:r.end] = r.index
    return Segmentation(tuple(reps), phase, rep_of, band, min_prom)
