"""Metrics against the virtual lab's exact truth (capture/virtual): angles, alignment, reps,
readings. Skipped when the virtual lab is not importable."""

from __future__ import annotations

import numpy as np
import pytest

motion = pytest.importorskip("liftlab.capture.virtual.motion")
body = pytest.importorskip("liftlab.capture.virtual.body")

from liftlab.metrics.alignment import Alignment, estimate_alignment  # noqa: E402
from liftlab.metrics.analyze import analyze  # noqa: E402

RepSpec, TrialSpec = motion.RepSpec, motion.TrialSpec
PATTERNS = ("none", "transient", "persistent", "uncontrolled", "heel_lift")
OBSERVABLE = ("knee_flexion_deg", "hip_flexion_deg", "hip_adduction_deg", "knee_over_foot_mm",
              "shank_frontal_tilt_deg", "medial_knee_shift_mm", "heel_lift_mm")


def _noisy(traj, sd_mm, seed):
    rng = np.random.default_rng(seed)
    return traj.with_points(traj.points_mm + rng.normal(0, sd_mm, traj.points_mm.shape))


def _truth_alignment(truth):
    return Alignment("calibration", truth.alignment_deg["left"], truth.alignment_deg["right"],
                     {}, 0.5)


def _compare(truth, result, names):
    df = result.series_frame()
    out = {}
    for side in ("left", "right"):
        for name in names:
            t = truth.series[f"{side}_{name}"]
            g = df[f"{side}_{name}"].to_numpy()
            ok = np.isfinite(t) & np.isfinite(g)
            out[f"{side}_{name}"] = (t[ok] - g[ok], df[f"{side}_knee_abduction_reliability"]
                                     .to_numpy()[ok])
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_truth_angles_and_positions(seed):
    athlete = body.random_athlete(seed)
    spec = TrialSpec(reps=tuple(RepSpec(pattern=p) for p in PATTERNS), fps=60)
    truth = motion.simulate_motion(athlete, spec, seed=seed)
    result = analyze(truth.trajectory(), alignment=_truth_alignment(truth), lowpass_data=False)
    diffs = _compare(truth, result, OBSERVABLE + ("knee_abduction_deg", "hip_int_rotation_deg"))
    for key, (d, rel) in diffs.items():
        if key.endswith(("abduction_deg", "int_rotation_deg")):
            d = d[rel >= 0.5]  # JCS abduction / A' thigh spin where reliable
        tol = 2.0 if key.endswith("_mm") else 0.1
        assert np.max(np.abs(d)) < tol, key


@pytest.mark.parametrize("seed", [3, 4])
def test_alignment_recovered_from_knee_curl(seed):
    athlete = body.random_athlete(seed)
    truth = motion.simulate_motion(athlete, motion.knee_curl_spec(fps=60), seed=seed)
    exact = estimate_alignment(truth.trajectory())
    noisy = estimate_alignment(_noisy(truth.trajectory(), 10.0, seed))
    for side in ("left", "right"):
        assert abs(exact.deg(side) - truth.alignment_deg[side]) < 0.5
        assert abs(noisy.deg(side) - truth.alignment_deg[side]) < 2.0
    assert exact.ok and exact.source == "calibration"


def test_squat_given_as_alignment_trial_fails_with_the_fix():
    athlete = body.random_athlete(5)
    squat = motion.simulate_motion(athlete, TrialSpec(fps=60), seed=5).trajectory()
    al = estimate_alignment(squat)
    assert not al.ok
    assert "squat file" in al.quality["left"].verdict and "left knee" in al.quality["left"].fix
    result = analyze(squat, alignment=al)
    assert result.alignment.source == "assumed" and len(result.reps) == 3
    assert any("alignment calibration failed" in w for w in result.warnings)


def test_knee_curl_given_as_squat_gets_a_verdict():
    athlete = body.random_athlete(6)
    curl = motion.simulate_motion(athlete, motion.knee_curl_spec(fps=60), seed=6).trajectory()
    result = analyze(curl)
    assert any("knee_curl" in w and "--alignment-trial" in w for w in result.warnings)


@pytest.mark.slow
def test_noise_robustness_with_filtering():
    athlete = body.random_athlete(7)
    spec = TrialSpec(reps=tuple(RepSpec(pattern=p) for p in PATTERNS), fps=60)
    truth = motion.simulate_motion(athlete, spec, seed=7)
    result = analyze(_noisy(truth.trajectory(), 5.0, 7), alignment=_truth_alignment(truth))
    diffs = _compare(truth, result, ("knee_over_foot_mm", "knee_flexion_deg",
                                     "hip_adduction_deg"))
    limits = {"knee_over_foot_mm": 5.0, "knee_flexion_deg": 2.0, "hip_adduction_deg": 2.0}
    for key, (d, _) in diffs.items():
        name = key.split("_", 1)[1]
        assert np.sqrt(np.mean(d**2)) <= limits[name], key


@pytest.mark.parametrize("n_reps", [1, 4, 10])
def test_reps_count_and_boundaries(n_reps):
    rng = np.random.default_rng(n_reps)
    reps = tuple(RepSpec(depth_deg=float(rng.uniform(70, 130)),
                         bottom_pause_s=float(rng.choice([0.0, 0.5, 1.5])),
                         descent_s=float(rng.uniform(1.0, 2.0)), ascent_s=float(rng.uniform(0.8, 1.6)))
                 for _ in range(n_reps))
    spec = TrialSpec(reps=reps, fps=60, stand_before_s=2.0, stand_after_s=2.0)
    truth = motion.simulate_motion(body.random_athlete(n_reps), spec, seed=n_reps)
    result = analyze(truth.trajectory())
    assert len(result.reps) == n_reps
    for got, want in zip(result.reps, truth.reps, strict=True):
        start, bottom_start, _, ascent_start, end = got.frames
        err = np.abs(np.subtract((start, bottom_start, ascent_start, end),
                                 (want.start_frame, want.bottom_frame, want.ascent_frame,
                                  want.end_frame)))
        assert err.max() <= 2, (got.frames, want)


@pytest.mark.slow
def test_readings_match_expected_with_calibration():
    rng = np.random.default_rng(11)
    total = hits = 0
    for trial in range(10):
        athlete = body.random_athlete(100 + trial)
        pattern = PATTERNS[trial % len(PATTERNS)]
        one_rm = 150.0
        load = float(rng.choice([60.0, 100.0, 140.0]))
        pain = tuple(float(rng.choice([0, 0, 4])) for _ in range(3))
        spec = TrialSpec(reps=(RepSpec(pattern=pattern),) * 3, fps=60, load_kg=load,
                         one_rm_kg=one_rm, pain=pain)
        truth = motion.simulate_motion(athlete, spec, seed=trial)
        curl = motion.simulate_motion(athlete, motion.knee_curl_spec(fps=60), seed=trial)
        al = estimate_alignment(curl.trajectory())
        result = analyze(truth.trajectory(), alignment=al, load_kg=load, one_rm_kg=one_rm,
                         pain=pain)
        assert len(result.reps) == 3
        for got, want in zip(result.reps, truth.reps, strict=True):
            total += 1
            hits += got.reading == want.expected_reading
            if got.reading == "red_flag":
                assert got.reasons and set(want.expected_reasons) <= set(got.reasons)
    assert hits / total >= 0.95
