"""Generated report inputs with known truth (used by the report tests and the benchmark).

A trial is built from its pattern: reps of stand / descent / bottom / ascent; the inward
knee shift per frame is zero outside reps and follows the pattern inside (``transient``: a
bump early in the ascent back to 0 before lockout; ``persistent``: a plateau through descent
and ascent). Rep peaks stored in the database are the maxima of that series, so what the
report shows can be checked against analytic values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from liftlab.core.containers import Keypoints2D
from liftlab.core.landmarks import INDEX, LANDMARKS
from liftlab.storage.db import Database
from liftlab.storage.inputs import CalibrationInfo, RunInfo, SessionInfo, TrialInfo, VideoInfo
from liftlab.storage.repository import save_trial_result

FPS = 30.0
PHASES_S = (("stand", 0.4), ("descent", 0.8), ("bottom", 0.2), ("ascent", 0.8))
SIDE_KEYS = ("knee_over_foot_peak_mm", "shank_frontal_tilt_peak_deg", "knee_abduction_peak_deg",
             "hip_int_rotation_peak_deg", "hip_adduction_peak_deg", "knee_flexion_peak_deg",
             "heel_lift_mm", "foot_rotation_deg", "foot_slide_mm")


@dataclass(frozen=True)
class SynthTrial:
    """What to generate: pattern and size of the shift per side, context and the reading."""

    name: str
    pattern: str = "none"               # none | transient | persistent
    left_mm: float = 0.0                # pattern amplitude, left
    right_mm: float = 0.0
    n_reps: int = 3
    load_kg: float | None = 100.0
    one_rm_kg: float | None = 140.0
    reading: str = "none"
    reasons: tuple[str, ...] = ()
    pain: tuple[float, ...] = ()
    build_offset_mm: float = 0.0        # knee-over-foot = shift + this (athlete's build)
    exercise: str = "squat"
    alignment_source: str = "calibration"
    heel_lift_mm: float = 2.0
    rep_readings: tuple[str, ...] = ()  # per rep; default: every rep has ``reading``


@dataclass
class SynthResult:
    trial: SynthTrial
    trial_id: int
    series: pd.DataFrame
    analysis: dict
    rep_peaks: dict[str, list[float]] = field(default_factory=dict)


def _shape(pattern: str, phase: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Unit-peak shift profile within one rep (u: 0..1 within each phase)."""
    out = np.zeros(len(phase))
    if pattern == "transient":
        asc = phase == "ascent"
        out[asc] = np.exp(-0.5 * ((u[asc] - 0.25) / 0.08) ** 2)
    elif pattern == "persistent":
        out[phase == "bottom"] = 1.0
        d, a = phase == "descent", phase == "ascent"
        out[d] = np.clip(u[d] * 3, 0, 1)
        out[a] = np.clip((1 - u[a]) * 3, 0, 1)
    elif pattern == "none":
        asc = phase == "ascent"
        out[asc] = np.exp(-0.5 * ((u[asc] - 0.4) / 0.1) ** 2)
    return out


def make_series(spec: SynthTrial) -> tuple[pd.DataFrame, list[dict]]:
    """Per-frame table with the DESIGN CSV columns, and the rep phase times."""
    phases, reps, us = [], [], []
    for rep in range(1, spec.n_reps + 1):
        for name, length_s in PHASES_S:
            n = int(round(length_s * FPS))
            phases += [name] * n
            reps += [0 if name == "stand" else rep] * n
            us += list(np.linspace(0, 1, n))
    tail = int(0.4 * FPS)
    phases += ["stand"] * tail
    reps += [0] * tail
    us += [0.0] * tail
    phase, rep, u = np.array(phases), np.array(reps), np.array(us)
    time_s = np.arange(len(phase)) / FPS
    base = _shape(spec.pattern, phase, u) * (rep > 0)
    frame = {"time_s": time_s}
    for side, amp in (("left", spec.left_mm), ("right", spec.right_mm)):
        shift = amp * base
        frame.update({f"{side}_knee_flexion_deg": 100 * (rep > 0) * np.sin(np.pi * u),
                      f"{side}_knee_abduction_deg": np.zeros_like(time_s),
                      f"{side}_knee_abduction_reliability": np.ones_like(time_s),
                      f"{side}_hip_flexion_deg": np.zeros_like(time_s),
                      f"{side}_hip_adduction_deg": np.zeros_like(time_s),
                      f"{side}_hip_int_rotation_deg": np.zeros_like(time_s),
                      f"{side}_medial_knee_shift_mm": shift,
                      f"{side}_knee_over_foot_mm": shift + spec.build_offset_mm,
                      f"{side}_shank_frontal_tilt_deg": np.zeros_like(time_s),
                      f"{side}_heel_lift_mm": np.zeros_like(time_s)})
    frame["phase"] = phase
    frame["rep"] = rep
    table = pd.DataFrame(frame)
    times = []
    for r in range(1, spec.n_reps + 1):
        t = table.loc[table.rep == r, "time_s"]
        bottom = table.loc[(table.rep == r) & (table.phase == "bottom"), "time_s"]
        times.append({"index": r, "start_s": float(t.min()), "bottom_s": float(bottom.min()),
                      "end_s": float(t.max())})
    return table, times


