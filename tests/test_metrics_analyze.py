"""The `liftlab analyze` contract (JSON keys, CSV columns), settings and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_metrics_synthetic import squat_trial

from liftlab.cli import main
from liftlab.core.errors import InputError
from liftlab.metrics.analyze import analyze
from liftlab.metrics.settings import load_thresholds
from liftlab.reconstruction.trc import write_trc

SIDE_KEYS = {"medial_knee_shift_peak_mm", "knee_over_foot_peak_mm", "shank_frontal_tilt_peak_deg",
             "knee_abduction_peak_deg", "hip_int_rotation_peak_deg", "hip_adduction_peak_deg",
             "knee_flexion_peak_deg", "heel_lift_mm", "foot_rotation_deg", "foot_slide_mm",
             "reading"}
CSV_SIDE = ["knee_flexion_deg", "knee_abduction_deg", "knee_abduction_reliability",
            "hip_flexion_deg", "hip_adduction_deg", "hip_int_rotation_deg",
            "medial_knee_shift_mm", "knee_over_foot_mm", "shank_frontal_tilt_deg", "heel_lift_mm"]
CSV_COLUMNS = (["time_s"] + [f"left_{c}" for c in CSV_SIDE] + [f"right_{c}" for c in CSV_SIDE]
               + ["phase", "rep"])


def _valgus(frac, rep):  # a persistent medial turn in rep 2 only
    return 12.0 * np.sin(np.pi * frac) if rep == 2 else 0.0


@pytest.fixture(scope="module")
def trial():
    return squat_trial(((1.0, 0.0, 1.0, 0.45),) * 3, valgus=_valgus)[0]


def test_json_and_csv_contract(trial):
    result = analyze(trial, load_kg=100, one_rm_kg=120, pain=(0, 0, 3))
    doc = json.loads(json.dumps(result.to_json_dict()))
    t = doc["trial"]
    assert t["reps"] == 3 and t["reading"] in ("none", "transient", "red_flag")
    assert t["alignment"]["source"] == "assumed"
    assert {"left_deg", "right_deg"} <= set(t["alignment"])
    assert [r["index"] for r in doc["reps"]] == [1, 2, 3]
    for rep in doc["reps"]:
        assert {"start_s", "bottom_s", "end_s", "reading", "reasons"} <= set(rep)
        assert rep["start_s"] < rep["bottom_s"] < rep["end_s"]
        for side in ("left", "right"):
            assert SIDE_KEYS <= set(rep[side])
    assert doc["reps"][1]["reading"] == "red_flag" and "persistent" in doc["reps"][1]["reasons"]
    assert doc["reps"][0]["reading"] == "none"
    frame = result.series_frame()
    assert list(frame.columns) == CSV_COLUMNS and len(frame) == trial.n_frames
    assert set(frame["phase"]) == {"stand", "descent", "bottom", "ascent"}


def test_cli_writes_json_and_csv(tmp_path, trial, capsys):
    trc = write_trc(trial, tmp_path / "squat.trc")
    js, csv = tmp_path / "out.json", tmp_path / "out.csv"
    code = main(["analyze", str(trc), "--load-kg", "100", "--one-rm-kg", "120", "--pain", "0,0,3",
                 "--json", str(js), "--series", str(csv)])
    assert code == 0
    assert json.loads(js.read_text())["trial"]["reps"] == 3
    assert list(pd.read_csv(csv).columns) == CSV_COLUMNS
    assert "3 reps" in capsys.readouterr().out


def test_cli_metres_file_says_so(tmp_path, trial, capsys):
    metres = trial.with_points(trial.points_mm / 1000.0)
    trc = write_trc(metres, tmp_path / "m.trc")  # header says mm, numbers are metres
    assert main(["analyze", str(trc)]) == 2
    assert "looks like metres" in capsys.readouterr().err


@pytest.mark.parametrize(("drop", "match"), [("left_knee", "Missing landmarks left_knee"),
                                             ("right_heel", "Missing landmarks right_heel")])
def test_missing_landmarks(trial, drop, match):
    keep = [i for i, n in enumerate(trial.landmarks) if n != drop]
    sub = type(trial)(points_mm=trial.points_mm[:, keep], fps=trial.fps,
                      landmarks=tuple(trial.landmarks[i] for i in keep))
    with pytest.raises(InputError, match=match):
        analyze(sub)


def test_nan_gap_gives_partial_results(trial):
    pts = trial.points_mm.copy()
    k = trial.index("left_knee")
    pts[100:130, k] = np.nan
    result = analyze(trial.with_points(pts))
    frame = result.series_frame()
    assert len(result.reps) == 3
    assert frame["left_knee_flexion_deg"].iloc[100:130].isna().all()
    assert frame["right_knee_flexion_deg"].notna().all()


def test_user_thresholds_override(tmp_path):
    user = tmp_path / "t.toml"
    user.write_text("[reading]\nshift_present_mm = 25.0\n")
    th = load_thresholds(user)
    assert th.reading.shift_present_mm == 25.0 and th.reading.heel_lift_mm == 15.0
    assert th.source == ("packaged", str(user))


@pytest.mark.parametrize(("text", "match"), [
    ("[reading]\nshift_present_mm = -1\n", "outside"),
    ("[reading]\nshift_mm = 3\n", "unknown key"),
    ("[readings]\nshift_present_mm = 3\n", "unknown table"),
    ("[filter]\nsquat_cutoff_hz = 'six'\n", "must be a number"),
    ("[filter\n", "Cannot parse"),
])
def test_bad_thresholds(tmp_path, text, match):
    user = tmp_path / "bad.toml"
    user.write_text(text)
    with pytest.raises(InputError, match=match):
        load_thresholds(user)
