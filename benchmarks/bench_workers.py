"""Ray scaling and overhead of `liftlab process`, measured side by side in one run.

A rendered virtual session (3 squat trials x 4 cameras, MediaPipe 2D: the real workload) is
processed three ways: inline (no Ray), Ray with 1 CPU, Ray with 2 CPUs. Prints wall times,
the 2-vs-1 worker speed-up and Ray's overhead vs inline.

    python benchmarks/bench_workers.py [--reps 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from liftlab.capture.virtual.scene import simulate_session
from liftlab.core.cameras import Rig
from liftlab.workers.pipeline import process_session


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--keep", type=Path, default=None, help="reuse/keep the session here")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="liftlab-bench-workers-"))
    session = base / "session"
    if not (session / "session.toml").is_file():
        print(f"rendering a virtual session into {session} ...")
        simulate_session(session, cameras=4, patterns=("none", "transient", "persistent"),
                         reps=args.reps, knee_curl=False, progress=False, seed=11)
        # calibrate with the true rig: this benchmark measures processing, not calibration
        Rig.load(session / "truth" / "rig.toml").save(session / "calibration" / "calibration.toml")
    rows = []
    for label, address, cpus in (("inline (no Ray)", "inline", None), ("Ray, 1 CPU", None, 1),
                                 ("Ray, 2 CPUs", None, 2)):
        db = base / f"bench-{cpus or 'inline'}.db"
        if db.exists():
            db.unlink()
        t0 = time.perf_counter()
        report = process_session(session, db_url=f"sqlite:///{db}", ray_address=address,
                                 num_cpus=cpus, progress=False)
        wall = time.perf_counter() - t0
        if not report.ok:
            raise SystemExit(f"{label}: processing failed: {report.failures} {report.refused}")
        t = report.timings_s
        rows.append((label, wall, t["pose2d"], wall - t.get("ray_start", 0.0)))
    print(f"\nmachine: {os.cpu_count()} CPUs; session: 3 trials x 4 cameras, {args.reps} rep(s)")
    print(f"{'mode':<18} {'wall s':>8} {'2D stage s':>11} {'wall - Ray start s':>19}")
    for label, wall, pose, net in rows:
        print(f"{label:<18} {wall:>8.1f} {pose:>11.1f} {net:>19.1f}")
    (_, inline, _, inline_net), (_, one, pose1, one_net), (_, two, pose2, two_net) = rows
    print(f"\nspeed-up 2 vs 1 Ray worker: wall {one / two:.2f}x, without Ray start "
          f"{one_net / two_net:.2f}x, 2D stage {pose1 / pose2:.2f}x (target >= 1.7x)")
    print(f"Ray overhead vs inline (1 CPU): wall {100 * (one - inline) / inline:+.1f} %, "
          f"without Ray start {100 * (one_net - inline_net) / inline_net:+.1f} %")
    if args.keep is None:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
