"""A still frame at the moment of peak valgus, with the 2D skeleton drawn on it.

The moment is the frame, inside a rep, of the largest inward knee shift (either side) in
the trial's per-frame series. The camera is the one whose pose model saw the legs best at
that frame (highest mean confidence of the lower-limb landmarks). Video time and series
time share one clock: frame ``i`` of a video is at ``i / fps`` seconds (the capture
contract: frames of every camera are synchronised). When the series, the video or the
keypoints file is missing, :func:`peak_still` says so in its caption instead of an image.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from liftlab.core.containers import Keypoints2D
from liftlab.core.errors import LiftlabError
from liftlab.core.landmarks import BONES, LOWER_LIMB
from liftlab.reports.data import TrialData, VideoData

log = logging.getLogger(__name__)

_BONE_BGR = {"left": (192, 101, 21), "right": (170, 36, 142), "mid": (240, 240, 240)}
_PEAK_BGR = (40, 40, 198)


@dataclass(frozen=True)
class Still:
    """A JPEG image (or ``None``) and the sentence shown under it (or instead of it)."""

    jpeg: bytes | None
    caption: str
    width_px: int = 0
    height_px: int = 0


@dataclass(frozen=True)
class PeakMoment:
    """When and where the inward knee shift was largest."""

    time_s: float
    side: str
    shift_mm: float
    rep: int


def peak_moment(trial: TrialData) -> PeakMoment | str:
    """The moment of the trial's largest inward knee shift, or why there is none."""
    series = trial.series
    if not trial.reps:
        return "No still frame: no repetitions were found in this trial."
    if series is None:
        return "No still frame: the per-frame series of this trial is not stored."
    columns = [f"{side}_medial_knee_shift_mm" for side in ("left", "right")]
    if not all(c in series for c in columns) or "time_s" not in series:
        return "No still frame: the per-frame series has no inward knee shift columns."
    inside = series["rep"].to_numpy() > 0 if "rep" in series else np.ones(len(series), bool)
    values = series[columns].to_numpy(float, copy=True)
    values[~inside] = np.nan
    if not np.isfinite(values).any():
        return "No still frame: the inward knee shift was not measured inside any rep."
    row, col = np.unravel_index(np.nanargmax(values), values.shape)
    rep = int(series["rep"].iloc[row]) if "rep" in series else 0
    return PeakMoment(time_s=float(series["time_s"].iloc[row]), side=("left", "right")[col],
                      shift_mm=float(values[row, col]), rep=rep)


def _leg_score(keypoints: Keypoints2D, frame: int) -> float:
    idx = [keypoints.landmarks.index(n) for n in LOWER_LIMB if n in keypoints.landmarks]
    conf = keypoints.confidence[frame, idx]
    seen = np.isfinite(keypoints.points_px[frame, idx, 0])
    return float(np.mean(np.where(seen, conf, 0.0))) if idx else 0.0


def _candidates(videos: tuple[VideoData, ...], time_s: float) -> tuple[list, list[str]]:
    found, missing = [], []
    for video in videos:
        if not video.path.is_file():
            missing.append(f"the video of camera {video.camera} is missing ({video.path})")
            continue
        if video.keypoints_path is None or not video.keypoints_path.is_file():
            missing.append(f"the 2D keypoints of camera {video.camera} are missing "
                           f"({video.keypoints_path or 'session folder unknown'})")
            continue
        try:
            keypoints = Keypoints2D.load(video.keypoints_path)
        except (OSError, ValueError, KeyError, LiftlabError) as exc:
            missing.append(f"the 2D keypoints of camera {video.camera} are unreadable ({exc})")
            continue
        frame = int(round(time_s * keypoints.fps))
        if not 0 <= frame < keypoints.n_frames:
            missing.append(f"camera {video.camera} has no frame at {time_s:.2f} s")
            continue
        found.append((_leg_score(keypoints, frame), video, keypoints, frame))
    return found, missing


def _read_frame(path: str, frame: int) -> np.ndarray | None:
    import cv2

    cap = cv2.VideoCapture(path)
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
        ok, image = cap.read()
        if not ok:  # some containers cannot seek: read forward instead
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            for _ in range(frame + 1):
                ok, image = cap.read()
                if not ok:
                    return None
        return image
    finally:
        cap.release()


