"""How the valgus reading degrades without the knee-curl calibration (a table for the docs).

For athletes whose true foot turn-out (alignment) is 0, 5, ... 25 deg on both sides, trials of
every pattern are read (a) uncalibrated (alignment assumed 0 deg) and (b) calibrated from a
simulated knee-curl trial. Printed: share of reps whose reading matches the expected one,
and the false-alarm share (reps expected ``none`` read as valgus), per alignment.

Run: ``python benchmarks/bench_alignment_degradation.py``
"""

from __future__ import annotations

import numpy as np

from liftlab.capture.virtual.body import random_athlete, with_alignment
from liftlab.capture.virtual.motion import RepSpec, TrialSpec, knee_curl_spec, simulate_motion
from liftlab.metrics.alignment import estimate_alignment
from liftlab.metrics.analyze import analyze

PATTERNS = ("none", "transient", "persistent", "uncontrolled", "heel_lift")


def main() -> None:
    print(f"{'alignment':>10}{'match uncal':>13}{'match cal':>11}{'false+ uncal':>14}"
          f"{'false+ cal':>12}{'peak shift none, uncal mm':>27}")
    for align in (0.0, 5.0, 10.0, 15.0, 20.0, 25.0):
        hits = {"uncal": 0, "cal": 0}
        false_pos = {"uncal": 0, "cal": 0}
        n = n_none = 0
        none_peaks = []
        for seed in range(3):
            athlete = with_alignment(random_athlete(200 + seed), align, align)
            curl = simulate_motion(athlete, knee_curl_spec(fps=60), seed=seed)
            cal = estimate_alignment(curl.trajectory())
            for pattern in PATTERNS:
                spec = TrialSpec(reps=(RepSpec(pattern=pattern),) * 2, fps=60)
                truth = simulate_motion(athlete, spec, seed=seed)
                runs = {"uncal": analyze(truth.trajectory()),
                        "cal": analyze(truth.trajectory(), alignment=cal)}
                for i, want in enumerate(truth.reps):
                    n += 1
                    n_none += want.expected_reading == "none"
                    for key, res in runs.items():
                        got = res.reps[i].reading if i < len(res.reps) else "missing"
                        hits[key] += got == want.expected_reading
                        false_pos[key] += want.expected_reading == "none" and got != "none"
                    if want.expected_reading == "none" and i < len(runs["uncal"].reps):
                        r = runs["uncal"].reps[i]
                        none_peaks.append(max(r.left.medial_knee_shift_peak_mm,
                                              r.right.medial_knee_shift_peak_mm))
        print(f"{align:>9.0f}°{100 * hits['uncal'] / n:>12.0f}%{100 * hits['cal'] / n:>10.0f}%"
              f"{100 * false_pos['uncal'] / n_none:>13.0f}%{100 * false_pos['cal'] / n_none:>11.0f}%"
              f"{np.mean(none_peaks):>27.1f}")


if __name__ == "__main__":
    main()
