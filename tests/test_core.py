"""Core containers, camera rig I/O and the session-folder contract."""

from __future__ import annotations

import numpy as np
import pytest

from liftlab.capture.session import (
    BoardSpec,
    Session,
    SessionConfig,
    TrialConfig,
    create_session,
    write_trial_config,
)
from liftlab.core import Camera, InputError, Keypoints2D, Rig, Trajectory3D
from liftlab.core.landmarks import INDEX, LANDMARKS, MIRROR_PERMUTATION


def _camera(name: str, i: int) -> Camera:
    angle = 2 * np.pi * i / 12
    center = np.array([3000 * np.cos(angle), 3000 * np.sin(angle), 1200.0])
    forward = -center / np.linalg.norm(center)
    right = np.cross(forward, [0, 0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    import cv2

    rvec = cv2.Rodrigues(R)[0].ravel()
    return Camera(name=name, size=(640, 480), matrix=[[600, 0, 321], [0, 601, 239], [0, 0, 1]],
                  distortions=[-0.1, 0.01, 0.001, -0.001, 0.0], rotation=rvec,
                  translation_mm=-R @ center)


def test_rig_toml_round_trip_keeps_order_with_11_plus_cameras(tmp_path):
    names = [f"cam_{i}" for i in range(1, 13)]  # cam_10 sorts before cam_2 as strings
    rig = Rig(tuple(_camera(n, i) for i, n in enumerate(names)), {"error": 0.3})
    path = rig.save(tmp_path / "calibration.toml")
    back = Rig.load(path)
    assert back.names == names
    for a, b in zip(rig.cameras, back.cameras, strict=True):
        np.testing.assert_allclose(a.matrix, b.matrix)
        np.testing.assert_allclose(a.rotation, b.rotation)
        np.testing.assert_allclose(a.translation_mm, b.translation_mm)
    # aniposelib reads the same file (its own order may differ; names must match)
    from aniposelib.cameras import CameraGroup

    group = CameraGroup.load(str(path))
    assert sorted(group.get_names()) == sorted(names)


def test_projection_matches_aniposelib_and_centre_is_consistent():
    rig = Rig(tuple(_camera(f"c{i}", i) for i in range(4)))
    pts = np.array([[0.0, 0.0, 1000.0], [200.0, -100.0, 500.0]])
    ours = rig.project(pts)
    theirs = rig.to_aniposelib().project(pts)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    cam = rig.cameras[0]
    np.testing.assert_allclose(cam.depth_mm(cam.center_mm), 0.0, atol=1e-9)
    # undistort_px returns pixels: a point projected without distortion comes back
    und = cam.undistort_px(cam.project(pts))
    P = cam.projection
    h = (P @ np.c_[pts, np.ones(2)].T).T
    np.testing.assert_allclose(und, h[:, :2] / h[:, 2:], atol=1e-3)


def test_rig_unknown_camera_names_the_cameras():
    rig = Rig((_camera("cam1", 0),))
    with pytest.raises(InputError, match="cam5.*cam1"):
        rig["cam5"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"points_px": np.zeros((5, 33, 3))}, "frames, landmarks, 2"),
        ({"confidence": np.zeros((4, 33))}, "confidence must be"),
        ({"confidence": np.full((5, 33), 2.0)}, r"\[0, 1\]"),
        ({"fps": 0}, "fps must be positive"),
    ],
)
def test_keypoints_validation(kwargs, match):
    base = {"camera": "cam1", "fps": 30, "points_px": np.zeros((5, 33, 2)),
            "confidence": np.ones((5, 33)), "image_size": (640, 480)}
    base.update(kwargs)
    with pytest.raises(InputError, match=match):
        Keypoints2D(**base)


def test_trajectory_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(20, 33, 3)) * 500
    pts[3, 5] = np.nan
    traj = Trajectory3D(pts, fps=59.94, n_views=rng.integers(0, 5, size=(20, 33)),
                        reproj_error_px=rng.random((20, 33)), provenance={"operations": ["x"]})
    back = Trajectory3D.load(traj.save(tmp_path / "t.npz"))
    np.testing.assert_array_equal(back.points_mm, traj.points_mm)
    np.testing.assert_array_equal(back.n_views, traj.n_views)
    assert back.fps == traj.fps and back.landmarks == traj.landmarks
    assert back.provenance == traj.provenance
    np.testing.assert_array_equal(back.point("left_knee"), pts[:, INDEX["left_knee"]])
    with pytest.raises(InputError, match="left_kneee"):
        back.point("left_kneee")


def test_mirror_permutation_is_an_involution_that_swaps_sides():
    perm = np.array(MIRROR_PERMUTATION)
    np.testing.assert_array_equal(perm[perm], np.arange(len(LANDMARKS)))
    assert LANDMARKS[perm[INDEX["left_knee"]]] == "right_knee"
    assert LANDMARKS[perm[INDEX["nose"]]] == "nose"


def test_session_folder_round_trip(tmp_path):
    cfg = SessionConfig(athlete="Jane Doe", date="2026-11-24", cameras=("cam1", "cam2"), fps=60,
                        board=BoardSpec(square_mm=50, marker_mm=37), history={"pain_outside_lifting": ["walking"]})
    session = create_session(tmp_path / "s", cfg)
    write_trial_config(session.trials_dir / "squat1", TrialConfig("squat1", load_kg=100,
                                                                   one_rm_kg=125, pain=(0, 3)))
    write_trial_config(session.trials_dir / "curl", TrialConfig("curl", exercise="knee_curl"))
    again = Session.open(tmp_path / "s")
    assert again.config == cfg
    assert again.trial_names() == ["curl", "squat1"]  # the alignment trial first
    trial = again.trial("squat1")
    assert trial.percent_1rm == pytest.approx(80.0)
    assert trial.pain_for_rep(2) == 3 and trial.pain_for_rep(3) is None
    with pytest.raises(InputError, match="cam1.*squat1.*cam1.mp4"):
        again.video_path("squat1", "cam1")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('athlete = "A"\ncameras = []\n', "at least one camera"),
        ('athlete = "A"\ncameras = ["a", "a"]\n', "unique"),
        ('cameras = ["a"]\n', "missing key 'athlete'"),
        ('athlete = "A"\ncameras = ["a"]\n[board]\nsquare_mm = -4\n', "square_mm must be positive"),
        ('athlete = "A"\ncameras = ["a"]\n[board]\nsquares = 4\n', "Unknown key in \\[board\\]"),
        ('athlete = "A"\ncameras = ["a"\n', "not valid TOML"),
    ],
)
def test_bad_session_toml_is_named(tmp_path, text, match):
    (tmp_path / "session.toml").write_text(text)
    with pytest.raises(InputError, match=match):
        Session.open(tmp_path)


def test_missing_session_toml_says_how_to_fix(tmp_path):
    with pytest.raises(InputError, match="session.toml.*Fix"):
        Session.open(tmp_path)