def make_analysis(spec: SynthTrial, series: pd.DataFrame, times: list[dict]) -> dict:
    """The `liftlab analyze` JSON of the generated trial (rep peaks = series maxima)."""
    reps = []
    for k, t in enumerate(times):
        reading = spec.rep_readings[k] if spec.rep_readings else spec.reading
        rows = series[series.rep == t["index"]]
        sides = {}
        for side in ("left", "right"):
            metrics = {k: 0.0 for k in SIDE_KEYS}
            metrics["medial_knee_shift_peak_mm"] = float(rows[f"{side}_medial_knee_shift_mm"].max())
            metrics["knee_over_foot_peak_mm"] = float(rows[f"{side}_knee_over_foot_mm"].max())
            metrics["knee_flexion_peak_deg"] = 100.0
            metrics["heel_lift_mm"] = spec.heel_lift_mm
            metrics["reading"] = reading
            sides[side] = metrics
        reasons = list(spec.reasons) if reading == "red_flag" else []
        reps.append({**t, "reading": reading, "reasons": reasons, **sides})
    return {"trial": {"reps": len(reps), "reading": spec.reading if reps else None,
                      "reasons": list(spec.reasons),
                      "alignment": {"source": spec.alignment_source, "left_deg": 12.0,
                                    "right_deg": 9.0}},
            "reps": reps}


def write_media(folder: Path, trial: str, series: pd.DataFrame, *, camera: str = "cam1",
                size: tuple[int, int] = (160, 120)) -> Path:
    """A small video and its 2D keypoints (a stick figure) in the session folder layout."""
    import cv2

    w, h = size
    video = folder / "trials" / trial / f"{camera}.mp4"
    video.parent.mkdir(parents=True, exist_ok=True)
    n = len(series)
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (w, h))
    for i in range(n):
        image = np.full((h, w, 3), 90, np.uint8)
        cv2.putText(image, str(i), (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
        writer.write(image)
    writer.release()
    points = np.full((n, len(LANDMARKS), 2), np.nan)
    confidence = np.zeros((n, len(LANDMARKS)))
    layout = {"left_shoulder": (95, 25), "right_shoulder": (65, 25), "left_hip": (90, 60),
              "right_hip": (70, 60), "left_knee": (95, 85), "right_knee": (65, 85),
              "left_ankle": (95, 110), "right_ankle": (65, 110), "left_heel": (92, 114),
              "right_heel": (68, 114), "left_foot_index": (100, 116), "right_foot_index": (60, 116)}
    for name, (x, y) in layout.items():
        points[:, INDEX[name]] = (x, y)
        confidence[:, INDEX[name]] = 0.9
    shift = series["left_medial_knee_shift_mm"].to_numpy() / 5.0
    points[:, INDEX["left_knee"], 0] -= shift
    Keypoints2D(camera=camera, fps=FPS, points_px=points, confidence=confidence,
                image_size=size).save(folder / "derived" / trial / f"keypoints_{camera}.npz")
    return video


def store(db: Database, athlete: str, specs: list[SynthTrial], *, date: str = "2026-11-24",
          session: str = "s1", folder: Path | None = None, media: bool = False,
          pain_outside: tuple[str, ...] = ()) -> list[SynthResult]:
    """Save generated trials of one session with the storage helper's save function."""
    info = SessionInfo(athlete=athlete, date=dt.date.fromisoformat(date), name=session,
                       folder_path=str(folder) if folder else None,
                       pain_outside_lifting=pain_outside)
    calibration = CalibrationInfo(rig_toml="[cam_0]\nname = \"cam1\"\n",
                                  camera_errors_px={"cam1": 0.42, "cam2": 0.61},
                                  verdict="pass")
    out = []
    for spec in specs:
        series, times = make_series(spec)
        analysis = make_analysis(spec, series, times)
        videos = []
        if media and folder is not None:
            path = write_media(folder, spec.name, series)
            videos.append(VideoInfo(camera="cam1", path=str(path), fps=FPS, n_frames=len(series)))
        trial_id = save_trial_result(
            db, session_info=info,
            trial_info=TrialInfo(name=spec.name, exercise=spec.exercise, load_kg=spec.load_kg,
                                 one_rm_kg=spec.one_rm_kg, pain=spec.pain),
            calibration=calibration, videos=videos, analysis_json=analysis, series_df=series,
            run_info=RunInfo(model="mediapipe-0.10.21 BlazePose full",
                             settings={"exercise": spec.exercise}))
        peaks = {side: [r[side]["medial_knee_shift_peak_mm"] for r in analysis["reps"]]
                 for side in ("left", "right")}
        out.append(SynthResult(spec, trial_id, series, analysis, peaks))
    return out


@pytest.mark.parametrize("pattern", ["transient", "persistent", "none"])
def test_synth_series_peaks_at_amplitude(pattern: str) -> None:
    spec = SynthTrial("t", pattern=pattern, left_mm=20.0, right_mm=10.0, n_reps=2)
    series, times = make_series(spec)
    analysis = make_analysis(spec, series, times)
    assert [r["left"]["medial_knee_shift_peak_mm"] for r in analysis["reps"]] == \
        pytest.approx([20.0, 20.0], abs=0.5)
    assert series.loc[series.rep == 0, "left_medial_knee_shift_mm"].abs().max() == 0.0
