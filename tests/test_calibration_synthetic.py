"""End-to-end calibration of a synthetic 4-camera ChArUco rig against its known truth."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from liftlab.calibration.pipeline import calibrate_session
from liftlab.calibration.synthetic import ring_rig, write_session
from liftlab.capture.session import BoardSpec
from liftlab.core.cameras import Rig
from liftlab.core.errors import CalibrationError

SPEC = BoardSpec(type="charuco", squares_x=7, squares_y=5, square_mm=100.0, marker_mm=75.0)


@pytest.fixture(scope="module")
def synthetic_session(tmp_path_factory):
    return write_session(tmp_path_factory.mktemp("calib") / "session", ring_rig(4), SPEC,
                         n_views=90, seed=3)


@pytest.mark.slow
def test_recovers_rig_truth(synthetic_session):
    result = calibrate_session(synthetic_session)
    truth = Rig.load(synthetic_session / "truth" / "rig.toml")
    est = Rig.load(synthetic_session / "calibration" / "calibration.toml")
    assert est.names == truth.names
    assert result.lab_frame["source"] == "floor" and result.lab_frame["on_floor"]
    for cam in truth.cameras:
        e = est[cam.name]
        angle_deg = np.degrees(np.linalg.norm(cv2.Rodrigues(e.R @ cam.R.T)[0]))
        assert np.linalg.norm(e.center_mm - cam.center_mm) < 5.0, cam.name
        assert angle_deg < 0.5, cam.name
        assert abs(e.matrix[0, 0] / cam.matrix[0, 0] - 1) < 0.01, cam.name
    for q in result.qualities:
        assert q.reproj_mean_px < 0.5 and q.views >= 20
    assert result.verdict.status in ("pass", "warn")
    assert abs(result.scale_check["scale_ratio"] - 1) < 0.005
    report = json.loads((synthetic_session / "calibration" / "calibration_report.json").read_text())
    assert report["provenance"]["board"]["square_mm"] == 100.0
    assert all(len(s["sha256"]) == 64 for s in report["provenance"]["sources"].values())
    assert "aniposelib" in report["provenance"]["software"]


@pytest.mark.slow
def test_camera_that_never_sees_the_board(synthetic_session, tmp_path):
    import shutil

    copy = tmp_path / "s"
    shutil.copytree(synthetic_session, copy)
    for png in (copy / "calibration" / "cam3").glob("*.png"):
        cv2.imwrite(str(png), np.full((720, 1280), 110, np.uint8))
    previous = (copy / "calibration" / "calibration.toml").read_bytes()
    with pytest.raises(CalibrationError, match="cam3.*never saw the board.*--cameras"):
        calibrate_session(copy)
    assert (copy / "calibration" / "calibration.toml").read_bytes() == previous
    result = calibrate_session(copy, cameras=["cam1", "cam2", "cam4"])
    assert result.rig.names == ["cam1", "cam2", "cam4"]


@pytest.mark.slow
def test_wrong_dictionary_names_the_printed_one(synthetic_session, tmp_path):
    import shutil

    copy = tmp_path / "s"
    shutil.copytree(synthetic_session, copy)
    text = (copy / "session.toml").read_text()
    (copy / "session.toml").write_text(text.replace("DICT_4X4_50", "DICT_6X6_50"))
    with pytest.raises(CalibrationError, match="cam1.*DICT_4X4_50"):
        calibrate_session(copy)


@pytest.mark.slow
def test_intrinsics_only_and_cli(synthetic_session, tmp_path):
    import shutil

    from liftlab.cli import main

    copy = tmp_path / "s"
    shutil.copytree(synthetic_session, copy)
    out = tmp_path / "report.json"
    assert main(["calibrate", str(copy), "--intrinsics-only", "--cameras", "cam1,cam2",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["mode"] == "intrinsics_only"
    truth = Rig.load(copy / "truth" / "rig.toml")
    for cam in report["cameras"]:
        f_true = truth[cam["camera"]].matrix[0, 0]
        assert cam["intrinsics"]["fx_px"] == pytest.approx(f_true, rel=0.01)
    assert Rig.load(copy / "calibration" / "calibration.toml").names == ["cam1", "cam2"]
