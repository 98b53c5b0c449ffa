"""Real lab data (pose2sim demo): photo intrinsics vs Qualisys, and the Qualisys import.

How the imported Qualisys calibration is checked (there are no shared 3D points):
1. every camera looks at the treadmill volume: the lab point (0, 0, 900) mm lies in front of
   it and projects inside its image;
2. its geometry agrees with the synchronised videos: MediaPipe landmarks of the person,
   triangulated with the imported rig, re-project within ~15 px (SIFT matches between the
   empty-scene stills were too few and mostly wrong at these baselines);
3. its intrinsics agree with those calibrated here from the checkerboard photos;
4. its distortion convention: with the raw coefficients (not divided by 64 as Pose2Sim does)
   the checkerboard photos re-project better.
"""

from __future__ import annotations

import glob
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from liftlab.calibration.boards import Board
from liftlab.calibration.calibrate import calibrate_intrinsics
from liftlab.calibration.importers import import_calibration, read_qca
from liftlab.capture.session import BoardSpec, SessionConfig, create_session

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEMO = SHARED / "pose2sim-demo-single"
pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not DEMO.is_dir(), reason="shared real data absent")]
CHECKER = BoardSpec(type="checkerboard", squares_x=5, squares_y=8, square_mm=60.0)
CAMS = ["cam01", "cam02", "cam03", "cam04"]


def _photos(cam: str) -> list[Path]:
    return sorted(Path(p) for p in glob.glob(str(DEMO / f"calibration/intrinsics/int_{cam}_img/*.jpg")))


def _plain_opencv(cam: str) -> np.ndarray:
    """The OpenCV tutorial recipe on the same photos (for comparison)."""
    objp = np.zeros((28, 3), np.float32)
    objp[:, :2] = np.mgrid[0:4, 0:7].T.reshape(-1, 2) * 60.0
    obj, img = [], []
    for p in _photos(cam):
        g = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        ok, c = cv2.findChessboardCorners(g, (4, 7), None)
        if ok:
            c = cv2.cornerSubPix(g, c, (11, 11), (-1, -1),
                                 (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 1e-3))
            obj.append(objp)
            img.append(c)
    return cv2.calibrateCamera(obj, img, g.shape[::-1], None, None)[1]


@pytest.mark.slow
@pytest.mark.parametrize("cam", CAMS)
def test_photo_intrinsics_match_qualisys(cam):
    qualisys = read_qca(DEMO / "calibration/Calib.qca.txt")[cam]
    est, quality = calibrate_intrinsics(_photos(cam), Board(CHECKER), camera=cam)
    plain = _plain_opencv(cam)
    f_err = abs(est.matrix[0, 0] / qualisys.matrix[0, 0] - 1)
    pp_err = np.linalg.norm(est.matrix[:2, 2] - qualisys.matrix[:2, 2])
    plain_f = abs(plain[0, 0] / qualisys.matrix[0, 0] - 1)
    assert quality.views >= 6 and quality.reproj_mean_px < 1.0
    assert f_err < 0.02 and pp_err < 50.0
    assert f_err <= plain_f + 0.002  # match or beat the plain recipe (within 0.2%)
    # radial terms agree with Qualisys' raw (undivided) coefficients
    assert est.distortions[0] == pytest.approx(qualisys.distortions[0], abs=0.03)


@pytest.mark.slow
def test_qualisys_distortion_is_not_divided_by_64():
    rig = read_qca(DEMO / "calibration/Calib.qca.txt")
    board = Board(CHECKER)
    wins = 0
    for cam in rig.cameras:
        views = [board.detect(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)) for p in _photos(cam.name)]
        err = {}
        for label, dist in (("raw", cam.distortions), ("div64", cam.distortions / 64)):
            e = []
            for ids, c in views:
                if ids.size == 0:
                    continue
                _, rv, tv = cv2.solvePnP(board.object_points_mm, c, cam.matrix, dist)
                proj = cv2.projectPoints(board.object_points_mm, rv, tv, cam.matrix, dist)[0]
                e.append(np.linalg.norm(proj.reshape(-1, 2) - c, axis=1))
            err[label] = np.sqrt(np.mean(np.concatenate(e) ** 2))
        wins += err["raw"] < err["div64"]
    assert wins >= 3


