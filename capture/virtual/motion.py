"""Motion of the virtual athlete with exact truth: squats with valgus patterns, knee curls.

:func:`simulate_motion` turns an :class:`~liftlab.capture.virtual.body.Athlete` and a
:class:`TrialSpec` into a :class:`MotionTruth`: the 33 MediaPipe landmarks (mm, lab frame,
Z up) per frame and every truth series (joint angles, medial knee shift, knee-over-foot,
phases, expected reading per rep). The renderer (task B) and every accuracy figure use it.

How a squat is built, per frame:

1. Depth progress p (0 standing -> 1 bottom, minimum-jerk descent and ascent) sets the
   thigh-shank angle, hence the hip-ankle distance; a planar shank/thigh split sets how far the
   hips sit back; the hips then follow exactly from the planted ankles.
2. Each foot is planted (heel and foot_index on the floor) or, in ``heel_lift`` reps, pivots
   about its toes and turns out.
3. Each knee is solved on its IK circle so that its medial knee shift equals the rep's
   pattern profile exactly (0 = hinge knee), see :func:`.limbs.solve_knee`.
4. Trunk leans with depth; arms hold the bar; the head sits on the trunk.

A knee curl keeps the standing posture; the curling leg's hip hikes just enough for the foot
to clear the floor, then shank and foot turn rigidly about the knee's flexion axis.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from liftlab.capture.session import EXERCISES, Exercise
from liftlab.capture.virtual.body import SIDE_SIGN, SIDES, Athlete
from liftlab.capture.virtual.limbs import UP, rotate, shank_forward, solve_knee, unit
from liftlab.capture.virtual.patterns import (
    PATTERNS,
    Pattern,
    RepClock,
    expected_reading,
    foot_instability_profile,
    medial_shift_profile,
)
from liftlab.capture.virtual.posture import (
    ARM_STYLE,
    LEAN_PER_THIGH_DEG,
    STANDING_LEAN_DEG,
    upper_body,
)
from liftlab.capture.virtual.segments import truth_series
from liftlab.core.containers import Trajectory3D, full_landmark_array
from liftlab.core.errors import check_all

#: Shank forward lean as a share of knee flexion (the rest is the thigh's angle from vertical).
SHANK_SHARE = 0.33
#: Knee curl: seconds to hike / lower the curling leg's hip, and the toe clearance (mm).
CURL_HIKE_S = 0.5
CURL_CLEARANCE_MM = 5.0


@dataclass(frozen=True)
class RepSpec:
    """One repetition (for ``knee_curl``: one curl of ``side``).

    Parameters
    ----------
    pattern
        Valgus pattern (see :mod:`.patterns`).
    depth_deg
        Peak thigh-shank angle (knee flexion of a hinge knee), 30-150 deg.
    descent_s, bottom_pause_s, ascent_s
        Tempo (for a curl: flexing, holding, extending).
    valgus_peak_mm
        Peak prescribed medial knee shift.
    side
        Which knees show the pattern (a curl: which leg curls).
    heel_lift_mm, foot_rotation_deg
        Peak heel lift and foot turn-out of the ``heel_lift`` pattern.
    """

    pattern: Pattern = "none"
    depth_deg: float = 110.0
    descent_s: float = 1.5
    bottom_pause_s: float = 0.0
    ascent_s: float = 1.2
    valgus_peak_mm: float = 20.0
    side: Literal["both", "left", "right"] = "both"
    heel_lift_mm: float = 22.0
    foot_rotation_deg: float = 4.0

    def __post_init__(self) -> None:
        check_all(self._problems(), where=f"RepSpec ({self.pattern})",
                  fix="use seconds, degrees and mm within the stated bounds")

    def _problems(self) -> list[str]:
        out = []
        if not (30.0 <= self.depth_deg <= 150.0):
            out.append(f"depth_deg must lie in [30, 150], got {self.depth_deg}")
        for name in ("descent_s", "ascent_s"):
            if not (0.1 <= getattr(self, name) <= 20.0):
                out.append(f"{name} must lie in [0.1, 20] s, got {getattr(self, name)}")
        if not (0.0 <= self.bottom_pause_s <= 20.0):
            out.append(f"bottom_pause_s must lie in [0, 20] s, got {self.bottom_pause_s}")
        if not (0.0 <= self.valgus_peak_mm <= 60.0):
            out.append(f"valgus_peak_mm must lie in [0, 60], got {self.valgus_peak_mm}")
        if not (0.0 <= self.heel_lift_mm <= 60.0):
            out.append(f"heel_lift_mm must lie in [0, 60], got {self.heel_lift_mm}")
        if not (-20.0 <= self.foot_rotation_deg <= 20.0):
            out.append(f"foot_rotation_deg must lie in [-20, 20], got {self.foot_rotation_deg}")
        if self.side not in ("both", "left", "right"):
            out.append(f"side must be 'both', 'left' or 'right', got {self.side!r}")
        if self.pattern not in PATTERNS:
            out.append(f"pattern must be one of {', '.join(PATTERNS)}, got {self.pattern!r}")
        return out

    def sides(self) -> tuple[str, ...]:
        return SIDES if self.side == "both" else (self.side,)


@dataclass(frozen=True)
class TrialSpec:
    """A trial: exercise, repetitions, timing and context (load, pain per rep or set)."""

    exercise: Exercise = "squat"
    reps: tuple[RepSpec, ...] = (RepSpec(), RepSpec(), RepSpec())
    fps: float = 30.0
    stand_before_s: float = 1.0
    stand_after_s: float = 1.0
    between_reps_s: float = 0.8
    load_kg: float | None = None
    one_rm_kg: float | None = None
    pain: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "reps", tuple(self.reps))
        object.__setattr__(self, "pain", tuple(float(v) for v in self.pain))
        problems = []
        if self.exercise not in EXERCISES:
            problems.append(f"exercise must be one of {', '.join(EXERCISES)}, got {self.exercise!r}")
        if not self.reps:
            problems.append("reps must hold at least one RepSpec")
        for i, rep in enumerate(self.reps, start=1):
            if self.exercise == "knee_curl" and (rep.side == "both" or rep.pattern != "none"):
                problems.append(f"rep {i}: a knee curl needs side 'left' or 'right' and "
                                "pattern 'none'")
        if not (5.0 <= self.fps <= 1000.0):
            problems.append(f"fps must lie in [5, 1000], got {self.fps}")
        for name in ("stand_before_s", "stand_after_s", "between_reps_s"):
            if not (0.0 <= getattr(self, name) <= 60.0):
                problems.append(f"{name} must lie in [0, 60] s, got {getattr(self, name)}")
        if len(self.pain) not in (0, 1, len(self.reps)):
            problems.append(f"pain must hold 0, 1 or {len(self.reps)} values, got {len(self.pain)}")
        if any(not (0.0 <= v <= 10.0) for v in self.pain):
            problems.append(f"pain must lie in [0, 10], got {list(self.pain)}")
        for name in ("load_kg", "one_rm_kg"):
            value = getattr(self, name)
            if value is not None and not (value > 0):
                problems.append(f"{name} must be positive, got {value}")
        check_all(problems, where=f"TrialSpec ({self.exercise})",
                  fix="use seconds, degrees and mm within the stated bounds")

    @property
    def percent_1rm(self) -> float | None:
        if self.load_kg is None or self.one_rm_kg is None:
            return None
        return 100.0 * self.load_kg / self.one_rm_kg

    def rep_pain(self, index: int) -> float:
        """Pain of rep ``index`` (0-based): per rep, one value for the set, or 0."""
        if not self.pain:
            return 0.0
        return self.pain[0] if len(self.pain) == 1 else self.pain[index]

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["reps"] = [asdict(r) for r in self.reps]
        out["pain"] = list(self.pain)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TrialSpec:
        values = dict(data)
        values["reps"] = tuple(RepSpec(**r) for r in values["reps"])  # type: ignore[union-attr]
        values["pain"] = tuple(values.get("pain", ()))  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RepTruth:
    """Frames (inclusive, 0-based) and expected reading of one repetition."""

    index: int
    start_frame: int
    bottom_frame: int
    ascent_frame: int
    end_frame: int
    pattern: str
    expected_reading: str
    expected_reasons: tuple[str, ...]
    side: str = "both"


@dataclass(frozen=True)
class MotionTruth:
    """Exact landmarks and truth of one simulated trial.

    ``series`` holds per-frame arrays: ``time_s``; per side (``left_``/``right_`` prefix) the
    columns of :data:`.segments.SIDE_COLUMNS`; ``phase`` (stand / descent / bottom / ascent)
    and ``rep`` (1-based, 0 outside reps).
    """

    fps: float
    landmarks_mm: np.ndarray
    series: dict[str, np.ndarray]
    reps: tuple[RepTruth, ...]
    alignment_deg: dict[str, float]
    athlete: Athlete
    spec: TrialSpec
    seed: int = 0
    provenance: dict[str, object] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.landmarks_mm.shape[0])

    def trajectory(self) -> Trajectory3D:
        """The exact landmarks as a :class:`Trajectory3D` (no noise, all points present)."""
        prov = {"source": "virtual_lab", "exercise": self.spec.exercise, "seed": self.seed,
                **self.provenance}
        return Trajectory3D(points_mm=self.landmarks_mm.copy(), fps=self.fps, provenance=prov)


def knee_curl_spec(*, fps: float = 30.0, curls_per_side: int = 4, peak_flexion_deg: float = 90.0,
                   flex_s: float = 0.9, hold_s: float = 0.2, extend_s: float = 0.9,
                   between_s: float = 0.4, sides: tuple[str, ...] = ("left", "right")
                   ) -> TrialSpec:
    """The alignment calibration movement: standing at the rack, each knee curls
    ``curls_per_side`` times (heel toward the buttock, thigh still), left then right (~20 s
    with the defaults)."""
    reps = tuple(RepSpec(depth_deg=peak_flexion_deg, descent_s=flex_s, bottom_pause_s=hold_s,
                         ascent_s=extend_s, side=side)  # type: ignore[arg-type]
                 for side in sides for _ in range(curls_per_side))
    return TrialSpec(exercise="knee_curl", reps=reps, fps=fps, between_reps_s=between_s)


def squat_spec(patterns: tuple[Pattern, ...] = ("none", "transient", "persistent"), *,
               exercise: Exercise = "squat", fps: float = 30.0, depth_deg: float = 110.0,
               valgus_peak_mm: float = 20.0, side: Literal["both", "left", "right"] = "both",
               **trial: object) -> TrialSpec:
    """A set of reps, one per pattern, sharing depth, peak and side; ``trial`` passes on to
    :class:`TrialSpec` (``load_kg``, ``one_rm_kg``, ``pain``, timings)."""
    reps = tuple(RepSpec(pattern=p, depth_deg=depth_deg, valgus_peak_mm=valgus_peak_mm, side=side)
                 for p in patterns)
    return TrialSpec(exercise=exercise, reps=reps, fps=fps, **trial)  # type: ignore[arg-type]


def _minimum_jerk(tau: np.ndarray) -> np.ndarray:
    tau = np.clip(tau, 0.0, 1.0)
    return tau**3 * (10.0 - 15.0 * tau + 6.0 * tau**2)


@dataclass
class _Timeline:
    """Per-frame clocks of a whole trial (mutable scratch while building)."""

    n_frames: int
    progress: dict[str, np.ndarray]     # per side: 0 standing -> 1 bottom
    depth_deg: dict[str, np.ndarray]    # per side: the current rep's depth
    hike: dict[str, np.ndarray]         # knee curl: 0 -> 1 hip hike of the curling side
    phase: np.ndarray
    rep: np.ndarray
    reps: list[RepTruth]
    clocks: list[RepClock]


def _frames(seconds: float, fps: float, minimum: int = 0) -> int:
    return max(minimum, int(round(seconds * fps)))


def _timeline(spec: TrialSpec) -> _Timeline:
    fps, curl = spec.fps, spec.exercise == "knee_curl"
    n_hike = _frames(CURL_HIKE_S, fps, 1) if curl else 0
    n_between = _frames(spec.between_reps_s, fps, 1)
    starts, cursor = [], _frames(spec.stand_before_s, fps)
    for i, rep in enumerate(spec.reps):
        side_changes = curl and (i == 0 or spec.reps[i - 1].side != rep.side)
        if side_changes:
            cursor += n_hike + (n_between if i else 0)
        starts.append(cursor)
        n = _frames(rep.descent_s, fps, 1) + _frames(rep.bottom_pause_s, fps) \
            + _frames(rep.ascent_s, fps, 1)
        last_of_side = curl and (i == len(spec.reps) - 1 or spec.reps[i + 1].side != rep.side)
        cursor += n + (n_hike if last_of_side else 0) + n_between
    n_frames = cursor - n_between + 1 + _frames(spec.stand_after_s, fps)
    tl = _Timeline(n_frames, {s: np.zeros(n_frames) for s in SIDES},
                   {s: np.full(n_frames, spec.reps[0].depth_deg) for s in SIDES},
                   {s: np.zeros(n_frames) for s in SIDES},
                   np.full(n_frames, "stand", dtype="<U7"), np.zeros(n_frames, dtype=int), [], [])
    for i, (rep, start) in enumerate(zip(spec.reps, starts, strict=True)):
        bottom = start + _frames(rep.descent_s, fps, 1)
        ascent = bottom + _frames(rep.bottom_pause_s, fps)
        end = ascent + _frames(rep.ascent_s, fps, 1)
        idx = np.arange(start, end + 1)
        p = np.where(idx <= bottom, _minimum_jerk((idx - start) / (bottom - start)),
                     np.where(idx <= ascent, 1.0,
                              1.0 - _minimum_jerk((idx - ascent) / (end - ascent))))
        sides = (rep.side,) if curl else SIDES
        for side in sides:
            tl.progress[side][idx] = p
            tl.depth_deg[side][start:] = rep.depth_deg
        tl.phase[idx] = np.where(idx < bottom, "descent", np.where(idx <= ascent, "bottom", "ascent"))
        tl.rep[idx] = i + 1
        reading, reasons = ("none", ()) if curl else expected_reading(
            rep.pattern, spec.rep_pain(i), spec.percent_1rm)
        tl.reps.append(RepTruth(i + 1, start, bottom, ascent, end, rep.pattern, reading, reasons,
                                rep.side))
        u = np.where(idx >= ascent, (idx - ascent) / (end - ascent), np.nan)
        tl.clocks.append(RepClock(p, u, (idx - start) / fps))
    if curl:
        tl.hike = {s: _hike_profile(tl.rep, tl.reps, s, n_hike) for s in SIDES}
    return tl


def _hike_profile(rep: np.ndarray, reps: list[RepTruth], side: str, n_ramp: int) -> np.ndarray:
    """0 -> 1 hip hike of the curling ``side``: up over ``n_ramp`` frames before each run of
    consecutive curls of that side, held through the run, down over ``n_ramp`` frames after."""
    hike = np.zeros(rep.shape)
    ramp = np.sin(np.linspace(0.0, np.pi / 2, n_ramp + 1)) ** 2
    runs: list[list[RepTruth]] = []
    for i, r in enumerate(reps):
        if r.side == side:
            if i and reps[i - 1].side == side:
                runs[-1].append(r)
            else:
                runs.append([r])
    for run in runs:
        first, last = run[0].start_frame, run[-1].end_frame
        hike[first:last + 1] = 1.0
        hike[first - n_ramp:first + 1] = ramp
        hike[last:last + n_ramp + 1] = ramp[::-1]
    return hike


def simulate_motion(athlete: Athlete, spec: TrialSpec, *, seed: int = 0) -> MotionTruth:
    """Simulate a trial with exact truth.

    Parameters
    ----------
    athlete
        Who, where, and their alignment.
    spec
        What they do.
    seed
        Draws the per-rep randomness of ``uncontrolled`` reps.

    Returns
    -------
    MotionTruth
        Landmarks (F, 33, 3) mm in the lab frame and the truth series.
    """
    rng = np.random.default_rng(seed)
    a = athlete.anthropometry
    tl = _timeline(spec)
    n = tl.n_frames
    shift = {s: np.zeros(n) for s in SIDES}
    lift = {s: np.zeros(n) for s in SIDES}
    turn = {s: np.zeros(n) for s in SIDES}
    if spec.exercise != "knee_curl":
        for rep, truth, clock in zip(spec.reps, tl.reps, tl.clocks, strict=True):
            idx = slice(truth.start_frame, truth.end_frame + 1)
            for side in rep.sides():
                shift[side][idx] = medial_shift_profile(rep.pattern, clock,
                                                        peak_mm=rep.valgus_peak_mm, rng=rng)
                lift[side][idx], turn[side][idx] = foot_instability_profile(
                    rep.pattern, clock, heel_lift_mm=rep.heel_lift_mm,
                    foot_rotation_deg=rep.foot_rotation_deg)

    # 1. depth -> knee angle -> hips (identical on both sides in a squat)
    f_stand = athlete.standing_knee_flexion_deg
    squat_p = np.zeros(n) if spec.exercise == "knee_curl" else tl.progress["left"]
    depth = tl.depth_deg["left"]
    flex = np.deg2rad(f_stand + squat_p * (depth - f_stand))
    shank_lean = SHANK_SHARE * flex
    thigh_lean = flex - shank_lean
    hip_back = a.shank_mm * np.sin(shank_lean) - a.thigh_mm * np.sin(thigh_lean)
    reach_sq = a.thigh_mm**2 + a.shank_mm**2 + 2 * a.thigh_mm * a.shank_mm * np.cos(flex)
    planted = {s: athlete.planted_foot(s) for s in SIDES}
    ankle0 = planted["left"]["ankle"]
    lateral = athlete.stance_width_mm / 2 - a.hip_width_mm / 2
    height_sq = reach_sq - (hip_back - ankle0[0]) ** 2 - lateral**2
    check_all([f"the hips cannot reach the ankles at {np.degrees(flex[np.argmin(height_sq)]):.0f} "
               "deg knee flexion with this stance"] if np.any(height_sq <= 0) else [],
              where="simulate_motion", fix="use a narrower stance or a smaller depth")
    mid_hip = np.stack([hip_back, np.zeros(n), ankle0[2] + np.sqrt(height_sq)], axis=-1)
    hips = {s: mid_hip + np.array([0.0, SIDE_SIGN[s] * a.hip_width_mm / 2, 0.0]) for s in SIDES}

    # 2.-3. feet and knees
    legs: dict[str, np.ndarray] = {}
    for side in SIDES:
        sigma, foot = SIDE_SIGN[side], planted[side]
        toe = np.broadcast_to(foot["foot_index"], (n, 3))
        pieces = {k: np.broadcast_to(v - foot["foot_index"], (n, 3)) for k, v in foot.items()}
        yaw = sigma * np.deg2rad(turn[side])
        pieces = {k: rotate(v, UP, yaw) for k, v in pieces.items()}
        pitch_axis = unit(np.cross(UP, -pieces["heel"]))
        pitch = np.arcsin(np.clip(lift[side] / a.foot_length_mm, -1, 1))
        pieces = {k: toe + rotate(v, pitch_axis, pitch) for k, v in pieces.items()}
        forward = unit(pieces["foot_index"] - pieces["heel"])
        knee = solve_knee(hips[side], pieces["ankle"], forward, shift[side], thigh_mm=a.thigh_mm,
                          shank_mm=a.shank_mm, alignment_deg=athlete.alignment_deg(side),
                          sigma=sigma)
        legs.update({f"{side}_hip": hips[side], f"{side}_knee": knee,
                     **{f"{side}_{k}": v for k, v in pieces.items()}})
    if spec.exercise == "knee_curl":
        _curl_legs(legs, athlete, tl)
        mid_hip = (legs["left_hip"] + legs["right_hip"]) / 2

    # 4. upper body
    style = ARM_STYLE[spec.exercise]
    lean = STANDING_LEAN_DEG + LEAN_PER_THIGH_DEG[style] * np.degrees(thigh_lean)
    local = {**legs, **upper_body(mid_hip, lean, style, a)}
    points = athlete.to_lab(full_landmark_array(local, n))
    series = {"time_s": np.arange(n) / spec.fps,
              **truth_series(points, {s: athlete.alignment_deg(s) for s in SIDES}),
              "phase": tl.phase, "rep": tl.rep}
    return MotionTruth(fps=spec.fps, landmarks_mm=points, series=series, reps=tuple(tl.reps),
                       alignment_deg={s: athlete.alignment_deg(s) for s in SIDES},
                       athlete=athlete, spec=spec, seed=seed,
                       provenance={"model": "liftlab.capture.virtual.motion"})


def _curl_legs(legs: dict[str, np.ndarray], athlete: Athlete, tl: _Timeline) -> None:
    """Knee curl: hike the curling side's hip, turn shank and foot about the knee axis."""
    a = athlete.anthropometry
    for side in SIDES:
        if not np.any(tl.progress[side] > 0):
            continue
        sigma, other = SIDE_SIGN[side], "right" if side == "left" else "left"
        knee, ankle = legs[f"{side}_knee"], legs[f"{side}_ankle"]
        forward = unit(legs[f"{side}_foot_index"] - legs[f"{side}_heel"])
        x = shank_forward(knee, ankle, forward, alignment_deg=athlete.alignment_deg(side),
                          sigma=sigma)
        axis = np.cross(unit(knee - ankle), x)   # the knee's flexion axis (shank y, to the left)
        swing = np.deg2rad(tl.progress[side] * (tl.depth_deg[side]
                                                - athlete.standing_knee_flexion_deg))
        moving = ("ankle", "heel", "foot_index")
        # clearance: lowest foot point over the whole swing range
        trial = np.linspace(0.0, np.max(swing), 200)
        lowest = min(float(np.min(knee[0, 2] + rotate(
            np.broadcast_to(legs[f"{side}_{k}"][0] - knee[0], (200, 3)),
            np.broadcast_to(axis[0], (200, 3)), trial)[:, 2])) for k in moving)
        hike_mm = max(0.0, -lowest) + CURL_CLEARANCE_MM
        for k in moving:
            legs[f"{side}_{k}"] = knee + rotate(legs[f"{side}_{k}"] - knee, axis, swing)
        support = legs[f"{other}_hip"]
        across = unit(legs[f"{side}_hip"] - support)
        tilt = np.arcsin(np.clip(tl.hike[side] * hike_mm / a.hip_width_mm, -1, 1))[:, None]
        new_hip = support + a.hip_width_mm * (np.cos(tilt) * across + np.sin(tilt) * UP)
        delta = new_hip - legs[f"{side}_hip"]
        for k in ("hip", "knee", *moving):
            legs[f"{side}_{k}"] = legs[f"{side}_{k}"] + delta
