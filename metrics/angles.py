"""Joint angles and knee positions per frame, vectorised (lab frame Z up, mm, degrees).

Sign convention, both sides alike: knee abduction (valgus), hip adduction, hip internal
rotation and flexion are positive; medial knee shift and knee-over-foot are positive toward
the midline. Formulas are DESIGN.md section 4 ("Frames and formulas"); the frames come from
:mod:`liftlab.metrics.frames`.

What is observable without assumptions: :func:`knee_flexion_deg` (thigh-shank angle), hip
flexion and adduction (thigh long axis in the pelvis), :func:`knee_over_foot_mm`,
:func:`shank_frontal_tilt_deg`. JCS knee abduction needs assumption A' (foot fixes the shank's
spin, beyond the measured alignment) and degrades near 90 deg of flexion: use it with
:func:`abduction_reliability`. Hip rotation needs a thigh spin: from A' (the knee JCS) or from
B (hinge knee: the hip-knee-ankle plane normal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from liftlab.metrics.frames import (
    UP,
    Leg,
    dot,
    foot_forward,
    in_frame,
    knee_forward,
    shank_frame,
    thigh_frame_hinge,
    unit,
)

if TYPE_CHECKING:
    from liftlab.core.cameras import Camera

ThighSpin = Literal["A", "B"]


def _rot_x(angle_rad: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1),
                     np.stack([z, s, c], -1)], -2)


def _rot_y(angle_rad: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1),
                     np.stack([-s, z, c], -1)], -2)


def angle_between_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (deg) between rows of ``a`` and ``b``, stable near 0 and 180."""
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), dot(a, b)))


def knee_flexion_deg(lg: Leg) -> np.ndarray:
    """Plain 3D thigh-shank angle: 180 - angle(knee->hip, knee->ankle). No assumption needed."""
    return 180.0 - angle_between_deg(lg.hip - lg.knee, lg.ankle - lg.knee)


@dataclass(frozen=True)
class KneeJCS:
    """Knee angles under A' (Grood & Suntay; axial rotation = 0) and the implied thigh frame.

    ``thigh`` (F, 3, 3) is the shank frame with the abduction and flexion rotations undone:
    ``thigh = shank @ Rx(-s * abduction) @ Ry(-flexion)``.
    """

    flexion_deg: np.ndarray
    abduction_deg: np.ndarray
    shank: np.ndarray
    thigh: np.ndarray


def knee_jcs(lg: Leg, *, alignment_deg: float = 0.0) -> KneeJCS:
    """JCS knee flexion and abduction (valgus positive) under A'.

    With d the unit thigh axis (knee -> hip) in the shank frame:
    ``abduction = s * arctan(d_y / d_z)`` (s = +1 left, -1 right) and
    ``flexion = atan2(-d_x, d_z / cos(abduction))``.
    """
    shank = shank_frame(lg, alignment_deg)
    d = in_frame(shank, unit(lg.hip - lg.knee))
    with np.errstate(invalid="ignore", divide="ignore"):
        abd = np.arctan(d[:, 1] / d[:, 2]) * lg.sign
        flex = np.arctan2(-d[:, 0], d[:, 2] / np.cos(abd))
    thigh = shank @ _rot_x(-lg.sign * abd) @ _rot_y(-flex)
    return KneeJCS(np.degrees(flex), np.degrees(abd), shank, thigh)


def abduction_reliability(flexion_deg: np.ndarray, *, alignment_uncertainty_deg: float = 0.0
                          ) -> np.ndarray:
    """Per-frame reliability in [0, 1] of JCS knee abduction.

    ``|cos(flexion)|`` (abduction turns into thigh spin near 90 deg), scaled by
    ``cos(err)`` with ``err = atan(sin(e) |tan(flexion)|)``, the abduction error an alignment
    error ``e`` (the uncertainty) causes (DESIGN.md "Real anatomy").
    """
    f = np.radians(flexion_deg)
    c = np.abs(np.cos(f))
    se = np.sin(np.radians(alignment_uncertainty_deg))
    with np.errstate(invalid="ignore"):
        return c * c / np.sqrt(c * c + se * se * np.sin(f) ** 2 + 1e-300)


