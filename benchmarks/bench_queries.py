"""Query speed of the session database at lab scale, SQLite and PostgreSQL side by side.

Synthetic rows: 1,000 athletes x 20 sessions x 5 trials x 5 reps (500,000 reps), plus 8
strength tests per athlete, bulk-inserted with Core ``insert`` executemany, then ``ANALYZE``.
Each common query (liftlab.storage.queries) is run ``--repeat`` times; the table gives the
median wall time in ms (including building the DataFrame), the rows returned and the ratio to
the 100 ms target.

    python benchmarks/bench_queries.py                       # SQLite only
    python benchmarks/bench_queries.py --pg postgresql://liftlab:liftlab@127.0.0.1:5432/liftlab
    LIFTLAB_TEST_PG_URL=... python benchmarks/bench_queries.py --athletes 200   # smaller

The PostgreSQL run uses a fresh schema in the given database and drops it at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from liftlab.storage import queries
from liftlab.storage.db import Database, open_database
from liftlab.storage.models import (
    SIDE_METRICS,
    Athlete,
    LabSession,
    Rep,
    StrengthTest,
    Trial,
)

TARGET_MS = 100.0
CHUNK = 20_000
READINGS = np.array(["none", "transient", "red_flag"])
POSITIONS = ["seated", "supine", "standing", "prone"]


def _insert(conn: sa.Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(sa.insert(table), rows[start:start + CHUNK])


def populate(db: Database, *, n_athletes: int, n_sessions: int, n_trials: int, n_reps: int,
             seed: int = 0) -> dict[str, float]:
    """Bulk-insert the synthetic rows; returns seconds per table."""
    rng = np.random.default_rng(seed)
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    timings: dict[str, float] = {}
    with db.engine.begin() as conn:
        t0 = time.perf_counter()
        _insert(conn, Athlete, [{"id": a + 1, "name": f"athlete_{a:05d}", "created_at": now}
                                for a in range(n_athletes)])
        sessions, trials = [], []
        for a in range(n_athletes):
            for s in range(n_sessions):
                sid = a * n_sessions + s + 1
                date = today - dt.timedelta(days=(n_sessions - s) * 20 - a % 20)
                sessions.append({"id": sid, "athlete_id": a + 1, "date": date,
                                 "name": f"{date}_s{s}", "folder_path": f"/lab/{a}/{s}",
                                 "created_at": now})
                uncalibrated = rng.random() < 0.05
                for t in range(n_trials):
                    load = 60.0 + 10.0 * t
                    trials.append({
                        "id": (sid - 1) * n_trials + t + 1, "session_id": sid,
                        "name": f"squat_{int(load)}kg", "exercise": "squat", "load_kg": load,
                        "one_rm_kg": 120.0, "percent_1rm": 100 * load / 120.0,
                        "alignment_source": "assumed" if uncalibrated and t == 0
                        else "calibration",
                        "alignment_left_deg": 12.0, "alignment_right_deg": 15.0,
                        "n_reps": n_reps, "reading": "none", "processed_at": now})
        _insert(conn, LabSession, sessions)
        timings["sessions"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        _insert(conn, Trial, trials)
        timings["trials"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        n_total = len(trials) * n_reps
        for start in range(0, n_total, CHUNK):
            idx = np.arange(start, min(start + CHUNK, n_total))
            values = rng.normal(10.0, 8.0, size=(len(idx), 2 * len(SIDE_METRICS)))
            readings = READINGS[np.searchsorted([0.80, 0.95], rng.random(len(idx)))]
            rows = []
            for k, i in enumerate(idx):
                row = {"id": int(i) + 1, "trial_id": int(i) // n_reps + 1,
                       "rep_index": int(i) % n_reps + 1, "start_s": 2.0 * (i % n_reps),
                       "bottom_s": 2.0 * (i % n_reps) + 0.8, "end_s": 2.0 * (i % n_reps) + 1.6,
                       "reading": str(readings[k]), "reasons": [], "left_reading": "none",
                       "right_reading": "none"}
                for j, name in enumerate(SIDE_METRICS):
                    row[f"left_{name}"] = float(values[k, j])
                    row[f"right_{name}"] = float(values[k, len(SIDE_METRICS) + j])
                rows.append(row)
            conn.execute(sa.insert(Rep), rows)
        timings["reps"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        strength = [{"athlete_id": a + 1, "date": today, "muscle_group": m, "side": side,
                     "position": p, "value": float(rng.uniform(150, 350)), "unit": "N",
                     "created_at": now}
                    for a in range(n_athletes) for m in ("quadriceps",) for side in
                    ("left", "right") for p in POSITIONS]
        _insert(conn, StrengthTest, strength)
        timings["strength_tests"] = time.perf_counter() - t0
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return timings


def time_queries(db: Database, *, n_athletes: int, repeat: int) -> list[tuple[str, float, int]]:
    rng = np.random.default_rng(1)
    names = [f"athlete_{a:05d}" for a in rng.integers(0, n_athletes, size=repeat)]
    cases: list[tuple[str, Callable[[str], Any]]] = [
        ("athlete_reps(athlete)", lambda n: queries.athlete_reps(db, n)),
        ("red_flags(last month)", lambda n: queries.red_flags(db)),
        ("red_flags(last month, athlete)", lambda n: queries.red_flags(db, athlete=n)),
        ("load_vs_peak(athlete)", lambda n: queries.load_vs_peak(db, n)),
        ("asymmetry(athlete)", lambda n: queries.asymmetry(db, n)),
        ("sessions_without_alignment()", lambda n: queries.sessions_without_alignment(db)),
        ("strength_by_position(athlete)", lambda n: queries.strength_by_position(db, n)),
        ("trials_table(athlete)", lambda n: queries.trials_table(db, n)),
    ]
    results = []
    for label, fn in cases:
        fn(names[0])  # warm-up (connection pool, statement cache)
        times, rows = [], 0
        for name in names:
            t0 = time.perf_counter()
            rows = len(fn(name))
            times.append(1000 * (time.perf_counter() - t0))
        results.append((label, statistics.median(times), rows))
    return results


def run(url: str, args: argparse.Namespace) -> tuple[dict[str, float], list[tuple[str, float, int]]]:
    db = open_database(url)
    try:
        load = populate(db, n_athletes=args.athletes, n_sessions=args.sessions,
                        n_trials=args.trials, n_reps=args.reps)
        return load, time_queries(db, n_athletes=args.athletes, repeat=args.repeat)
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--athletes", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pg", default=os.environ.get("LIFTLAB_TEST_PG_URL"),
                        help="PostgreSQL URL (default: $LIFTLAB_TEST_PG_URL); omitted = SQLite only")
    args = parser.parse_args(argv)
    n_reps = args.athletes * args.sessions * args.trials * args.reps
    print(f"{args.athletes} athletes x {args.sessions} sessions x {args.trials} trials x "
          f"{args.reps} reps = {n_reps:,} reps; median of {args.repeat} runs")
    results: dict[str, tuple[dict[str, float], list[tuple[str, float, int]]]] = {}
    with tempfile.TemporaryDirectory(prefix="liftlab-bench-") as tmp:
        results["sqlite"] = run(f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.pg:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin_url = sa.make_url(args.pg)
        if admin_url.drivername == "postgresql":
            admin_url = admin_url.set(drivername="postgresql+psycopg")
        admin = sa.create_engine(admin_url)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            url = admin_url.update_query_dict({"options": f"-csearch_path={schema}"})
            results["postgresql"] = run(url.render_as_string(hide_password=False), args)
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()
    backends = list(results)
    print("\nbulk load (s): " + "; ".join(
        f"{b}: " + ", ".join(f"{k} {v:.1f}" for k, v in results[b][0].items()) for b in backends))
    head = f"{'query':34s}" + "".join(f"{b + ' ms':>16s}{'rows':>8s}{'/100ms':>8s}"
                                      for b in backends)
    print("\n" + head + "\n" + "-" * len(head))
    worst = 0.0
    for i, (label, _, _) in enumerate(results[backends[0]][1]):
        line = f"{label:34s}"
        for b in backends:
            _, ms, rows = results[b][1][i]
            worst = max(worst, ms)
            line += f"{ms:16.1f}{rows:8d}{ms / TARGET_MS:8.2f}"
        print(line)
    print(f"\nslowest query: {worst:.1f} ms (target < {TARGET_MS:.0f} ms): "
          + ("OK" if worst < TARGET_MS else "OVER TARGET"))
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / "
          f"{load[2]:.1f} (1/5/15 min): timings scale with load on a shared machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
