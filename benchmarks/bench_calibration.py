"""Benchmark: 4-camera ChArUco calibration of a virtual-lab rig (default 60 s at 30 fps).

Run ``python benchmarks/bench_calibration.py [--seconds 60] [--size 640x480] [--keep DIR]``.
Prints the time of each stage measured in one run (rendering is excluded from the ratios)
and the accuracy against the virtual lab's truth.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from liftlab.calibration.boards import Board
from liftlab.calibration.calibrate import CalibrationSettings, aligned_views, calibrate_rig
from liftlab.calibration.labframe import apply_lab_frame, floor_images, lab_frame_from_floor
from liftlab.calibration.pipeline import detect_session
from liftlab.calibration.refine import refine_rig
from liftlab.capture.session import Session, SessionConfig, create_session
from liftlab.capture.virtual.board import VIRTUAL_BOARD, write_board_videos
from liftlab.capture.virtual.cameras import make_rig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--keep", type=Path, default=None, help="reuse / keep the session here")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    root = args.keep or Path(tempfile.mkdtemp()) / "session"
    t = {}
    if not (root / "session.toml").is_file():
        truth = make_rig(4, size=size, seed=1)
        create_session(root, SessionConfig(athlete="Bench", date="2026-01-01",
                                           cameras=tuple(truth.names), fps=args.fps,
                                           board=VIRTUAL_BOARD))
        t0 = time.perf_counter()
        write_board_videos(VIRTUAL_BOARD, truth, root / "calibration", fps=args.fps,
                           n_frames=int(args.seconds * args.fps))
        t["render (not calibration)"] = time.perf_counter() - t0
        truth.save(root / "truth" / "rig.toml")
    from liftlab.core.cameras import Rig

    truth = Rig.load(root / "truth" / "rig.toml")
    session = Session.open(root)
    board = Board(session.config.board)
    settings = CalibrationSettings(refine=False)
    t0 = time.perf_counter()
    dets, _ = detect_session(session, list(session.config.cameras), board, settings)
    t["detection"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rig0, _ = calibrate_rig(dets, board, settings=settings)
    t["intrinsics + aniposelib bundle adjustment"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rig1 = refine_rig(rig0, aligned_views(dets)[1], board)
    t["liftlab board bundle adjustment"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    frame = lab_frame_from_floor(rig1, floor_images(session.calibration_dir, rig1.names), board)
    rig = apply_lab_frame(rig1, frame)
    t["lab frame"] = time.perf_counter() - t0
    total = sum(v for k, v in t.items() if not k.startswith("render"))
    print(f"virtual rig: 4 cameras {size[0]}x{size[1]}, {args.seconds:g} s at {args.fps:g} fps, "
          f"views with the board per camera: {[d.n_views for d in dets]}")
    print(f"{'stage':<45}{'seconds':>9}{'share':>8}")
    for k, v in t.items():
        share = "" if k.startswith("render") else f"{v / total:8.0%}"
        print(f"{k:<45}{v:9.1f}{share}")
    print(f"{'calibration total':<45}{total:9.1f}")
    print(f"{'camera':<8}{'centre err mm':>15}{'rot err deg':>13}{'focal err %':>13}")
    for cam in truth.cameras:
        e = rig[cam.name]
        ang = np.degrees(np.linalg.norm(cv2.Rodrigues(e.R @ cam.R.T)[0]))
        print(f"{cam.name:<8}{np.linalg.norm(e.center_mm - cam.center_mm):15.2f}{ang:13.3f}"
              f"{100 * (e.matrix[0, 0] / cam.matrix[0, 0] - 1):13.3f}")


if __name__ == "__main__":
    main()
