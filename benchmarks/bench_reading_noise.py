"""How the valgus reading holds up under measurement noise (confusion tables).

The readings battery of tests/test_metrics_noise.py (all five patterns, loads 40-93 % 1RM,
pain, random athletes with alignment 0-25 deg, heading and stance varied; the knee-curl
calibration estimated from equally noisy data) under:

- exact: no noise;
- (a) 5 mm white noise per landmark, axis and frame (60 fps, and 30 fps);
- (b) 10 mm white noise + a slowly varying per-landmark bias (random walk low-passed below
  1 Hz, SD 10 mm, and 5 mm);
- (c) the 2D -> 3D pipeline: TruthDetector(noise_px=2) on 4 virtual cameras + reconstruct_trial
  (30 fps).

Each runs twice side by side: with liftlab's noise handling (packaged thresholds) and with it
switched off through settings (per-frame foot and hinge plane, no extra shift filter, no
standing baseline, no adaptive thresholds), so the table shows what the handling buys.

Run: ``python benchmarks/bench_reading_noise.py [--quick]`` (about 2 minutes; --quick: half).
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_metrics_noise import (  # noqa: E402
    Tally,
    battery,
    pipeline_battery,
    white,
    white_and_drift,
)

from liftlab.metrics.settings import load_thresholds  # noqa: E402


def handling_off():
    th = load_thresholds()
    return replace(
        th,
        filter=replace(th.filter, shift_cutoff_hz=50.0, plane_cutoff_hz=50.0, foot_cutoff_hz=50.0),
        noise=replace(th.noise, foot_tolerance_sd=0.0, foot_min_tolerance_mm=0.0,
                      present_noise_sd=0.0, prominence_noise_sd=0.0, baseline_noise_sd=0.0,
                      velocity_noise_sd=0.0, consistency_margin_sd=0.0,
                      subtract_standing_baseline=False))


def run(condition: str, th, seeds) -> Tally:
    tally = Tally()
    for seed in seeds:
        if condition == "exact":
            battery(None, seed=seed, tally=tally, thresholds=th)
        elif condition == "a: white 5 mm, 60 fps":
            battery(white(5.0), seed=seed, tally=tally, thresholds=th)
        elif condition == "a: white 5 mm, 30 fps":
            battery(white(5.0), seed=seed, fps=30.0, tally=tally, thresholds=th)
        elif condition == "b: white 10 + drift SD 10 mm":
            battery(white_and_drift(10.0, 10.0), seed=seed, tally=tally, thresholds=th)
        elif condition == "b: white 10 + drift SD 5 mm":
            battery(white_and_drift(10.0, 5.0), seed=seed, tally=tally, thresholds=th)
        elif condition == "c: pipeline, 2 px, 30 fps":
            with tempfile.TemporaryDirectory() as tmp:
                pipeline_battery(Path(tmp) / "session", noise_px=2.0, seed=seed + 3,
                                 tally=tally, thresholds=th)
    return tally


def main() -> None:
    quick = "--quick" in sys.argv
    seeds = (1, 2) if quick else (1, 2, 3, 4)
    conditions = ("exact", "a: white 5 mm, 60 fps", "a: white 5 mm, 30 fps",
                  "b: white 10 + drift SD 10 mm", "b: white 10 + drift SD 5 mm",
                  "c: pipeline, 2 px, 30 fps")
    configs = {"liftlab": load_thresholds(), "handling off": handling_off()}
    rows, tables = [], []
    for cond in conditions:
        for name, th in configs.items():
            t0 = time.perf_counter()
            tally = run(cond, th, seeds)
            rows.append((cond, name, tally, time.perf_counter() - t0))
            if name == "liftlab":
                tables.append((cond, tally))
    print(f"{'condition':<32} {'config':<13} {'reps':>5} {'match':>7} {'none->red':>10} "
          f"{'none->any':>10} {'reason miss':>12} {'rep count err':>14} {'s':>5}")
    for cond, name, t, dt in rows:
        none_any = t.count("none", "transient") + t.count("none", "red_flag")
        print(f"{cond:<32} {name:<13} {t.total:>5} {100 * t.accuracy:>6.1f}% "
              f"{t.count('none', 'red_flag'):>10} {none_any:>10} {t.missing_reason:>12} "
              f"{t.rep_count_errors:>14} {dt:>5.0f}")
    for cond, t in tables:
        print(f"\n{cond} (liftlab): rows expected, columns got")
        print(t.table())


if __name__ == "__main__":
    main()
