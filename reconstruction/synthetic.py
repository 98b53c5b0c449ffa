"""Generated truth for tests and benchmarks: a camera ring, a squatting 33-landmark body,
its 2D projections and controlled corruptions (noise, wrong points, left/right swaps,
bystander frames, frame offsets).

Nothing here is used by the pipeline itself; it exists so that every claim about the
reconstruction can be checked against known 3D.
"""

from __future__ import annotations

import numpy as np

from liftlab.core.cameras import Camera, Rig
from liftlab.core.containers import Keypoints2D
from liftlab.core.landmarks import INDEX, LANDMARKS, MIRROR_PERMUTATION, N_LANDMARKS

# Standing template, lab mm: athlete at the origin facing +Y, Z up, so their left is -X.
_TEMPLATE = {
    "nose": (0, 90, 1650), "left_eye_inner": (-15, 80, 1680), "left_eye": (-32, 78, 1682),
    "left_eye_outer": (-48, 72, 1680), "right_eye_inner": (15, 80, 1680),
    "right_eye": (32, 78, 1682), "right_eye_outer": (48, 72, 1680),
    "left_ear": (-75, 10, 1665), "right_ear": (75, 10, 1665),
    "mouth_left": (-25, 80, 1610), "mouth_right": (25, 80, 1610),
    "left_shoulder": (-190, 0, 1430), "right_shoulder": (190, 0, 1430),
    "left_elbow": (-230, 20, 1150), "right_elbow": (230, 20, 1150),
    "left_wrist": (-240, 60, 900), "right_wrist": (240, 60, 900),
    "left_pinky": (-245, 80, 820), "right_pinky": (245, 80, 820),
    "left_index": (-235, 90, 815), "right_index": (235, 90, 815),
    "left_thumb": (-225, 85, 850), "right_thumb": (225, 85, 850),
    "left_hip": (-100, 0, 950), "right_hip": (100, 0, 950),
    "left_knee": (-120, 20, 520), "right_knee": (120, 20, 520),
    "left_ankle": (-130, 0, 90), "right_ankle": (130, 0, 90),
    "left_heel": (-130, -50, 40), "right_heel": (130, -50, 40),
    "left_foot_index": (-170, 150, 20), "right_foot_index": (170, 150, 20),
}


