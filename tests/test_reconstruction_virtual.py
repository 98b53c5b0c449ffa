"""Knee left/right resolution (reconstruction.pairs): synthetic and on the rendered virtual lab.

On the ``virtual_session`` fixture (seed 0) BlazePose's front-oblique view swaps or
"half-swaps" (both points near the middle) the knees on ~15 % of the squat frames; judged
against the true rig, deciding the knee pair over all views at once (keep / swap / leave
out, sided by the feet) cut the mean knee error from ~30 mm to ~21 mm (measured side by side
in one run, per trial). The hips are left to :func:`consistency.fix_swaps` (the joint search
made them worse there) and must not get worse.
"""

from __future__ import annotations

import numpy as np
import pytest

from liftlab.core.cameras import Rig
from liftlab.core.containers import Trajectory3D
from liftlab.reconstruction.pairs import resolve_pair
from liftlab.reconstruction.pipeline import ReconstructionSettings, reconstruct_trial
from liftlab.reconstruction.synthetic import ring_rig

SQUATS = ("squat1_transient", "squat2_persistent")
#: Knee mean error with the resolution must be at most this fraction of without it.
KNEE_GAIN = 0.85
KNEE_MEAN_BOUND_MM = 25.0
HIP_WORSENING = 1.10


def test_resolve_pair_undoes_a_swapped_and_drops_a_half_swapped_view():
    rig = ring_rig(4)
    rng = np.random.default_rng(1)
    n_f = 40
    left = np.array([100.0, 120.0, 500.0]) + rng.normal(0, 20, (n_f, 3))
    right = left + np.array([0.0, -200.0, 0.0])
    truth = np.stack([left, right], axis=1)  # (F, 2, 3)
    pts = np.stack([rig.cameras[c].undistort_px(rig.cameras[c].project(truth))
                    for c in range(4)]) + rng.normal(0, 1.0, (4, n_f, 2, 2))
    w = np.ones(pts.shape[:3])
    bad = pts.copy()
    bad[1, :20] = pts[1, :20, ::-1]  # view 1 swapped on half the frames
    bad[2, 20:] = pts[2, 20:].mean(axis=1, keepdims=True)  # view 2 half-swapped after
    res = resolve_pair(rig, bad, w, 0, 1, lateral_ref_mm=np.tile([0.0, 1.0, 0.0], (n_f, 1)))
    assert res.swapped[1, :20].all() and not res.swapped[[0, 2, 3]].any()
    assert res.dropped[2, 20:].all() and not res.dropped[:, :20].any()
    err = np.linalg.norm(np.stack([res.left_mm, res.right_mm], axis=1) - truth, axis=-1)
    assert err.max() < 15.0


@pytest.fixture(scope="module")
def blazepose_squats(virtual_session):
    """BlazePose on every camera of the squat trials (run once per module, ~20 s)."""
    from liftlab.reconstruction.pose2d import MediaPipePose

    rig = Rig.load(virtual_session / "truth" / "rig.toml")
    backend = MediaPipePose()
    out = {}
    for trial in SQUATS:
        truth = Trajectory3D.load(virtual_session / "truth" / trial / "landmarks.npz")
        kps = {cam: backend.detect(virtual_session / "trials" / trial / f"{cam}.mp4",
                                   camera=cam) for cam in rig.names}
        out[trial] = (kps, truth.points_mm)
    return rig, out


@pytest.mark.slow
@pytest.mark.parametrize("trial", SQUATS)
def test_knee_resolution_cuts_the_knee_error_on_the_virtual_lab(blazepose_squats, trial):
    from liftlab.capture.virtual.evaluate import trajectory_errors

    rig, runs = blazepose_squats
    kps, truth = runs[trial]
    on = trajectory_errors(reconstruct_trial(
        kps, rig, settings=ReconstructionSettings(resolve_knees=True)).trajectory, truth)
    off = trajectory_errors(reconstruct_trial(
        kps, rig, settings=ReconstructionSettings(resolve_knees=False)).trajectory, truth)
    table = "\n".join(f"{g:7s} without {off[g]['mean_mm']:5.1f} mm  with {on[g]['mean_mm']:5.1f} "
                      f"mm (p95 {off[g]['p95_mm']:5.1f} -> {on[g]['p95_mm']:5.1f})"
                      for g in ("hips", "knees", "ankles"))
    print(table)
    assert on["knees"]["present"] >= 0.95, table
    assert on["knees"]["mean_mm"] <= KNEE_GAIN * off["knees"]["mean_mm"], table
    assert on["knees"]["mean_mm"] <= KNEE_MEAN_BOUND_MM, table
    assert on["hips"]["mean_mm"] <= HIP_WORSENING * off["hips"]["mean_mm"], table
    assert on["ankles"]["mean_mm"] <= 1.05 * off["ankles"]["mean_mm"], table
