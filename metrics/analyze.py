"""``analyze``: one trial's 3D trajectory in, per-frame series, reps and the reading out.

Pipeline (pure numpy/scipy): check landmarks and units -> low-pass landmarks at the
exercise's cut-off -> planted-foot reference (heel, foot_index, ankle averaged where the
foot is still, :mod:`liftlab.metrics.noise`) -> per side: knee JCS (A', with the alignment), plain thigh-shank flexion,
abduction reliability, knee flexion (JCS when calibrated, else the plain thigh-shank
angle, which needs no alignment), hip JCS (thigh spin from A' where its reliability holds, else from B's
hinge plane), knee-over-foot, medial knee shift, shank frontal tilt -> angle series low-passed
at ``angle_cutoff_hz``, knee positions (shift, knee-over-foot) at ``shift_cutoff_hz`` -> reps
and phases from mid-hip height -> foot stability from each rep's start pose -> noise floor of
the shift on the standing frames, thresholds raised to multiples of it -> per-rep numbers ->
reading. :meth:`TrialAnalysis.to_json_dict` and
:meth:`TrialAnalysis.series_frame` give exactly the DESIGN.md section-3 JSON and CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from liftlab.core.containers import Trajectory3D
from liftlab.core.errors import InputError
from liftlab.core.landmarks import LOWER_LIMB
from liftlab.metrics import angles as ang
from liftlab.metrics.alignment import Alignment, estimate_alignment
from liftlab.metrics.filtering import lowpass
from liftlab.metrics.frames import SIDES, Leg, leg, pelvis_frame
from liftlab.metrics.noise import noise_floor, planted_foot, standing_baseline
from liftlab.metrics.per_rep import SideRep, SideSeries, consistency, side_rep_metrics
from liftlab.metrics.reading import (
    Reading,
    Rule,
    noise_adjusted,
    order_reasons,
    read_side,
    trial_consistency_rule,
    worst,
)
from liftlab.metrics.reps import Segmentation, segment_reps
from liftlab.metrics.settings import EXERCISES, Exercise, Thresholds, load_thresholds

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
    """Per-frame series of one side; ``lg`` carries the planted-foot reference."""
    plane = None
    if smooth_angles:
        slow = {k: lowpass(getattr(lg, k), fps=fps, cutoff_hz=th.filter.plane_cutoff_hz,
                           order=th.filter.order) for k in ("hip", "knee", "ankle", "heel", "toe")}
        plane = replace(lg, **slow)
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

    def smooth(x: np.ndarray, cutoff_hz: float = th.filter.angle_cutoff_hz) -> np.ndarray:
        if not smooth_angles:
            return x
        return lowpass(x, fps=fps, cutoff_hz=cutoff_hz, order=th.filter.order)

    shift_hz = th.filter.shift_cutoff_hz

    nan = np.full(plain.shape, np.nan)
    series = SideSeries(
        knee_flexion_deg=smooth(knee.flexion_deg if calibrated else plain), knee_abduction_deg=smooth(knee.abduction_deg),
        knee_abduction_reliability=rel, hip_flexion_deg=smooth(hip_a.flexion_deg),
        hip_adduction_deg=smooth(hip_a.adduction_deg), hip_int_rotation_deg=smooth(hip_rot),
        medial_knee_shift_mm=smooth(ang.medial_knee_shift_mm(lg, alignment_deg=a_deg,
                                                             plane=plane), shift_hz),
        knee_over_foot_mm=smooth(ang.knee_over_foot_mm(lg), shift_hz),
        shank_frontal_tilt_deg=ang.shank_frontal_tilt_deg(lg),
        heel_lift_mm=nan, foot_rotation_deg=nan, foot_slide_mm=nan,
        shank_length_mm=lg.shank_length_mm())
    return series, float(np.mean(use_a))


_ADAPTIVE = ("shift_present_mm", "oscillation_prominence_mm", "baseline_return_mm",
             "uncontrolled_velocity_mm_s")


def _standing_frames(seg: Segmentation, *, margin: int) -> np.ndarray:
    """Standing frames at least ``margin`` frames away from every rep (bool, (F,))."""
    still = seg.phase == 0
    for r in seg.reps:
        still[max(0, r.start - margin):r.end + margin] = False
    return still


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
    ns = th.noise
    feet = {s: planted_foot(legs[s], fps=fps, window_s=ns.foot_window_s,
                            tolerance_sd=ns.foot_tolerance_sd,
                            min_tolerance_mm=ns.foot_min_tolerance_mm,
                            detect_cutoff_hz=th.filter.foot_cutoff_hz if lowpass_data else None)
             for s in SIDES}
    series, spin_a = {}, {}
    for s in SIDES:
        series[s], spin_a[s] = _side_series(feet[s].leg, pel, alignment, th, fps,
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
        fs = ang.foot_stability(feet[s].slow, ref)
        series[s] = replace(series[s], heel_lift_mm=fs.heel_lift_mm,
                            foot_rotation_deg=fs.rotation_deg, foot_slide_mm=fs.slide_mm)
    pct_1rm = 100.0 * load_kg / one_rm_kg if load_kg and one_rm_kg else None
    pains = _pain_per_rep(pain, len(seg.reps), warnings)
    time_s = traj.time_s
    still = _standing_frames(seg, margin=int(round(ns.standing_margin_s * fps)))
    min_still = int(round(ns.min_standing_s * fps))
    baselines = {}
    for s in SIDES:
        shift = series[s].medial_knee_shift_mm
        baselines[s] = (standing_baseline(shift, still, fps=fps, min_frames=min_still)
                        if ns.subtract_standing_baseline else np.zeros_like(shift))
        series[s] = replace(series[s], medial_knee_shift_mm=shift - baselines[s])
    floors = {s: noise_floor(series[s].medial_knee_shift_mm, still, fps=fps,
                             min_frames=min_still) for s in SIDES}
    side_th = {s: noise_adjusted(th.reading, floors[s].sd, floors[s].velocity_sd, ns=ns)
               for s in SIDES}
    for s in SIDES:
        if side_th[s].shift_present_mm > th.reading.shift_present_mm:
            warnings.append(f"{s} medial knee shift noise {floors[s].sd:.1f} mm (standing "
                            f"frames): valgus read from {side_th[s].shift_present_mm:.0f} mm "
                            f"instead of {th.reading.shift_present_mm:g} mm")
    reps: list[RepResult] = []
    for rep, p in zip(seg.reps, pains, strict=True):
        per_side = {s: side_rep_metrics(series[s], rep, fps=fps, th=side_th[s]) for s in SIDES}
        readings, rules = {}, []
        for s in SIDES:
            readings[s], fired = read_side(per_side[s], s, th=side_th[s], pain=p,
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
                                      th=side_th[s], noise_mm=floors[s].sd,
                                      margin_sd=ns.consistency_margin_sd)
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
                                     "angles_cutoff_hz": th.filter.angle_cutoff_hz,
                                     "shift_cutoff_hz": th.filter.shift_cutoff_hz},
              "noise": {s: {"shift_sd_mm": _round(floors[s].sd),
                            "shift_velocity_sd_mm_s": _round(floors[s].velocity_sd),
                            "standing_frames": floors[s].frames,
                            "shift_baseline_mm": {
                                "subtracted": ns.subtract_standing_baseline,
                                "min": _round(float(np.min(baselines[s]))),
                                "max": _round(float(np.max(baselines[s])))},
                            "foot_noise_mm": _round(feet[s].noise_mm),
                            "foot_moving_fraction": _round(float(np.mean(feet[s].moving > 0))),
                            "thresholds": {k: _round(getattr(side_th[s], k)) for k in _ADAPTIVE}}
                        for s in SIDES}}
    return TrialAnalysis(exercise, time_s, series, seg, reps, reading, order_reasons(reasons),
                         trial_rules, alignment, load_kg, one_rm_kg, warnings, extras,
                         {"thresholds": th.to_dict(), "thresholds_source": list(th.source)})
