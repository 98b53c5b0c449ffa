"""Camera calibration: boards, intrinsics + extrinsics with aniposelib, lab frame, quality, imports.

Public API::

    calibrate_session(session_dir, *, intrinsics_only=False, settings=...) -> CalibrationResult
    import_calibration(path, *, camera_names=None) -> Rig
    calibrate_intrinsics(images_or_video, board) -> (Camera, CameraQuality)
    lab_frame_from_floor(rig, images, board) -> LabFrame

Modules import lazily from here so ``import liftlab.calibration`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Board": "boards", "AniposeBoard": "boards",
    "Detections": "detect", "detect_video": "detect", "detect_images": "detect",
    "CalibrationSettings": "calibrate", "calibrate_intrinsics": "calibrate",
    "calibrate_rig": "calibrate",
    "QualityThresholds": "quality", "CameraQuality": "quality", "Verdict": "quality",
    "LabFrame": "labframe", "lab_frame_from_floor": "labframe", "apply_lab_frame": "labframe",
    "board_geometry_error": "labframe", "triangulate_px": "labframe",
    "import_calibration": "importers", "read_qca": "importers", "resize_camera": "importers",
    "CalibrationResult": "report", "write_outputs": "report",
    "calibrate_session": "pipeline",
    "write_board_pdf": "printing",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"liftlab.calibration.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'liftlab.calibration' has no attribute {name!r}")
