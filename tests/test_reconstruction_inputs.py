"""Bad input gives a clear error or a flagged result, never a silent wrong trajectory."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from liftlab.core.errors import InputError, LiftlabError, ReconstructionError
from liftlab.reconstruction import synthetic as S
from liftlab.reconstruction.keypoint_import import import_openpose_json, write_openpose_json
from liftlab.reconstruction.pipeline import (
    ReconstructionSettings,
    detect_trial,
    reconstruct_trial,
)
from liftlab.reconstruction.pose2d import MediaPipePose, MediaPipeTasksPose, make_backend
from liftlab.reconstruction.video import FrameReader, probe_video


@pytest.fixture(scope="module")
def scene():
    rig = S.ring_rig(4)
    truth = S.squat_motion(60)
    return rig, truth, S.project_keypoints(rig, truth, noise_px=1.0)


def _video(path: Path, *, size=(96, 160), n_frames=5) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    for i in range(n_frames):
        writer.write(np.full((size[1], size[0], 3), 40 + 10 * i, dtype=np.uint8))
    writer.release()
    return path


def test_missing_camera_named(scene):
    rig, _, kps = scene
    partial = {k: v for k, v in kps.items() if k != "cam3"}
    with pytest.raises(InputError, match=r"\['cam3'\].*no keypoints"):
        reconstruct_trial(partial, rig)
    res = reconstruct_trial(partial, rig,
                            settings=ReconstructionSettings(allow_missing_cameras=True))
    assert set(res.cameras) == {"cam1", "cam2", "cam4"}
    assert any("cam3" in w for w in res.warnings)


def test_unknown_camera_named(scene):
    rig, _, kps = scene
    extra = dict(kps, cam9=dataclasses.replace(kps["cam1"], camera="cam9"))
    with pytest.raises(InputError, match="cam9.*not in the calibration"):
        reconstruct_trial(extra, rig)


@pytest.mark.parametrize("size, match", [
    ((1920, 1080), "cam2 video is 1920x1080 but calibration says 1080x1920: recalibrate or "
                   "rotate"),
    ((720, 1280), "cam2 video is 720x1280 but calibration says 1080x1920: recalibrate at"),
])
def test_resolution_mismatch(scene, size, match):
    rig, _, kps = scene
    bad = dict(kps, cam2=dataclasses.replace(kps["cam2"], image_size=size))
    with pytest.raises(InputError, match=match):
        reconstruct_trial(bad, rig)


def test_small_padding_is_a_warning(scene):
    rig, _, kps = scene
    padded = dict(kps, cam2=dataclasses.replace(kps["cam2"], image_size=(1088, 1920)))
    res = reconstruct_trial(padded, rig)
    assert any("within tolerance" in w for w in res.warnings)


def test_shorter_video_truncated_and_flagged(scene):
    rig, truth, kps = scene
    short = dict(kps, cam4=dataclasses.replace(kps["cam4"], points_px=kps["cam4"].points_px[:50],
                                               confidence=kps["cam4"].confidence[:50]))
    res = reconstruct_trial(short, rig)
    assert res.trajectory.n_frames == 50
    assert any("truncated to 50 frames" in w for w in res.warnings)


def test_no_person_is_an_error(scene):
    rig, _, kps = scene
    empty = dataclasses.replace(kps["cam1"], points_px=np.full_like(kps["cam1"].points_px,
                                                                    np.nan),
                                confidence=np.zeros_like(kps["cam1"].confidence))
    with pytest.raises(ReconstructionError, match="No person detected.*cam1"):
        reconstruct_trial(dict(kps, cam1=empty), rig)


def test_different_fps_is_an_error(scene):
    rig, _, kps = scene
    with pytest.raises(InputError, match="different frame rates"):
        reconstruct_trial(dict(kps, cam1=dataclasses.replace(kps["cam1"], fps=30.0)), rig)


@pytest.mark.parametrize("kind", ["missing", "empty", "garbage"])
def test_unreadable_video_named(tmp_path, kind):
    path = tmp_path / "cam1.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(b"not a video at all" * 100)
    with pytest.raises(InputError, match="cam1.mp4"):
        probe_video(path)


def test_detect_trial_reports_every_bad_video_at_once(tmp_path):
    rig = S.ring_rig(2, size=(96, 160))
    ok = _video(tmp_path / "cam1.mp4", size=(160, 96))  # rotated vs the calibration
    (tmp_path / "cam2.mp4").write_bytes(b"")
    with pytest.raises(InputError) as err:
        detect_trial({"cam1": ok, "cam2": tmp_path / "cam2.mp4"}, rig=rig)
    assert "cam1 video is 160x96 but calibration says 96x160: recalibrate or rotate" in str(
        err.value)
    assert "cam2" in str(err.value)


def test_frame_reader_streams_all_frames(tmp_path):
    path = _video(tmp_path / "v.mp4", n_frames=7)
    reader = FrameReader(path, queue_frames=2, rgb=True)
    frames = list(reader)
    assert len(frames) == 7 and frames[0].shape == (160, 96, 3)
    assert reader.info.size == (96, 160)


@pytest.mark.slow
def test_mediapipe_on_empty_scene_finds_nobody(tmp_path):
    path = _video(tmp_path / "cam1.mp4", size=(192, 256), n_frames=4)
    kp = MediaPipePose().detect(path, camera="cam1")
    assert kp.n_frames == 4 and kp.detected_fraction() == 0.0
    assert kp.source["mediapipe_version"] and "inference" in kp.source["timing_s"]
    from liftlab.reconstruction.pose2d import require_person

    with pytest.raises(ReconstructionError, match="cam1"):
        require_person(kp)


@pytest.mark.parametrize("kwargs, match", [
    (dict(model_path=Path("missing.task")), r"\.task model file"),
    (dict(model_path=Path("pose.onnx")), r"\.task model file"),
])
def test_tasks_backend_needs_a_task_file(kwargs, match):
    with pytest.raises(InputError, match=match):
        MediaPipeTasksPose(**kwargs)


@pytest.mark.parametrize("kind, match", [("mediapipe-tasks", "needs a .task"),
                                         ("openpifpaf", "Unknown 2D backend")])
def test_make_backend_errors(kind, match):
    with pytest.raises(InputError, match=match):
        make_backend(kind)


def test_json_round_trip_mediapipe33(scene, tmp_path):
    _, _, kps = scene
    kp = kps["cam1"]
    write_openpose_json(kp, tmp_path / "cam1")
    back = import_openpose_json(tmp_path / "cam1", camera="cam1", fps=kp.fps,
                                image_size=kp.image_size)
    assert np.allclose(back.points_px, kp.points_px, atol=1e-3)
    assert back.source["layout"] == "mediapipe33"


def test_json_body25_mapping_and_two_people(tmp_path):
    import json

    folder = tmp_path / "cam1"
    folder.mkdir()
    for f in range(3):
        athlete = np.zeros((25, 3))
        athlete[:, 0], athlete[:, 1], athlete[:, 2] = 500 + f, np.arange(25) * 10.0, 0.9
        athlete[8] = 0  # an undetected keypoint: (0, 0, 0)
        small = athlete.copy()
        small[:, 0] += 300
        small[:, 1] *= 0.2  # a small bystander
        people = [{"pose_keypoints_2d": p.ravel().tolist()} for p in (small, athlete)]
        (folder / f"clip_{f:012d}_keypoints.json").write_text(json.dumps({"people": people}))
    kp = import_openpose_json(folder, camera="cam1", fps=30.0, image_size=(1080, 1920))
    from liftlab.core.landmarks import INDEX

    assert kp.source["layout"] == "openpose-body25"
    assert np.allclose(kp.points_px[:, INDEX["left_knee"], 1], 130.0)  # BODY_25 #13
    assert np.allclose(kp.points_px[:, INDEX["right_heel"], 1], 240.0)  # BODY_25 #24
    assert np.allclose(kp.points_px[:, INDEX["left_knee"], 0], [500, 501, 502])
    assert np.isnan(kp.points_px[:, INDEX["mouth_left"]]).all()


@pytest.mark.parametrize("content, match", [("{not json", "Not valid JSON"),
                                            ('{"people": [{"pose_keypoints_2d": [1, 2]}]}',
                                             "expected 3 x 25")])
def test_json_bad_files(tmp_path, content, match):
    (tmp_path / f"a_{0:012d}_keypoints.json").write_text(content)
    with pytest.raises(LiftlabError, match=match):
        import_openpose_json(tmp_path, camera="c", fps=30.0, image_size=(10, 10))
