"""The virtual lab's body model and motion: exact, self-consistent ground truth.

Every check recomputes the truth from the generated landmarks with the DESIGN section-4 vector
formulas written out here (numpy only), independently of capture/virtual/segments.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from liftlab.capture.virtual.body import Anthropometry, Athlete, random_athlete
from liftlab.capture.virtual.motion import (
    MotionTruth,
    RepSpec,
    TrialSpec,
    knee_curl_spec,
    simulate_motion,
    squat_spec,
)
from liftlab.capture.virtual.patterns import expected_reading
from liftlab.capture.virtual.truth import load_truth, rep_peaks, save_truth
from liftlab.core.containers import Trajectory3D
from liftlab.core.errors import InputError
from liftlab.core.landmarks import INDEX

UP = np.array([0.0, 0.0, 1.0])
SIGMA = {"left": 1, "right": -1}
PATTERNS = ("none", "transient", "persistent", "uncontrolled")


# ---------------------------------------------------------------- independent DESIGN formulas
def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _dot(a, b):
    return np.sum(a * b, axis=-1)


def _pt(truth: MotionTruth, name: str) -> np.ndarray:
    return truth.landmarks_mm[:, INDEX[name]]


def _design_side(truth: MotionTruth, side: str) -> dict[str, np.ndarray]:
    """DESIGN section 4, from landmarks and the known alignment only."""
    s, a = SIGMA[side], np.deg2rad(truth.alignment_deg[side])
    hip, knee, ankle, heel, toe = (_pt(truth, f"{side}_{j}")
                                   for j in ("hip", "knee", "ankle", "heel", "foot_index"))
    z = _unit(knee - ankle)
    foot = _unit(toe - heel)
    # foot forward turned back (inward) about z by the alignment: Rodrigues, angle -s*a
    ang = -s * a
    turned = foot * np.cos(ang) + np.cross(z, foot) * np.sin(ang) \
        + z * _dot(z, foot)[:, None] * (1 - np.cos(ang))
    x = _unit(turned - _dot(turned, z)[:, None] * z)
    y = np.cross(z, x)
    d = _unit(hip - knee)
    dx, dy, dz = _dot(d, x), _dot(d, y), _dot(d, z)
    abd_raw = np.arctan(dy / dz)
    flex = np.arctan2(-dx, dz / np.cos(abd_raw))
    # thigh frame = shank frame with abduction and flexion undone: R_t = R_s Rx(-b) Ry(-f)
    rs = np.stack([x, y, z], axis=-1)
    cb, sb, cf, sf = np.cos(abd_raw), np.sin(abd_raw), np.cos(flex), np.sin(flex)
    one, zero = np.ones_like(cb), np.zeros_like(cb)
    rx = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cb, sb], -1),
                   np.stack([zero, -sb, cb], -1)], axis=-2)
    ry = np.stack([np.stack([cf, zero, -sf], -1), np.stack([zero, one, zero], -1),
                   np.stack([sf, zero, cf], -1)], axis=-2)
    rt = rs @ rx @ ry
    tx, ty, tz = rt[:, :, 0], rt[:, :, 1], rt[:, :, 2]
    # pelvis frame and hip JCS (Grood & Suntay, vector form)
    py = _pt(truth, "left_hip") - _pt(truth, "right_hip")
    mid_sh = (_pt(truth, "left_shoulder") + _pt(truth, "right_shoulder")) / 2
    mid_hip = (_pt(truth, "left_hip") + _pt(truth, "right_hip")) / 2
    px = _unit(np.cross(py, mid_sh - mid_hip))
    pz = _unit(np.cross(px, py))
    py = np.cross(pz, px)
    e2 = _unit(np.cross(py, tz))                            # floating axis
    alpha = np.arctan2(-_dot(e2, pz), _dot(e2, px))
    beta = np.arcsin(np.clip(-_dot(tz, py), -1, 1))
    gamma = np.arctan2(-_dot(ty, e2), _dot(tx, e2))
    # positions
    n = s * _unit(np.cross(hip - ankle, x))
    n_foot = _unit(np.cross(foot, UP))
    n_foot *= np.sign(_dot(n_foot, s * py))[:, None]        # toward the athlete's lateral side
    return {"knee_flexion_deg": np.degrees(flex), "knee_abduction_deg": s * np.degrees(abd_raw),
            "hip_flexion_deg": -np.degrees(alpha), "hip_adduction_deg": -s * np.degrees(beta),
            "hip_int_rotation_deg": -s * np.degrees(gamma),
            "medial_knee_shift_mm": -_dot(knee - ankle, n),
            "knee_over_foot_mm": -_dot(knee - ankle, n_foot)}


# ---------------------------------------------------------------- fixtures
def _spec(*patterns: str, fps: float = 30.0, depth: float = 110.0, **rep_kw) -> TrialSpec:
    return TrialSpec(reps=tuple(RepSpec(pattern=p, depth_deg=depth, **rep_kw) for p in patterns),
                     fps=fps, stand_before_s=0.5, stand_after_s=0.5, between_reps_s=0.3)


ATHLETES = {
    "default": Athlete(),
    "h90_wide_a25": Athlete(heading_deg=90.0, stance_width_mm=480.0, toe_out_deg=30.0,
                            toe_out_right_deg=10.0,
                            alignment_left_deg=25.0, alignment_right_deg=0.0,
                            position_mm=(500.0, -300.0)),
    "h217_narrow_a12": Athlete(Anthropometry.from_height(1620.0), heading_deg=217.0,
                               stance_width_mm=300.0, toe_out_deg=5.0,
                               alignment_left_deg=12.0, alignment_right_deg=21.0),
    "random7": random_athlete(7),
}


@pytest.fixture(scope="module", params=list(ATHLETES))
def mixed(request) -> MotionTruth:
    return simulate_motion(ATHLETES[request.param], _spec(*PATTERNS, "heel_lift", depth=125.0))


# ---------------------------------------------------------------- tests
def test_feet_planted_bones_constant(mixed: MotionTruth) -> None:
    pts = mixed.landmarks_mm
    lift_frames = np.zeros(len(pts), dtype=bool)
    for rep in mixed.reps:
        if rep.pattern == "heel_lift":
            lift_frames[rep.start_frame:rep.end_frame + 1] = True
    for side in ("left", "right"):
        for j in ("heel", "foot_index", "ankle"):
            p = _pt(mixed, f"{side}_{j}")[~lift_frames]
            assert np.max(np.abs(p - p[0])) < 1e-6, (side, j)
        for j in ("heel", "foot_index"):
            assert np.max(np.abs(_pt(mixed, f"{side}_{j}")[~lift_frames, 2])) < 1e-9
        # heel_lift: the foot pivots about its toes
        toe = _pt(mixed, f"{side}_foot_index")
        assert np.max(np.abs(toe - toe[0])) < 1e-6
    bones = [("hip", "knee"), ("knee", "ankle"), ("ankle", "heel"), ("heel", "foot_index"),
             ("ankle", "foot_index"), ("shoulder", "elbow"), ("elbow", "wrist")]
    for side in ("left", "right"):
        for a, b in bones:
            length = np.linalg.norm(_pt(mixed, f"{side}_{a}") - _pt(mixed, f"{side}_{b}"), axis=1)
            assert np.ptp(length) < 1e-6, (side, a, b)
    for a, b in (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")):
        assert np.ptp(np.linalg.norm(_pt(mixed, a) - _pt(mixed, b), axis=1)) < 1e-6
    assert np.all(np.isfinite(pts))


def test_truth_matches_design_formulas(mixed: MotionTruth) -> None:
    for side in ("left", "right"):
        ref = _design_side(mixed, side)
        flex = ref["knee_flexion_deg"]
        observable = np.abs(np.cos(np.deg2rad(flex))) > 0.02
        for name, want in ref.items():
            got = mixed.series[f"{side}_{name}"]
            mask = observable if name in ("knee_abduction_deg", "hip_int_rotation_deg") \
                else np.ones_like(observable)
            assert np.nanmax(np.abs(got[mask] - want[mask])) < 0.01, (side, name)
            assert np.all(np.isfinite(got[mask])), (side, name)


def test_knee_depth_and_phases(mixed: MotionTruth) -> None:
    phase, rep = mixed.series["phase"], mixed.series["rep"]
    for r in mixed.reps:
        assert r.start_frame < r.bottom_frame <= r.ascent_frame < r.end_frame
        assert set(phase[r.start_frame:r.bottom_frame]) == {"descent"}
        assert set(phase[r.ascent_frame + 1:r.end_frame + 1]) == {"ascent"}
        assert phase[r.bottom_frame] == "bottom"
        assert np.all(rep[r.start_frame:r.end_frame + 1] == r.index)
        if r.pattern == "none":   # hinge knee: JCS flexion = thigh-shank angle = the depth
            for side in ("left", "right"):
                assert mixed.series[f"{side}_knee_flexion_deg"][r.bottom_frame] == \
                    pytest.approx(125.0, abs=1e-6)
    assert set(phase[rep == 0]) == {"stand"}
    assert mixed.series["time_s"][1] == pytest.approx(1 / mixed.fps)


@pytest.mark.parametrize("seed", range(8))
def test_hinge_knee_has_no_medial_shift(seed: int) -> None:
    truth = simulate_motion(random_athlete(seed), _spec("none", depth=float(90 + 5 * seed)))
    for side in ("left", "right"):
        ref = _design_side(truth, side)
        assert np.max(np.abs(ref["medial_knee_shift_mm"])) < 1e-6
        assert np.max(np.abs(truth.series[f"{side}_medial_knee_shift_mm"])) < 1e-6
        abd = truth.series[f"{side}_knee_abduction_deg"]
        assert np.nanmax(np.abs(abd)) < 1e-6


def test_prescribed_profiles_are_exact() -> None:
    peak = 18.0
    truth = simulate_motion(Athlete(heading_deg=217.0), _spec("transient", "persistent",
                                                              valgus_peak_mm=peak))
    transient, persistent = truth.reps
    for side in ("left", "right"):
        s = truth.series[f"{side}_medial_knee_shift_mm"]
        # transient: 0 through descent, one sin^2 bump over the first 60 % of the ascent
        asc = np.arange(transient.ascent_frame, transient.end_frame + 1)
        u = (asc - transient.ascent_frame) / (transient.end_frame - transient.ascent_frame)
        want = np.where(u <= 0.6, peak * np.sin(np.pi * u / 0.6) ** 2, 0.0)
        assert np.max(np.abs(s[asc] - want)) < 1e-6
        assert np.max(np.abs(s[transient.start_frame:transient.ascent_frame])) < 1e-6
        peak_at = u[np.argmax(s[asc])]
        assert 0.2 <= peak_at <= 0.35
        # persistent: above half its peak for most of the rep
        rep = s[persistent.start_frame:persistent.end_frame + 1]
        assert np.max(rep) == pytest.approx(peak, abs=1e-6)
        assert np.mean(rep > peak / 2) > 0.6


def test_valgus_knee_is_medial_of_hinge_knee_at_every_depth() -> None:
    athlete = Athlete(alignment_left_deg=20.0, alignment_right_deg=5.0, toe_out_deg=10.0)
    hinge = simulate_motion(athlete, _spec("none", depth=130.0))
    valgus = simulate_motion(athlete, _spec("persistent", depth=130.0))
    heading = np.deg2rad(athlete.heading_deg)
    left_dir = np.array([-np.sin(heading), np.cos(heading), 0.0])
    for side in ("left", "right"):
        medial = -SIGMA[side] * left_dir
        s = valgus.series[f"{side}_medial_knee_shift_mm"]
        moved = _dot(_pt(valgus, f"{side}_knee") - _pt(hinge, f"{side}_knee"), medial)
        shifted = s > 0.5
        flex = valgus.series[f"{side}_knee_flexion_deg"]
        assert np.any(shifted & (flex > 120))
        assert np.all(moved[shifted] > 0.3 * s[shifted])


def test_heel_lift_pattern_moves_the_foot() -> None:
    truth = simulate_motion(Athlete(heading_deg=90.0),
                            _spec("heel_lift", heel_lift_mm=25.0, foot_rotation_deg=5.0,
                                  side="left"))
    left, right = truth.series["left_heel_lift_mm"], truth.series["right_heel_lift_mm"]
    assert np.max(left) == pytest.approx(25.0, abs=1e-6)
    assert np.max(np.abs(right)) < 1e-9
    assert np.max(truth.series["left_foot_rotation_deg"]) == pytest.approx(5.0, abs=1e-6)
    assert np.max(truth.series["left_medial_knee_shift_mm"]) == pytest.approx(20.0, abs=1e-6)
    assert truth.reps[0].expected_reasons == ("foot_instability",)


def test_uncontrolled_reps_oscillate_and_differ() -> None:
    truth = simulate_motion(Athlete(), _spec("uncontrolled", "uncontrolled", "uncontrolled"),
                            seed=3)
    s = truth.series["left_medial_knee_shift_mm"]
    curves = [s[r.start_frame:r.end_frame + 1] for r in truth.reps]
    for c in curves:
        turns = np.sum(np.diff(np.sign(np.diff(c[np.abs(c) > 1e-3]))) != 0)
        assert turns >= 4
    assert np.std([c.max() for c in curves]) > 0.5


def test_knee_curl_is_a_hinge_with_recoverable_alignment() -> None:
    athlete = Athlete(heading_deg=217.0, alignment_left_deg=18.0, alignment_right_deg=7.0)
    truth = simulate_motion(athlete, knee_curl_spec(fps=30.0))
    assert 15.0 <= truth.n_frames / truth.fps <= 30.0
    for side, other in (("left", "right"), ("right", "left")):
        frames = np.zeros(truth.n_frames, dtype=bool)
        for r in truth.reps:
            if r.side == side:
                frames[r.start_frame:r.end_frame + 1] = True
        flex = truth.series[f"{side}_knee_flexion_deg"]
        assert np.max(flex[frames]) == pytest.approx(90.0, abs=1e-6)
        hip, knee, ankle, heel, toe = (_pt(truth, f"{side}_{j}")
                                       for j in ("hip", "knee", "ankle", "heel", "foot_index"))
        # thigh still: its direction never changes
        thigh = _unit(hip - knee)
        assert np.max(np.abs(thigh - thigh[0])) < 1e-9
        # the moving foot is rigid with the shank
        for a, b in ((knee, heel), (knee, toe), (ankle, toe)):
            assert np.ptp(np.linalg.norm(a - b, axis=1)) < 1e-6
        # the other foot stays planted; no foot goes below the floor
        for j in ("heel", "foot_index"):
            p = _pt(truth, f"{other}_{j}")[frames]
            assert np.max(np.abs(p - p[0])) < 1e-9
            assert np.min(_pt(truth, f"{side}_{j}")[:, 2]) > -1e-9
        # hinge-plane check: normal of (hip, knee, ankle) is the knee axis; the foot axis,
        # turned about the shank, sits at the alignment angle from the plane's forward line
        use = frames & (flex > 20)
        z = _unit(knee - ankle)
        normal = _unit(np.cross(hip - knee, ankle - knee))
        fwd = _unit(np.cross(z, normal))
        foot = _unit(toe - heel)
        foot = _unit(foot - _dot(foot, z)[:, None] * z)
        fwd *= np.sign(_dot(fwd, foot))[:, None]
        angle = SIGMA[side] * np.degrees(np.arctan2(_dot(np.cross(fwd, foot), z), _dot(fwd, foot)))
        assert np.max(np.abs(angle[use] - truth.alignment_deg[side])) < 1e-6
        assert np.max(np.abs(truth.series[f"{side}_medial_knee_shift_mm"])) < 1e-6
    assert all(r.expected_reading == "none" for r in truth.reps)


@pytest.mark.parametrize(("pattern", "pain", "percent", "want"), [
    ("none", 0, 90, ("none", ())),
    ("none", 8, 40, ("none", ())),
    ("transient", 0, 90, ("transient", ())),
    ("transient", 0, None, ("transient", ())),
    ("transient", 2, 90, ("transient", ())),
    ("transient", 3, 90, ("red_flag", ("pain",))),
    ("transient", 0, 50, ("red_flag", ("light_load",))),
    ("persistent", 0, 90, ("red_flag", ("persistent",))),
    ("uncontrolled", 0, 90, ("red_flag", ("uncontrolled",))),
    ("heel_lift", 5, 90, ("red_flag", ("foot_instability", "pain"))),
])
def test_expected_reading(pattern, pain, percent, want) -> None:
    assert expected_reading(pattern, pain, percent) == want


def test_expected_reading_thresholds_and_trial_context() -> None:
    assert expected_reading("transient", 3, 90, pain_threshold=4) == ("transient", ())
    assert expected_reading("transient", 0, 65, light_load_percent=70) == \
        ("red_flag", ("light_load",))
    spec = TrialSpec(reps=(RepSpec(pattern="transient"),) * 3, load_kg=50.0, one_rm_kg=120.0,
                     pain=(0, 0, 6))
    truth = simulate_motion(Athlete(), spec)
    assert [r.expected_reasons for r in truth.reps] == [("light_load",), ("light_load",),
                                                        ("pain", "light_load")]
    with pytest.raises(InputError, match="Unknown valgus pattern"):
        expected_reading("wobbly", 0, 90)


@pytest.mark.parametrize(("make", "match"), [
    (lambda: Anthropometry(height_mm=500.0), "height_mm must lie"),
    (lambda: Anthropometry(thigh_mm=-1.0), "thigh_mm must lie"),
    (lambda: Athlete(stance_width_mm=50.0), "stance_width_mm must lie"),
    (lambda: Athlete(toe_out_deg=80.0), "toe_out_deg must lie"),
    (lambda: Athlete(toe_out_right_deg=-30.0), "toe_out_right_deg must lie"),
    (lambda: Athlete(alignment_left_deg=60.0), "alignment_left_deg must lie"),
    (lambda: RepSpec(depth_deg=170.0), r"depth_deg must lie in \[30, 150\]"),
    (lambda: RepSpec(descent_s=0.0, ascent_s=-1.0), "descent_s must lie.*ascent_s must lie"),
    (lambda: RepSpec(pattern="wobbly"), "pattern must be one of"),
    (lambda: RepSpec(side="middle"), "side must be"),
    (lambda: TrialSpec(reps=()), "at least one RepSpec"),
    (lambda: TrialSpec(exercise="deadlift"), "exercise must be one of"),
    (lambda: TrialSpec(pain=(1, 2)), "pain must hold 0, 1 or 3"),
    (lambda: TrialSpec(pain=(11,)), r"pain must lie in \[0, 10\]"),
    (lambda: TrialSpec(fps=0.0), "fps must lie"),
    (lambda: TrialSpec(exercise="knee_curl"), "a knee curl needs side"),
    (lambda: simulate_motion(Athlete(), TrialSpec(reps=(RepSpec(pattern="persistent",
                                                                valgus_peak_mm=60.0,
                                                                depth_deg=40.0),))),
     "beyond what the knee can reach"),
])
def test_invalid_inputs_are_reported(make, match) -> None:
    with pytest.raises(InputError, match=match):
        make()


def test_valid_edge_inputs_are_accepted() -> None:
    assert Athlete(alignment_left_deg=0.0, alignment_right_deg=25.0).alignment_deg("right") == 25.0
    assert TrialSpec(pain=(3,)).rep_pain(2) == 3.0
    assert TrialSpec(load_kg=90.0, one_rm_kg=120.0).percent_1rm == pytest.approx(75.0)


def test_athletes_are_reproducible_and_varied() -> None:
    assert random_athlete(5) == random_athlete(5)
    many = [random_athlete(i) for i in range(20)]
    for name in ("heading_deg", "toe_out_deg", "stance_width_mm", "alignment_left_deg"):
        assert np.ptp([getattr(a, name) for a in many]) > 5
    drawn = [Athlete(alignment_seed=i) for i in range(20)]
    left = [a.alignment_left_deg for a in drawn]
    assert all(0 <= v <= 25 for v in left) and np.ptp(left) > 10
    assert Athlete(alignment_seed=3) == Athlete(alignment_seed=3)


def test_pose_is_invariant_to_placement() -> None:
    base = Athlete(alignment_left_deg=10.0, alignment_right_deg=20.0)
    moved = dataclasses.replace(base, heading_deg=217.0, position_mm=(800.0, -450.0))
    spec = _spec("transient", "persistent")
    a, b = simulate_motion(base, spec), simulate_motion(moved, spec)
    for key, value in a.series.items():
        if value.dtype.kind == "f":
            np.testing.assert_allclose(b.series[key], value, atol=1e-7, err_msg=key)
    mid = (b.landmarks_mm[0, INDEX["left_ankle"]] + b.landmarks_mm[0, INDEX["right_ankle"]]) / 2
    np.testing.assert_allclose(mid[:2], (800.0, -450.0), atol=1e-9)
    facing = _pt(b, "nose")[0] - (_pt(b, "left_ear")[0] + _pt(b, "right_ear")[0]) / 2
    assert np.degrees(np.arctan2(facing[1], facing[0])) % 360 == pytest.approx(217.0, abs=1.0)


def test_save_load_round_trip(tmp_path) -> None:
    truth = simulate_motion(random_athlete(2), _spec("transient", "uncontrolled", "heel_lift"),
                            seed=4)
    back = load_truth(save_truth(truth, tmp_path / "truth"))
    np.testing.assert_array_equal(back.landmarks_mm, truth.landmarks_mm)
    assert back.series.keys() == truth.series.keys()
    for key, value in truth.series.items():
        np.testing.assert_array_equal(back.series[key], value, err_msg=key)
    assert back.reps == truth.reps and back.alignment_deg == truth.alignment_deg
    assert back.athlete == truth.athlete and back.spec == truth.spec and back.seed == 4
    traj = back.trajectory()
    assert isinstance(traj, Trajectory3D) and traj.fps == truth.fps
    with pytest.raises(InputError, match="Truth folder lacks"):
        load_truth(tmp_path / "nowhere")


def test_long_trial_at_60_fps_runs() -> None:
    spec = TrialSpec(reps=tuple(RepSpec(pattern=p) for p in PATTERNS * 5), fps=60.0,
                     between_reps_s=0.3)
    truth = simulate_motion(random_athlete(11), spec)
    assert truth.n_frames > 60 * 55
    assert np.all(np.isfinite(truth.landmarks_mm))


def test_rep_peaks_summarise_each_rep() -> None:
    truth = simulate_motion(Athlete(), squat_spec(("none", "persistent", "heel_lift"),
                                                  valgus_peak_mm=15.0, side="right"))
    peaks = rep_peaks(truth)
    assert [p["reading"] for p in peaks] == ["none", "red_flag", "red_flag"]
    assert peaks[1]["right"]["medial_knee_shift_peak_mm"] == pytest.approx(15.0, abs=1e-6)
    assert abs(peaks[1]["left"]["medial_knee_shift_peak_mm"]) < 1e-6
    assert peaks[2]["right"]["heel_lift_mm"] == pytest.approx(22.0, abs=1e-6)
    assert peaks[2]["right"]["foot_rotation_deg"] == pytest.approx(4.0, abs=1e-6)
    assert peaks[0]["left"]["knee_flexion_peak_deg"] == pytest.approx(110.0, abs=1e-6)
    assert peaks[2]["left"]["heel_lift_mm"] == 0.0
    assert peaks[1]["start_s"] == truth.reps[1].start_frame / truth.fps
