"""Reconstruction against generated truth: triangulation, swaps, bystanders, sync, clean-up."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from liftlab.core.landmarks import INDEX, LOWER_LIMB, MIRROR_PERMUTATION
from liftlab.reconstruction import cleanup, consistency, sync
from liftlab.reconstruction import synthetic as S
from liftlab.reconstruction.pipeline import (
    ReconstructionSettings,
    _stack,
    reconstruct_trial,
)
from liftlab.reconstruction.triangulation import (
    Normalisation,
    adaptive_thresholds,
    triangulate_dlt,
    triangulate_robust,
)

LL = [INDEX[n] for n in LOWER_LIMB]


def _flat(keypoints, rig):
    pts, w = _stack(keypoints, rig, 0.0)
    return pts.reshape(len(rig), -1, 2), w.reshape(len(rig), -1)


def _err(points_mm, truth):
    return float(np.nanmean(np.linalg.norm(points_mm - truth, axis=-1)))


@pytest.mark.parametrize("n_cameras", [2, 3, 6])
def test_dlt_exact_without_noise(n_cameras):
    rig = S.ring_rig(n_cameras)
    truth = S.squat_motion(20)
    pts, w = _flat(S.project_keypoints(rig, truth), rig)
    tri = triangulate_dlt(rig, pts, w)
    assert np.allclose(tri.points_mm, truth.reshape(-1, 3), atol=1e-3)
    assert np.nanmax(tri.errors_px) < 1e-3
    assert np.all(tri.n_views == n_cameras)


def test_dlt_matches_aniposelib_reference():
    rig = S.ring_rig(4)
    truth = S.squat_motion(30)
    kps = S.project_keypoints(rig, truth, noise_px=2.0)
    pts, w = _flat(kps, rig)
    ours = triangulate_dlt(rig, pts).points_mm
    raw = np.stack([kps[c].points_px for c in rig.names]).reshape(4, -1, 2)
    ref = rig.to_aniposelib().triangulate(raw, undistort=True)
    diff = np.linalg.norm(ours - ref, axis=-1)  # same estimator up to algebraic weighting
    assert np.median(diff) < 0.3 and diff.max() < 3.0
    t = truth.reshape(-1, 3)
    assert _err(ours, t) == pytest.approx(_err(ref, t), rel=0.05)


def test_normalisation_round_trip():
    rig = S.ring_rig(3)
    norm = Normalisation.from_rig(rig)
    x = np.array([[100.0, -200.0, 900.0]])
    px = norm.project_px(norm.from_mm(x))
    direct = np.stack([c.matrix @ (c.R @ x[0] + c.translation_mm) for c in rig.cameras])
    assert np.allclose(px[:, 0], direct[:, :2] / direct[:, 2:], atol=1e-6)
    assert np.allclose(norm.to_mm(norm.from_mm(x)), x)


def test_robust_rejects_wrong_views_point_by_point():
    rig = S.ring_rig(5)
    truth = S.squat_motion(60)
    kps = S.project_keypoints(rig, truth, noise_px=1.0)
    bad, _ = S.corrupt(kps, swap_fraction=0.0, wrong_fraction=0.15, seed=3)
    pts, w = _flat(bad, rig)
    clean_pts, _ = _flat(kps, rig)
    wrong = np.linalg.norm(pts - clean_pts, axis=-1) > 20
    tri = triangulate_robust(rig, pts, w, threshold_px=10.0)
    assert np.mean(tri.used[wrong]) < 0.005  # a wrong point may fall on the right ray
    assert np.mean(tri.used[~wrong]) > 0.97
    assert _err(tri.points_mm, truth.reshape(-1, 3)) < 5.0
    assert _err(triangulate_dlt(rig, pts, w).points_mm, truth.reshape(-1, 3)) > 20.0


@pytest.mark.parametrize("n_cameras", [5, 6])
def test_pipeline_corrupted_close_to_clean(n_cameras):
    """10 % wrong points (50-300 px), 5 % mirrored view-frames, 2 px noise: the robust
    pipeline stays within 15 % of its own error on the uncorrupted input, plain DLT does not."""
    rig = S.ring_rig(n_cameras)
    truth = S.squat_motion(240)
    kps = S.project_keypoints(rig, truth, noise_px=2.0)
    bad, _ = S.corrupt(kps, seed=1)
    clean_err = _err(reconstruct_trial(kps, rig).trajectory.points_mm, truth)
    robust_err = _err(reconstruct_trial(bad, rig).trajectory.points_mm, truth)
    pts, w = _flat(bad, rig)
    plain = cleanup.lowpass(triangulate_dlt(rig, pts, w).points_mm.reshape(truth.shape),
                            fps=60.0, cutoff_hz=6.0)
    plain_err = _err(plain, truth)
    assert robust_err <= 1.15 * clean_err
    assert plain_err > 5 * robust_err


def test_swaps_found_from_other_views():
    rig = S.ring_rig(4)
    truth = S.squat_motion(120)
    kps = S.project_keypoints(rig, truth, noise_px=2.0)
    bad, swapped = S.corrupt(kps, wrong_fraction=0.0, swap_fraction=0.1, seed=2)
    pts, w = _stack(bad, rig, 0.0)
    fixed, _, found = consistency.fix_swaps(rig, pts, w)
    true = np.stack([swapped[c] for c in rig.names])
    feet = list(consistency.SWAP_GROUPS).index("feet")
    assert true.sum() > 20
    assert np.mean(found[..., feet][true]) > 0.85  # frames with 2 of 4 swapped: ambiguous
    assert np.mean(found[..., feet][~true]) < 0.01
    clean, _ = _stack(kps, rig, 0.0)
    ankle = INDEX["left_ankle"]
    assert np.nanmedian(np.linalg.norm(fixed[..., ankle, :] - clean[..., ankle, :], axis=-1)[
        true]) < 10


def test_apply_swaps_is_a_mirror():
    pts = np.random.default_rng(0).normal(size=(1, 2, 33, 2))
    swaps = np.ones((1, 2, len(consistency.SWAP_GROUPS)), dtype=bool)
    out, _ = consistency.apply_swaps(pts, np.ones(pts.shape[:3]), swaps)
    assert np.allclose(out, pts[:, :, list(MIRROR_PERMUTATION)])


def test_bystander_view_dropped():
    rig = S.ring_rig(4)
    truth = S.squat_motion(120)
    kps = S.project_keypoints(rig, truth, noise_px=2.0)
    other = truth.copy()
    other[..., 0] += 1500.0  # a bystander 1.5 m to the side, same movement
    by = rig["cam2"].project(other)
    px = kps["cam2"].points_px.copy()
    px[40:70] = by[40:70]
    kps_by = dict(kps, cam2=dataclasses.replace(kps["cam2"], points_px=px))
    res = reconstruct_trial(kps_by, rig)
    assert res.cameras["cam2"].foreign_fraction == pytest.approx(30 / 120, abs=0.02)
    assert res.cameras["cam1"].foreign_fraction == 0
    err = np.linalg.norm(res.trajectory.points_mm - truth, axis=-1)[40:70]
    clean = np.linalg.norm(reconstruct_trial(kps, rig).trajectory.points_mm - truth,
                           axis=-1)[40:70]
    assert np.nanmean(err) < 1.5 * np.nanmean(clean)
    assert consistency.track_jumps(px)[40]


def test_sync_offset_estimated_and_corrected():
    rig = S.ring_rig(4)
    base = S.squat_motion(180, reps=3)
    rng = np.random.default_rng(5)  # pauses of random length: sharp starts and stops
    order = np.concatenate([np.concatenate([np.arange(a, a + 30), np.full(n, a + 29)])
                            for a, n in zip(range(0, 180, 30), rng.integers(5, 40, 6),
                                            strict=True)])
    truth = base[order]
    kps = S.project_keypoints(rig, truth, noise_px=1.0)
    late = dict(kps, cam3=S.shift_frames(kps["cam3"], 4))
    est = sync.estimate_offsets(late, max_offset_frames=10)
    assert abs(est["cam3"].offset_frames - 4) <= 1  # speed-based: +-1 frame
    assert est["cam3"].peak_correlation > 0.8
    assert abs(est["cam2"].offset_frames) <= 1 and est["cam2"].offset_frames != 4
    fixed = sync.apply_offsets(late, {"cam3": 4})
    ok = np.isfinite(fixed["cam3"].points_px[:, 0, 0])
    assert np.allclose(fixed["cam3"].points_px[ok], kps["cam3"].points_px[ok])
    corrected = reconstruct_trial(late, rig, settings=ReconstructionSettings(sync="correct"))
    assert corrected.cameras["cam3"].sync_corrected
    checked = reconstruct_trial(late, rig, settings=ReconstructionSettings(sync="check"))
    assert any("out of sync" in w for w in checked.warnings)
    assert _err(corrected.trajectory.points_mm, truth) < _err(checked.trajectory.points_mm,
                                                              truth)


def test_lowpass_keeps_slow_and_removes_fast():
    fps = 60.0
    t = np.arange(600) / fps
    slow = np.sin(2 * np.pi * 1.0 * t)
    fast = 0.5 * np.sin(2 * np.pi * 20.0 * t)
    x = (slow + fast)[:, None, None] * np.ones((1, 1, 3))
    x[300:305] = np.nan
    y = cleanup.lowpass(x, fps=fps, cutoff_hz=6.0)
    inner = np.r_[20:280, 325:580]
    assert np.max(np.abs(y[inner, 0, 0] - slow[inner])) < 0.03
    assert np.all(np.isnan(y[300:305]))


def test_fill_gaps_short_only():
    x = np.tile(np.linspace(0, 100, 50)[:, None, None], (1, 2, 3))
    x[10:14, 0] = np.nan  # 4 frames: filled
    x[20:40, 1] = np.nan  # 20 frames: stays empty
    out, filled = cleanup.fill_gaps(x, max_gap_frames=6)
    assert np.allclose(out[10:14, 0], x[9, 0] + (np.arange(1, 5)[:, None] * 100 / 49))
    assert filled[10:14, 0].all() and not filled[20:40, 1].any()
    assert np.isnan(out[20:40, 1]).all()


def test_hampel_finds_spikes_only():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(0, 1, (200, 3, 3)), axis=0)
    x[[50, 120], 1] += 200.0
    spikes = cleanup.hampel_3d(x)
    assert spikes[50, 1] and spikes[120, 1]
    assert spikes.sum() <= 4


def test_adaptive_thresholds_bounded():
    err = np.array([np.full(100, 1.0), np.full(100, 10.0), np.full(5, 2.0)], dtype=object)
    errors = np.full((3, 100), np.nan)
    errors[0], errors[1], errors[2, :5] = err[0], err[1], err[2]
    thr = adaptive_thresholds(errors, np.isfinite(errors), base_px=15.0, factor=3.0,
                              floor_px=4.0)
    assert thr.tolist() == [4.0, 15.0, 15.0]


@pytest.mark.parametrize("kwargs, match", [
    (dict(cutoff_hz=-1.0), "cutoff_hz"),
    (dict(max_gap_frames=-2), "max_gap_frames"),
    (dict(min_threshold_px=20.0, reproj_threshold_px=10.0), "min_threshold_px"),
    (dict(min_views=1), "min_views"),
    (dict(min_confidence=1.5), "min_confidence"),
    (dict(sync="maybe"), "sync"),
    (dict(exercise="deadlift"), "exercise"),
])
def test_settings_rejected(kwargs, match):
    with pytest.raises(Exception, match=match):
        ReconstructionSettings(**kwargs)


@pytest.mark.parametrize("exercise, cutoff", [("squat", 6.0), ("snatch", 12.0)])
def test_settings_default_cutoff(exercise, cutoff):
    assert ReconstructionSettings(exercise=exercise).effective_cutoff_hz == cutoff


def test_cutoff_above_nyquist_rejected():
    with pytest.raises(Exception, match="cutoff_hz must lie"):
        cleanup.lowpass(np.zeros((50, 1, 3)), fps=20.0, cutoff_hz=12.0)


def test_trajectory_metadata():
    rig = S.ring_rig(4)
    truth = S.squat_motion(90)
    res = reconstruct_trial(S.project_keypoints(rig, truth, noise_px=1.0), rig)
    traj = res.trajectory
    assert traj.points_mm.shape == truth.shape and traj.fps == 60.0
    assert np.all(traj.n_views[:, LL] >= 3)
    assert np.nanmax(traj.reproj_error_px) < 5.0
    assert "settings" in traj.provenance
    assert set(res.cameras) == set(rig.names)
    assert res.summary()["n_frames"] == 90
