"""Fast checks of the calibration building blocks, each against generated or analytic truth."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

from liftlab.calibration.boards import Board, aruco_dictionary
from liftlab.calibration.detect import detect_images, detect_video, diagnose
from liftlab.calibration.importers import import_calibration, read_qca, resize_camera
from liftlab.calibration.labframe import (
    LabFrame,
    apply_lab_frame,
    lab_frame_from_floor,
    load_frame_toml,
    similarity_fit,
    triangulate_px,
)
from liftlab.calibration.printing import write_board_pdf
from liftlab.calibration.quality import QualityThresholds, coverage, judge_camera
from liftlab.calibration.report import CalibrationResult, write_outputs
from liftlab.calibration.synthetic import floor_pose, look_at, render_view, ring_rig
from liftlab.capture.session import BoardSpec
from liftlab.core.cameras import Camera, Rig
from liftlab.core.errors import InputError

SPEC = BoardSpec(type="charuco", squares_x=7, squares_y=5, square_mm=100.0, marker_mm=75.0)


def test_object_points_follow_opencv_board_frame():
    board = Board(SPEC)
    ocv = board.cv_board.getChessboardCorners()
    assert np.allclose(board.object_points_mm, ocv)
    assert board.object_points_mm[0].tolist() == [100.0, 100.0, 0.0]


@pytest.mark.parametrize("name, ok", [("DICT_4X4_50", True), ("4X4_50", True),
                                      ("DICT_APRILTAG_36h11", True), ("DICT_9X9_7", False)])
def test_dictionary_names(name, ok):
    if ok:
        assert aruco_dictionary(name) is not None
    else:
        with pytest.raises(InputError, match="Unknown ArUco dictionary"):
            aruco_dictionary(name)


def test_board_too_big_for_dictionary():
    with pytest.raises(InputError, match="needs 55 markers"):
        _ = Board(BoardSpec(squares_x=11, squares_y=10, square_mm=40, marker_mm=30,
                            dictionary="DICT_4X4_50")).cv_board


def _view(cam: Camera, spec: BoardSpec = SPEC):
    return render_view(cam, Board(spec), floor_pose(), noise_sigma=0)


def test_detection_matches_projected_corners():
    cam = look_at("c", (2500.0, -1800.0, 2200.0), (350.0, -250.0, 0.0), size=(1280, 720))
    board = Board(SPEC)
    ids, px = board.detect(_view(cam))
    assert ids.size >= 20
    lab = board.object_points_mm[ids] @ np.diag([1.0, -1.0, -1.0])
    diff = px - cam.project(lab)
    # ChArUco corners of rendered boards sit ~0.3-0.5 px right/down of the projection (also
    # with the virtual lab's renderer); calibration absorbs it in cx, cy
    assert np.all(np.abs(diff.mean(axis=0)) < 0.75)
    assert np.max(np.linalg.norm(diff - diff.mean(axis=0), axis=1)) < 0.75


def test_wrong_dictionary_is_named():
    cam = look_at("c", (0.0, 2500.0, 1800.0), (350.0, -250.0, 0.0), size=(1280, 720))
    printed = BoardSpec(type="charuco", squares_x=7, squares_y=5, square_mm=100.0,
                        marker_mm=75.0, dictionary="DICT_5X5_50")
    hint = diagnose([_view(cam, printed)], Board(SPEC))
    assert "DICT_5X5_50" in hint


def test_images_of_different_sizes_are_refused(tmp_path):
    for i, size in enumerate([(64, 48), (64, 48), (80, 48)]):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.zeros(size[::-1], np.uint8))
    with pytest.raises(InputError, match="camX.*different sizes"):
        detect_images(sorted(tmp_path.glob("*.png")), Board(SPEC), camera="camX")


def test_unreadable_video_is_refused(tmp_path):
    bad = tmp_path / "cam1.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(InputError, match="cam1.*cannot open|cam1.*no readable"):
        detect_video(bad, Board(SPEC), camera="cam1")


def test_coverage_is_fraction_of_cells():
    pts = np.array([[5, 5], [15, 5], [5, 15], [95, 95], [np.nan, np.nan]])
    assert coverage(pts, (100, 100), (10, 10)) == pytest.approx(0.04)


@pytest.mark.parametrize("views, err, status, text", [
    (40, 0.2, "pass", None),
    (4, 0.2, "fail", "saw the board in 4 views"),
    (12, 0.2, "warn", "12 views"),
    (40, 5.0, "fail", "mean reprojection error 5.00"),
])
def test_camera_verdict(views, err, status, text):
    grid = np.stack(np.meshgrid(np.linspace(1, 99, 9), np.linspace(1, 99, 9)), -1)
    q = judge_camera("cam3", views=views, frames_read=100, errors_px=np.full(50, err),
                     corners_px=grid, image_size=(100, 100), thresholds=QualityThresholds())
    assert q.verdict.status == status
    if text:
        assert any("cam3" in r and text in r for r in q.verdict.reasons)


@pytest.mark.parametrize("kwargs", [dict(reproj_mean_warn_px=4.0), dict(min_views_fail=30),
                                    dict(coverage_warn=1.5)])
def test_invalid_thresholds(kwargs):
    with pytest.raises(InputError, match="thresholds"):
        QualityThresholds(**kwargs)


def test_triangulation_and_similarity_are_exact():
    rig = ring_rig(3)
    pts = np.random.default_rng(1).uniform(-500, 500, (50, 3)) + [0, 0, 1000]
    px = rig.project(pts)
    px[0, :10] = np.nan  # some points seen by two cameras only
    assert np.allclose(triangulate_px(list(rig.cameras), px), pts, atol=1e-6)
    r = cv2.Rodrigues(np.array([0.2, -0.1, 0.4]))[0]
    r2, t2, s2 = similarity_fit(pts, 1.5 * pts @ r.T + [1, 2, 3], with_scale=True)
    assert np.allclose(r2, r) and np.allclose(t2, [1, 2, 3]) and s2 == pytest.approx(1.5)


def test_lab_frame_keeps_projections():
    rig = ring_rig(2)
    rot = cv2.Rodrigues(np.array([0.1, 0.5, -0.3]))[0]
    frame = LabFrame(rot, np.array([100.0, -50.0, 20.0]), "file", True)
    moved = apply_lab_frame(rig, frame)
    pts = np.array([[0.0, 0.0, 900.0], [200.0, -100.0, 1200.0]])
    assert np.allclose(moved.project(pts @ rot.T + frame.translation_mm), rig.project(pts))


def test_floor_frame_is_identity_for_a_true_rig(tmp_path):
    rig = ring_rig(4)
    board = Board(SPEC)
    stills = {}
    for cam in rig.cameras:
        stills[cam.name] = tmp_path / f"{cam.name}.png"
        cv2.imwrite(str(stills[cam.name]), _view(cam))
    frame = lab_frame_from_floor(rig, stills, board)
    assert len(frame.cameras) >= 2
    assert np.degrees(np.linalg.norm(cv2.Rodrigues(frame.rotation)[0])) < 0.2
    assert np.linalg.norm(frame.translation_mm) < 3.0


@pytest.mark.parametrize("text, ok", [
    ("matrix = [[1,0,0,5],[0,1,0,0],[0,0,1,0],[0,0,0,1]]", True),
    ("matrix = [[1,0,0,5],[0,1,0,0],[0,0,-1,0],[0,0,0,1]]", False),
    ("matrix = [[2,0,0,5],[0,1,0,0],[0,0,1,0],[0,0,0,1]]", False),
    ("frame = 1", False),
])
def test_frame_toml(tmp_path, text, ok):
    path = tmp_path / "frame.toml"
    path.write_text(text)
    if ok:
        assert load_frame_toml(path).translation_mm.tolist() == [5.0, 0.0, 0.0]
    else:
        with pytest.raises(InputError, match="frame|matrix"):
            load_frame_toml(path)


def test_toml_import_keeps_order_of_twelve_cameras_and_renames(tmp_path):
    cams = [look_at(f"cam_{i}", (3000 * np.cos(i), 3000 * np.sin(i), 1500), (0, 0, 900))
            for i in range(12)]
    path = Rig(tuple(cams)).save(tmp_path / "calibration.toml")
    assert import_calibration(path).names == [f"cam_{i}" for i in range(12)]
    renamed = import_calibration(path, camera_names=[f"v{i}" for i in range(12)])
    assert renamed.names[10] == "v10"
    assert np.allclose(renamed["v10"].matrix, cams[10].matrix)
    with pytest.raises(InputError, match="12 cameras"):
        import_calibration(path, camera_names=["a", "b"])


def _qca_from(cams: list[Camera]) -> str:
    """A Qualisys .qca.txt written from known cameras by the documented conventions."""
    root = ET.Element("calibration")
    ET.SubElement(root, "results")
    cams_el = ET.SubElement(root, "cameras")
    for cam in cams:
        el = ET.SubElement(cams_el, "camera", active="1", serial=cam.name, **{"avg-residual": "0.4"})
        w, h = cam.size
        ET.SubElement(el, "fov_video", left="0", top="0", right=str(w - 1), bottom=str(h - 1))
        m = np.diag([1.0, -1.0, -1.0]) @ cam.R
        c = cam.center_mm
        ET.SubElement(el, "transform", x=str(c[0]), y=str(c[1]), z=str(c[2]),
                      **{f"r{i + 1}{j + 1}": repr(m[i, j]) for i in range(3) for j in range(3)})
        k, d = cam.matrix, cam.distortions
        ET.SubElement(el, "intrinsic", focalLengthU=str(k[0, 0] * 64), focalLengthV=str(k[1, 1] * 64),
                      centerPointU=str(k[0, 2] * 64), centerPointV=str(k[1, 2] * 64),
                      radialDistortion1=str(d[0]), radialDistortion2=str(d[1]),
                      radialDistortion3=str(d[4]), tangentalDistortion1=str(d[2]),
                      tangentalDistortion2=str(d[3]))
    return ET.tostring(root, encoding="unicode")


def test_qualisys_import_round_trip(tmp_path):
    truth = [Camera(c.name, (1088, 1920), np.array([[1680.0, 0, 530], [0, 1681, 950], [0, 0, 1]]),
                    np.array([-0.05, 0.14, 0.001, 0.0007, 0.0]), c.rotation, c.translation_mm)
             for c in ring_rig(2).cameras]
    path = tmp_path / "Calib.qca.txt"
    path.write_text(_qca_from(truth))
    rig = read_qca(path)
    pts = np.array([[0.0, 0.0, 900.0], [300.0, 200.0, 1500.0]])
    assert np.allclose(rig.project(pts), Rig(tuple(truth)).project(pts), atol=1e-6)


def test_resize_scales_about_the_centre():
    cam = Camera("c", (1088, 1920), np.array([[1680.0, 0, 530], [0, 1680, 950], [0, 0, 1]]),
                 np.zeros(5), np.zeros(3), np.zeros(3))
    small = resize_camera(cam, (1080, 1920))
    s = 1080 / 1088
    pts = np.array([[100.0, -300.0, 2000.0]])
    expect = (cam.project(pts) - [544, 960]) * s + [540, 960]
    assert np.allclose(small.project(pts), expect)


@pytest.mark.parametrize("squares, square_mm, page, ok", [
    ((7, 5), 30.0, "a4", True), ((7, 5), 30.0, "letter", True), ((8, 6), 60.0, "a4", False)])
def test_board_pdf(tmp_path, squares, square_mm, page, ok):
    spec = BoardSpec(type="charuco", squares_x=squares[0], squares_y=squares[1],
                     square_mm=square_mm, marker_mm=0.75 * square_mm)
    out = tmp_path / "board.pdf"
    if not ok:
        with pytest.raises(InputError, match="holds at most"):
            write_board_pdf(spec, out, page=page)
        assert not out.exists()
        return
    from pypdf import PdfReader

    pdf = PdfReader(str(out if write_board_pdf(spec, out, page=page) else out))
    text = pdf.pages[0].extract_text()
    assert f"squares_x = {squares[0]}" in text and "DICT_4X4_50" in text
    box = pdf.pages[0].mediabox
    assert min(float(box.width), float(box.height)) / 72 * 25.4 == pytest.approx(
        {"a4": 210.0, "letter": 215.9}[page], abs=0.1)


def test_failed_verdict_leaves_previous_calibration(tmp_path):
    from liftlab.calibration.quality import Verdict

    rig = ring_rig(2)
    previous = rig.save(tmp_path / "calibration.toml").read_text()
    result = CalibrationResult(ring_rig(3), (), Verdict("fail", ("cam1: bad",), ("redo",)), "full")
    out = write_outputs(result, tmp_path)
    assert (tmp_path / "calibration.toml").read_text() == previous
    assert "not written" in out.outputs["calibration"]
    assert (tmp_path / "calibration_report.json").is_file()
    assert not list(tmp_path.glob("*.tmp"))


def test_liftlab_board_cli(tmp_path):
    from liftlab.cli import main

    assert main(["board", "--out", str(tmp_path / "b.pdf")]) == 0
    assert (tmp_path / "b.pdf").stat().st_size > 1000
    assert main(["board", "--out", str(tmp_path / "c.pdf"), "--square-mm", "80",
                 "--marker-mm", "60"]) == 2


def test_missing_floor_paths_are_none(tmp_path: Path):
    from liftlab.calibration.labframe import floor_images

    assert floor_images(tmp_path, ["cam1"]) == {}
