"""Per-repetition, per-side numbers from the per-frame series, and trial/session summaries.

Inputs are plain per-frame arrays (one side) and a :class:`~liftlab.metrics.reps.Rep`;
outputs are :class:`SideRep` values (mm, deg, s, %), peaks over the rep unless named
otherwise. Smoothness is counted as separate medial peaks (prominence
``oscillation_prominence_mm``) and sign changes of the medial velocity while valgus is
present; both are plain counts a coach can read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.signal import find_peaks

from liftlab.metrics.reps import Rep
from liftlab.metrics.settings import ReadingThresholds


@dataclass(frozen=True)
class SideSeries:
    """Per-frame series of one side (all (F,), filtered as documented in filtering.py)."""

    knee_flexion_deg: np.ndarray
    knee_abduction_deg: np.ndarray
    knee_abduction_reliability: np.ndarray
    hip_flexion_deg: np.ndarray
    hip_adduction_deg: np.ndarray
    hip_int_rotation_deg: np.ndarray
    medial_knee_shift_mm: np.ndarray
    knee_over_foot_mm: np.ndarray
    shank_frontal_tilt_deg: np.ndarray
    heel_lift_mm: np.ndarray
    foot_rotation_deg: np.ndarray
    foot_slide_mm: np.ndarray
    shank_length_mm: float

    CSV_FIELDS = ("knee_flexion_deg", "knee_abduction_deg", "knee_abduction_reliability",
                  "hip_flexion_deg", "hip_adduction_deg", "hip_int_rotation_deg",
                  "medial_knee_shift_mm", "knee_over_foot_mm", "shank_frontal_tilt_deg",
                  "heel_lift_mm")


def _max(x: np.ndarray) -> float:
    return float(np.nanmax(x)) if x.size and np.any(np.isfinite(x)) else float("nan")


def _signed_absmax(x: np.ndarray) -> float:
    if not x.size or not np.any(np.isfinite(x)):
        return float("nan")
    return float(x[np.nanargmax(np.abs(x))])


@dataclass(frozen=True)
class SideRep:
    """One side's numbers for one rep (contract keys first, then the extras)."""

    medial_knee_shift_peak_mm: float
    knee_over_foot_peak_mm: float
    shank_frontal_tilt_peak_deg: float
    knee_abduction_peak_deg: float
    hip_int_rotation_peak_deg: float
    hip_adduction_peak_deg: float
    knee_flexion_peak_deg: float
    heel_lift_mm: float
    foot_rotation_deg: float
    foot_slide_mm: float
    medial_knee_shift_peak_pct_shank: float
    medial_knee_shift_mean_mm: float
    knee_over_foot_mean_mm: float
    time_above_threshold_s: float
    fraction_above_threshold: float
    above_in_descent: bool
    above_in_ascent: bool
    peak_phase: str
    peak_time_pct_ascent: float
    returned_to_baseline: bool
    shift_at_lockout_mm: float
    peak_medial_velocity_mm_s: float
    medial_peaks: int
    velocity_sign_changes: int

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            if isinstance(v, float):
                out[k] = None if not np.isfinite(v) else round(v, 3)
            elif isinstance(v, bool | np.bool_):
                out[k] = bool(v)
            else:
                out[k] = v
        return out


def present_mask(shift_mm: np.ndarray, *, enter_mm: float, leave_mm: float) -> np.ndarray:
    """Frames where valgus is present, with hysteresis: it starts where the shift reaches
    ``enter_mm`` and lasts until the shift falls below ``leave_mm`` (``<= enter_mm``), so noise
    around the threshold neither splits nor shortens a plateau.

    Examples
    --------
    >>> present_mask(np.array([0, 16, 12, 16, 5, 12.]), enter_mm=15, leave_mm=8).tolist()
    [False, True, True, True, False, False]
    """
    x = np.nan_to_num(np.asarray(shift_mm, dtype=float), nan=-np.inf)
    leave = min(leave_mm, enter_mm)
    # 1 = enter, 0 = leave, -1 = keep the previous state; the rep starts without valgus
    state = np.concatenate([[0], np.where(x >= enter_mm, 1, np.where(x < leave, 0, -1))])
    last_set = np.maximum.accumulate(np.where(state >= 0, np.arange(state.size), 0))
    return state[last_set][1:] == 1


