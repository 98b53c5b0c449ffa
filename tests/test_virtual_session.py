"""The virtual-lab session writer: folder contract, truth beside the videos, clear errors."""

from __future__ import annotations

import json

import cv2
import pytest
from click.testing import CliRunner

from liftlab.capture.session import Session
from liftlab.capture.virtual.cli import simulate
from liftlab.capture.virtual.scene import simulate_session
from liftlab.cli import main
from liftlab.core.cameras import Rig
from liftlab.core.containers import Trajectory3D
from liftlab.core.errors import InputError
from tests.conftest import VIRTUAL_SESSION


def _video_info(path) -> tuple[int, tuple[int, int], float]:
    cap = cv2.VideoCapture(str(path))
    try:
        n = 0
        while cap.grab():
            n += 1
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        return n, size, float(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()


@pytest.mark.slow
def test_virtual_session_follows_the_session_contract(virtual_session):
    session = Session.open(virtual_session)
    cfg = session.config
    assert len(cfg.cameras) == VIRTUAL_SESSION["cameras"]
    assert cfg.fps == VIRTUAL_SESSION["fps"]
    names = session.trial_names()
    assert names[0] == "knee_curl"
    assert [n.split("_", 1)[1] for n in names[1:]] == list(VIRTUAL_SESSION["patterns"])
    rig = Rig.load(virtual_session / "truth" / "rig.toml")
    assert rig.names == list(cfg.cameras)
    for cam in cfg.cameras:
        assert session.calibration_source(cam).suffix == ".mp4"
        still = cv2.imread(str(virtual_session / "calibration" / "floor" / f"{cam}.png"))
        assert still.shape == (VIRTUAL_SESSION["size"][1], VIRTUAL_SESSION["size"][0], 3)
    for name in names:
        trial = session.trial(name)
        truth = Trajectory3D.load(virtual_session / "truth" / name / "landmarks.npz")
        reps = json.loads((virtual_session / "truth" / name / "reps.json").read_text())
        if trial.exercise == "squat":
            assert len(reps) == VIRTUAL_SESSION["reps"]
            assert trial.load_kg and trial.one_rm_kg and len(trial.pain) == len(reps)
        for cam in cfg.cameras:
            n, size, fps = _video_info(session.video_path(name, cam))
            assert n == truth.points_mm.shape[0]  # frame i of the video is frame i of truth
            assert size == VIRTUAL_SESSION["size"]
            assert fps == pytest.approx(VIRTUAL_SESSION["fps"])
    assert (virtual_session / "truth" / "README.md").is_file()


@pytest.mark.parametrize("kwargs, match", [
    ({"patterns": ["wobbly"]}, "unknown pattern"),
    ({"cameras": 0}, "at least 1 camera"),
    ({"fps": 0}, "fps"),
    ({"reps": 0}, "reps"),
    ({"size": (10, 10)}, "size"),
])
def test_simulate_session_rejects_bad_input(tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        simulate_session(tmp_path / "s", progress=False, **kwargs)
    assert not (tmp_path / "s").exists()  # nothing written before the checks pass


def test_simulate_session_never_overwrites_without_force(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not empty"):
        simulate_session(tmp_path, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_force_rewrites_a_session_and_keeps_other_files(tmp_path):
    kwargs = dict(cameras=1, patterns=["none"], reps=1, knee_curl=False, stand_s=0.2,
                  calibration_frames=3, size=(160, 120), progress=False)
    simulate_session(tmp_path, **kwargs)
    (tmp_path / "notes.txt").write_text("keep me")
    simulate_session(tmp_path, force=True, seed=1, **kwargs)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert Session.open(tmp_path).trial_names() == ["squat1_none"]
    assert _video_info(tmp_path / "calibration" / "cam1.mp4")[0] == 3


@pytest.mark.parametrize("args, match", [
    (["--pattern", "wobbly"], "Invalid value"),
    (["--size", "640by480"], "WxH"),
    (["--alignment-left", "10"], "go together"),
])
def test_simulate_cli_reports_bad_options(tmp_path, args, match):
    runner = CliRunner()
    result = runner.invoke(simulate, [str(tmp_path / "s"), *args])
    assert result.exit_code != 0
    assert match in (result.output + str(result.exception))


def test_liftlab_simulate_on_a_non_empty_folder_exits_2(tmp_path, capsys):
    (tmp_path / "x.txt").write_text("x")
    assert main(["simulate", str(tmp_path), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err
