"""Shared fixtures: one small virtual-lab session for the whole run, and the real data set.

``virtual_session`` renders ONE session (4 cameras, 640 x 480, 30 fps: calibration board
videos + floor stills, a short knee-curl trial and two squat trials of 2 reps, patterns
``transient`` and ``persistent``) into a session-scoped temporary folder, once per test run
(~1 min on one core). Its ground truth is in ``<session>/truth/`` (see its README.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

#: What the cached virtual session holds (tests may read these instead of hard-coding).
VIRTUAL_SESSION = {
    "cameras": 4,
    "size": (640, 480),
    "fps": 30.0,
    "patterns": ("transient", "persistent"),
    "reps": 2,
    "seed": 0,
}


@pytest.fixture(scope="session")
def virtual_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a small rendered virtual-lab session folder (built once per test run)."""
    from liftlab.capture.virtual.scene import simulate_session

    root = tmp_path_factory.mktemp("virtual") / "session"
    return simulate_session(
        root, cameras=VIRTUAL_SESSION["cameras"], patterns=VIRTUAL_SESSION["patterns"],
        reps=VIRTUAL_SESSION["reps"], fps=VIRTUAL_SESSION["fps"],
        size=VIRTUAL_SESSION["size"], seed=VIRTUAL_SESSION["seed"], knee_curl=True,
        curls_per_side=1, stand_s=0.5, calibration_frames=90, progress=False,
    )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """/work/shared/data/pose2sim-demo-single (real lab videos), or skip when absent."""
    path = SHARED / "pose2sim-demo-single"
    if not path.is_dir():
        pytest.skip(f"shared real data not found at {path}")
    return path
