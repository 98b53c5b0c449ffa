"""Shared, dependency-light building blocks: landmark names, cameras, containers, errors."""

from liftlab.core.cameras import Camera, Rig
from liftlab.core.containers import LAB_FRAME, Keypoints2D, Trajectory3D, full_landmark_array
from liftlab.core.errors import (
    CalibrationError,
    InputError,
    LiftlabError,
    ReconstructionError,
    StorageError,
    check_all,
)
from liftlab.core.landmarks import INDEX, LANDMARKS, LOWER_LIMB, N_LANDMARKS

__all__ = [
    "Camera", "Rig", "LAB_FRAME", "Keypoints2D", "Trajectory3D", "full_landmark_array",
    "CalibrationError", "InputError", "LiftlabError", "ReconstructionError", "StorageError",
    "check_all", "INDEX", "LANDMARKS", "LOWER_LIMB", "N_LANDMARKS",
]
