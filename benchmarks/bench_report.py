"""Coach report speed: an athlete with 5 sessions x 4 trials (target: < 10 s per report).

Builds a SQLite database with generated trials (the report tests' generator: 3 reps, per-frame
series, a small video and 2D keypoints per trial for the still frame), then times, side by
side in one run: reading the data, the whole A4 report, the same on Letter, and a report with
stills disabled by removing the media (to show what the still frames cost).

    python benchmarks/bench_report.py [--sessions 5] [--trials 4] [--reps 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_reports_synth import SynthTrial, store  # noqa: E402

from liftlab.reports.data import load_report_data  # noqa: E402
from liftlab.reports.pdf import build_report  # noqa: E402
from liftlab.storage.db import open_database  # noqa: E402

TARGET_S = 10.0


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="liftlab-bench-report-"))
    try:
        db = open_database(f"sqlite:///{root / 'bench.db'}")
        patterns = [("none", "none", ()), ("transient", "transient", ()),
                    ("persistent", "red_flag", ("persistent",)),
                    ("transient", "red_flag", ("light_load",))]
        start = time.perf_counter()
        for s in range(args.sessions):
            specs = [SynthTrial(f"squat_{t + 1}", patterns[t % 4][0], 18 + 2 * t + s, 12 + t,
                                n_reps=args.reps, load_kg=80 + 15 * t,
                                reading=patterns[t % 4][1], reasons=patterns[t % 4][2])
                     for t in range(args.trials)]
            store(db, "Bench Athlete", specs, date=f"2026-{s + 6:02d}-15", session=f"s{s + 1}",
                  folder=root / f"s{s + 1}", media=True)
        setup_s = time.perf_counter() - start
        start = time.perf_counter()
        build_report(db, "Bench Athlete", out=root / "cold.pdf")
        cold_s = time.perf_counter() - start
        read_s, data = timed(lambda: load_report_data(db, "Bench Athlete"))
        a4_s, pdf = timed(lambda: build_report(db, "Bench Athlete", out=root / "a4.pdf"))
        letter_s, _ = timed(lambda: build_report(db, "Bench Athlete", out=root / "letter.pdf",
                                                 page="letter"))
        shutil.rmtree(root / f"s{args.sessions}" / "trials")
        no_still_s, _ = timed(lambda: build_report(db, "Bench Athlete", out=root / "ns.pdf"))
        import pypdf

        pages = len(pypdf.PdfReader(pdf).pages)
        rows = [("first report, 1 run (imports, fonts)", cold_s),
                ("read data (DB -> ReportData)", read_s), ("report A4 (with stills)", a4_s),
                ("report Letter (with stills)", letter_s), ("report A4, videos missing", no_still_s)]
        print(f"athlete: {args.sessions} sessions x {args.trials} trials x {args.reps} reps; "
              f"report of the newest session: {pages} pages, {pdf.stat().st_size / 1e3:.0f} kB; "
              f"database setup {setup_s:.1f} s")
        print("(best of 3 runs unless marked)")
        print(f"{'step':38s} {'seconds':>14s} {'/ target 10 s':>14s} {'/ A4 report':>12s}")
        for name, seconds in rows:
            print(f"{name:38s} {seconds:14.2f} {seconds / TARGET_S:14.2f} {seconds / a4_s:12.2f}")
        ok = max(cold_s, a4_s, letter_s) < TARGET_S
        print("PASS" if ok else "FAIL", "(target < 10 s)")
        db.dispose()
        del data
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