@dataclass(frozen=True)
class HipAngles:
    """Hip JCS angles (deg) between pelvis and thigh and which thigh spin was used."""

    flexion_deg: np.ndarray
    adduction_deg: np.ndarray
    int_rotation_deg: np.ndarray
    thigh_spin: ThighSpin


def hip_jcs(pelvis: np.ndarray, thigh: np.ndarray, *, sign: float,
            thigh_spin: ThighSpin = "A") -> HipAngles:
    """Hip JCS: flexion about the pelvis y, adduction about the floating axis, rotation about
    the thigh axis (``pelvis.T @ thigh = Ry(phi) Rx(theta) Rz(psi)``).

    flexion = -phi, adduction = -s * theta, internal rotation = -s * psi (s = +1 left).
    Hip flexion and adduction depend only on the thigh's long axis (always observable);
    internal rotation depends on the thigh spin (``thigh_spin`` says whose).
    """
    r = np.einsum("fji,fjk->fik", pelvis, thigh)
    theta = np.arcsin(np.clip(-r[:, 1, 2], -1, 1))
    psi = np.arctan2(r[:, 1, 0], r[:, 1, 1])
    phi = np.arctan2(r[:, 0, 2], r[:, 2, 2])
    return HipAngles(np.degrees(-phi), np.degrees(-sign * theta), np.degrees(-sign * psi),
                     thigh_spin)


def hip_angles(pelvis: np.ndarray, lg: Leg, *, thigh_spin: ThighSpin = "A",
               alignment_deg: float = 0.0) -> HipAngles:
    """Hip angles with the thigh spin from A' (knee JCS thigh) or B (hinge plane normal)."""
    thigh = (knee_jcs(lg, alignment_deg=alignment_deg).thigh if thigh_spin == "A"
             else thigh_frame_hinge(lg))
    return hip_jcs(pelvis, thigh, sign=lg.sign, thigh_spin=thigh_spin)


def _medial_distance(lg: Leg, lateral_normal: np.ndarray) -> np.ndarray:
    return -dot(lg.knee - lg.ankle, lateral_normal)


def knee_over_foot_mm(lg: Leg) -> np.ndarray:
    """Knee's medial distance (mm) from the foot's vertical plane (ankle, heel->toe, vertical)."""
    n = lg.sign * unit(np.cross(np.broadcast_to(UP, lg.heel.shape), foot_forward(lg)))
    return _medial_distance(lg, n)


def medial_knee_shift_mm(lg: Leg, *, alignment_deg: float = 0.0, plane: Leg | None = None
                         ) -> np.ndarray:
    """Knee's medial distance (mm) from the hinge plane (hip, ankle, A' forward axis).

    ``n = s * unit((hip - ankle) x x_A')`` (lateral), ``shift = -(knee - ankle) . n``; zero for
    a hinge knee whatever the alignment, stance, toe-out and heading (once the alignment is
    right).

    ``plane``: the same leg, low-passed harder, to orient the plane (``n``) only. A hinge
    plane turns slowly (the hip moves within it), but its per-frame normal picks up the noise
    of hip, knee (through the shank axis) and foot times the knee's lever at depth; the
    knee's own position then carries only its own noise.
    """
    p = lg if plane is None else plane
    n = lg.sign * unit(np.cross(p.hip - p.ankle, knee_forward(p, alignment_deg)))
    return _medial_distance(lg, n)


