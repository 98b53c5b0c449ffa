"""Speed and accuracy of liftlab.metrics on the virtual lab.

1. Speed: ``analyze`` on a 10-minute 60 fps squat trial (36,000 frames), with and without the
   low-pass filters, next to the time to read the same trial back from an .npz.
2. Accuracy with 5 mm landmark noise + filtering: RMSE per series, and JCS knee abduction
   RMSE by knee-flexion band (where A' is reliable and where it is not).

Run: ``python benchmarks/bench_metrics.py``
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from liftlab.capture.virtual.body import random_athlete
from liftlab.capture.virtual.motion import RepSpec, TrialSpec, simulate_motion
from liftlab.core.containers import Trajectory3D
from liftlab.metrics.alignment import Alignment
from liftlab.metrics.analyze import analyze

PATTERNS = ("none", "transient", "persistent", "uncontrolled", "heel_lift")


def speed() -> None:
    athlete = random_athlete(1)
    reps = tuple(RepSpec(pattern=PATTERNS[i % 5], descent_s=1.5, ascent_s=1.2)
                 for i in range(160))
    spec = TrialSpec(reps=reps, fps=60, between_reps_s=0.95, stand_before_s=2, stand_after_s=2)
    truth = simulate_motion(athlete, spec, seed=1)
    traj = truth.trajectory()
    al = Alignment("calibration", truth.alignment_deg["left"], truth.alignment_deg["right"])
    minutes = traj.n_frames / traj.fps / 60
    with tempfile.TemporaryDirectory() as tmp:
        path = traj.save(Path(tmp) / "t.npz")
        t0 = time.perf_counter()
        Trajectory3D.load(path)
        t_load = time.perf_counter() - t0
    rows = []
    for label, lp in (("analyze, filtered", True), ("analyze, no filter", False)):
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            res = analyze(traj, alignment=al, lowpass_data=lp)
            best = min(best, time.perf_counter() - t0)
        rows.append((label, best, len(res.reps)))
    print(f"\n== speed: {traj.n_frames} frames ({minutes:.1f} min at {traj.fps:g} fps), best of 3")
    print(f"{'what':<22}{'seconds':>10}{'frames/s':>12}{'x npz load':>12}{'reps':>6}")
    print(f"{'npz load':<22}{t_load:>10.3f}{traj.n_frames / t_load:>12.0f}{1.0:>12.1f}{'':>6}")
    for label, sec, n in rows:
        print(f"{label:<22}{sec:>10.3f}{traj.n_frames / sec:>12.0f}{sec / t_load:>12.1f}{n:>6}")


def accuracy() -> None:
    series = ("knee_over_foot_mm", "medial_knee_shift_mm", "knee_flexion_deg",
              "hip_adduction_deg", "hip_flexion_deg", "shank_frontal_tilt_deg")
    errs: dict[str, list[np.ndarray]] = {s: [] for s in series}
    abd_err, flex = [], []
    for seed in range(4):
        athlete = random_athlete(20 + seed)
        spec = TrialSpec(reps=tuple(RepSpec(pattern=p) for p in PATTERNS), fps=60)
        truth = simulate_motion(athlete, spec, seed=seed)
        traj = truth.trajectory()
        noisy = traj.with_points(traj.points_mm + np.random.default_rng(seed).normal(
            0, 5.0, traj.points_mm.shape))
        al = Alignment("calibration", truth.alignment_deg["left"], truth.alignment_deg["right"])
        df = analyze(noisy, alignment=al).series_frame()
        for side in ("left", "right"):
            for s in series:
                d = df[f"{side}_{s}"].to_numpy() - truth.series[f"{side}_{s}"]
                errs[s].append(d[np.isfinite(d)])
            abd_err.append(df[f"{side}_knee_abduction_deg"].to_numpy()
                           - truth.series[f"{side}_knee_abduction_deg"])
            flex.append(truth.series[f"{side}_knee_flexion_deg"])
    print("\n== accuracy: 5 mm landmark noise, filtered, calibrated alignment (4 athletes)")
    print(f"{'series':<26}{'RMSE':>8}")
    for s in series:
        d = np.concatenate(errs[s])
        print(f"{s:<26}{np.sqrt(np.mean(d ** 2)):>8.2f}")
    abd, fl = np.concatenate(abd_err), np.concatenate(flex)
    print("\nJCS knee abduction RMSE (deg) by knee-flexion band")
    print(f"{'flexion band':<16}{'frames':>8}{'RMSE':>8}")
    for lo, hi in ((0, 20), (20, 45), (45, 70), (70, 110), (110, 150)):
        m = (fl >= lo) & (fl < hi) & np.isfinite(abd)
        if m.any():
            print(f"{f'{lo}-{hi} deg':<16}{m.sum():>8}{np.sqrt(np.mean(abd[m] ** 2)):>8.2f}")


if __name__ == "__main__":
    speed()
    accuracy()
