"""Accuracy of the pipeline against the virtual lab's truth (what `liftlab demo` prints).

Each function compares one product of the pipeline with the truth written by the virtual lab,
and returns plain numbers, so the same figures feed the demo, tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from liftlab.core.cameras import Rig
from liftlab.core.containers import Trajectory3D
from liftlab.core.landmarks import INDEX

#: Landmark groups whose 3D error is reported.
GROUPS: dict[str, tuple[str, ...]] = {
    "hips": ("left_hip", "right_hip"),
    "knees": ("left_knee", "right_knee"),
    "ankles": ("left_ankle", "right_ankle"),
    "feet": ("left_heel", "right_heel", "left_foot_index", "right_foot_index"),
}


@dataclass(frozen=True)
class CameraError:
    camera: str
    position_mm: float
    rotation_deg: float
    focal_pct: float


def rig_errors(estimated: Rig, truth: Rig) -> list[CameraError]:
    """Per camera: centre distance (mm), rotation angle between the two (deg), focal error (%)."""
    out = []
    for cam in truth.cameras:
        est = estimated[cam.name]
        dR = est.R @ cam.R.T
        angle = np.degrees(np.arccos(np.clip((np.trace(dR) - 1) / 2, -1, 1)))
        f_true = np.mean(np.diag(cam.matrix)[:2])
        f_est = np.mean(np.diag(est.matrix)[:2])
        out.append(CameraError(cam.name, float(np.linalg.norm(est.center_mm - cam.center_mm)),
                               float(angle), float(100 * abs(f_est - f_true) / f_true)))
    return out


def trajectory_errors(trajectory: Trajectory3D, truth_mm: np.ndarray) -> dict[str, dict[str, float]]:
    """3D error (mm) per landmark group: mean, median, p95 and fraction of frames present."""
    n = min(trajectory.n_frames, truth_mm.shape[0])
    out: dict[str, dict[str, float]] = {}
    for group, names in GROUPS.items():
        idx = [trajectory.index(nm) for nm in names]
        tidx = [INDEX[nm] for nm in names]
        err = np.linalg.norm(trajectory.points_mm[:n, idx] - truth_mm[:n, tidx], axis=-1)
        ok = np.isfinite(err)
        vals = err[ok]
        out[group] = {
            "mean_mm": float(np.mean(vals)) if vals.size else float("nan"),
            "median_mm": float(np.median(vals)) if vals.size else float("nan"),
            "p95_mm": float(np.percentile(vals, 95)) if vals.size else float("nan"),
            "present": float(np.mean(ok)),
        }
    return out


def reading_agreement(analysis: Mapping[str, Any], truth_reps) -> dict[str, Any]:
    """Reps matched by order: the fraction whose reading equals the virtual lab's expectation."""
    reps = list(analysis.get("reps", []))
    pairs = list(zip(reps, truth_reps, strict=False))
    matches = [r.get("reading") == t.expected_reading for r, t in pairs]
    return {"reps_found": len(reps), "reps_true": len(truth_reps),
            "agree": int(sum(matches)), "compared": len(pairs),
            "readings": [r.get("reading") for r in reps],
            "expected": [t.expected_reading for t in truth_reps]}