def test_imported_rig_looks_at_the_treadmill():
    rig = import_calibration(DEMO / "calibration/Calib.qca.txt")
    assert rig.names == CAMS
    centre = np.array([0.0, 0.0, 900.0])
    for cam in rig.cameras:
        assert cam.depth_mm(centre) > 1000
        u, v = cam.project(centre)
        assert 0 < u < cam.size[0] and 0 < v < cam.size[1], cam.name
        assert cam.center_mm[2] > 1000  # cameras stand above the floor, Z up


def _pose_pixels(n_frames: int = 12) -> dict[str, np.ndarray]:
    """MediaPipe landmarks (frames, 33, 2) px of the synchronised demo videos, NaN if unsure."""
    import mediapipe as mp

    out = {}
    for cam in CAMS:
        cap = cv2.VideoCapture(str(DEMO / f"videos/{cam}.mp4"))
        frames = []
        with mp.solutions.pose.Pose(model_complexity=1, static_image_mode=False) as pose:
            for _ in range(n_frames):
                ok, img = cap.read()
                h, w = img.shape[:2]
                res = pose.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
                xy = np.full((33, 2), np.nan)
                if res.pose_landmarks:
                    lm = res.pose_landmarks.landmark
                    xy = np.array([[p.x * w, p.y * h] if p.visibility > 0.8 else [np.nan] * 2
                                   for p in lm])
                frames.append(xy)
        cap.release()
        out[cam] = np.array(frames)
    return out


@pytest.mark.slow
def test_imported_rig_triangulates_the_person_consistently():
    """Epipolar/reprojection check with the person as the shared points.

    SIFT matches between the empty-scene stills are too few and too ambiguous at these wide
    baselines (8-22 per pair, mostly wrong), so the synchronised videos' MediaPipe landmarks
    serve as correspondences: triangulated with the imported rig (resized to the videos),
    they must re-project within ~15 px (measured 11.5; 78 with two cameras swapped).
    """
    from liftlab.calibration.labframe import triangulate_px

    sizes = {c: (1080, 1920) if c in ("cam01", "cam02") else (1088, 1920) for c in CAMS}
    rig = import_calibration(DEMO / "calibration/Calib.qca.txt", image_sizes=sizes)
    px = _pose_pixels()
    obs = np.stack([px[c].reshape(-1, 2) for c in CAMS])

    def median_error(cams) -> float:
        pts = triangulate_px(cams, obs)
        errs = [np.linalg.norm(c.project(pts) - obs[i], axis=1) for i, c in enumerate(cams)]
        return float(np.nanmedian(np.concatenate(errs)))

    good = median_error(list(rig.cameras))
    c = list(rig.cameras)
    swapped = median_error([c[1], c[0], c[2], c[3]])
    assert good < 15.0, good  # measured 11.5 px: MediaPipe landmarks differ between views
    assert swapped > 3 * good


def test_import_into_session_maps_names_and_video_sizes(tmp_path):
    from liftlab.calibration.pipeline import calibrate_session

    root = tmp_path / "session"
    create_session(root, SessionConfig(athlete="Demo", date="2026-01-01",
                                       cameras=("front_left", "front_right", "back_right",
                                                "back_left"), fps=60))
    trial = root / "trials" / "run"
    trial.mkdir(parents=True)
    (trial / "trial.toml").write_text('exercise = "squat"\n')
    for new, old in zip(["front_left", "front_right", "back_right", "back_left"], CAMS,
                        strict=True):
        shutil.copy(DEMO / f"videos/{old}.mp4", trial / f"{new}.mp4")
    result = calibrate_session(root, import_from=DEMO / "calibration/Calib.qca.txt")
    rig = result.rig
    assert rig.names == ["front_left", "front_right", "back_right", "back_left"]
    assert rig["front_left"].size == (1080, 1920) and rig["back_right"].size == (1088, 1920)
    qualisys = read_qca(DEMO / "calibration/Calib.qca.txt")
    assert rig["front_left"].matrix[0, 0] == pytest.approx(
        qualisys["cam01"].matrix[0, 0] * 1080 / 1088)
    assert (root / "calibration" / "calibration.toml").is_file()
    assert result.mode == "import" and result.verdict.status == "pass"
