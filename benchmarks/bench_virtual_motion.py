"""Speed of the virtual lab's motion model (``simulate_motion``), side by side in one run.

Cases: a 60 s squat set at 30 and 60 fps with hinge knees only (pattern ``none``) and with a
mix of valgus patterns (each knee then solved to its prescribed medial shift), a knee-curl
calibration trial, and the truth series alone. Prints wall seconds (best of ``--repeat``),
frames per second of simulation, and how much faster than real time it runs; the ratio
column compares each case with the hinge-only 60 fps one.

    python benchmarks/bench_virtual_motion.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from liftlab.capture.virtual.body import random_athlete
from liftlab.capture.virtual.motion import RepSpec, TrialSpec, knee_curl_spec, simulate_motion
from liftlab.capture.virtual.segments import truth_series

MIX = ("none", "transient", "persistent", "uncontrolled", "heel_lift")


def squat_minute(patterns: tuple[str, ...], fps: float) -> TrialSpec:
    reps = tuple(RepSpec(pattern=patterns[i % len(patterns)]) for i in range(20))
    return TrialSpec(reps=reps, fps=fps, between_reps_s=0.3, stand_before_s=1.0,
                     stand_after_s=1.0)


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    athlete = random_athlete(1)
    cases = {
        "squat hinge 30 fps": squat_minute(("none",), 30.0),
        "squat hinge 60 fps": squat_minute(("none",), 60.0),
        "squat mixed 30 fps": squat_minute(MIX, 30.0),
        "squat mixed 60 fps": squat_minute(MIX, 60.0),
        "knee curl 60 fps": knee_curl_spec(fps=60.0),
    }
    rows = []
    for name, spec in cases.items():
        truth = simulate_motion(athlete, spec)
        wall = best_of(args.repeat, lambda spec=spec: simulate_motion(athlete, spec))
        rows.append((name, truth.n_frames, truth.n_frames / spec.fps, wall))
    truth = simulate_motion(athlete, cases["squat mixed 60 fps"])
    wall = best_of(args.repeat, lambda: truth_series(truth.landmarks_mm, truth.alignment_deg))
    rows.append(("truth series only, 60 fps", truth.n_frames, truth.n_frames / truth.fps, wall))
    reference = rows[1][3]
    print(f"{'case':<28}{'frames':>8}{'trial s':>9}{'wall s':>9}{'frames/s':>11}"
          f"{'x realtime':>12}{'ratio':>8}")
    for name, frames, seconds, wall in rows:
        print(f"{name:<28}{frames:>8d}{seconds:>9.1f}{wall:>9.3f}{frames / wall:>11.0f}"
              f"{seconds / wall:>12.0f}{wall / reference:>8.2f}")


if __name__ == "__main__":
    main()