def squat_motion(n_frames: int = 240, *, fps: float = 60.0, reps: int = 2,
                 depth_mm: float = 380.0, seed: int = 0) -> np.ndarray:
    """(F, 33, 3) lab mm of a body squatting ``reps`` times (plus a slow sway).

    The hips drop by ``depth_mm`` and move back, knees move forward and slightly out, feet
    stay planted, the trunk leans forward. Thighs and shanks keep their standing length (the
    knee is placed by two-link inverse kinematics in the plane of the moved knee): bones do
    not stretch, and :mod:`liftlab.reconstruction.segments` relies on it. The trunk and arms
    are moved point by point (their lengths change by a few percent).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / fps
    phase = 0.5 - 0.5 * np.cos(2 * np.pi * reps * t / t[-1]) if n_frames > 1 else np.zeros(1)
    base = np.array([_TEMPLATE[n] for n in LANDMARKS], dtype=float)
    out = np.repeat(base[None], n_frames, axis=0)
    s = phase[:, None]
    upper = np.array([i for i, n in enumerate(LANDMARKS)
                      if "hip" not in n and "knee" not in n and "ankle" not in n
                      and "heel" not in n and "foot" not in n])
    hips = [INDEX["left_hip"], INDEX["right_hip"]]
    knees = [INDEX["left_knee"], INDEX["right_knee"]]
    out[:, hips, 2] -= depth_mm * s
    out[:, hips, 1] -= 0.6 * depth_mm * s
    out[:, knees, 1] += 0.45 * depth_mm * s
    out[:, knees, 2] -= 0.35 * depth_mm * s
    out[:, knees, 0] *= 1.0 + 0.15 * s
    out[:, upper, 2] -= 0.9 * depth_mm * s
    out[:, upper, 1] += 0.2 * depth_mm * s
    sway = 30.0 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 2 * np.pi))
    out[..., 0] += sway[:, None] * (out[..., 2] / 1650.0)
    for side in ("left", "right"):
        out[:, INDEX[f"{side}_knee"]] = _rigid_knee(out, base, side)
    return out


def _rigid_knee(points: np.ndarray, base: np.ndarray, side: str) -> np.ndarray:
    """(F, 3) knee at the template's thigh and shank lengths from each frame's hip and ankle,
    bent towards where the knee of ``points`` is."""
    hip, knee, ankle = (points[:, INDEX[f"{side}_{j}"]] for j in ("hip", "knee", "ankle"))
    thigh, shank = (np.linalg.norm(base[INDEX[f"{side}_{a}"]] - base[INDEX[f"{side}_{b}"]])
                    for a, b in (("hip", "knee"), ("knee", "ankle")))
    d_vec = ankle - hip
    d = np.linalg.norm(d_vec, axis=-1, keepdims=True)
    u = d_vec / d
    off = knee - hip
    v = off - np.sum(off * u, axis=-1, keepdims=True) * u
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    a = (thigh ** 2 - shank ** 2 + d ** 2) / (2 * d)
    return hip + a * u + np.sqrt(np.clip(thigh ** 2 - a ** 2, 0.0, None)) * v


def ring_rig(n_cameras: int = 4, *, radius_mm: float = 3500.0, height_mm: float = 1300.0,
             size: tuple[int, int] = (1080, 1920), focal_px: float = 1500.0,
             distortion: float = -0.05, seed: int = 0) -> Rig:
    """Cameras evenly spread on a circle around the origin, aimed at (0, 0, 900) mm."""
    import cv2

    rng = np.random.default_rng(seed)
    cams = []
    for i in range(n_cameras):
        ang = 2 * np.pi * i / n_cameras + rng.uniform(-0.15, 0.15)
        centre = np.array([radius_mm * np.cos(ang), radius_mm * np.sin(ang), height_mm])
        fwd = np.array([0.0, 0.0, 900.0]) - centre
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        rot = np.stack([right, down, fwd])
        k = np.array([[focal_px, 0, size[0] / 2 + rng.uniform(-10, 10)],
                      [0, focal_px, size[1] / 2 + rng.uniform(-10, 10)], [0, 0, 1]])
        cams.append(Camera(name=f"cam{i + 1}", size=size, matrix=k,
                           distortions=[distortion, 0.02, 0, 0, 0],
                           rotation=cv2.Rodrigues(rot)[0].ravel(),
                           translation_mm=-rot @ centre))
    return Rig(tuple(cams))


def project_keypoints(rig: Rig, points_mm: np.ndarray, *, fps: float = 60.0,
                      noise_px: float = 0.0, seed: int = 0) -> dict[str, Keypoints2D]:
    """Keypoints2D per camera from 3D truth (distorted pixels + Gaussian noise, conf 0.9)."""
    rng = np.random.default_rng(seed)
    out = {}
    for cam in rig.cameras:
        px = cam.project(points_mm) + rng.normal(0.0, noise_px, points_mm.shape[:2] + (2,))
        conf = np.where(np.isfinite(px[..., 0]), 0.9, 0.0)
        out[cam.name] = Keypoints2D(camera=cam.name, fps=fps, points_px=px, confidence=conf,
                                    image_size=cam.size, source={"backend": "synthetic"})
    return out


def corrupt(keypoints: dict[str, Keypoints2D], *, wrong_fraction: float = 0.10,
            wrong_px: tuple[float, float] = (50.0, 300.0), swap_fraction: float = 0.05,
            seed: int = 0) -> tuple[dict[str, Keypoints2D], dict[str, np.ndarray]]:
    """Replace a fraction of view points by wrong points and mirror a fraction of view frames.

    Returns the corrupted keypoints and, per camera, the (F,) bool mask of swapped frames.
    Wrong points keep a plausible confidence (a detector does not know it is wrong).
    """
    rng = np.random.default_rng(seed)
    out, swapped = {}, {}
    for name, kp in keypoints.items():
        px = kp.points_px.copy()
        conf = kp.confidence.copy()
        n_f = px.shape[0]
        swap = rng.random(n_f) < swap_fraction
        px[swap] = px[swap][:, list(MIRROR_PERMUTATION)]
        wrong = rng.random(px.shape[:2]) < wrong_fraction
        ang = rng.uniform(0, 2 * np.pi, wrong.sum())
        dist = rng.uniform(*wrong_px, wrong.sum())
        px[wrong] += np.stack([np.cos(ang), np.sin(ang)], axis=-1) * dist[:, None]
        conf[wrong] = rng.uniform(0.5, 0.95, wrong.sum())
        out[name] = Keypoints2D(camera=kp.camera, fps=kp.fps, points_px=px, confidence=conf,
                                image_size=kp.image_size, source=dict(kp.source))
        swapped[name] = swap
    return out, swapped


def shift_frames(kp: Keypoints2D, offset_frames: int) -> Keypoints2D:
    """Delay a camera by ``offset_frames`` (its frame f + offset shows instant f), NaN-padded."""
    px = np.full_like(kp.points_px, np.nan)
    conf = np.zeros_like(kp.confidence)
    n = kp.n_frames
    d = int(offset_frames)
    if d >= 0:
        px[d:], conf[d:] = kp.points_px[: n - d], kp.confidence[: n - d]
    else:
        px[:d], conf[:d] = kp.points_px[-d:], kp.confidence[-d:]
    return Keypoints2D(camera=kp.camera, fps=kp.fps, points_px=px, confidence=conf,
                       image_size=kp.image_size, source=dict(kp.source))


__all__ = ["squat_motion", "ring_rig", "project_keypoints", "corrupt", "shift_frames",
           "N_LANDMARKS"]