def shank_frontal_tilt_deg(lg: Leg) -> np.ndarray:
    """Shank axis projected on the foot's frontal plane, angle from vertical (deg, medial +).

    The foot's frontal plane is vertical and perpendicular to heel -> foot_index:
    ``atan2(-z_shank . n_lat, z_shank . up_frontal)`` with n_lat the foot plane's lateral
    normal and up_frontal the lab up made orthogonal to the foot axis.
    """
    f = foot_forward(lg)
    n = lg.sign * unit(np.cross(np.broadcast_to(UP, f.shape), f))
    up_frontal = unit(UP - dot(np.broadcast_to(UP, f.shape), f)[:, None] * f)
    z = unit(lg.knee - lg.ankle)
    return np.degrees(np.arctan2(-dot(z, n), dot(z, up_frontal)))


@dataclass(frozen=True)
class FootStability:
    """Foot motion relative to a reference pose per frame: heel lift (mm, up positive),
    rotation about vertical (deg, toe outward positive), slide (mm, horizontal distance of the
    heel-toe midpoint)."""

    heel_lift_mm: np.ndarray
    rotation_deg: np.ndarray
    slide_mm: np.ndarray


def foot_stability(lg: Leg, reference_frame: np.ndarray) -> FootStability:
    """Foot motion of each frame relative to the pose at ``reference_frame[i]`` (indices)."""
    ref = np.asarray(reference_frame, dtype=int)
    lift = lg.heel[:, 2] - lg.heel[ref, 2]
    f = lg.toe - lg.heel
    yaw = np.arctan2(f[:, 1], f[:, 0])
    rot = np.degrees(np.angle(np.exp(1j * (yaw - yaw[ref])))) * lg.sign
    mid = 0.5 * (lg.heel + lg.toe)
    slide = np.linalg.norm((mid - mid[ref])[:, :2], axis=-1)
    return FootStability(lift, rot, slide)


def frontal_plane_knee_angle_deg(lg: Leg, pelvis: np.ndarray) -> np.ndarray:
    """3D frontal-plane knee angle (deg, valgus positive) in the pelvis frame's y-z plane.

    180 deg minus the hip-knee-ankle angle projected on the pelvis frontal plane, positive when
    the knee lies medial of the hip-ankle line there.
    """
    hip, knee, ankle = (in_frame(pelvis, p)[:, 1:] for p in (lg.hip, lg.knee, lg.ankle))
    a, b = hip - knee, ankle - knee
    inner = np.degrees(np.arctan2(np.abs(_cross2(a, b)), dot(a, b)))
    # (y, z) with y to the left: the knee is medial when s * cross(hip - ankle, knee - ankle) > 0
    medial = lg.sign * _cross2(hip - ankle, knee - ankle)
    return (180.0 - inner) * np.where(medial < 0, -1.0, 1.0)


def _cross2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]


def fppa_2d_deg(lg: Leg, camera: Camera, *, mid_hip: np.ndarray) -> np.ndarray:
    """2D frontal-plane projection angle (deg) in ``camera``'s image, valgus positive.

    The knee is valgus when it lies on the midline's side (projected ``mid_hip``) of the image
    hip-ankle line. Comparison only: it depends on the view (DESIGN.md section 7).
    """
    hip, knee, ankle, mid = (camera.project(p) for p in (lg.hip, lg.knee, lg.ankle, mid_hip))
    a, b = hip - knee, ankle - knee
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    inner = np.degrees(np.arctan2(np.abs(cross), dot(a, b)))
    line = ankle - hip
    knee_side = line[:, 0] * (knee - hip)[:, 1] - line[:, 1] * (knee - hip)[:, 0]
    mid_side = line[:, 0] * (mid - hip)[:, 1] - line[:, 1] * (mid - hip)[:, 0]
    return (180.0 - inner) * np.where(np.sign(knee_side) * np.sign(mid_side) < 0, -1.0, 1.0)


def knee_ankle_separation_ratio(left: Leg, right: Leg, pelvis: np.ndarray) -> np.ndarray:
    """Knee separation / ankle separation along the pelvis left-right axis (< 1 = knees in)."""
    y = pelvis[:, :, 1]
    knees = np.abs(dot(left.knee - right.knee, y))
    ankles = np.abs(dot(left.ankle - right.ankle, y))
    with np.errstate(invalid="ignore", divide="ignore"):
        return knees / ankles
