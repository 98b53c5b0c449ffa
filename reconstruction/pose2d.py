"""2D pose backends: one video in, one :class:`~liftlab.core.Keypoints2D` (frames x 33) out.

Every backend satisfies :class:`PoseBackend` (``detect(video_path, *, camera, progress)``),
streams frames (:class:`~liftlab.reconstruction.video.FrameReader`) and records the model,
its version, its settings and where the time went in ``Keypoints2D.source``.

- :class:`MediaPipePose` (default): BlazePose *full* through MediaPipe's ``solutions`` API,
  bundled in the mediapipe 0.10.21 wheel (runs offline). One person per frame; it may jump to
  a bystander, which :mod:`liftlab.reconstruction.consistency` detects.
- :class:`MediaPipeTasksPose`: the Tasks ``PoseLandmarker`` with a user-supplied ``.task``
  model file, VIDEO mode, several people per frame; the person is chosen by continuity in time
  here and across views by :func:`~liftlab.reconstruction.consistency.select_person`.
- Precomputed keypoints (OpenPose-style JSON): :mod:`liftlab.reconstruction.keypoint_import`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from liftlab.core.containers import Keypoints2D
from liftlab.core.errors import InputError, ReconstructionError
from liftlab.core.landmarks import INDEX, LANDMARKS, N_LANDMARKS
from liftlab.reconstruction.video import FrameReader

log = logging.getLogger(__name__)


@runtime_checkable
class PoseBackend(Protocol):
    """A 2D pose detector for one camera's video."""

    name: str

    def detect(self, video_path: str | Path, *, camera: str,
               progress: bool = False) -> Keypoints2D:
        """Detect the 33 landmarks in every frame of ``video_path``."""
        ...


