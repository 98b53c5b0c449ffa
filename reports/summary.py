"""Numbers the report derives from stored results: rep timing, baseline return, alignment.

Pure functions over :mod:`liftlab.reports.data` containers (no database, no PDF). The
stored rep columns give the peaks; where the stored JSON has no timing, the per-frame
series gives the time of the peak within the ascent and the shift left at lockout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from liftlab.reports.data import RepData, SessionData, TrialData
from liftlab.reports.text import Reason


@dataclass(frozen=True)
class RepTiming:
    """When in the rep the inward shift peaked, and whether it came back before lockout."""

    peak_phase: str | None          # "descent", "bottom", "ascent" or None (not measured)
    peak_pct_ascent: float | None   # 0 = start of ascent, 100 = lockout
    lockout_shift_mm: float | None  # larger side's shift at the rep's last frame
    returned: bool | None           # lockout shift below the baseline-return threshold
    above_pct: float | None = None  # % of the rep above the threshold (larger side)

    @property
    def timing_text(self) -> str:
        if self.peak_phase is None:
            return "-"
        text = self.peak_phase
        if self.peak_phase == "ascent" and self.peak_pct_ascent is not None:
            part = "early" if self.peak_pct_ascent < 40 else (
                "mid" if self.peak_pct_ascent < 70 else "late")
            text = f"{part} ascent ({self.peak_pct_ascent:.0f}%)"
        if self.above_pct is not None and self.above_pct >= 0.5:
            text += f"; inside for {self.above_pct:.0f}% of the rep"
        return text

    @property
    def returned_text(self) -> str:
        if self.returned is None:
            return "-"
        return "yes" if self.returned else f"no ({self.lockout_shift_mm:.0f} mm)"


def _stored_timing(rep: RepData) -> RepTiming | None:
    """Timing as ``liftlab analyze`` stored it for the side with the larger peak, if it did."""
    peaks = {side: rep.peak_mm(side) for side in ("left", "right")}
    if all(v is None for v in peaks.values()):
        return None
    side = max(peaks, key=lambda k: -np.inf if peaks[k] is None else peaks[k])
    stored = rep.side(side)
    phase, returned = stored.get("peak_phase"), stored.get("returned_to_baseline")
    if not isinstance(phase, str) or not isinstance(returned, bool):
        return None
    pct, lockout = stored.get("peak_time_pct_ascent"), stored.get("shift_at_lockout_mm")
    above = stored.get("fraction_above_threshold")
    return RepTiming(phase, float(pct) if isinstance(pct, int | float) else None,
                     float(lockout) if isinstance(lockout, int | float) else None, returned,
                     100.0 * above if isinstance(above, int | float) else None)


def rep_timing(series: pd.DataFrame | None, rep: RepData, *, baseline_return_mm: float,
               threshold_mm: float | None = None) -> RepTiming:
    """Timing of the larger inward knee shift of ``rep``: as stored by the analysis when it
    was, else from the per-frame series (``-`` when neither has it)."""
    stored = _stored_timing(rep)
    if stored is not None:
        return stored
    empty = RepTiming(None, None, None, None)
    if series is None or "rep" not in series or "time_s" not in series:
        return empty
    rows = series[series["rep"] == rep.index]
    columns = [c for c in ("left_medial_knee_shift_mm", "right_medial_knee_shift_mm")
               if c in rows]
    if rows.empty or not columns:
        return empty
    values = rows[columns].to_numpy(float)
    if not np.isfinite(values).any():
        return empty
    side = int(np.nanargmax(np.nanmax(values, axis=0)))
    shift = values[:, side]
    peak = int(np.nanargmax(shift))
    phase = rows["phase"].astype(str).to_numpy() if "phase" in rows else None
    peak_phase = None if phase is None else str(phase[peak])
    pct = None
    if phase is not None and peak_phase == "ascent":
        time_s = rows["time_s"].to_numpy(float)
        ascent = time_s[phase == "ascent"]
        span = ascent.max() - ascent.min()
        pct = 100.0 * (time_s[peak] - ascent.min()) / span if span > 0 else 0.0
    finite = shift[np.isfinite(shift)]
    lockout = float(finite[-1]) if len(finite) else None
    returned = None if lockout is None else bool(lockout < baseline_return_mm)
    above = None if threshold_mm is None else 100.0 * float(np.mean(shift >= threshold_mm))
    return RepTiming(peak_phase, pct, lockout, returned, above)


@dataclass(frozen=True)
class AlignmentFacts:
    """The session's alignment, and what the knee positions say given it."""

    source: str | None
    left_deg: float | None
    right_deg: float | None
    build_inside: bool   # knee-over-foot above threshold somewhere (inside the toes)
    caves_in: bool       # inward shift from the hinge line above threshold somewhere
    max_shift_mm: float | None


def alignment_facts(session: SessionData, *, threshold_mm: float) -> AlignmentFacts:
    """Alignment of the session's lifts (the first lift's stored values, which every lift of
    a session shares) and whether the knees sit inside the toes and/or cave in."""
    lifts = session.lifts
    first = next((t for t in lifts if t.alignment_source), lifts[0] if lifts else None)
    shifts = [v for t in lifts if (v := t.max_metric("medial_knee_shift_peak_mm")) is not None]
    over = [v for t in lifts if (v := t.max_metric("knee_over_foot_peak_mm")) is not None]
    max_shift = max(shifts) if shifts else None
    caves_in = any(t.reading in ("transient", "red_flag") for t in lifts) or (
        max_shift is not None and max_shift >= threshold_mm)
    return AlignmentFacts(
        source=first.alignment_source if first else None,
        left_deg=first.alignment_left_deg if first else None,
        right_deg=first.alignment_right_deg if first else None,
        build_inside=bool(over) and max(over) >= threshold_mm, caves_in=caves_in,
        max_shift_mm=max_shift)


