"""Segment frames of the virtual athlete and its truth series (angles and knee positions).

Computed from the model's own rotation matrices with :class:`scipy.spatial.transform.Rotation`
(not from :mod:`liftlab.metrics`, which works from the same DESIGN definitions on its own, so
the two check each other). Frames are (F, 3, 3) with the axes as *columns*, in the lab frame:

- pelvis: y = left_hip - right_hip; up = mid_shoulder - mid_hip; x = y x up; z = x x y.
- foot: x = heel -> foot_index; z = lab up made orthogonal; y = z x x.
- shank A': z = ankle -> knee; x = foot forward turned back (inward) about z by the side's
  alignment, made orthogonal to z; y = z x x (points to the athlete's left on both sides).
- thigh: z = knee -> hip; y = the knee's flexion axis, perpendicular to z and to the shank's x
  (sign kept with the shank's y); x = y x z. This is the shank frame with the Grood & Suntay
  flexion and abduction undone and no axial rotation.

Angles (deg; same sign both sides: flexion, valgus, adduction, internal rotation positive):
knee = intrinsic Y-X-Z Euler angles of thigh -> shank (flexion about the thigh's y,
abduction about the floating axis, axial rotation about the shank's z, which is 0 by
construction); hip = intrinsic Y-X-Z of pelvis -> thigh.

Positions (mm): medial knee shift (DESIGN formula), knee-over-foot (from the foot's vertical
plane through the ankle containing heel -> foot_index), shank frontal tilt (deg: the shank
axis projected on the foot's frontal plane - vertical, perpendicular to the foot axis - from
vertical, toward the midline positive), heel lift (heel height above its height in frame 0)
and foot rotation (foot axis yaw from frame 0, outward positive).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from liftlab.capture.virtual.limbs import UP, dot, shank_forward, unit
from liftlab.core.landmarks import INDEX

SIDE_COLUMNS: tuple[str, ...] = (
    "knee_flexion_deg", "knee_abduction_deg", "hip_flexion_deg", "hip_adduction_deg",
    "hip_int_rotation_deg", "medial_knee_shift_mm", "knee_over_foot_mm",
    "shank_frontal_tilt_deg", "heel_lift_mm", "foot_rotation_deg",
)

#: Below this |foot axis . up| the foot's vertical plane is defined (the knee-curl foot swings
#: toward vertical); above it the foot-based columns are NaN.
MAX_FOOT_PITCH_SIN = 0.9
#: Below this |sin| between the thigh axis and the shank's forward axis, knee abduction and
#: hip rotation are undefined (gimbal lock of the knee's JCS at 90 deg flexion) and NaN.
SINGULAR_TOL = 1e-9


def frame_from_axes(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(F, 3, 3) with x, y, z as columns."""
    return np.stack([x, y, z], axis=-1)


def pelvis_frame(points: np.ndarray) -> np.ndarray:
    """Pelvis/trunk frame from (F, 33, 3) landmarks."""
    y = points[:, INDEX["left_hip"]] - points[:, INDEX["right_hip"]]
    mid_hip = (points[:, INDEX["left_hip"]] + points[:, INDEX["right_hip"]]) / 2
    mid_sh = (points[:, INDEX["left_shoulder"]] + points[:, INDEX["right_shoulder"]]) / 2
    x = unit(np.cross(y, mid_sh - mid_hip))
    z = unit(np.cross(x, y))
    return frame_from_axes(x, np.cross(z, x), z)


def shank_frame(points: np.ndarray, side: str, *, alignment_deg: float) -> np.ndarray:
    sigma = 1 if side == "left" else -1
    knee, ankle = points[:, INDEX[f"{side}_knee"]], points[:, INDEX[f"{side}_ankle"]]
    foot = unit(points[:, INDEX[f"{side}_foot_index"]] - points[:, INDEX[f"{side}_heel"]])
    z = unit(knee - ankle)
    x = shank_forward(knee, ankle, foot, alignment_deg=alignment_deg, sigma=sigma)
    return frame_from_axes(x, np.cross(z, x), z)


def thigh_frame(points: np.ndarray, side: str, shank: np.ndarray) -> np.ndarray:
    z = unit(points[:, INDEX[f"{side}_hip"]] - points[:, INDEX[f"{side}_knee"]])
    y = unit(np.cross(z, shank[:, :, 0]))
    y *= np.where(dot(y, shank[:, :, 1]) < 0, -1.0, 1.0)[:, None]
    return frame_from_axes(np.cross(y, z), y, z)


