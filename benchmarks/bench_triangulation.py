"""Triangulation speed and accuracy, liftlab vs aniposelib, measured side by side in one run.

Synthetic 4-camera rig, squat motion, 2 px noise, 10 % wrong points (50-300 px), 5 % mirrored
view-frames. Times include undistortion for both (aniposelib undistorts itself).
The second table times the whole ``reconstruct_trial`` on a 100-frame 4-camera trial with
and without the segment-length refinement (target: well under the 2D stage, < 2 s).

    python benchmarks/bench_triangulation.py [--frames 600] [--ransac-points 300]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from liftlab.core.landmarks import LANDMARKS
from liftlab.reconstruction import synthetic as S
from liftlab.reconstruction.triangulation import triangulate_dlt, triangulate_robust


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--ransac-points", type=int, default=300)
    args = ap.parse_args()
    rig = S.ring_rig(args.cameras)
    truth = S.squat_motion(args.frames)
    kps, _ = S.corrupt(S.project_keypoints(rig, truth, noise_px=2.0), seed=1)
    raw = np.stack([kps[c].points_px for c in rig.names]).reshape(len(rig), -1, 2)
    conf = np.stack([kps[c].confidence for c in rig.names]).reshape(len(rig), -1)
    t_mm = truth.reshape(-1, 3)
    n = raw.shape[1]
    group = rig.to_aniposelib()
    group.triangulate(raw[:, :10], undistort=True)  # JAX warm-up (compilation)

    def ours(robust: bool, sl=slice(None)):
        und = np.stack([c.undistort_px(raw[i, sl]) for i, c in enumerate(rig.cameras)])
        if robust:
            return triangulate_robust(rig, und, conf[:, sl], threshold_px=15.0).points_mm
        return triangulate_dlt(rig, und, conf[:, sl]).points_mm

    rows = []
    t, x = best_of(lambda: ours(True))
    rows.append(("liftlab triangulate_robust", n, t, x, t_mm))
    t, x = best_of(lambda: ours(False))
    rows.append(("liftlab triangulate_dlt (weighted)", n, t, x, t_mm))
    t, x = best_of(lambda: group.triangulate(raw, undistort=True))
    rows.append(("aniposelib triangulate (DLT)", n, t, x, t_mm))
    m = min(args.ransac_points, n)
    t, x = best_of(lambda: group.triangulate_ransac(raw[:, :m], undistort=True)[0], repeats=1)
    rows.append((f"aniposelib triangulate_ransac ({m} pts)", m, t, x, t_mm[:m]))
    t, x = best_of(lambda: ours(True, slice(0, m)))
    rows.append((f"liftlab triangulate_robust ({m} pts)", m, t, x, t_mm[:m]))
    print(f"{args.cameras} cameras, {args.frames} frames x 33 landmarks = {n} points")
    print(f"{'method':44s} {'points':>7s} {'seconds':>8s} {'points/s':>10s} "
          f"{'mean err mm':>11s} {'median mm':>9s}")
    rate = {}
    for name, npts, t, x, truth_pts in rows:
        e = np.linalg.norm(x - truth_pts, axis=-1)
        rate[name] = npts / t
        print(f"{name:44s} {npts:7d} {t:8.3f} {npts / t:10.0f} {np.nanmean(e):11.2f} "
              f"{np.nanmedian(e):9.2f}")
    r = rate["liftlab triangulate_robust"]
    print(f"robust / aniposelib ransac points/s: "
          f"{r / rate[f'aniposelib triangulate_ransac ({m} pts)']:.0f}x (target >= 100x)")
    print(f"robust / aniposelib DLT points/s:    "
          f"{r / rate['aniposelib triangulate (DLT)']:.2f}x (target >= 0.5x)")
    pipeline_table()


def pipeline_table() -> None:
    """reconstruct_trial with the segment-length refinement off and on (100 frames, 4 cams)."""
    import logging

    from liftlab.reconstruction.pipeline import ReconstructionSettings, reconstruct_trial
    from liftlab.reconstruction.segments import refine_segments

    logging.disable(logging.WARNING)
    rig = S.ring_rig(4)
    truth = S.squat_motion(100)
    kps, _ = S.corrupt(S.project_keypoints(rig, truth, noise_px=2.0), seed=1)
    print(f"\n{'reconstruct_trial, 100 frames x 4 cameras':44s} {'seconds':>8s} "
          f"{'legs err mm':>11s}")
    legs = [i for i, name in enumerate(LANDMARKS)
            if any(j in name for j in ("hip", "knee", "ankle"))]
    for w in (0.0, 1.0):
        settings = ReconstructionSettings(bone_length_weight=w)
        t, res = best_of(lambda s=settings: reconstruct_trial(kps, rig, settings=s), repeats=5)
        e = np.linalg.norm(res.trajectory.points_mm - truth, axis=-1)[:, legs]
        print(f"{f'bone_length_weight={w:g}':44s} {t:8.3f} {np.nanmean(e):11.2f}")
    px = np.stack([c.undistort_px(kps[c.name].points_px) for c in rig.cameras])
    w2d = np.stack([kps[c.name].confidence for c in rig.cameras])
    t, _ = best_of(lambda: refine_segments(truth, rig, px, w2d), repeats=5)
    print(f"{'refine_segments alone (2 legs x 100 frames)':44s} {t:8.3f}")


if __name__ == "__main__":
    main()
