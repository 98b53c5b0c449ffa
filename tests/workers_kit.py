"""Fast virtual sessions for pipeline tests: exact virtual-lab truth, tiny placeholder videos
with the right frame count, the true rig as calibration, and the truth-projection detector
(no rendering, no MediaPipe), so Ray, triangulation, metrics and storage run for real in seconds."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from liftlab.capture.session import SessionConfig, TrialConfig, create_session, write_trial_config
from liftlab.capture.virtual.body import random_athlete
from liftlab.capture.virtual.cameras import make_rig
from liftlab.capture.virtual.detector import TruthDetector
from liftlab.capture.virtual.motion import RepSpec, TrialSpec, knee_curl_spec, simulate_motion
from liftlab.capture.virtual.truth import save_truth

CAMERAS = ("cam1", "cam2", "cam3", "cam4")

#: (trial name, pattern, load kg, pain per rep)
SQUATS = (("set1_light", "none", 80.0, ()),
          ("set2_heavy", "transient", 150.0, ()),
          ("set3_heavy", "persistent", 150.0, (0.0, 0.0)))


def write_placeholder_video(path: Path, n_frames: int, fps: float, size=(64, 48)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    frame = np.zeros((size[1], size[0], 3), np.uint8)
    for i in range(n_frames):
        frame[:] = i % 255
        writer.write(frame)
    writer.release()
    return path


def build_session(root: Path, *, fps: float = 30.0, reps: int = 2, knee_curl: bool = True,
                  squats=SQUATS, seed: int = 3, athlete_name: str = "Virtual Athlete",
                  curl_spec: TrialSpec | None = None) -> Path:
    """A session folder with the truth; ``curl_spec`` replaces the knee-curl movement (e.g. a
    squat recorded as the alignment trial by mistake)."""
    athlete = random_athlete(seed)
    rig = make_rig(len(CAMERAS), facing_deg=athlete.heading_deg + 90.0, seed=seed)
    session = create_session(root, SessionConfig(athlete=athlete_name, date="2026-11-20",
                                                 cameras=CAMERAS, fps=fps))
    rig.save(session.calibration_file)
    rig.save(root / "truth" / "rig.toml")
    trials: list[tuple[str, TrialSpec, TrialConfig]] = []
    if knee_curl:
        spec = curl_spec or knee_curl_spec(fps=fps, curls_per_side=3)
        trials.append(("curl", spec, TrialConfig("curl", exercise="knee_curl")))
    for name, pattern, load, pain in squats:
        spec = TrialSpec(exercise="squat", reps=(RepSpec(pattern=pattern),) * reps, fps=fps,
                         load_kg=load, one_rm_kg=160.0, pain=tuple(pain))
        trials.append((name, spec, TrialConfig(name, load_kg=load, one_rm_kg=160.0,
                                               pain=tuple(pain))))
    for i, (name, spec, config) in enumerate(trials):
        truth = simulate_motion(athlete, spec, seed=seed + i)
        save_truth(truth, root / "truth" / name)
        tdir = session.trials_dir / name
        write_trial_config(tdir, config)
        for cam in CAMERAS:
            write_placeholder_video(tdir / f"{cam}.mp4", truth.landmarks_mm.shape[0], fps)
    return root


class KillOnceDetector(TruthDetector):
    """Kills its worker process the first time it sees ``camera`` of ``trial`` (fault injection).

    Marker files under ``flag_dir`` survive the dead worker, so the retried task succeeds.
    With ``always=True`` it kills every attempt (the task then fails for good).
    """

    def __init__(self, flag_dir: Path, trial: str, camera: str, always: bool = False):
        super().__init__(noise_px=1.0)
        object.__setattr__(self, "flag_dir", str(flag_dir))
        object.__setattr__(self, "kill_trial", trial)
        object.__setattr__(self, "kill_camera", camera)
        object.__setattr__(self, "always", always)

    def detect(self, video_path, *, camera, progress=False):
        path = Path(video_path)
        if path.parent.name == self.kill_trial and camera == self.kill_camera:
            flag = Path(self.flag_dir) / f"killed-{self.kill_trial}-{camera}"
            if self.always or not flag.exists():
                flag.touch()
                os._exit(1)  # the worker dies: no exception, no cleanup
        return super().detect(video_path, camera=camera, progress=progress)
