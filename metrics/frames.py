"""Segment frames of the lower limb, vectorised over frames (lab frame, Z up, mm).

Every frame is an (F, 3, 3) array whose *columns* are the unit x (forward), y (to the athlete's
left) and z (up / along the segment) axes in lab coordinates, so ``R.T @ v`` expresses a lab
vector ``v`` in the segment. Definitions (DESIGN.md section 4, "Frames and formulas"):

- pelvis: y = left_hip - right_hip; up = mid_shoulder - mid_hip; x = y x up; z = x x y.
- foot: x = heel -> foot_index, z = lab up made orthogonal, y = z x x.
- shank (A'): z = ankle -> knee; x = foot forward turned back about z by the side's alignment
  angle (outward positive: +angle about z on the left, -angle on the right), made
  orthogonal to z; y = z x x.
- hinge (B): y = normal of the hip-knee-ankle plane, (knee->ankle) x (knee->hip), pointing to
  the athlete's left on both sides.

Side sign ``s`` is +1 for left, -1 for right: the lateral direction of a side is ``s * y``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from liftlab.core.containers import Trajectory3D

Side = Literal["left", "right"]
SIDES: tuple[Side, Side] = ("left", "right")
UP = np.array([0.0, 0.0, 1.0])


def side_sign(side: Side) -> float:
    """+1 for the left side, -1 for the right side."""
    return 1.0 if side == "left" else -1.0


def unit(v: np.ndarray) -> np.ndarray:
    """Rows of ``v`` scaled to unit length (NaN where the length is zero or NaN)."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, v / np.where(n > 0, n, 1.0), np.nan)


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product."""
    return np.einsum("...i,...i->...", a, b)


def reject(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """``v`` with its component along the unit ``axis`` removed (row-wise)."""
    return v - dot(v, axis)[..., None] * axis


def rotate_about(v: np.ndarray, axis: np.ndarray, angle_rad: float | np.ndarray) -> np.ndarray:
    """Rodrigues rotation of rows ``v`` about unit rows ``axis`` by ``angle_rad`` (right hand)."""
    a = np.asarray(angle_rad, dtype=float)[..., None] if np.ndim(angle_rad) else angle_rad
    c, s = np.cos(a), np.sin(a)
    return v * c + np.cross(axis, v) * s + axis * dot(axis, v)[..., None] * (1 - c)


def frame_from_xz(x_hint: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Right-handed frame with z = unit(z), x = ``x_hint`` made orthogonal, y = z x x."""
    z = unit(z)
    x = unit(reject(x_hint, z))
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


def frame_from_yz(y_hint: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Right-handed frame with z = unit(z), y = ``y_hint`` made orthogonal, x = y x z."""
    z = unit(z)
    y = unit(reject(y_hint, z))
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=-1)


def in_frame(frame: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Lab vectors ``v`` (F, 3) expressed in ``frame`` (F, 3, 3)."""
    return np.einsum("fji,fj->fi", frame, v)


@dataclass(frozen=True)
class Leg:
    """One side's landmark trajectories, each (F, 3) mm in the lab frame."""

    side: Side
    hip: np.ndarray
    knee: np.ndarray
    ankle: np.ndarray
    heel: np.ndarray
    toe: np.ndarray

    @property
    def sign(self) -> float:
        return side_sign(self.side)

    def shank_length_mm(self) -> float:
        """Median ankle-knee distance (mm)."""
        return float(np.nanmedian(np.linalg.norm(self.knee - self.ankle, axis=-1)))

    def thigh_length_mm(self) -> float:
        """Median knee-hip distance (mm)."""
        return float(np.nanmedian(np.linalg.norm(self.hip - self.knee, axis=-1)))


def leg(traj: Trajectory3D, side: Side) -> Leg:
    """The :class:`Leg` of ``side`` from a trajectory (raises if a landmark is absent)."""
    return Leg(side, traj.point(f"{side}_hip"), traj.point(f"{side}_knee"),
               traj.point(f"{side}_ankle"), traj.point(f"{side}_heel"),
               traj.point(f"{side}_foot_index"))


def pelvis_frame(left_hip: np.ndarray, right_hip: np.ndarray, left_shoulder: np.ndarray,
                 right_shoulder: np.ndarray) -> np.ndarray:
    """Pelvis/trunk frame (F, 3, 3): y = left_hip - right_hip, up = mid_shoulder - mid_hip."""
    y = unit(left_hip - right_hip)
    up = 0.5 * (left_shoulder + right_shoulder) - 0.5 * (left_hip + right_hip)
    x = unit(np.cross(y, up))
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def foot_forward(lg: Leg) -> np.ndarray:
    """Unit heel -> foot_index direction (F, 3)."""
    return unit(lg.toe - lg.heel)


def foot_frame(lg: Leg) -> np.ndarray:
    """Foot frame (F, 3, 3): x = heel -> foot_index, z = lab up made orthogonal, y = z x x."""
    x = foot_forward(lg)
    z = unit(reject(np.broadcast_to(UP, x.shape), x))
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


def knee_forward(lg: Leg, alignment_deg: float) -> np.ndarray:
    """Shank forward axis under A': the foot axis, orthogonal to the shank, turned back.

    The foot is turned outward about the shank by ``alignment_deg`` (outward positive, both
    sides), so it is turned back by ``-s * alignment_deg`` about ankle -> knee.
    """
    z = unit(lg.knee - lg.ankle)
    x = unit(reject(foot_forward(lg), z))
    return rotate_about(x, z, -lg.sign * np.deg2rad(alignment_deg))


def shank_frame(lg: Leg, alignment_deg: float = 0.0) -> np.ndarray:
    """Shank frame under A' (F, 3, 3): z = ankle -> knee, x = :func:`knee_forward`."""
    return frame_from_xz(knee_forward(lg, alignment_deg), lg.knee - lg.ankle)


def hinge_axis(lg: Leg) -> np.ndarray:
    """Unit normal of the hip-knee-ankle plane, pointing to the athlete's left (B's knee axis).

    Undefined (noisy) when the knee is near straight.
    """
    return unit(np.cross(lg.ankle - lg.knee, lg.hip - lg.knee))


def thigh_frame_hinge(lg: Leg) -> np.ndarray:
    """Thigh frame under B: z = knee -> hip, y = :func:`hinge_axis`, x = y x z (forward)."""
    return frame_from_yz(hinge_axis(lg), lg.hip - lg.knee)