def load_response(lifts: tuple[TrialData, ...]) -> str | None:
    """One sentence on how the peak shift changes with load across sets (None if < 2 sets)."""
    points = [(t.load_kg, max(v for s in ("left", "right")
                              if (v := t.mean_peak_mm(s)) is not None))
              for t in lifts if t.load_kg is not None and t.reps
              and any(t.mean_peak_mm(s) is not None for s in ("left", "right"))]
    if len({p[0] for p in points}) < 2:
        return None
    points.sort()
    (light_kg, light_mm), (heavy_kg, heavy_mm) = points[0], points[-1]
    change = heavy_mm - light_mm
    trend = ("about the same" if abs(change) < 3 else
             "larger" if change > 0 else "smaller")
    return (f"Across sets, the average rep peak was {light_mm:.0f} mm at {light_kg:g} kg and "
            f"{heavy_mm:.0f} mm at {heavy_kg:g} kg: {trend} at the heavier load.")


def _persistent_pct(series: pd.DataFrame | None, reps: tuple[RepData, ...],
                    threshold_mm: float) -> float | None:
    if series is None or "rep" not in series:
        return None
    best = None
    for rep in reps:
        rows = series[series["rep"] == rep.index]
        columns = [c for c in ("left_medial_knee_shift_mm", "right_medial_knee_shift_mm")
                   if c in rows]
        if rows.empty or not columns:
            continue
        above = (rows[columns].to_numpy(float) >= threshold_mm).mean(axis=0).max()
        best = above if best is None else max(best, above)
    return None if best is None else 100.0 * float(best)


def _inward_speed(series: pd.DataFrame | None, reps: tuple[RepData, ...]) -> float | None:
    if series is None or "rep" not in series or len(series) < 2:
        return None
    time_s = series["time_s"].to_numpy(float)
    inside = series["rep"].isin([r.index for r in reps]).to_numpy()
    best = None
    for side in ("left", "right"):
        column = f"{side}_medial_knee_shift_mm"
        if column in series:
            speed = np.gradient(series[column].to_numpy(float), time_s)[inside]
            if np.isfinite(speed).any():
                value = float(np.nanmax(speed))
                best = value if best is None else max(best, value)
    return best


def with_numbers(trial: TrialData, reasons: tuple[Reason, ...], *, threshold_mm: float,
                 reps: tuple[RepData, ...] | None = None) -> tuple[Reason, ...]:
    """``reasons`` with numbers: the stored detail when there is one, else the trial's own
    numbers behind the rule (over ``reps``, default the trial's reps with valgus)."""
    if reps is None:
        reps = tuple(r for r in trial.reps if r.reading != "none") or trial.reps
    out = []
    for reason in reasons:
        detail = reason.detail or _stored_rule_text(reason.rule, reps)
        if not detail:
            detail = _detail(trial, reason.rule, reps, threshold_mm) or ""
        out.append(Reason(reason.rule, detail))
    return tuple(out)


def _stored_rule_text(rule: str, reps: tuple[RepData, ...]) -> str:
    """The analysis's own sentence for ``rule`` from the rep where it measured the most."""
    fired = [(r.index, x) for r in reps for x in r.rules
             if x.get("reason") == rule and isinstance(x.get("text"), str)]
    if not fired:
        return ""
    index, strongest = max(fired, key=lambda f: f[1].get("value") or 0.0)
    return f"rep {index}: {strongest['text']}"


def _detail(trial: TrialData, rule: str, reps: tuple[RepData, ...],
            threshold_mm: float) -> str | None:
    def side_max(name: str) -> float | None:
        values = [v for r in reps for s in (r.left, r.right) if (v := s.get(name)) is not None]
        return max(values) if values else None

    if rule == "light_load":
        if trial.percent_1rm is not None:
            return f"{trial.percent_1rm:.0f}% of 1RM"
        return f"{trial.load_kg:g} kg" if trial.load_kg is not None else None
    if rule == "pain":
        pains = [r.pain for r in reps if r.pain is not None] or list(trial.pain)
        return f"pain up to {max(pains):g}/10" if pains else None
    if rule == "persistent":
        pct = _persistent_pct(trial.series, reps, threshold_mm)
        return None if pct is None else f"above {threshold_mm:g} mm for {pct:.0f}% of the rep"
    if rule == "uncontrolled":
        speed = _inward_speed(trial.series, reps)
        return None if speed is None else f"knee moved in at up to {speed:.0f} mm/s"
    if rule == "foot_instability":
        parts = [f"{label} up to {value:.0f} {unit}" for name, label, unit in (
            ("heel_lift_mm", "heel lift", "mm"), ("foot_rotation_deg", "foot turn", "degrees"),
            ("foot_slide_mm", "foot slide", "mm")) if (value := side_max(name)) is not None
            and value > 0]
        return ", ".join(parts) or None
    return None
