"""Virtual-lab render speed and the BlazePose floor (2D error of the rendered mannequin).

Run: ``python benchmarks/bench_render.py`` (about 1-2 minutes on one core). Prints:

1. ms per frame of the mannequin and of the ChArUco board at 640x480 and 1280x720, and
   their ratio to the 640x480 figure, measured side by side in this run;
2. for one simulated squat trial (2 reps) seen by 4 virtual cameras: BlazePose (full model,
   video mode) detection rate per camera, and per landmark the median / 95th percentile
   pixel distance to the projected truth, pooled over cameras, plus the mean signed
   offset (bias) in x and y.
"""

from __future__ import annotations

import dataclasses
import time

import cv2
import numpy as np

from liftlab.capture.virtual.board import VIRTUAL_BOARD, BoardRenderer, hand_held_poses
from liftlab.capture.virtual.body import random_athlete
from liftlab.capture.virtual.cameras import make_rig
from liftlab.capture.virtual.motion import RepSpec, TrialSpec, simulate_motion
from liftlab.capture.virtual.render import MannequinRenderer
from liftlab.capture.virtual.scene import AIM_HEIGHT_MM, CAMERA_HEIGHT_MM
from liftlab.core.landmarks import INDEX

JOINTS = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")


def _trial(seed: int = 0):
    athlete = random_athlete(seed, position_range_mm=150.0)
    athlete = dataclasses.replace(athlete, position_mm=(700 + athlete.position_mm[0],
                                                        -500 + athlete.position_mm[1]))
    spec = TrialSpec(reps=(RepSpec(pattern="transient"), RepSpec(pattern="persistent")),
                     fps=30.0, stand_before_s=0.5, stand_after_s=0.5)
    return athlete, simulate_motion(athlete, spec, seed=seed)


def bench_speed(truth, athlete) -> None:
    print("render speed (ms per frame, mean over frames; ratio to 640x480)")
    print(f"{'what':10s} {'size':>10s} {'ms':>8s} {'ratio':>6s}")
    base: dict[str, float] = {}
    for size in ((640, 480), (1280, 720)):
        rig = make_rig(1, size=size, height_mm=CAMERA_HEIGHT_MM, facing_deg=athlete.heading_deg,
                       target_mm=(*athlete.position_mm, AIM_HEIGHT_MM))
        cam = rig.cameras[0]
        renderer = MannequinRenderer(cam, bar=True)
        frames = truth.landmarks_mm[::4]
        t0 = time.perf_counter()
        for pts in frames:
            renderer.render(pts)
        ms = 1000 * (time.perf_counter() - t0) / len(frames)
        board = BoardRenderer(cam, VIRTUAL_BOARD)
        poses = hand_held_poses(VIRTUAL_BOARD, rig, n_frames=30,
                                target_mm=(*athlete.position_mm, 1000.0))
        t0 = time.perf_counter()
        for pose in poses:
            board.render(pose)
        ms_board = 1000 * (time.perf_counter() - t0) / len(poses)
        for what, value in (("mannequin", ms), ("board", ms_board)):
            base.setdefault(what, value)
            print(f"{what:10s} {size[0]:>5d}x{size[1]:<4d} {value:8.1f} {value / base[what]:6.2f}")


def bench_blazepose(truth, athlete) -> None:
    import mediapipe as mp

    rig = make_rig(4, height_mm=CAMERA_HEIGHT_MM, facing_deg=athlete.heading_deg,
                   target_mm=(*athlete.position_mm, AIM_HEIGHT_MM))
    idx = [INDEX[n] for n in JOINTS]
    diffs = []
    print("\nBlazePose full (video mode) on the rendered mannequin, 4 cameras, "
          f"{truth.n_frames} frames each")
    for cam in rig.cameras:
        renderer = MannequinRenderer(cam, bar=True)
        width, height = cam.size
        truth_px = cam.project(truth.landmarks_mm)
        d = np.full((truth.n_frames, len(JOINTS), 2), np.nan)
        t_mp = 0.0
        with mp.solutions.pose.Pose(model_complexity=1) as pose:
            for f in range(truth.n_frames):
                frame = renderer.render(truth.landmarks_mm[f])
                t0 = time.perf_counter()
                res = pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                t_mp += time.perf_counter() - t0
                if res.pose_landmarks is not None:
                    lm = res.pose_landmarks.landmark
                    d[f] = np.array([[lm[i].x * width, lm[i].y * height] for i in idx]) \
                        - truth_px[f, idx]
        rate = np.mean(np.isfinite(d[:, 0, 0]))
        print(f"  {cam.name}: detected {rate:6.1%}   BlazePose {1000 * t_mp / truth.n_frames:.1f}"
              " ms/frame")
        diffs.append(d)
    d = np.concatenate(diffs)
    dist = np.hypot(d[..., 0], d[..., 1])
    print(f"\n{'landmark':12s} {'median px':>9s} {'p95 px':>7s} {'bias x':>7s} {'bias y':>7s}")
    for j, name in enumerate(JOINTS):
        print(f"{name:12s} {np.nanmedian(dist[:, j]):9.1f} {np.nanpercentile(dist[:, j], 95):7.1f}"
              f" {np.nanmean(d[:, j, 0]):+7.1f} {np.nanmean(d[:, j, 1]):+7.1f}")


if __name__ == "__main__":
    athlete, truth = _trial()
    bench_speed(truth, athlete)
    bench_blazepose(truth, athlete)
