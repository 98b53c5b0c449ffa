"""2D pose speed on this machine: frames/s per camera and where the time goes.

For each video: (1) liftlab's MediaPipePose.detect (streaming; decode + RGB conversion in a
reader thread, inference, landmark conversion), and (2) MediaPipe's own inference alone on
the same frames, decoded beforehand into memory. The ratio (1)/(2) is the 2D stage's
overhead (target <= 1.10).

    python benchmarks/bench_pose2d.py [VIDEO ...]   (default: the shared demo videos)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "shared" / "data" / "pose2sim-demo-single"


def mediapipe_only(path: Path) -> tuple[int, float]:
    import cv2
    import mediapipe as mp

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                                smooth_landmarks=True) as pose:
        t0 = time.perf_counter()
        for rgb in frames:
            pose.process(rgb)
        return len(frames), time.perf_counter() - t0


def main(paths: list[Path]) -> None:
    from liftlab.reconstruction.pose2d import MediaPipePose

    backend = MediaPipePose()
    print(f"{'video':12s} {'frames':>6s} {'stage s':>8s} {'fps':>6s} {'infer s':>8s} "
          f"{'conv s':>7s} {'decode(thread) s':>16s} {'decode wait s':>13s} "
          f"{'mp-only s':>9s} {'stage/mp-only':>13s}")
    for path in paths:
        kp = backend.detect(path, camera=path.stem)
        t = kp.source["timing_s"]
        n, t_mp = mediapipe_only(path)
        print(f"{path.stem:12s} {kp.n_frames:6d} {t['total']:8.2f} {kp.n_frames / t['total']:6.1f} "
              f"{t['inference']:8.2f} {t['conversion']:7.3f} {t['decode_thread']:16.2f} "
              f"{t['decode_wait']:13.3f} {t_mp:9.2f} {t['total'] / t_mp:13.2f}")


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] or sorted((DEMO / "videos").glob("*.mp4"))
    main(args)
