"""The work each Ray task does: plain functions over the stages' public APIs.

They take and return the hand-off containers (Keypoints2D, Trajectory3D, analysis dicts), so
they run the same inside Ray, in a test, or called directly (`workers.pipeline` with
``ray_address="inline"``) — which is also how the overhead of Ray is measured.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from liftlab.core.cameras import Rig
from liftlab.core.containers import Keypoints2D, Trajectory3D


def pose_task(backend: Any, video: str | bytes, camera: str, suffix: str = ".mp4") -> Keypoints2D:
    """2D pose of one camera's video. ``video`` is a path (shared storage) or the file's bytes
    (shipped through Ray's object store when workers cannot see the driver's files)."""
    if isinstance(video, bytes):
        with tempfile.TemporaryDirectory(prefix="liftlab-video-") as tmp:
            path = Path(tmp) / f"{camera}{suffix}"
            path.write_bytes(video)
            return backend.detect(path, camera=camera, progress=False)
    return backend.detect(Path(video), camera=camera, progress=False)


def reconstruct_task(keypoints: dict[str, Keypoints2D], rig: Rig, settings: Any) -> Any:
    """Sync check, robust triangulation and clean-up of one trial -> ReconstructionResult."""
    from liftlab.reconstruction.pipeline import reconstruct_trial

    t0 = time.perf_counter()
    result = reconstruct_trial(keypoints, rig.subset(list(keypoints)), settings=settings)
    return result, time.perf_counter() - t0


def alignment_task(trajectory: Trajectory3D) -> Any:
    """Each side's knee alignment from a knee_curl trial."""
    from liftlab.metrics.alignment import estimate_alignment

    return estimate_alignment(trajectory)


def analyze_task(trajectory: Trajectory3D, *, exercise: str, alignment: Any,
                 load_kg: float | None, one_rm_kg: float | None, pain: tuple[float, ...],
                 thresholds: Any) -> tuple[dict, Any, float]:
    """Per-rep metrics and the reading of one trial -> (analysis JSON dict, series frame, s)."""
    from liftlab.metrics.analyze import analyze

    t0 = time.perf_counter()
    result = analyze(trajectory, exercise=exercise, alignment=alignment, load_kg=load_kg,
                     one_rm_kg=one_rm_kg, pain=pain, thresholds=thresholds)
    return result.to_json_dict(), result.series_frame(), time.perf_counter() - t0
