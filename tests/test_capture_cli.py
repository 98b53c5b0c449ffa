"""`liftlab capture` and `liftlab timing` from the command line (virtual and file sources)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from liftlab.capture.session import Session
from liftlab.cli import main


def test_capture_creates_the_session_and_records_a_trial(tmp_path, capsys):
    root = tmp_path / "s"
    rc = main(["capture", str(root), "--cameras", "virtual,virtual", "--names", "left,right",
               "--athlete", "Ana", "--trial", "squat1", "--exercise", "squat", "--load-kg", "80",
               "--pain", "0,2", "--fps", "30", "--size", "160x120", "--duration", "1",
               "--no-preview"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "trial squat1: complete" in out and "sync vs left" in out
    session = Session.open(root)
    assert session.config.cameras == ("left", "right") and session.config.fps == 30.0
    trial = session.trial("squat1")
    assert trial.load_kg == 80.0 and trial.pain == (0.0, 2.0)
    assert session.video_path("squat1", "right").is_file()

    for extra in ([], ["--recompute"]):
        rc = main(["timing", str(root), "--trial", "squat1", *extra])
        assert rc == 0 and "sync vs left at 30 fps" in capsys.readouterr().out


def test_capture_from_files_uses_session_names(tmp_path, capsys):
    clips = []
    for k in range(2):
        path = tmp_path / f"in{k}.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (96, 64))
        for i in range(20):
            writer.write(np.full((64, 96, 3), i * 10, np.uint8))
        writer.release()
        clips.append(str(path))
    root = tmp_path / "s"
    assert main(["capture", str(root), "--cameras", ",".join(clips), "--athlete", "B",
                 "--trial", "t", "--fast", "--fps", "30", "--no-preview"]) == 0
    for cam in ("cam1", "cam2"):  # default names; a whole file read as fast as possible
        cap = cv2.VideoCapture(str(Session.open(root).video_path("t", cam)))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
        cap.release()


@pytest.mark.parametrize(("args", "message"), [
    (["--cameras", "virtual", "--trial", "t"], "has no session.toml yet"),
    (["--cameras", "7", "--trial", "t", "--athlete", "A"], "camera 7 could not be opened"),
    (["--cameras", "virtual", "--athlete", "A"], "--trial is required"),
    (["--cameras", "virtual,virtual", "--names", "a", "--trial", "t", "--athlete", "A"],
     "gives 1 names for 2"),
    (["--cameras", "virtual", "--trial", "t", "--athlete", "A", "--size", "big"],
     "--size must look like 1920x1080"),
    (["--cameras", "virtual", "--trial", "t", "--athlete", "A", "--pain", "x"],
     "--pain must be numbers"),
])
def test_bad_input_is_one_clear_line_and_exit_code_2(tmp_path, capsys, args, message):
    rc = main(["capture", str(tmp_path / "s"), *args, "--duration", "0.2", "--no-preview"])
    assert rc == 2
    assert message in capsys.readouterr().err