def draw_skeleton(image: np.ndarray, points_px: np.ndarray, landmarks: tuple[str, ...],
                  *, highlight: str | None = None) -> np.ndarray:
    """A copy of ``image`` (BGR) with the bones of :data:`BONES` drawn from ``points_px``
    (K, 2; NaN = not seen); the landmark ``highlight`` gets a red ring."""
    import cv2

    out = image.copy()
    scale = max(1, int(round(max(out.shape[:2]) / 500)))
    index = {name: i for i, name in enumerate(landmarks)}
    for a, b in BONES:
        if a not in index or b not in index:
            continue
        pa, pb = points_px[index[a]], points_px[index[b]]
        if not (np.isfinite(pa).all() and np.isfinite(pb).all()):
            continue
        side = a.split("_")[0] if a.split("_")[0] == b.split("_")[0] else "mid"
        p1, p2 = tuple(int(v) for v in np.round(pa)), tuple(int(v) for v in np.round(pb))
        cv2.line(out, p1, p2, (20, 20, 20), 4 * scale, cv2.LINE_AA)
        cv2.line(out, p1, p2, _BONE_BGR.get(side, _BONE_BGR["mid"]), 2 * scale, cv2.LINE_AA)
    for name, i in index.items():
        p = points_px[i]
        if np.isfinite(p).all() and name in LOWER_LIMB:
            cv2.circle(out, tuple(int(v) for v in np.round(p)), 3 * scale, (255, 255, 255), -1,
                       cv2.LINE_AA)
    if highlight in index and np.isfinite(points_px[index[highlight]]).all():
        center = tuple(int(v) for v in np.round(points_px[index[highlight]]))
        cv2.circle(out, center, 12 * scale, _PEAK_BGR, 3 * scale, cv2.LINE_AA)
    return out


def _crop(image: np.ndarray, points_px: np.ndarray, *, margin: float = 0.15) -> np.ndarray:
    """The part of the image around the detected person (whole image when nothing seen)."""
    seen = points_px[np.isfinite(points_px).all(axis=1)]
    if len(seen) < 2:
        return image
    h, w = image.shape[:2]
    (x0, y0), (x1, y1) = seen.min(axis=0), seen.max(axis=0)
    pad = margin * max(x1 - x0, y1 - y0)
    x0, x1 = int(max(0, x0 - pad)), int(min(w, x1 + pad))
    y0, y1 = int(max(0, y0 - pad)), int(min(h, y1 + pad))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return image
    return image[y0:y1, x0:x1]


def peak_still(trial: TrialData, *, max_side_px: int = 700) -> Still:
    """The still of ``trial`` at its peak inward knee shift, or a sentence saying why not."""
    import cv2

    moment = peak_moment(trial)
    if isinstance(moment, str):
        return Still(None, moment)
    if not trial.videos:
        return Still(None, "No still frame: no camera video is recorded for this trial.")
    found, missing = _candidates(trial.videos, moment.time_s)
    if not found:
        return Still(None, "No still frame: " + "; ".join(missing) + ".")
    found.sort(key=lambda c: -c[0])
    for _score, video, keypoints, frame in found:
        image = _read_frame(str(video.path), frame)
        if image is None:
            missing.append(f"frame {frame} of camera {video.camera} could not be read")
            continue
        points = keypoints.points_px[frame]
        drawn = _crop(draw_skeleton(image, points, keypoints.landmarks,
                                    highlight=f"{moment.side}_knee"), points)
        factor = min(1.0, max_side_px / max(drawn.shape[:2]))
        if factor < 1.0:
            drawn = cv2.resize(drawn, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        ok, encoded = cv2.imencode(".jpg", drawn, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            missing.append(f"the frame of camera {video.camera} could not be encoded")
            continue
        rep = f" (rep {moment.rep})" if moment.rep else ""
        caption = (f"Camera {video.camera} at {moment.time_s:.2f} s{rep}: the moment of the "
                   f"largest inward knee shift, {moment.shift_mm:.0f} mm on the {moment.side} "
                   f"side (red ring). Lines: the 2D skeleton the pose model found in this view.")
        return Still(encoded.tobytes(), caption, drawn.shape[1], drawn.shape[0])
    return Still(None, "No still frame: " + "; ".join(missing) + ".")
