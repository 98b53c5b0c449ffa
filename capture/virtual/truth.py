"""Write and read the virtual lab's ground truth beside the rendered videos.

A truth folder holds:

- ``landmarks.npz``: the exact landmarks as a :class:`~liftlab.core.containers.Trajectory3D`
  (mm, lab frame; exact round trip).
- ``series.csv``: one row per frame, ``time_s``, the per-side truth columns
  (``left_knee_flexion_deg``, ...; DESIGN section 3 names), ``phase`` and ``rep``; numbers
  written with shortest round-trip precision, so a reload is exact.
- ``reps.json``: per rep the phase frames, pattern and expected reading with its reasons.
- ``athlete.json``: athlete, trial spec, alignment, fps and seed (enough to re-simulate).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from liftlab.capture.virtual.body import Athlete
from liftlab.capture.virtual.motion import MotionTruth, RepTruth, TrialSpec
from liftlab.core.containers import Trajectory3D
from liftlab.core.errors import InputError

FORMAT = "liftlab.virtual_truth/1"
FILES = ("landmarks.npz", "series.csv", "reps.json", "athlete.json")
TEXT_COLUMNS = {"phase": str, "rep": int}


def save_truth(truth: MotionTruth, folder: str | Path) -> Path:
    """Write ``truth`` into ``folder`` (created if needed); returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    truth.trajectory().save(folder / "landmarks.npz")
    names = ["time_s"] + [k for k in truth.series if k not in ("time_s", *TEXT_COLUMNS)] \
        + list(TEXT_COLUMNS)
    columns = [truth.series[k].tolist() for k in names]
    with open(folder / "series.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        writer.writerows(zip(*columns, strict=True))
    reps = [asdict(r) | {"expected_reasons": list(r.expected_reasons)} for r in truth.reps]
    (folder / "reps.json").write_text(json.dumps(reps, indent=1))
    meta = {"format": FORMAT, "fps": truth.fps, "seed": truth.seed,
            "alignment_deg": truth.alignment_deg, "athlete": truth.athlete.as_dict(),
            "spec": truth.spec.as_dict(), "provenance": truth.provenance}
    (folder / "athlete.json").write_text(json.dumps(meta, indent=1, default=str))
    return folder


#: Per-rep, per-side summaries, named as in ``liftlab analyze``'s JSON (DESIGN section 3).
PEAK_COLUMNS: dict[str, str] = {
    "medial_knee_shift_peak_mm": "medial_knee_shift_mm",
    "knee_over_foot_peak_mm": "knee_over_foot_mm",
    "shank_frontal_tilt_peak_deg": "shank_frontal_tilt_deg",
    "knee_abduction_peak_deg": "knee_abduction_deg",
    "hip_int_rotation_peak_deg": "hip_int_rotation_deg",
    "hip_adduction_peak_deg": "hip_adduction_deg",
    "knee_flexion_peak_deg": "knee_flexion_deg",
}


def rep_peaks(truth: MotionTruth) -> list[dict[str, object]]:
    """True per-rep values to compare ``liftlab analyze`` against.

    Per rep: ``index``, ``start_s``, ``bottom_s``, ``end_s``, ``reading``, ``reasons`` and per
    side the largest value over the rep of each :data:`PEAK_COLUMNS` column (positive =
    toward valgus / flexion / adduction / internal rotation), ``heel_lift_mm`` (largest rise
    of the heel from the rep's start) and ``foot_rotation_deg`` (largest turn of the foot axis
    from the rep's start, signed, outward positive).
    """
    out: list[dict[str, object]] = []
    for rep in truth.reps:
        frames = slice(rep.start_frame, rep.end_frame + 1)
        row: dict[str, object] = {
            "index": rep.index, "start_s": rep.start_frame / truth.fps,
            "bottom_s": rep.bottom_frame / truth.fps, "end_s": rep.end_frame / truth.fps,
            "reading": rep.expected_reading, "reasons": list(rep.expected_reasons)}
        for side in ("left", "right"):
            col = {k: truth.series[f"{side}_{v}"][frames] for k, v in PEAK_COLUMNS.items()}
            summary = {k: float(np.nanmax(v)) if np.any(np.isfinite(v)) else float("nan")
                       for k, v in col.items()}
            lift = truth.series[f"{side}_heel_lift_mm"][frames]
            turn = truth.series[f"{side}_foot_rotation_deg"][frames]
            turn = turn - turn[0]
            summary["heel_lift_mm"] = float(np.nanmax(lift - lift[0]))
            summary["foot_rotation_deg"] = float(turn[np.nanargmax(np.abs(turn))]) \
                if np.any(np.isfinite(turn)) else float("nan")
            row[side] = summary
        out.append(row)
    return out


def load_truth(folder: str | Path) -> MotionTruth:
    """Read a folder written by :func:`save_truth` back into a :class:`MotionTruth`."""
    folder = Path(folder)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise InputError(f"Truth folder lacks {', '.join(missing)}", where=str(folder),
                         fix="point at a virtual-lab truth folder (written by save_truth)")
    meta = json.loads((folder / "athlete.json").read_text())
    if meta.get("format") != FORMAT:
        raise InputError(f"Expected truth format {FORMAT!r}, but got {meta.get('format')!r}",
                         where=str(folder / "athlete.json"), fix="regenerate the virtual session")
    with open(folder / "series.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    series: dict[str, np.ndarray] = {}
    for j, name in enumerate(header):
        values = [row[j] for row in body]
        if name == "phase":
            series[name] = np.array(values, dtype="<U7")
        elif name == "rep":
            series[name] = np.array(values, dtype=int)
        else:
            series[name] = np.array(values, dtype=float)
    reps = tuple(RepTruth(**(r | {"expected_reasons": tuple(r["expected_reasons"])}))
                 for r in json.loads((folder / "reps.json").read_text()))
    landmarks = Trajectory3D.load(folder / "landmarks.npz")
    return MotionTruth(fps=float(meta["fps"]), landmarks_mm=landmarks.points_mm, series=series,
                       reps=reps, alignment_deg={k: float(v) for k, v in meta["alignment_deg"].items()},
                       athlete=Athlete.from_dict(meta["athlete"]),
                       spec=TrialSpec.from_dict(meta["spec"]), seed=int(meta["seed"]),
                       provenance=dict(meta.get("provenance", {})))