def _progress_bar(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", leave=False)


def landmarks_to_array(landmarks: Any, width: int, height: int) -> np.ndarray:
    """MediaPipe normalised landmarks to (33, 3): x_px, y_px, visibility.

    Parameters
    ----------
    landmarks
        A sequence of 33 objects with ``x``, ``y`` (normalised to the image) and ``visibility``.
    width, height
        Size of the original image in pixels.
    """
    arr = np.array([(lm.x, lm.y, lm.visibility) for lm in landmarks], dtype=float)
    arr[:, 0] *= width
    arr[:, 1] *= height
    np.clip(arr[:, 2], 0.0, 1.0, out=arr[:, 2])
    return arr


@dataclass(frozen=True)
class MediaPipePose:
    """BlazePose through ``mp.solutions.pose`` (bundled full model, offline).

    Parameters
    ----------
    model_complexity
        1 = BlazePose full (the only model inside the 0.10.21 wheel; 0 and 2 download).
    min_detection_confidence, min_tracking_confidence
        MediaPipe's person detection and tracking thresholds.
    smooth_landmarks
        MediaPipe's own temporal landmark filter (video mode).
    """

    model_complexity: int = 1
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    smooth_landmarks: bool = True
    name: str = "mediapipe-blazepose"

    def __post_init__(self) -> None:
        if self.model_complexity not in (0, 1, 2):
            raise InputError(f"model_complexity must be 0, 1 or 2, got {self.model_complexity}",
                             fix="use 1 (BlazePose full, bundled)")
        for key in ("min_detection_confidence", "min_tracking_confidence"):
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise InputError(f"{key} must lie in [0, 1], got {value}")

    def settings(self) -> dict[str, Any]:
        return {"model_complexity": self.model_complexity,
                "static_image_mode": False, "smooth_landmarks": self.smooth_landmarks,
                "min_detection_confidence": self.min_detection_confidence,
                "min_tracking_confidence": self.min_tracking_confidence}

    def detect(self, video_path: str | Path, *, camera: str,
               progress: bool = False) -> Keypoints2D:
        """Run BlazePose on every frame; confidence = MediaPipe's landmark visibility."""
        import mediapipe as mp

        reader = FrameReader(video_path, rgb=True)
        info = reader.info
        rows: list[np.ndarray] = []
        t_inf = t_conv = 0.0
        bar = _progress_bar(info.n_frames, progress, f"2D {camera}")
        empty = np.full((N_LANDMARKS, 3), np.nan)
        t_start = time.perf_counter()
        with mp.solutions.pose.Pose(static_image_mode=False,
                                    model_complexity=self.model_complexity,
                                    smooth_landmarks=self.smooth_landmarks,
                                    min_detection_confidence=self.min_detection_confidence,
                                    min_tracking_confidence=self.min_tracking_confidence) as pose:
            for rgb in reader:
                t1 = time.perf_counter()
                result = pose.process(rgb)
                t2 = time.perf_counter()
                if result.pose_landmarks is None:
                    rows.append(empty)
                else:
                    rows.append(landmarks_to_array(result.pose_landmarks.landmark,
                                                   rgb.shape[1], rgb.shape[0]))
                t3 = time.perf_counter()
                t_inf += t2 - t1
                t_conv += t3 - t2
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        total = time.perf_counter() - t_start
        if not rows:
            raise InputError(f"Video has no readable frame: {info.path}",
                             fix="re-record or re-export the video")
        data = np.stack(rows)
        source = {"backend": self.name, "model": "BlazePose full (solutions.pose)",
                  "mediapipe_version": mp.__version__, "settings": self.settings(),
                  "video": str(info.path),
                  "timing_s": {"total": total, "inference": t_inf, "conversion": t_conv,
                               "decode_thread": reader.decode_s, "decode_wait": reader.wait_s}}
        return _to_keypoints(data, camera=camera, fps=info.fps, size=info.size, source=source)


def _to_keypoints(data: np.ndarray, *, camera: str, fps: float, size: tuple[int, int],
                  source: dict[str, Any]) -> Keypoints2D:
    """(F, 33, 3) x, y, confidence -> Keypoints2D (NaN confidence becomes 0)."""
    conf = np.nan_to_num(data[..., 2], nan=0.0)
    if not fps or fps <= 0:
        raise InputError("Video does not state its frame rate", where=source.get("video"),
                         fix="re-export the video with a constant frame rate")
    return Keypoints2D(camera=camera, fps=float(fps), points_px=data[..., :2].copy(),
                       confidence=conf, image_size=size, landmarks=LANDMARKS, source=source)


@dataclass(frozen=True)
class MediaPipeTasksPose:
    """MediaPipe Tasks ``PoseLandmarker`` (VIDEO mode) with a user-supplied ``.task`` model.

    Detects up to ``num_poses`` people per frame. :meth:`detect_candidates` returns them all
    (F, P, 33, 3) for a multi-view choice (:func:`consistency.select_person`); :meth:`detect`
    follows one person through time (the largest at the start, then the nearest hip centre).

    Parameters
    ----------
    model_path
        A ``pose_landmarker_*.task`` file (download it once from MediaPipe's model page).
    num_poses
        Maximum people per frame.
    """

    model_path: Path
    num_poses: int = 3
    min_pose_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    name: str = "mediapipe-tasks-pose-landmarker"

    def __post_init__(self) -> None:
        path = Path(self.model_path)
        object.__setattr__(self, "model_path", path)
        if path.suffix != ".task" or not path.is_file():
            raise InputError(
                f"MediaPipe Tasks needs a .task model file, {path} is not one",
                fix="download pose_landmarker_full.task from MediaPipe's model page (needs the "
                    "network once) and pass its path, or use the default bundled backend")
        if self.num_poses < 1:
            raise InputError(f"num_poses must be >= 1, got {self.num_poses}")

    def detect_candidates(self, video_path: str | Path, *,
                          progress: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
        """All people per frame: (F, num_poses, 33, 3) x_px, y_px, visibility*presence."""
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        reader = FrameReader(video_path, rgb=True)
        info = reader.info
        fps = info.fps if info.fps > 0 else 30.0
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO, num_poses=self.num_poses,
            min_pose_detection_confidence=self.min_pose_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence)
        rows = []
        bar = _progress_bar(info.n_frames, progress, f"2D {Path(video_path).stem}")
        with vision.PoseLandmarker.create_from_options(options) as landmarker:
            for i, rgb in enumerate(reader):
                image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
                result = landmarker.detect_for_video(image, int(round(i * 1000.0 / fps)))
                out = np.full((self.num_poses, N_LANDMARKS, 3), np.nan)
                for p, person in enumerate(result.pose_landmarks[: self.num_poses]):
                    arr = np.array([(lm.x * rgb.shape[1], lm.y * rgb.shape[0],
                                     (lm.visibility or 0.0) * (lm.presence or 1.0))
                                    for lm in person])
                    out[p] = arr
                rows.append(out)
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        if not rows:
            raise InputError(f"Video has no readable frame: {info.path}",
                             fix="re-record or re-export the video")
        source = {"backend": self.name, "model": str(self.model_path),
                  "mediapipe_version": mp.__version__, "video": str(info.path),
                  "settings": {"num_poses": self.num_poses, "running_mode": "VIDEO",
                               "min_pose_detection_confidence": self.min_pose_detection_confidence,
                               "min_tracking_confidence": self.min_tracking_confidence},
                  "fps": info.fps, "image_size": list(info.size)}
        return np.stack(rows), source

    def detect(self, video_path: str | Path, *, camera: str,
               progress: bool = False) -> Keypoints2D:
        """One person followed through time (see :func:`track_person`)."""
        cands, source = self.detect_candidates(video_path, progress=progress)
        chosen = track_person(cands)
        return _to_keypoints(chosen, camera=camera, fps=source["fps"],
                             size=tuple(source["image_size"]), source=source)


def _hip_centre(points: np.ndarray) -> np.ndarray:
    """(..., 33, >=2) -> (..., 2) mid-hip, NaN when missing."""
    return 0.5 * (points[..., INDEX["left_hip"], :2] + points[..., INDEX["right_hip"], :2])


def _bbox_height(points: np.ndarray) -> np.ndarray:
    y = points[..., 1]
    with np.errstate(invalid="ignore"):
        return np.nanmax(y, axis=-1) - np.nanmin(y, axis=-1)


def track_person(candidates: np.ndarray) -> np.ndarray:
    """Follow one person through (F, P, 33, 3) candidates: the tallest in the first frame
    with anyone, then in each frame the candidate whose hip centre is nearest the last
    chosen one (relative to the person's height; a jump of more than one height is a loss).

    Returns (F, 33, 3), NaN where the person is lost.
    """
    n_frames = candidates.shape[0]
    out = np.full(candidates.shape[:1] + candidates.shape[2:], np.nan)
    hips = _hip_centre(candidates)  # (F, P, 2)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        heights = _bbox_height(candidates)  # (F, P)
    last_hip: np.ndarray | None = None
    last_h = np.nan
    for f in range(n_frames):
        ok = np.isfinite(hips[f, :, 0]) & np.isfinite(heights[f])
        if not ok.any():
            continue
        if last_hip is None:
            p = int(np.nanargmax(np.where(ok, heights[f], -np.inf)))
        else:
            dist = np.where(ok, np.linalg.norm(hips[f] - last_hip, axis=-1), np.inf)
            p = int(np.argmin(dist))
            if dist[p] > max(last_h, 1.0):
                continue
        out[f] = candidates[f, p]
        last_hip, last_h = hips[f, p], heights[f, p]
    return out


def make_backend(kind: str = "mediapipe", *, model_path: str | Path | None = None,
                 num_poses: int = 3) -> PoseBackend:
    """The backend for a name: ``"mediapipe"`` (bundled) or ``"mediapipe-tasks"`` (.task)."""
    if kind == "mediapipe":
        return MediaPipePose()
    if kind == "mediapipe-tasks":
        if model_path is None:
            raise InputError("The mediapipe-tasks backend needs a .task model file",
                             fix="pass --model PATH/pose_landmarker_full.task")
        return MediaPipeTasksPose(Path(model_path), num_poses=num_poses)
    raise InputError(f"Unknown 2D backend {kind!r}; expected 'mediapipe' or 'mediapipe-tasks'",
                     fix="use --backend mediapipe")


def require_person(kp: Keypoints2D, *, min_detected_fraction: float = 0.1) -> None:
    """Raise when a camera saw (almost) nobody: naming the camera and the fix."""
    frac = kp.detected_fraction()
    if frac < min_detected_fraction:
        raise ReconstructionError(
            f"No person detected in {frac:.0%} of frames of camera {kp.camera!r} "
            f"(need {min_detected_fraction:.0%})",
            where=str(kp.source.get("video", kp.camera)),
            fix="check the athlete is in view and lit, or leave this camera out")
