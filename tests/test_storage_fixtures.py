"""Shared fixtures and generated data for the storage tests (no tests here).

The ``db`` fixture runs every storage test twice: on a fresh SQLite file and on a fresh
PostgreSQL schema (when ``LIFTLAB_TEST_PG_URL`` is set; skipped otherwise). Test modules
import the fixtures by name from this module.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from liftlab.core.containers import Trajectory3D
from liftlab.core.landmarks import LANDMARKS
from liftlab.storage.db import Database, open_database
from liftlab.storage.inputs import CalibrationInfo, RunInfo, SessionInfo, TrialInfo, VideoInfo
from liftlab.storage.models import SIDE_METRICS

PG_URL = os.environ.get("LIFTLAB_TEST_PG_URL")
PG_SKIP = ("LIFTLAB_TEST_PG_URL is not set: PostgreSQL variant skipped (CI sets it, e.g. "
           "postgresql+psycopg://liftlab:liftlab@127.0.0.1:54329/liftlab)")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pg_admin_engine() -> sa.Engine:
    url = sa.make_url(PG_URL or "")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return sa.create_engine(url)


def pg_schema_url(schema: str) -> str:
    """``LIFTLAB_TEST_PG_URL`` with ``search_path`` set to ``schema`` (a fresh namespace)."""
    url = sa.make_url(PG_URL or "").update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """URL of an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'liftlab.db'}"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = pg_admin_engine()
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def db(db_url: str) -> Any:
    database = open_database(db_url)
    yield database
    database.dispose()


# --------------------------------------------------------------------------- generated data
def make_trajectory(n_frames: int = 30, *, seed: int = 0, fps: float = 60.0) -> Trajectory3D:
    rng = np.random.default_rng(seed)
    points = rng.normal(0.0, 300.0, size=(n_frames, len(LANDMARKS), 3))
    points[3, 5, :] = np.nan  # a missing landmark must survive the round trip
    filled = np.zeros(points.shape[:2], dtype=bool)
    filled[4, 5] = True
    return Trajectory3D(points_mm=points, fps=fps,
                        n_views=rng.integers(0, 5, size=points.shape[:2]),
                        reproj_error_px=rng.uniform(0, 3, size=points.shape[:2]),
                        filled=filled, start_time_s=1.25,
                        provenance={"operations": ["triangulate", "lowpass 6 Hz"]})


def side_metrics(base: float, reading: str) -> dict[str, Any]:
    """Every DESIGN per-side metric, value ``base + k`` for the k-th metric, plus reading."""
    out: dict[str, Any] = {name: base + k for k, name in enumerate(SIDE_METRICS)}
    out["reading"] = reading
    out["extra_metric_deg"] = base / 2  # not a column: must land in the JSON dict
    return out


def make_analysis(readings: list[str], *, left_shift_mm: float = 10.0,
                  right_shift_mm: float = 4.0, source: str = "calibration") -> dict[str, Any]:
    """A ``liftlab analyze`` JSON with one rep per reading; known values per rep."""
    reps = []
    for i, reading in enumerate(readings, start=1):
        reps.append({"index": i, "start_s": 2.0 * i, "bottom_s": 2.0 * i + 0.8,
                     "end_s": 2.0 * i + 1.6, "reading": reading,
                     "reasons": [f"rule {reading} rep {i}"] if reading != "none" else [],
                     "left": side_metrics(left_shift_mm + i, reading),
                     "right": side_metrics(right_shift_mm + i, "none"),
                     "ascent_peak_pct": 30.0 + i})
    worst = max(readings, key=["none", "transient", "red_flag"].index) if readings else "none"
    return {"trial": {"reps": len(reps), "reading": worst, "reasons": [f"trial {worst}"],
                      "alignment": {"source": source, "left_deg": 12.5, "right_deg": 18.0}},
            "reps": reps}


def make_series(n_frames: int = 30, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {"time_s": np.arange(n_frames) / 60.0}
    for side in ("left", "right"):
        for name in ("knee_flexion_deg", "knee_abduction_deg", "knee_abduction_reliability",
                     "hip_flexion_deg", "hip_adduction_deg", "hip_int_rotation_deg",
                     "medial_knee_shift_mm", "knee_over_foot_mm", "shank_frontal_tilt_deg",
                     "heel_lift_mm"):
            data[f"{side}_{name}"] = rng.normal(size=n_frames)
    data["left_knee_flexion_deg"][2] = np.nan
    data["phase"] = (["stand", "descent", "bottom", "ascent"] * n_frames)[:n_frames]
    data["rep"] = np.repeat(np.arange(n_frames // 10 + 1), 10)[:n_frames].astype(np.int64)
    return pd.DataFrame(data)


def session_info(athlete: str = "Jane Doe", date: str = "2026-11-24",
                 name: str = "2026-11-24_jane") -> SessionInfo:
    return SessionInfo(athlete=athlete, date=date, name=name, folder_path=f"/data/{name}",
                       pain_outside_lifting=("walking",),
                       history={"pain_outside_lifting": ["walking"]})


def save_example(db: Database, *, athlete: str = "Jane Doe", date: str = "2026-11-24",
                 session: str | None = None, trial: str = "squat_100kg",
                 readings: tuple[str, ...] = ("none", "transient", "red_flag"),
                 load_kg: float = 100.0, run: RunInfo | None = None,
                 source: str = "calibration", left_shift_mm: float = 10.0,
                 right_shift_mm: float = 4.0, seed: int = 0) -> int:
    """Save one fully populated trial; returns its id."""
    from liftlab.storage.repository import save_trial_result

    return save_trial_result(
        db, session_info=session_info(athlete, date, session or f"{date}_{athlete}"),
        trial_info=TrialInfo(name=trial, exercise="squat", load_kg=load_kg, one_rm_kg=125.0,
                             pain=(0, 0, 3)),
        calibration=CalibrationInfo(rig_toml="[cam_0]\nname = \"cam1\"\n",
                                    camera_errors_px={"cam1": 0.41, "cam2": 0.52},
                                    verdict="good", provenance={"board": "charuco 7x5"}),
        videos=[VideoInfo("cam1", "/data/cam1.mp4", "ab" * 32, 60.0, 300, 1080, 1920),
                VideoInfo("cam2", "/data/cam2.mp4", "cd" * 32, 60.0, 300, 1080, 1920)],
        trajectory=make_trajectory(seed=seed), analysis_json=make_analysis(
            list(readings), left_shift_mm=left_shift_mm, right_shift_mm=right_shift_mm,
            source=source),
        series_df=make_series(seed=seed),
        run_info=run or RunInfo(model="mediapipe 0.10.21 full", settings={"cutoff_hz": 6.0},
                                timings_s={"pose2d": 1.5},
                                started_at=dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC)))


def row_counts(db: Database) -> dict[str, int]:
    from liftlab.storage.models import Base

    with db.engine.connect() as conn:
        return {t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in Base.metadata.sorted_tables}
