"""Queries, strength patterns, export and the query/export/strength commands, on a small
generated database whose answers are known by construction."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from test_storage_fixtures import make_series, make_trajectory, save_example, session_info

from liftlab.cli import main
from liftlab.core.errors import InputError
from liftlab.storage import queries
from liftlab.storage.inputs import StrengthMeasurement, TrialInfo
from liftlab.storage.repository import save_strength_test, save_trial_result
from liftlab.storage.strength import classify_strength, strength_pattern

pytest_plugins = ["test_storage_fixtures"]  # fixtures db_url, db (SQLite + PostgreSQL)

TODAY = dt.date.today()
OLD = (TODAY - dt.timedelta(days=60)).isoformat()
RECENT = (TODAY - dt.timedelta(days=5)).isoformat()


@pytest.fixture
def filled(db):
    """A: old session (red_flag, none) at 80 kg plus a knee_curl trial; recent session: 100 kg (none, transient,
    red_flag) calibrated and 120 kg (red_flag) with an assumed alignment. B: recent, one
    red_flag rep, estimated alignment. Left medial shift 10 + i, right 4 + i (rep i)."""
    save_example(db, athlete="A", date=OLD, trial="t80", readings=("red_flag", "none"),
                 load_kg=80.0)
    save_example(db, athlete="A", date=RECENT, trial="t100",
                 readings=("none", "transient", "red_flag"), load_kg=100.0)
    save_example(db, athlete="A", date=RECENT, trial="t120", readings=("red_flag",),
                 load_kg=120.0, source="assumed")
    save_example(db, athlete="B", date=RECENT, trial="t60", readings=("red_flag",),
                 load_kg=60.0, source="estimated")
    # a knee_curl (alignment) trial has no alignment source of its own: never listed
    save_trial_result(db, session_info=session_info("A", OLD, f"{OLD}_A"),
                      trial_info=TrialInfo("knee_curl", exercise="knee_curl"))
    return db


def test_athlete_reps_across_sessions(filled) -> None:
    reps = queries.athlete_reps(filled, "A")
    assert len(reps) == 6
    assert list(reps["trial"]) == ["t80", "t80", "t100", "t100", "t100", "t120"]
    assert reps["session_date"].iloc[0] == dt.date.fromisoformat(OLD)
    np.testing.assert_allclose(reps["left_medial_knee_shift_peak_mm"], 10 + reps["rep"])
    assert reps.loc[reps.trial == "t100", "reasons"].tolist() == [
        "", "rule transient rep 2", "rule red_flag rep 3"]


def test_unknown_athlete_lists_known_names(filled) -> None:
    with pytest.raises(InputError, match=r"No athlete named 'C'.*known athletes: A, B"):
        queries.athlete_reps(filled, "C")


@pytest.mark.parametrize(("since", "athlete", "expected"), [
    (None, None, 3),            # last 30 days: A t100 rep 3, A t120 rep 1, B t60 rep 1
    ("last_month", "A", 2),
    (OLD, None, 4),             # includes A's old session
    (TODAY.isoformat(), None, 0),
])
def test_red_flags_since(filled, since, athlete, expected) -> None:
    flags = queries.red_flags(filled, since, athlete=athlete)
    assert len(flags) == expected


def test_bad_since_date(filled) -> None:
    with pytest.raises(InputError, match="--since as YYYY-MM-DD"):
        queries.red_flags(filled, "yesterday")


def test_load_vs_peak(filled) -> None:
    table = queries.load_vs_peak(filled, "A")
    np.testing.assert_allclose(table["peak_medial_knee_shift_mm"], 10 + table["rep"])
    # knee_over_foot is SIDE_METRICS[1]: base + 1
    np.testing.assert_allclose(table["peak_knee_over_foot_mm"], 11 + table["rep"])
    np.testing.assert_allclose(table["percent_1rm"], 100 * table["load_kg"] / 125.0)
    assert len(queries.load_vs_peak(filled)) == 7


def test_asymmetry_is_left_minus_right(filled) -> None:
    table = queries.asymmetry(filled)
    for metric in queries.ASYMMETRY_METRICS:
        np.testing.assert_allclose(table[f"lr_diff_{metric}"], 6.0)


def test_sessions_without_alignment(filled) -> None:
    table = queries.sessions_without_alignment(filled)
    assert list(table["athlete"]) == ["A", "B"]
    assert list(table["alignment_sources"]) == ["assumed", "estimated"]
    assert list(table["trials"]) == ["t120", "t60"]


def _tests(rows: list[tuple[str, str, str, float]], date: str = "2026-11-01") -> pd.DataFrame:
    return pd.DataFrame([{"date": date, "muscle_group": m, "side": s, "position": p,
                          "value": v, "unit": "N"} for m, s, p, v in rows])


QUAD = [("quadriceps", "left", "seated", 250.0), ("quadriceps", "right", "seated", 320.0),
        ("quadriceps", "left", "supine", 300.0), ("quadriceps", "right", "supine", 310.0)]
HAMS = [("hamstrings", "left", "seated", 150.0), ("hamstrings", "right", "seated", 200.0),
        ("hamstrings", "left", "prone", 150.0), ("hamstrings", "right", "prone", 200.0)]
ABD = [("hip_abductors", "left", "standing", 80.0), ("hip_abductors", "left", "side_lying", 100.0)]
ADD = [("hip_adductors", "left", "seated", 90.0)]


@pytest.mark.parametrize(("rows", "threshold", "expected"), [
    (QUAD, 15.0, {"left": "position-dependent deficit", "right": "no deficit"}),
    (QUAD, 25.0, {"left": "no deficit", "right": "no deficit"}),  # 21.9 % < 25 %
    (HAMS, 15.0, {"left": "deficit in all positions", "right": "no deficit"}),
    (ABD, 15.0, {"left": "position-dependent deficit"}),   # one side: 80/100 = 0.8
    (ABD, 25.0, {"left": "no deficit"}),
    (ADD, 15.0, {"left": "insufficient data"}),
])
def test_strength_pattern_rule(rows, threshold, expected) -> None:
    table = classify_strength(_tests(rows), deficit_threshold_pct=threshold)
    assert dict(zip(table["side"], table["pattern"], strict=True)) == expected


def test_strength_numbers_and_latest_date() -> None:
    old = _tests([("quadriceps", "left", "seated", 100.0)], date="2025-01-01")
    table = classify_strength(pd.concat([old, _tests(QUAD)]))
    left = table[table.side == "left"].iloc[0]
    assert left["lr_deficit_upright_pct"] == pytest.approx(100 * 70 / 320)
    assert left["lr_deficit_lying_pct"] == pytest.approx(100 * 10 / 310)
    assert left["upright_to_lying_ratio"] == pytest.approx(250 / 300)
    assert left["basis"] == "left-right"


@pytest.mark.parametrize("threshold", [0.0, 100.0, -5.0])
def test_strength_threshold_bounds(threshold) -> None:
    with pytest.raises(InputError, match="deficit_threshold_pct must lie in"):
        classify_strength(_tests(QUAD), deficit_threshold_pct=threshold)


def test_strength_pattern_from_the_database(db) -> None:
    for muscle, side, position, value in QUAD:
        save_strength_test(db, StrengthMeasurement(athlete="A", muscle_group=muscle, side=side,
                                                   position=position, value=value, unit="N",
                                                   date="2026-11-01"))
    assert len(queries.strength_by_position(db, "A")) == 4
    table = strength_pattern(db, "A")
    assert table.set_index("side").loc["left", "pattern"] == "position-dependent deficit"


def test_export_csv_and_parquet(filled, tmp_path) -> None:
    from liftlab.storage.export import export_tables

    for fmt in ("csv", "parquet"):
        paths = export_tables(filled, tmp_path / fmt, fmt=fmt)
        names = {p.stem for p in paths}
        assert names == {"sessions", "trials", "reps", "series", "strength_tests"}
        read = pd.read_csv if fmt == "csv" else pd.read_parquet
        assert len(read(tmp_path / fmt / f"reps.{fmt}")) == 7
        series = read(tmp_path / fmt / f"series.{fmt}")
        assert len(series) == 4 * len(make_series())
        assert list(series.columns[:5]) == ["athlete", "session_date", "session", "trial",
                                            "time_s"]
    only_b = export_tables(filled, tmp_path / "b", fmt="csv", athlete="B")
    assert len(pd.read_csv([p for p in only_b if p.stem == "reps"][0])) == 1


def test_export_trc_one_file_per_trial(filled, tmp_path) -> None:
    from liftlab.reconstruction.trc import read_trc
    from liftlab.storage.export import export_trc

    paths = export_trc(filled, tmp_path, athlete="A")
    assert sorted(p.name for p in paths) == sorted(
        f"A__{d}__{d}_A__{t}.trc" for d, t in ((OLD, "t80"), (RECENT, "t100"), (RECENT, "t120")))
    back = read_trc(paths[0])
    np.testing.assert_allclose(back.points_mm, make_trajectory().points_mm)


def test_cli_query_export_strength(filled, db_url, tmp_path, capsys) -> None:
    assert main(["query", "red-flags", "--db", db_url, "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(table) == 3 and set(table["athlete"]) == {"A", "B"}
    assert main(["query", "reps", "--athlete", "A", "--db", db_url]) == 0
    assert "t100" in capsys.readouterr().out
    assert main(["query", "reps", "--db", db_url]) == 2
    assert "needs --athlete" in capsys.readouterr().err
    for what in ("load", "asymmetry", "alignment", "trials"):
        assert main(["query", what, "--db", db_url]) == 0
    capsys.readouterr()
    for muscle, side, position, value in QUAD:
        assert main(["strength", "add", "--athlete", "A", "--muscle", muscle, "--side", side,
                     "--position", position, "--value", str(value), "--unit", "N",
                     "--date", "2026-11-01", "--session", RECENT, "--db", db_url]) == 0
    assert main(["strength", "pattern", "--athlete", "A", "--db", db_url, "--format",
                 "csv"]) == 0
    out = capsys.readouterr().out
    assert "position-dependent deficit" in out
    assert main(["export", "--db", db_url, "--format", "csv", "--out",
                 str(tmp_path / "x")]) == 0
    assert (tmp_path / "x" / "strength_tests.csv").is_file()