def side_rep_metrics(s: SideSeries, rep: Rep, *, fps: float, th: ReadingThresholds) -> SideRep:
    """Numbers of one side over one rep (frames ``rep.start`` to ``rep.end``)."""
    sl = slice(rep.start, rep.end)
    shift = s.medial_knee_shift_mm[sl]
    above = present_mask(shift, enter_mm=th.shift_present_mm, leave_mm=th.baseline_return_mm)
    n = max(1, shift.size)
    rel_ok = s.knee_abduction_reliability[sl] >= th.abduction_min_reliability
    abd = np.where(rel_ok, s.knee_abduction_deg[sl], np.nan)
    peak_i = int(np.nanargmax(shift)) + rep.start if np.any(np.isfinite(shift)) else rep.bottom
    if peak_i < rep.bottom_start:
        peak_phase = "descent"
    elif peak_i < rep.ascent_start:
        peak_phase = "bottom"
    else:
        peak_phase = "ascent"
    asc_len = max(1, rep.end - rep.ascent_start)
    peak_pct = 100.0 * (peak_i - rep.ascent_start) / asc_len
    vel = np.gradient(shift, 1.0 / fps) if shift.size > 1 else np.zeros_like(shift)
    peaks, _ = find_peaks(np.nan_to_num(shift, nan=-1e9), height=th.shift_present_mm,
                          prominence=th.oscillation_prominence_mm)
    vel_above = vel[above]
    sign_changes = int(np.sum(np.diff(np.sign(vel_above[np.abs(vel_above) > 1e-9])) != 0))
    end_i = min(rep.end, s.medial_knee_shift_mm.size) - 1
    lockout = float(s.medial_knee_shift_mm[end_i])
    return SideRep(
        medial_knee_shift_peak_mm=_max(shift),
        knee_over_foot_peak_mm=_max(s.knee_over_foot_mm[sl]),
        shank_frontal_tilt_peak_deg=_max(s.shank_frontal_tilt_deg[sl]),
        knee_abduction_peak_deg=_max(abd),
        hip_int_rotation_peak_deg=_max(s.hip_int_rotation_deg[sl]),
        hip_adduction_peak_deg=_max(s.hip_adduction_deg[sl]),
        knee_flexion_peak_deg=_max(s.knee_flexion_deg[sl]),
        heel_lift_mm=_max(s.heel_lift_mm[sl]),
        foot_rotation_deg=_signed_absmax(s.foot_rotation_deg[sl]),
        foot_slide_mm=_max(s.foot_slide_mm[sl]),
        medial_knee_shift_peak_pct_shank=100.0 * _max(shift) / s.shank_length_mm,
        medial_knee_shift_mean_mm=float(np.nanmean(shift)) if shift.size else float("nan"),
        knee_over_foot_mean_mm=float(np.nanmean(s.knee_over_foot_mm[sl])),
        time_above_threshold_s=float(above.sum() / fps),
        fraction_above_threshold=float(above.sum() / n),
        above_in_descent=bool(above[: rep.bottom_start - rep.start].any()),
        above_in_ascent=bool(above[rep.ascent_start - rep.start:].any()),
        peak_phase=peak_phase,
        peak_time_pct_ascent=float(peak_pct),
        returned_to_baseline=bool(lockout < th.baseline_return_mm),
        shift_at_lockout_mm=lockout,
        peak_medial_velocity_mm_s=_max(vel),
        medial_peaks=int(peaks.size),
        velocity_sign_changes=sign_changes,
    )


def consistency(values: Sequence[float]) -> dict[str, float | None]:
    """Mean, SD (ddof=1) and CV of per-rep values (None where undefined)."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if x.size == 0:
        return {"mean": None, "sd": None, "cv": None}
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if x.size > 1 else 0.0
    cv = sd / abs(mean) if x.size > 1 and abs(mean) > 1e-9 else None
    return {"mean": round(mean, 3), "sd": round(sd, 3), "cv": None if cv is None else round(cv, 3)}


def load_response(points: Sequence[tuple[float, float]]) -> dict[str, float | None]:
    """Least-squares slope of peak medial shift (mm) against load (%1RM or kg) across sets.

    ``points`` are (load, mean peak shift) per set; the slope is mm per load unit.
    """
    arr = np.asarray([p for p in points if all(np.isfinite(p))], dtype=float).reshape(-1, 2)
    if arr.shape[0] < 2 or np.ptp(arr[:, 0]) == 0:
        return {"slope": None, "intercept": None, "sets": int(arr.shape[0])}
    slope, intercept = np.polyfit(arr[:, 0], arr[:, 1], 1)
    return {"slope": round(float(slope), 4), "intercept": round(float(intercept), 3),
            "sets": int(arr.shape[0])}


def pain_linkage(pain: Sequence[float], peak_shift_mm: Sequence[float]) -> float | None:
    """Pearson correlation of per-rep pain with per-rep peak shift (None if undefined)."""
    p = np.asarray(pain, dtype=float)
    s = np.asarray(peak_shift_mm, dtype=float)
    ok = np.isfinite(p) & np.isfinite(s)
    if ok.sum() < 3 or np.ptp(p[ok]) == 0 or np.ptp(s[ok]) == 0:
        return None
    return round(float(np.corrcoef(p[ok], s[ok])[0, 1]), 3)
