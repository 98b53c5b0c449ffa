"""Real lab data (Pose2Sim demo, 4 synchronised cameras, Qualisys calibration, a bystander):
MediaPipe 2D, then plain DLT vs the robust pipeline on reprojection error, completeness and
bone-length stability (bones of one person do not change length)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from liftlab.core.landmarks import INDEX, LOWER_LIMB

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEMO = SHARED / "pose2sim-demo-single"
pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not DEMO.is_dir(), reason="shared demo data absent")]
LL = [INDEX[n] for n in LOWER_LIMB]
BONES = [(f"{s}_{a}", f"{s}_{b}") for s in ("left", "right")
         for a, b in (("hip", "knee"), ("knee", "ankle"))]


@pytest.fixture(scope="session")
def demo_rig():
    from liftlab.calibration.importers import import_calibration

    return import_calibration(DEMO / "calibration" / "Calib.qca.txt")


@pytest.fixture(scope="session")
def demo_keypoints(tmp_path_factory):
    """MediaPipe 2D of the four videos, computed once per test session."""
    from liftlab.reconstruction.pipeline import detect_trial

    videos = {f"cam0{i}": DEMO / "videos" / f"cam0{i}.mp4" for i in range(1, 5)}
    return detect_trial(videos)


def _bone_cv(points_mm: np.ndarray) -> dict[str, float]:
    out = {}
    for a, b in BONES:
        length = np.linalg.norm(points_mm[:, INDEX[a]] - points_mm[:, INDEX[b]], axis=-1)
        out[f"{a}-{b}"] = float(np.nanstd(length) / np.nanmean(length))
    return out


@pytest.fixture(scope="session")
def demo_result(demo_keypoints, demo_rig):
    from liftlab.reconstruction.pipeline import reconstruct_trial

    return reconstruct_trial(demo_keypoints, demo_rig)


@pytest.mark.slow
def test_mediapipe_2d_of_demo(demo_keypoints):
    for name, kp in demo_keypoints.items():
        assert kp.n_frames == 100 and kp.fps == pytest.approx(60.0)
        assert kp.detected_fraction() > 0.95, name
        t = kp.source["timing_s"]
        assert t["total"] > t["inference"] > 0


@pytest.mark.slow
def test_robust_beats_plain_dlt_on_real_data(demo_keypoints, demo_rig, demo_result):
    from liftlab.reconstruction.cleanup import lowpass
    from liftlab.reconstruction.pipeline import _stack
    from liftlab.reconstruction.triangulation import triangulate_dlt

    pts, w = _stack(demo_keypoints, demo_rig, 0.0)
    plain = triangulate_dlt(demo_rig, pts.reshape(4, -1, 2))
    plain_err = plain.mean_error_px.reshape(100, 33)[:, LL]
    traj = demo_result.trajectory
    err = traj.reproj_error_px[:, LL]
    assert np.nanmedian(err) <= 8.0 and np.nanmean(err) <= 10.0
    assert np.nanmedian(err) < 0.6 * np.nanmedian(plain_err)
    complete = np.all(np.isfinite(traj.points_mm[:, LL]), axis=(1, 2)).mean()
    assert complete >= 0.98
    plain_raw = plain.points_mm.reshape(100, 33, 3)
    raw_cv = _bone_cv(plain_raw)
    filtered_cv = _bone_cv(lowpass(plain_raw, fps=60.0, cutoff_hz=6.0))
    cv = _bone_cv(traj.points_mm)
    for bone in cv:
        # better than plain DLT even given the same low-pass (shanks were 1.25x worse
        # before the segment-length refinement); the target is test_bone_length_cv_target
        limit = 1.0
        assert cv[bone] < limit * min(raw_cv[bone], filtered_cv[bone]), (bone, cv, raw_cv,
                                                                         filtered_cv)
    assert max(cv["left_hip-left_knee"], cv["right_hip-right_knee"]) <= 0.035
    assert demo_result.cameras["cam02"].swap_fraction > 0.1  # cam02 swaps sides: repaired
    assert not any("out of sync" in w for w in demo_result.warnings)  # they are in sync


def _refit_error_px(points_mm: np.ndarray, keypoints, rig, n_views: np.ndarray) -> np.ndarray:
    """(F, K) error of the delivered points against the raw 2D, computed here and not by
    the pipeline: per point, the mean over its ``n_views`` best-fitting cameras of the pixel
    distance to the 2D landmark or to its mirror (a swapped view), both distorted pixels."""
    from liftlab.core.landmarks import MIRROR_PERMUTATION

    pred = rig.project(points_mm)  # (C, F, K, 2)
    obs = np.stack([keypoints[n].points_px for n in rig.names])
    d = np.fmin(np.linalg.norm(pred - obs, axis=-1),
                np.linalg.norm(pred - obs[:, :, list(MIRROR_PERMUTATION)], axis=-1))
    d = np.sort(np.where(np.isfinite(d), d, np.inf), axis=0)
    n = np.clip(n_views, 1, len(rig)).astype(int)
    keep = np.arange(len(rig))[:, None, None] < n[None]
    with np.errstate(invalid="ignore"):
        out = np.where(keep, d, 0.0).sum(axis=0) / n
    return np.where((n_views >= 2) & np.isfinite(out), out, np.nan)


@pytest.mark.slow
def test_bone_length_cv_target(demo_result, demo_keypoints, demo_rig):
    """Thighs and shanks <= 3 % CV, by the segment-length refinement (on by default), and
    not by construction: the refined points must still fit the 2D (median <= 8 px, mean
    <= 10 px, both as the pipeline reports it and as recomputed here from the raw 2D)."""
    from liftlab.reconstruction.pipeline import ReconstructionSettings, reconstruct_trial

    traj = demo_result.trajectory
    assert demo_result.settings.bone_length_weight > 0
    cv = _bone_cv(traj.points_mm)
    off = reconstruct_trial(demo_keypoints, demo_rig,
                            settings=ReconstructionSettings(bone_length_weight=0.0))
    cv_off = _bone_cv(off.trajectory.points_mm)
    err = traj.reproj_error_px[:, LL]
    refit = _refit_error_px(traj.points_mm, demo_keypoints, demo_rig, traj.n_views)[:, LL]
    refit_off = _refit_error_px(off.trajectory.points_mm, demo_keypoints, demo_rig,
                                off.trajectory.n_views)[:, LL]
    complete = np.all(np.isfinite(traj.points_mm[:, LL]), axis=(1, 2)).mean()
    table = (f"CV % refined {[round(100 * v, 2) for v in cv.values()]} "
             f"off {[round(100 * v, 2) for v in cv_off.values()]}; reprojection px "
             f"pipeline {np.nanmedian(err):.2f}/{np.nanmean(err):.2f}, recomputed "
             f"{np.nanmedian(refit):.2f}/{np.nanmean(refit):.2f} (off "
             f"{np.nanmedian(refit_off):.2f}/{np.nanmean(refit_off):.2f}), complete "
             f"{complete:.1%}")
    print(table)
    assert max(cv.values()) <= 0.03, table
    assert max(cv_off.values()) > 0.03, table  # the target is reached by the refinement
    assert np.nanmedian(err) <= 8.0 and np.nanmean(err) <= 10.0, table
    assert np.nanmedian(refit) <= 8.0 and np.nanmean(refit) <= 10.0, table
    assert complete >= 0.98, table


@pytest.mark.slow
def test_cli_reconstruct_real_session(tmp_path, demo_rig):
    """`liftlab reconstruct` on a session folder made from the demo videos."""
    from liftlab.capture.session import (
        SessionConfig,
        TrialConfig,
        create_session,
        write_trial_config,
    )
    from liftlab.cli import main

    sess = create_session(tmp_path / "s", SessionConfig(
        athlete="Demo", date="2024-01-01", cameras=tuple(demo_rig.names), fps=60.0))
    demo_rig.save(sess.calibration_file)
    trial = sess.trials_dir / "walk"
    write_trial_config(trial, TrialConfig(name="walk", exercise="squat"))
    for cam in demo_rig.names:
        (trial / f"{cam}.mp4").symlink_to(DEMO / "videos" / f"{cam}.mp4")
    out = tmp_path / "traj.npz"
    code = main(["reconstruct", str(sess.root), "--trial", "walk", "--out", str(out),
                 "--trc", str(tmp_path / "walk.trc"), "--report", str(tmp_path / "r.json")])
    assert code == 0
    from liftlab.core.containers import Trajectory3D

    traj = Trajectory3D.load(out)
    assert traj.n_frames == 100 and np.isfinite(traj.points_mm[:, LL]).mean() > 0.98
    assert (tmp_path / "walk.trc").stat().st_size > 1000
    assert '"cam02"' in (tmp_path / "r.json").read_text()
