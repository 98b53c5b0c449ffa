"""Import precomputed 2D keypoints (OpenPose-style JSON per frame), so a lab can bring its
own detector.

Layout: ``<folder>/<anything>_<frame:012d>_keypoints.json``, each with
``{"people": [{"pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...]}, ...]}`` in pixels of the
original image; (0, 0, 0) means "not detected" (OpenPose's convention). The layout is
recognised from the number of keypoints: 25 = OpenPose BODY_25, 17 = COCO-17, 33 =
MediaPipe BlazePose (already in liftlab's order). Landmarks without an equivalent (BlazePose's
mouth, hand and inner/outer eye points from BODY_25) stay NaN. With several people per frame
one is followed through time (:func:`~liftlab.reconstruction.pose2d.track_person`).

Note: OpenPose's hips and feet are not BlazePose's (different training labels); mixing
detectors across the cameras of one trial is not advised.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from liftlab.core.containers import Keypoints2D
from liftlab.core.errors import InputError
from liftlab.core.landmarks import INDEX, LANDMARKS, N_LANDMARKS
from liftlab.reconstruction.pose2d import track_person

#: OpenPose BODY_25 index -> liftlab landmark.
BODY_25: dict[int, str] = {
    0: "nose", 2: "right_shoulder", 3: "right_elbow", 4: "right_wrist", 5: "left_shoulder",
    6: "left_elbow", 7: "left_wrist", 9: "right_hip", 10: "right_knee", 11: "right_ankle",
    12: "left_hip", 13: "left_knee", 14: "left_ankle", 15: "right_eye", 16: "left_eye",
    17: "right_ear", 18: "left_ear", 19: "left_foot_index", 21: "left_heel",
    22: "right_foot_index", 24: "right_heel",
}
#: COCO-17 index -> liftlab landmark.
COCO_17: dict[int, str] = {
    0: "nose", 1: "left_eye", 2: "right_eye", 3: "left_ear", 4: "right_ear",
    5: "left_shoulder", 6: "right_shoulder", 7: "left_elbow", 8: "right_elbow",
    9: "left_wrist", 10: "right_wrist", 11: "left_hip", 12: "right_hip", 13: "left_knee",
    14: "right_knee", 15: "left_ankle", 16: "right_ankle",
}
MEDIAPIPE_33: dict[int, str] = dict(enumerate(LANDMARKS))
LAYOUTS: dict[int, tuple[str, dict[int, str]]] = {
    25: ("openpose-body25", BODY_25), 17: ("coco17", COCO_17), 33: ("mediapipe33", MEDIAPIPE_33),
}
_FRAME = re.compile(r"_(\d{12})_keypoints\.json$")


def _person_array(flat: list[float], mapping: dict[int, str]) -> np.ndarray:
    arr = np.asarray(flat, dtype=float).reshape(-1, 3)
    out = np.full((N_LANDMARKS, 3), np.nan)
    for src, name in mapping.items():
        x, y, c = arr[src]
        if c > 0 and (x != 0 or y != 0):
            out[INDEX[name]] = (x, y, min(c, 1.0))
    return out


def import_openpose_json(folder: str | Path, *, camera: str, fps: float,
                         image_size: tuple[int, int]) -> Keypoints2D:
    """Read a folder of per-frame JSON files into Keypoints2D (frames x 33).

    Parameters
    ----------
    folder
        The camera's folder of ``*_<frame:012d>_keypoints.json`` files.
    camera
        Camera name (as in the calibration).
    fps, image_size
        The video's frame rate and (width, height): JSON files do not carry them.

    Frame numbers missing from the sequence become NaN frames.
    """
    folder = Path(folder)
    files = {}
    for p in folder.glob("*_keypoints.json") if folder.is_dir() else ():
        m = _FRAME.search(p.name)
        if m:
            files[int(m.group(1))] = p
    if not files:
        raise InputError(f"No *_<frame:012d>_keypoints.json files in {folder}",
                         fix="point to the camera's OpenPose output folder")
    first, last = min(files), max(files)
    people: list[list[np.ndarray]] = [[] for _ in range(last - first + 1)]
    layout = None
    for f, path in sorted(files.items()):
        try:
            doc = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"Not valid JSON: {exc}", where=str(path),
                             fix="re-export the keypoints") from exc
        for person in doc.get("people", []):
            flat = person.get("pose_keypoints_2d", [])
            n = len(flat) // 3
            if n not in LAYOUTS or len(flat) % 3:
                raise InputError(f"pose_keypoints_2d has {len(flat)} values; expected 3 x 25 "
                                 "(BODY_25), 3 x 17 (COCO) or 3 x 33 (MediaPipe)",
                                 where=str(path), fix="export BODY_25, COCO-17 or BlazePose")
            if layout is None:
                layout = n
            elif n != layout:
                raise InputError(f"keypoint layouts differ between frames ({layout} vs {n})",
                                 where=str(path))
            people[f - first].append(_person_array(flat, LAYOUTS[n][1]))
    n_people = max(1, max(len(p) for p in people))
    cands = np.full((len(people), n_people, N_LANDMARKS, 3), np.nan)
    for f, persons in enumerate(people):
        for p, arr in enumerate(persons):
            cands[f, p] = arr
    chosen = track_person(cands) if n_people > 1 else cands[:, 0]
    name = LAYOUTS[layout][0] if layout else "empty"
    return Keypoints2D(camera=camera, fps=float(fps), points_px=chosen[..., :2].copy(),
                       confidence=np.nan_to_num(chosen[..., 2], nan=0.0),
                       image_size=image_size, landmarks=LANDMARKS,
                       source={"backend": "json-import", "layout": name, "folder": str(folder),
                               "first_frame": first, "max_people": n_people})


def write_openpose_json(kp: Keypoints2D, folder: str | Path, *, stem: str = "frame") -> Path:
    """Write Keypoints2D as MediaPipe-33 JSON per frame (the layout read above)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(kp.n_frames):
        arr = np.concatenate([kp.points_px[f], kp.confidence[f][:, None]], axis=1)
        arr = np.where(np.isfinite(arr), arr, 0.0)
        people = [] if not np.isfinite(kp.points_px[f]).any() else \
            [{"pose_keypoints_2d": arr.ravel().round(3).tolist()}]
        (folder / f"{stem}_{f:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": people}))
    return folder
