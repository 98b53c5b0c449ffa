"""Issue "Real anatomy", bad input: a knee-curl trial that cannot calibrate the alignment gets
a verdict naming the side and the fix, and the squats are still analysed, flagged uncalibrated."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from workers_kit import SQUATS, build_session

from liftlab.capture.virtual.body import random_athlete
from liftlab.capture.virtual.detector import TruthDetector
from liftlab.capture.virtual.motion import RepSpec, TrialSpec, knee_curl_spec, simulate_motion
from liftlab.core.landmarks import INDEX
from liftlab.metrics.alignment import estimate_alignment
from liftlab.workers.pipeline import process_session

ATHLETE = random_athlete(5)


def _curl(**kwargs):
    return simulate_motion(ATHLETE, knee_curl_spec(fps=30.0, curls_per_side=3, **kwargs), seed=1)


def test_a_good_knee_curl_passes_on_both_sides():
    alignment = estimate_alignment(_curl().trajectory())
    assert alignment.ok and alignment.source == "calibration"


def test_only_one_leg_curled_names_the_other_side_and_the_fix():
    alignment = estimate_alignment(_curl(sides=("left",)).trajectory())
    assert alignment.quality["left"].ok
    right = alignment.quality["right"]
    assert not right.ok and not alignment.ok
    assert "right" in right.verdict and "bend the right knee" in right.fix


def test_no_knee_bend_at_all_is_named_per_side():
    truth = _curl()
    still = np.repeat(truth.landmarks_mm[:1], truth.landmarks_mm.shape[0], axis=0)
    alignment = estimate_alignment(truth.trajectory().with_points(still))
    for side in ("left", "right"):
        q = alignment.quality[side]
        assert not q.ok
        assert f"no knee bend past 30 deg found for the {side} side" in q.verdict
        assert f"bend the {side} knee slowly" in q.fix


def test_too_little_knee_bend_asks_for_60_deg():
    alignment = estimate_alignment(_curl(peak_flexion_deg=45.0).trajectory())
    for side in ("left", "right"):
        q = alignment.quality[side]
        assert not q.ok and "max knee bend 45 deg" in q.verdict
        assert f"bend the {side} knee past 60 deg" in q.fix


def test_a_swinging_thigh_is_caught_and_named():
    truth = _curl()
    pts = truth.landmarks_mm.copy()
    flex = truth.series["left_knee_flexion_deg"]
    hip = pts[:, INDEX["left_hip"]]
    # swing the whole left leg about the hip with the knee bend (up to 40 deg): the thigh moves
    angle = np.radians(40.0 * np.clip(flex / 90.0, 0, 1))
    lateral = pts[:, INDEX["left_hip"]] - pts[:, INDEX["right_hip"]]
    lateral /= np.linalg.norm(lateral, axis=1, keepdims=True)
    rot = Rotation.from_rotvec(lateral * angle[:, None])
    for name in ("left_knee", "left_ankle", "left_heel", "left_foot_index"):
        i = INDEX[name]
        pts[:, i] = hip + rot.apply(pts[:, i] - hip)
    alignment = estimate_alignment(truth.trajectory().with_points(pts))
    q = alignment.quality["left"]
    assert not q.ok and "thigh" in q.verdict and "keep the left thigh still" in q.fix
    assert alignment.quality["right"].ok


def test_squat_recorded_as_the_knee_curl_still_analyses_the_squats_uncalibrated(tmp_path):
    squat = TrialSpec(exercise="squat", reps=(RepSpec(),) * 2, fps=30.0)
    root = build_session(tmp_path / "s", squats=SQUATS[:2], reps=1, curl_spec=squat)
    report = process_session(root, db_url=f"sqlite:///{tmp_path / 'a.db'}", ray_address="inline",
                             pose_backend=TruthDetector(noise_px=1.0), progress=False)
    assert report.alignment.source == "assumed"
    assert any("was this a squat file?" in w and "fix:" in w for w in report.warnings)
    for name, *_ in SQUATS[:2]:
        outcome = report.outcomes[name]
        assert outcome.stored and outcome.alignment_source == "assumed"
        doc = json.loads((root / "derived" / name / "analysis.json").read_text())
        assert doc["trial"]["alignment"]["source"] == "assumed"


@pytest.mark.parametrize("side", ["left", "right"])
def test_good_alignment_recovered_per_side(side):
    truth = _curl()
    alignment = estimate_alignment(truth.trajectory())
    assert alignment.deg(side) == pytest.approx(truth.alignment_deg[side], abs=0.5)
