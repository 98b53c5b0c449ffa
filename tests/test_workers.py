"""`liftlab process` end to end on Ray: stored results, idempotency, worker deaths, bad input."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from ray import cloudpickle

sys.path.insert(0, str(Path(__file__).parent))
import workers_kit  # noqa: E402
from workers_kit import KillOnceDetector, build_session  # noqa: E402

from liftlab.capture.virtual.detector import TruthDetector  # noqa: E402
from liftlab.capture.virtual.truth import load_truth  # noqa: E402
from liftlab.core.errors import InputError, LiftlabError  # noqa: E402
from liftlab.workers.pipeline import ProcessSettings, process_session  # noqa: E402

# Ray workers import liftlab from the installed package; this test helper module travels by value.
cloudpickle.register_pickle_by_value(workers_kit)

PG_URL = os.environ.get("LIFTLAB_TEST_PG_URL")
TABLES = ("athletes", "sessions", "trials", "camera_videos", "trajectories", "reps",
          "frame_series", "calibrations")


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory) -> Path:
    return build_session(tmp_path_factory.mktemp("workers") / "s1")


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'liftlab.db'}"
    if not PG_URL:
        pytest.skip("LIFTLAB_TEST_PG_URL not set (CI sets it)")
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:  # fresh schema for this test
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return PG_URL


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
    engine.dispose()
    return out


@pytest.mark.slow
def test_session_processes_on_ray_and_reprocessing_is_idempotent(session_dir, db_url, ray_local):
    report = process_session(session_dir, db_url=db_url, pose_backend=TruthDetector(noise_px=1.0),
                             progress=False)
    assert report.ok, report.failures
    assert all(o.stored for o in report.outcomes.values())
    # the knee-curl trial calibrated the alignment, and it is close to the truth
    truth = load_truth(session_dir / "truth" / "curl")
    assert report.alignment.source == "calibration"
    assert abs(report.alignment.left_deg - truth.alignment_deg["left"]) < 2.0
    assert abs(report.alignment.right_deg - truth.alignment_deg["right"]) < 2.0
    # every squat trial has its reps, and the database holds exactly the readings computed
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT name, reading FROM trials")).all())
    engine.dispose()
    for name, _pattern, *_ in workers_kit.SQUATS:
        outcome = report.outcomes[name]
        assert outcome.n_reps == len(load_truth(session_dir / "truth" / name).reps), name
        assert stored[name] == outcome.reading in ("none", "transient", "red_flag")
    assert stored["curl"] is None  # the alignment trial has no reading of its own
    first = _counts(db_url)
    assert first["trials"] == 4 and first["athletes"] == 1 and first["camera_videos"] == 16
    assert first["reps"] == 6
    again = process_session(session_dir, db_url=db_url, pose_backend=TruthDetector(noise_px=1.0),
                            progress=False)
    assert again.ok
    assert _counts(db_url) == first
    assert (session_dir / "derived" / "set2_heavy" / "analysis.json").is_file()


@pytest.mark.slow
def test_killed_worker_is_retried_and_session_completes(session_dir, tmp_path, ray_local):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    backend = KillOnceDetector(tmp_path, trial="set1_light", camera="cam2")
    report = process_session(session_dir, db_url=url, pose_backend=backend, progress=False,
                             settings=ProcessSettings(max_retries=2))
    assert (tmp_path / "killed-set1_light-cam2").exists()  # the worker really died once
    assert report.ok, report.failures
    assert report.outcomes["set1_light"].stored


@pytest.mark.slow
def test_task_that_keeps_dying_is_reported_by_trial_and_camera(session_dir, tmp_path, ray_local):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    backend = KillOnceDetector(tmp_path, trial="set2_heavy", camera="cam3", always=True)
    report = process_session(session_dir, db_url=url, pose_backend=backend, progress=False,
                             settings=ProcessSettings(max_retries=1))
    failed = [f for f in report.failures if f.stage == "2D pose"]
    assert [(f.trial, f.camera) for f in failed] == [("set2_heavy", "cam3")]
    # three cameras remain for that trial: it is still reconstructed, and the rest completes
    assert report.outcomes["set1_light"].stored and report.outcomes["set3_heavy"].stored
    assert not report.outcomes["set2_heavy"].stored  # a trial with a failed task is not stored


def test_inline_mode_gives_the_same_readings_as_ray(session_dir, tmp_path):
    url = f"sqlite:///{tmp_path / 'inline.db'}"
    report = process_session(session_dir, db_url=url, ray_address="inline",
                             pose_backend=TruthDetector(noise_px=1.0), progress=False)
    assert report.ok
    assert {o.trial for o in report.outcomes.values() if o.stored} == {
        "curl", "set1_light", "set2_heavy", "set3_heavy"}


def test_wrong_database_url_fails_before_any_work(session_dir):
    with pytest.raises(LiftlabError, match="(?i)database|connect|url"):
        process_session(session_dir, db_url="postgresql+psycopg://nobody:bad@127.0.0.1:1/none",
                        ray_address="inline", pose_backend=TruthDetector(), progress=False)


def test_session_without_session_toml_is_named(tmp_path):
    with pytest.raises(InputError, match="session.toml"):
        process_session(tmp_path, db_url=f"sqlite:///{tmp_path / 'x.db'}", ray_address="inline",
                        pose_backend=TruthDetector(), progress=False)


def test_missing_camera_and_unequal_videos_refuse_only_that_trial(tmp_path):
    root = build_session(tmp_path / "s", squats=workers_kit.SQUATS[:2], knee_curl=False, reps=1)
    (root / "trials" / "set1_light" / "cam3.mp4").unlink()
    video = root / "trials" / "set2_heavy" / "cam4.mp4"
    n = load_truth(root / "truth" / "set2_heavy").landmarks_mm.shape[0]
    workers_kit.write_placeholder_video(video, n - 10, 30.0)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with pytest.raises(InputError, match="No trial of the session can be processed"):
        process_session(root, db_url=url, ray_address="inline", pose_backend=TruthDetector(),
                        progress=False)
    assert _counts(url)["trials"] == 0  # nothing partial stored


def test_unequal_videos_reason_names_trial_and_lengths(tmp_path):
    from liftlab.capture.session import Session
    from liftlab.workers.plan import plan_session

    root = build_session(tmp_path / "s", squats=workers_kit.SQUATS[:2], knee_curl=False, reps=1)
    video = root / "trials" / "set2_heavy" / "cam4.mp4"
    n = load_truth(root / "truth" / "set2_heavy").landmarks_mm.shape[0]
    workers_kit.write_placeholder_video(video, n - 10, 30.0)
    (root / "trials" / "set1_light" / "cam3.mp4").write_bytes(b"not a video")
    plan = plan_session(Session.open(root))
    assert [t.name for t in plan.trials] == []
    assert "differ in length" in plan.refused["set2_heavy"]
    assert "cam3.mp4" in plan.refused["set1_light"]
