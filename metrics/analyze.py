"""``analyze``: one trial's 3D trajectory in, per-frame series, reps and the reading out.

Pipeline (pure numpy/scipy): check landmarks and units -> low-pass landmarks at the
exercise's cut-off -> per side: knee JCS (A', with the alignment), plain thigh-shank flexion,
abduction reliability, knee flexion (JCS when calibrated, else the plain thigh-shank
angle, which needs no alignment), hip JCS (thigh spin from A' where its reliability holds, else from B's
hinge plane), knee-over-foot, medial knee shift, shank frontal tilt -> angle series low-passed
at ``angle_cutoff_hz`` -> reps and phases from mid-hip height -> foot stability from each
rep's start pose -> per-rep numbers -> reading. :meth:`TrialAnalysis.to_json_dict` and
:meth:`TrialAnalysis.series_frame` give exactly the DESIGN.md section-3 JSON and CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from liftlab.metrics import angles as ang
from liftlab.metrics.alignment import Alignment, estimate_alignment
from liftlab.metrics.filtering import lowpass
from liftlab.metrics.frames import SIDES, Leg, leg, pelvis_frame
from liftlab.metrics.per_rep import SideRep, SideSeries, consistency, side_rep_metrics
from liftlab.metrics.reading import (
    Reading,
    Rule,
    order_reasons,
    read_side,
    trial_consistency_rule,
    worst,
)
from liftlab.metrics.reps import Segmentation, segment_reps
from liftlab.metrics.settings import EXERCISES, Exercise, Thresholds, load_thresholds

from liftlab.core.containers import Trajectory3D
from liftlab.core.errors import InputError
from liftlab.core.landmarks import LOWER_LIMB

if TYPE_CHECKING:
    import pandas as pd

REQUIRED = LOWER_LIMB + ("left_shoulder", "right_shoulder")
#: Plausible thigh + shank length (mm) of an adult athlete.
LEG_LENGTH_RANGE_MM = (450.0, 1400.0)


@dataclass(frozen=True)
class RepResult:
    """One rep: timing, reading, fired rules and both sides' numbers."""

    index: int
    start_s: float
    bottom_s: float
    end_s: float
    reading: Reading
    reasons: list[str]
    rules: list[Rule]
    left: SideRep
    right: SideRep
    side_readings: dict[str, Reading]
    pain: float | None
    frames: tuple[int, int, int, int, int]

    def to_json_dict(self) -> dict[str, Any]:
        sides = {}
        for s in SIDES:
            d = getattr(self, s).to_json_dict()
            d["reading"] = self.side_readings[s]
            sides[s] = d
        f = self.frames
        return {"index": self.index, "start_s": round(self.start_s, 4),
                "bottom_s": round(self.bottom_s, 4), "end_s": round(self.end_s, 4),
                "reading": self.reading, "reasons": self.reasons,
                "left": sides["left"], "right": sides["right"],
                "rules": [r.to_json_dict() for r in self.rules], "pain": self.pain,
                "frames": {"start": f[0], "bottom_start": f[1], "bottom": f[2],
                           "ascent_start": f[3], "end": f[4]},
                "asymmetry_mm": _round(self.left.medial_knee_shift_peak_mm
                                       - self.right.medial_knee_shift_peak_mm)}


