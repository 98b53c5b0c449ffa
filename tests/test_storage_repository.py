"""Saving trial results: exact round trips, idempotency, atomicity, concurrency, bad input."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from test_storage_fixtures import (
    make_analysis,
    make_series,
    make_trajectory,
    row_counts,
    save_example,
    session_info,
)

from liftlab.core.errors import InputError
from liftlab.storage import repository
from liftlab.storage.db import open_database
from liftlab.storage.inputs import RunInfo, StrengthMeasurement, TrialInfo
from liftlab.storage.models import (
    SIDE_METRICS,
    LabSession,
    ProcessingRun,
    Rep,
    StrengthTest,
    Trial,
)
from liftlab.storage.repository import (
    find_trial_id,
    load_series,
    load_trajectory,
    record_failed_run,
    save_strength_test,
    save_trial_result,
)

pytest_plugins = ["test_storage_fixtures"]  # fixtures db_url, db (SQLite + PostgreSQL)


def test_trajectory_and_series_load_back_exactly(db) -> None:
    trial_id = save_example(db, seed=3)
    original = make_trajectory(seed=3)
    loaded = load_trajectory(db, trial_id)
    np.testing.assert_array_equal(loaded.points_mm, original.points_mm)  # NaN == NaN here
    np.testing.assert_array_equal(loaded.n_views, original.n_views)
    np.testing.assert_array_equal(loaded.reproj_error_px, original.reproj_error_px)
    np.testing.assert_array_equal(loaded.filled, original.filled)
    assert (loaded.fps, loaded.landmarks, loaded.start_time_s, loaded.provenance) == (
        original.fps, original.landmarks, original.start_time_s, original.provenance)
    pd.testing.assert_frame_equal(load_series(db, trial_id), make_series(seed=3))


def test_rep_columns_and_json_hold_the_analysis(db) -> None:
    trial_id = save_example(db, readings=("none", "red_flag"))
    analysis = make_analysis(["none", "red_flag"])
    with db.read() as s:
        reps = s.scalars(sa.select(Rep).where(Rep.trial_id == trial_id)
                         .order_by(Rep.rep_index)).all()
        trial = s.get(Trial, trial_id)
    assert [r.reading for r in reps] == ["none", "red_flag"]
    for rep, expected in zip(reps, analysis["reps"], strict=True):
        for side in ("left", "right"):
            for name in SIDE_METRICS:
                assert getattr(rep, f"{side}_{name}") == pytest.approx(expected[side][name])
            assert rep.metrics[side] == expected[side]  # complete dict, extra keys too
        assert rep.extra == {"ascent_peak_pct": expected["ascent_peak_pct"]}
        assert (rep.start_s, rep.bottom_s, rep.end_s) == (
            expected["start_s"], expected["bottom_s"], expected["end_s"])
    assert [r.pain for r in reps] == [0.0, 0.0]  # pain (0, 0, 3) per rep
    assert (trial.alignment_source, trial.alignment_left_deg, trial.alignment_right_deg) == (
        "calibration", 12.5, 18.0)
    assert trial.percent_1rm == pytest.approx(80.0)
    assert (trial.reading, trial.n_reps) == ("red_flag", 2)


def test_nan_metrics_are_stored_as_null(db) -> None:
    analysis = make_analysis(["none"])
    analysis["reps"][0]["left"]["knee_abduction_peak_deg"] = float("nan")
    trial_id = save_trial_result(db, session_info=session_info(),
                                 trial_info=TrialInfo("t"), analysis_json=analysis)
    with db.read() as s:
        rep = s.scalars(sa.select(Rep).where(Rep.trial_id == trial_id)).one()
    assert rep.left_knee_abduction_peak_deg is None
    assert rep.metrics["left"]["knee_abduction_peak_deg"] is None


def test_saving_the_same_trial_twice_changes_no_row_counts(db) -> None:
    run = RunInfo(model="m")
    first_id = save_example(db, run=run)
    before = row_counts(db)
    assert second_id_equals(save_example(db, run=run), first_id)
    assert row_counts(db) == before
    assert before["reps"] == 3 and before["camera_videos"] == 2 and before["athletes"] == 1


def second_id_equals(a: int, b: int) -> bool:
    return a == b


def test_reprocessing_replaces_results_and_keeps_run_history(db) -> None:
    trial_id = save_example(db, readings=("none", "none", "red_flag"))
    save_example(db, readings=("transient",))  # a new run with fewer reps
    counts = row_counts(db)
    assert counts["reps"] == 1 and counts["trials"] == 1 and counts["trajectories"] == 1
    assert counts["processing_runs"] == 2
    with db.read() as s:
        assert s.get(Trial, trial_id).reading == "transient"


def test_a_failure_mid_write_leaves_previous_results(db, monkeypatch) -> None:
    trial_id = save_example(db, readings=("none", "red_flag"))
    before = row_counts(db)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full (injected)")

    monkeypatch.setattr(repository, "_insert_reps", broken)  # after videos + trajectory
    with pytest.raises(RuntimeError, match="injected"):
        save_example(db, readings=("transient",), athlete="Jane Doe")
    assert row_counts(db) == before
    with db.read() as s:
        assert s.get(Trial, trial_id).reading == "red_flag"
    assert load_trajectory(db, trial_id).n_frames == 30


def test_a_failure_for_a_new_athlete_stores_nothing(db, monkeypatch) -> None:
    monkeypatch.setattr(repository, "_insert_series",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("injected")))
    with pytest.raises(RuntimeError, match="injected"):
        save_example(db, athlete="New Athlete")
    assert all(count == 0 for count in row_counts(db).values())


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda a: a["reps"][0].update(reading="bad"), "reading must be one of"),
    (lambda a: a["reps"][1].update(index=1), "rep index 1 appears twice"),
    (lambda a: a["reps"][0].update(index=0), "index must be an integer >= 1"),
    (lambda a: a["trial"].update(reps=7), "trial says 7 reps but 2 are listed"),
    (lambda a: a.pop("reps"), "must be a list"),
])
def test_invalid_analysis_is_refused_before_writing(db, mutate, match) -> None:
    analysis = make_analysis(["none", "transient"])
    mutate(analysis)
    with pytest.raises(InputError, match=match):
        save_trial_result(db, session_info=session_info(), trial_info=TrialInfo("t"),
                          analysis_json=analysis)
    assert row_counts(db)["athletes"] == 0


def test_every_problem_is_listed_at_once(db) -> None:
    analysis = make_analysis(["none"])
    analysis["reps"][0]["reading"] = "bad"
    with pytest.raises(InputError, match="reading must be one of.*series_df must have a time_s"):
        save_trial_result(db, session_info=session_info(), trial_info=TrialInfo("t"),
                          analysis_json=analysis, series_df=pd.DataFrame({"x": [1.0]}))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"load_kg": -1.0}, "load_kg must be >= 0"),
    ({"one_rm_kg": 0.0}, "one_rm_kg must be > 0"),
    ({"pain": (11,)}, "pain must be 0-10"),
    ({"name": " "}, "trial name must not be empty"),
])
def test_trial_info_checks(kwargs, match) -> None:
    with pytest.raises(InputError, match=match):
        TrialInfo(**{"name": "t", **kwargs})


def test_uniqueness_is_enforced_by_the_database(db) -> None:
    save_example(db)
    with db.read() as s:
        trial = s.scalars(sa.select(Trial)).one()
        s.add(Trial(session_id=trial.session_id, name=trial.name, exercise="squat"))
        with pytest.raises(sa.exc.IntegrityError):
            s.flush()
    with db.read() as s:
        session = s.scalars(sa.select(LabSession)).one()
        s.add(LabSession(athlete_id=session.athlete_id, date=session.date, name=session.name))
        with pytest.raises(sa.exc.IntegrityError):
            s.flush()


def test_failed_run_is_recorded_without_touching_results(db) -> None:
    trial_id = save_example(db)
    before = row_counts(db)
    failed = RunInfo(status="failed", error="camera cam2: no frames")
    assert record_failed_run(db, session_info=session_info(date="2026-11-24",
                                                           name="2026-11-24_Jane Doe"),
                             trial_info=TrialInfo("squat_100kg"), run_info=failed) == trial_id
    after = row_counts(db)
    assert after["processing_runs"] == before["processing_runs"] + 1
    assert {k: v for k, v in after.items() if k != "processing_runs"} == {
        k: v for k, v in before.items() if k != "processing_runs"}
    with db.read() as s:
        statuses = s.scalars(sa.select(ProcessingRun.status).order_by(ProcessingRun.id)).all()
    assert statuses == ["ok", "failed"]


def test_find_trial_and_missing_results(db) -> None:
    trial_id = save_example(db, date="2026-11-24")
    save_example(db, date="2026-12-01")
    with pytest.raises(InputError, match="2 trials named"):
        find_trial_id(db, athlete="Jane Doe", trial="squat_100kg")
    assert find_trial_id(db, athlete="Jane Doe", trial="squat_100kg",
                         session="2026-11-24") == trial_id
    bare = save_trial_result(db, session_info=session_info(), trial_info=TrialInfo("bare"))
    with pytest.raises(InputError, match="No trajectory stored"):
        load_trajectory(db, bare)
    with pytest.raises(InputError, match="No per-frame series stored"):
        load_series(db, bare)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"position": "kneeling"}, "position must be one of"),
    ({"unit": "lb"}, "unit must be one of"),
    ({"value": -3.0}, "value must be > 0"),
    ({"side": "middle"}, "side must be one of"),
    ({"date": "24/11/2026"}, "YYYY-MM-DD"),
])
def test_strength_measurement_checks(kwargs, match) -> None:
    base = {"athlete": "A", "muscle_group": "quadriceps", "side": "left",
            "position": "seated", "value": 300.0, "unit": "N"}
    with pytest.raises(InputError, match=match):
        StrengthMeasurement(**{**base, **kwargs})


def test_strength_test_links_to_a_session(db) -> None:
    save_example(db, date="2026-11-24", session="s1")
    m = StrengthMeasurement(athlete="Jane Doe", muscle_group="Quadriceps", side="left",
                            position="seated", value=310.0, unit="N", session="s1")
    row_id = save_strength_test(db, m)
    with pytest.raises(InputError, match="no session of 'Jane Doe' match 'nope'"):
        save_strength_test(db, StrengthMeasurement(**{**m.__dict__, "session": "nope"}))
    assert row_counts(db)["strength_tests"] == 1
    with db.read() as s:
        test = s.get(StrengthTest, row_id)
    assert (str(test.date), test.muscle_group, test.session_id is not None) == (
        "2026-11-24", "quadriceps", True)  # the session's date; name lower-cased


def _save_in_process(args: tuple[str, int, object]) -> int:
    url, k, barrier = args
    db = open_database(url)
    barrier.wait(timeout=120)  # all writers start together
    try:
        return save_example(db, athlete="Concurrent Athlete", date="2026-11-30",
                            session="same_session", trial=f"trial_{k % 3}", seed=k)
    finally:
        db.dispose()


@pytest.mark.slow
def test_concurrent_writers_of_one_new_athlete(db_url) -> None:
    """Six processes save 3 trials (each twice) of one new athlete/session at once."""
    open_database(db_url).dispose()  # schema first: this test is about the writes
    context = mp.get_context("spawn")
    with context.Manager() as manager, context.Pool(6) as pool:
        barrier = manager.Barrier(6)
        trial_ids = pool.map(_save_in_process, [(db_url, k, barrier) for k in range(6)])
    assert len(set(trial_ids)) == 3
    db = open_database(db_url)
    counts = row_counts(db)
    db.dispose()
    assert (counts["athletes"], counts["sessions"], counts["trials"]) == (1, 1, 3)
    assert counts["reps"] == 9 and counts["trajectories"] == 3 and counts["frame_series"] == 3
    assert counts["processing_runs"] == 6


def test_inputs_from_the_session_folder(tmp_path) -> None:
    from liftlab.capture.session import SessionConfig, TrialConfig, create_session
    from liftlab.storage.inputs import SessionInfo

    session = create_session(tmp_path / "2026-11-24_jane", SessionConfig(
        athlete="Jane Doe", date="2026-11-24", cameras=("cam1", "cam2"),
        history={"pain_outside_lifting": ["walking"]}))
    info = SessionInfo.from_session(session)
    assert (info.athlete, str(info.date), info.name) == ("Jane Doe", "2026-11-24",
                                                         "2026-11-24_jane")
    assert info.pain_outside_lifting == ("walking",)
    trial = TrialInfo.from_config(TrialConfig(name="s1", load_kg=90.0, one_rm_kg=120.0,
                                              pain=(2,)))
    assert (trial.percent_1rm, trial.pain_for_rep(3)) == (75.0, 2.0)


def test_analysis_extras_are_kept(db) -> None:
    analysis = make_analysis(["transient"])
    analysis["trial"]["warnings"] = ["alignment assumed"]
    analysis["settings"] = {"cutoff_hz": 6.0}
    analysis["reps"][0]["pain"] = 4.0  # the rep's own pain wins over the trial's list
    trial_id = save_trial_result(db, session_info=session_info(),
                                 trial_info=TrialInfo("t", pain=(1,)), analysis_json=analysis)
    with db.read() as s:
        trial = s.get(Trial, trial_id)
        rep = s.scalars(sa.select(Rep).where(Rep.trial_id == trial_id)).one()
    assert trial.details == {"warnings": ["alignment assumed"], "settings": {"cutoff_hz": 6.0}}
    assert rep.pain == 4.0


class _SerializationFailure(Exception):
    sqlstate = "40001"


def test_write_retries_transient_failures(db) -> None:
    calls = []

    def flaky(session):
        calls.append(1)
        if len(calls) < 3:
            raise sa.exc.OperationalError("UPDATE ...", {}, _SerializationFailure("conflict"))
        return "done"

    assert db.write(flaky) == "done" and len(calls) == 3

    def always(session):
        raise sa.exc.OperationalError("UPDATE ...", {}, _SerializationFailure("conflict"))

    with pytest.raises(sa.exc.OperationalError):
        db.write(always, attempts=2)

    def other(session):
        calls.append(1)
        raise sa.exc.IntegrityError("INSERT ...", {}, Exception("duplicate"))

    calls.clear()
    with pytest.raises(sa.exc.IntegrityError):
        db.write(other)
    assert len(calls) == 1  # not a transient failure: no retry
