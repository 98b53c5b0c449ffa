"""Reconstruction: 2D pose per camera, sync check, multi-view consistency, robust
triangulation and clean-up, handing on one :class:`~liftlab.core.Trajectory3D` per trial.

Pure science: functions over arrays and the core containers (no Ray, no database).
MediaPipe is imported only when a video is processed.
"""

from liftlab.reconstruction.cleanup import fill_gaps, hampel_3d, lowpass
from liftlab.reconstruction.keypoint_import import import_openpose_json
from liftlab.reconstruction.pipeline import (
    CameraReport,
    ReconstructionResult,
    ReconstructionSettings,
    detect_trial,
    reconstruct_trial,
)
from liftlab.reconstruction.pose2d import (
    MediaPipePose,
    MediaPipeTasksPose,
    PoseBackend,
    make_backend,
)
from liftlab.reconstruction.sync import SyncEstimate, apply_offsets, estimate_offsets
from liftlab.reconstruction.triangulation import (
    Triangulation,
    triangulate_dlt,
    triangulate_robust,
)

__all__ = [
    "CameraReport", "ReconstructionResult", "ReconstructionSettings", "detect_trial",
    "reconstruct_trial", "MediaPipePose", "MediaPipeTasksPose", "PoseBackend", "make_backend",
    "SyncEstimate", "apply_offsets", "estimate_offsets", "Triangulation", "triangulate_dlt",
    "triangulate_robust", "fill_gaps", "hampel_3d", "lowpass", "import_openpose_json",
]