def _round(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


@dataclass(frozen=True)
class TrialAnalysis:
    """Everything :func:`analyze` found for one trial."""

    exercise: str
    time_s: np.ndarray
    series: dict[str, SideSeries]
    segmentation: Segmentation
    reps: list[RepResult]
    reading: Reading
    reasons: list[str]
    trial_rules: list[Rule]
    alignment: Alignment
    load_kg: float | None
    one_rm_kg: float | None
    warnings: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        """The section-3 JSON: ``trial`` then ``reps``, plus extras."""
        al = self.alignment.to_json_dict()
        peaks = {s: [getattr(r, s).medial_knee_shift_peak_mm for r in self.reps] for s in SIDES}
        trial = {"reps": len(self.reps), "reading": self.reading, "reasons": self.reasons,
                 "alignment": al, "exercise": self.exercise, "load_kg": self.load_kg,
                 "one_rm_kg": self.one_rm_kg,
                 "percent_1rm": (None if not (self.load_kg and self.one_rm_kg)
                                 else round(100 * self.load_kg / self.one_rm_kg, 1)),
                 "rules": [r.to_json_dict() for r in self.trial_rules],
                 "consistency": {s: consistency(peaks[s]) for s in SIDES},
                 "warnings": self.warnings, **self.extras}
        return {"trial": trial, "reps": [r.to_json_dict() for r in self.reps],
                "settings": self.settings}

    def series_frame(self) -> pd.DataFrame:
        """One row per frame with exactly the contract's CSV columns."""
        import pandas as pd

        cols: dict[str, Any] = {"time_s": self.time_s}
        for s in SIDES:
            for name in SideSeries.CSV_FIELDS:
                cols[f"{s}_{name}"] = getattr(self.series[s], name)
        cols["phase"] = self.segmentation.phase_names()
        cols["rep"] = self.segmentation.rep
        return pd.DataFrame(cols)


def _check(traj: Trajectory3D) -> list[str]:
    missing = [n for n in REQUIRED if not traj.has(n)]
    if missing:
        raise InputError(f"Missing landmarks {', '.join(missing)}",
                         where="trajectory given to analyze",
                         fix="export the full MediaPipe landmark set (lower snake case names)")
    warnings = []
    empty = []
    for n in REQUIRED:
        frac = float(np.mean(np.isfinite(traj.point(n)[:, 0])))
        if frac == 0:
            empty.append(n)
        elif frac < 0.9:
            warnings.append(f"{n} missing in {100 * (1 - frac):.0f}% of frames: metrics are "
                            "empty there (gaps are not invented)")
    if empty:
        raise InputError(f"Landmarks {', '.join(empty)} are empty (all NaN)",
                         where="trajectory given to analyze",
                         fix="check the 2D detection and triangulation for these landmarks")
    return warnings


def leg_length_mm(legs: dict[str, Leg]) -> float:
    """Median thigh + shank length over both sides (mm)."""
    return float(np.nanmean([lg.thigh_length_mm() + lg.shank_length_mm()
                             for lg in legs.values()]))


def _check_units(length: float) -> None:
    low, high = LEG_LENGTH_RANGE_MM
    if low <= length <= high:
        return
    hint = ""
    if 0.45 <= length <= 1.4:
        hint = " - this looks like metres"
    elif 45 <= length <= 140:
        hint = " - this looks like centimetres"
    raise InputError(f"Expected a leg length (thigh + shank) of {low:.0f}-{high:.0f} mm, but got "
                     f"{length:.4g}{hint}", where="trajectory units",
                     fix="give the trajectory in millimetres (TRC: set Units to m or mm in the "
                     "header so liftlab converts it)")


def _knee_curl_verdict(flex: dict[str, np.ndarray]) -> str | None:
    for side, other in (("left", "right"), ("right", "left")):
        alone = (flex[side] > 45) & (flex[other] < 20)
        if np.mean(alone) > 0.1:
            return (f"the {side} knee bent alone ({np.nanmax(flex[side]):.0f} deg) with the "
                    f"other leg straight: this looks like a knee_curl (alignment) trial; give "
                    "it with --alignment-trial and analyze a squat file")
    return None


def _side_series(lg: Leg, pel: np.ndarray, alignment: Alignment, th: Thresholds, fps: float,
                 *, smooth_angles: bool) -> tuple[SideSeries, float]:
    a_deg = alignment.deg(lg.side)
    calibrated = alignment.source == "calibration"
    unc = alignment.uncertainty_deg
    knee = ang.knee_jcs(lg, alignment_deg=a_deg)
    plain = ang.knee_flexion_deg(lg)
    rel = ang.abduction_reliability(plain, alignment_uncertainty_deg=unc)
    hip_a = ang.hip_jcs(pel, knee.thigh, sign=lg.sign, thigh_spin="A")
    hip_b = ang.hip_angles(pel, lg, thigh_spin="B")
    use_a = rel >= th.reading.abduction_min_reliability
    hip_rot = np.where(use_a, hip_a.int_rotation_deg, hip_b.int_rotation_deg)

    def smooth(x: np.ndarray) -> np.ndarray:
        if not smooth_angles:
            return x
        return lowpass(x, fps=fps, cutoff_hz=th.filter.angle_cutoff_hz, order=th.filter.order)

    nan = np.full(plain.shape, np.nan)
    series = SideSeries(
        knee_flexion_deg=smooth(knee.flexion_deg if calibrated else plain), knee_abduction_deg=smooth(knee.abduction_deg),
        knee_abduction_reliability=rel, hip_flexion_deg=smooth(hip_a.flexion_deg),
        hip_adduction_deg=smooth(hip_a.adduction_deg), hip_int_rotation_deg=smooth(hip_rot),
        medial_knee_shift_mm=ang.medial_knee_shift_mm(lg, alignment_deg=a_deg),
        knee_over_foot_mm=ang.knee_over_foot_mm(lg),
        shank_frontal_tilt_deg=ang.shank_frontal_tilt_deg(lg),
        heel_lift_mm=nan, foot_rotation_deg=nan, foot_slide_mm=nan,
        shank_length_mm=lg.shank_length_mm())
    return series, float(np.mean(use_a))


def _reference_frames(seg: Segmentation, n: int) -> np.ndarray:
    ref = np.zeros(n, dtype=int)
    starts = [r.start for r in seg.reps]
    if starts:
        ref[:] = starts[0]
        for s in starts:
            ref[s:] = s
    return ref


def _pain_per_rep(pain: Sequence[float], n_reps: int, warnings: list[str]) -> list[float | None]:
    p = [float(x) for x in pain]
    if not p:
        return [None] * n_reps
    if len(p) == 1:
        return [p[0]] * n_reps
    if len(p) != n_reps:
        warnings.append(f"{len(p)} pain values for {n_reps} reps: matched by order, the rest "
                        "left without pain")
    return [p[i] if i < len(p) else None for i in range(n_reps)]


def analyze(traj: Trajectory3D, *, exercise: Exercise = "squat",
            alignment: Alignment | None = None, load_kg: float | None = None,
            one_rm_kg: float | None = None, pain: Sequence[float] = (),
            thresholds: Thresholds | None = None, lowpass_data: bool = True) -> TrialAnalysis:
    """Analyse one trial (see the module docstring).

    Parameters
    ----------
    traj
        3D landmarks in the lab frame (mm, Z up).
    exercise
        ``squat``, ``front_squat``, ``clean``, ``snatch`` or ``knee_curl`` (then the trial's
        own alignment is measured and no reps are read).
    alignment
        From :func:`estimate_alignment` on a knee-curl trial; ``None`` = assumed 0 deg.
        A side whose calibration failed its quality check falls back to assumed, with a
        warning.
    load_kg, one_rm_kg
        Load of the set and the athlete's 1RM (for %1RM and the ``light_load`` rule).
    pain
        0-10 per rep, or one value for the set.
    thresholds
        Settings (packaged defaults when None).
    lowpass_data
        Apply the zero-lag low-pass filters (see :mod:`liftlab.metrics.filtering`); turn off
        only for exact (simulated) data.

    Returns
    -------
    TrialAnalysis

    Raises
    ------
    InputError
        Missing or empty landmarks, wrong units, unknown exercise.
    """
    if exercise not in EXERCISES:
        raise InputError(f"Unknown exercise {exercise!r}", fix=f"use one of {EXERCISES}")
    th = thresholds or load_thresholds()
    warnings = _check(traj)
    fps = traj.fps
    pts = (lowpass(traj.points_mm, fps=fps, cutoff_hz=th.filter.cutoff_hz(exercise),
                   order=th.filter.order) if lowpass_data else traj.points_mm)
    smooth = traj.with_points(pts)
    legs = {s: leg(smooth, s) for s in SIDES}
    _check_units(leg_length_mm(legs))
    if exercise == "knee_curl":
        alignment = estimate_alignment(traj, thresholds=th)
    elif alignment is None:
        alignment = Alignment.assumed(uncertainty_deg=th.alignment.assumed_uncertainty_deg)
        warnings.append("alignment assumed 0 deg (no knee_curl calibration): the medial knee "
                        "shift includes the athlete's foot turn-out; record the 20-s knee_curl "
                        "movement")
    elif alignment.source != "assumed" and not alignment.ok:
        bad = [q for q in alignment.quality.values() if not q.ok]
        warnings += [f"alignment calibration failed: {q.verdict}" + (f" (fix: {q.fix})"
                     if q.fix else "") for q in bad]
        warnings.append("analysed uncalibrated (alignment assumed 0 deg)")
        alignment = Alignment.assumed(uncertainty_deg=th.alignment.assumed_uncertainty_deg)
    pel = pelvis_frame(smooth.point("left_hip"), smooth.point("right_hip"),
                       smooth.point("left_shoulder"), smooth.point("right_shoulder"))
    series, spin_a = {}, {}
    for s in SIDES:
        series[s], spin_a[s] = _side_series(legs[s], pel, alignment, th, fps,
                                            smooth_angles=lowpass_data)
    if exercise != "knee_curl":
        verdict = _knee_curl_verdict({s: series[s].knee_flexion_deg for s in SIDES})
        if verdict:
            warnings.append(verdict)
    mid_hip_z = 0.5 * (legs["left"].hip[:, 2] + legs["right"].hip[:, 2])
    if exercise == "knee_curl":
        seg = Segmentation((), np.zeros(traj.n_frames, np.int8),
                           np.zeros(traj.n_frames, np.int32), float("nan"), float("nan"))
    else:
        seg = segment_reps(mid_hip_z, fps=fps, leg_length_mm=leg_length_mm(legs),
                           settings=th.reps)
        if not seg.reps:
            warnings.append("no repetitions found (mid-hip height never dropped by "
                            f"{seg.min_prominence_mm:.0f} mm and came back): per-frame series "
                            "only")
    ref = _reference_frames(seg, traj.n_frames)
    for s in SIDES:
        fs = ang.foot_stability(legs[s], ref)
        series[s] = replace(series[s], heel_lift_mm=fs.heel_lift_mm,
                            foot_rotation_deg=fs.rotation_deg, foot_slide_mm=fs.slide_mm)
    pct_1rm = 100.0 * load_kg / one_rm_kg if load_kg and one_rm_kg else None
    pains = _pain_per_rep(pain, len(seg.reps), warnings)
    time_s = traj.time_s
    reps: list[RepResult] = []
    for rep, p in zip(seg.reps, pains, strict=True):
        per_side = {s: side_rep_metrics(series[s], rep, fps=fps, th=th.reading) for s in SIDES}
        readings, rules = {}, []
        for s in SIDES:
            readings[s], fired = read_side(per_side[s], s, th=th.reading, pain=p,
                                           percent_1rm=pct_1rm)
            rules += fired
        last = min(rep.end, traj.n_frames - 1)
        reps.append(RepResult(rep.index, float(time_s[rep.start]), float(time_s[rep.bottom]),
                              float(time_s[last]), worst(list(readings.values())),
                              order_reasons({r.reason for r in rules}), rules, per_side["left"],
                              per_side["right"], readings, p,
                              (rep.start, rep.bottom_start, rep.bottom, rep.ascent_start,
                               rep.end)))
    trial_rules = []
    for s in SIDES:
        rule = trial_consistency_rule([getattr(r, s).medial_knee_shift_peak_mm for r in reps],
                                      th=th.reading)
        if rule:
            trial_rules.append(rule)
    reading = worst([r.reading for r in reps])
    reasons = {x for r in reps for x in r.reasons}
    if trial_rules and reading != "none":
        reading = "red_flag"
        reasons.add("uncontrolled")
    extras = {"hip_rotation_thigh_spin": {s: {"A_fraction": round(spin_a[s], 3)} for s in SIDES},
              "leg_length_mm": round(leg_length_mm(legs), 1),
              "fps": fps, "filter": {"applied": lowpass_data,
                                     "landmarks_cutoff_hz": th.filter.cutoff_hz(exercise),
                                     "angles_cutoff_hz": th.filter.angle_cutoff_hz}}
    return TrialAnalysis(exercise, time_s, series, seg, reps, reading, order_reasons(reasons),
                         trial_rules, alignment, load_kg, one_rm_kg, warnings, extras,
                         {"thresholds": th.to_dict(), "thresholds_source": list(th.source)})
