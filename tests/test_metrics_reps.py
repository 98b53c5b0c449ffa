"""Repetition and phase segmentation on analytic squats (known boundaries)."""

from __future__ import annotations

import numpy as np
import pytest
from test_metrics_synthetic import squat_trial

from liftlab.metrics.analyze import analyze
from liftlab.metrics.reps import segment_reps

CASES = {
    "one": ((1.0, 0.0, 1.0, 0.45),),
    "pauses": ((1.2, 1.0, 1.0, 0.5), (1.0, 2.0, 1.2, 0.45), (1.0, 0.5, 1.0, 0.4)),
    "partial_among_deep": ((1.0, 0.0, 1.0, 0.5), (0.6, 0.0, 0.6, 0.18), (1.0, 0.3, 1.0, 0.5)),
    "ten": tuple((0.9, 0.1 * (i % 3), 0.8, 0.35 + 0.02 * i) for i in range(10)),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("fps", [60.0, 100.0])
def test_reps_and_phase_boundaries_within_two_frames(case, fps):
    traj, truth, _ = squat_trial(CASES[case], fps=fps, stand_s=1.5)
    z = 0.5 * (traj.point("left_hip")[:, 2] + traj.point("right_hip")[:, 2])
    seg = segment_reps(z, fps=fps, leg_length_mm=840)
    assert len(seg.reps) == len(truth)
    for rep, t in zip(seg.reps, truth, strict=True):
        got = (rep.start, rep.bottom_start, rep.ascent_start, rep.end)
        want = (t.start, t.bottom_start, t.ascent_start, t.end)
        assert np.max(np.abs(np.subtract(got, want))) <= 2, (got, want)
    assert set(np.unique(seg.rep)) == set(range(len(truth) + 1))


def test_standing_and_walking_sway_are_not_reps():
    fps = 60.0
    t = np.arange(int(20 * fps)) / fps
    z = 900 + 25 * np.sin(2 * np.pi * 1.8 * t)  # walking bob, 50 mm peak to peak
    seg = segment_reps(z, fps=fps, leg_length_mm=840)
    assert seg.reps == () and np.all(seg.phase == 0)


def test_no_reps_gives_series_and_a_message():
    traj, _, _ = squat_trial((), stand_s=3.0)
    result = analyze(traj)
    assert result.reps == [] and result.reading == "none"
    assert any("no repetitions" in w for w in result.warnings)
    assert len(result.series_frame()) == traj.n_frames