def _yxz_deg(parent: np.ndarray, child: np.ndarray) -> np.ndarray:
    """Intrinsic Y-X-Z Euler angles (F, 3) in deg of ``child`` relative to ``parent``."""
    relative = np.einsum("fji,fjk->fik", parent, child)
    return Rotation.from_matrix(relative).as_euler("YXZ", degrees=True)


def side_series(points: np.ndarray, side: str, *, alignment_deg: float,
                pelvis: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The truth columns of :data:`SIDE_COLUMNS` for one side, from exact landmarks."""
    sigma = 1 if side == "left" else -1
    pelvis = pelvis_frame(points) if pelvis is None else pelvis
    shank = shank_frame(points, side, alignment_deg=alignment_deg)
    thigh = thigh_frame(points, side, shank)
    knee_angles = _yxz_deg(thigh, shank)
    hip_angles = _yxz_deg(pelvis, thigh)
    # Thigh axis along the shank's x (exactly 90 deg flexion, no abduction): the floating
    # axis, hence abduction and the thigh's spin, are undefined there.
    thigh_in_shank = np.einsum("fji,fj->fi", shank, thigh[:, :, 2])
    undefined = np.hypot(thigh_in_shank[:, 1], thigh_in_shank[:, 2]) < SINGULAR_TOL
    knee_angles[undefined, 0] = np.degrees(np.arctan2(-thigh_in_shank[undefined, 0], 0.0))
    knee_angles[undefined, 1] = np.nan
    hip_angles[undefined, 2] = np.nan
    hip, knee, ankle = (points[:, INDEX[f"{side}_{j}"]] for j in ("hip", "knee", "ankle"))
    heel, toe = points[:, INDEX[f"{side}_heel"]], points[:, INDEX[f"{side}_foot_index"]]

    n_hinge = sigma * unit(np.cross(hip - ankle, shank[:, :, 0]))
    foot = unit(toe - heel)
    flat = np.abs(dot(foot, UP)) < MAX_FOOT_PITCH_SIN
    n_foot = sigma * unit(np.cross(UP, foot))           # lateral normal of the foot's plane
    frontal_up = unit(UP - dot(UP, foot)[:, None] * foot)  # vertical in the foot's frontal plane
    shank_z = shank[:, :, 2]
    tilt = np.degrees(np.arctan2(-dot(shank_z, n_foot), dot(shank_z, frontal_up)))
    yaw = np.degrees(np.unwrap(np.arctan2(foot[:, 1], foot[:, 0])))
    return {
        "knee_flexion_deg": knee_angles[:, 0],
        "knee_abduction_deg": sigma * knee_angles[:, 1],
        "hip_flexion_deg": -hip_angles[:, 0],
        "hip_adduction_deg": -sigma * hip_angles[:, 1],
        "hip_int_rotation_deg": -sigma * hip_angles[:, 2],
        "medial_knee_shift_mm": -dot(knee - ankle, n_hinge),
        "knee_over_foot_mm": np.where(flat, -dot(knee - ankle, n_foot), np.nan),
        "shank_frontal_tilt_deg": np.where(flat, tilt, np.nan),
        "heel_lift_mm": heel[:, 2] - heel[0, 2],
        "foot_rotation_deg": np.where(flat, sigma * (yaw - yaw[0]), np.nan),
    }


def knee_twist_deg(points: np.ndarray, side: str, *, alignment_deg: float) -> np.ndarray:
    """Axial rotation of the knee under A' (0 by construction; a self-check)."""
    shank = shank_frame(points, side, alignment_deg=alignment_deg)
    return _yxz_deg(thigh_frame(points, side, shank), shank)[:, 2]


def truth_series(points: np.ndarray, alignment_deg: dict[str, float]) -> dict[str, np.ndarray]:
    """All per-side truth columns, named ``left_<column>`` / ``right_<column>``."""
    pelvis = pelvis_frame(points)
    out: dict[str, np.ndarray] = {}
    for side in ("left", "right"):
        cols = side_series(points, side, alignment_deg=alignment_deg[side], pelvis=pelvis)
        out.update({f"{side}_{name}": value for name, value in cols.items()})
    return out
