"""Exact per-frame geometry of the virtual athlete's limbs (vectorised over frames).

The knee solve is the heart of the virtual lab's truth: the knee lies on its inverse-kinematics
circle about the hip-ankle axis, turned so that its **medial knee shift** (DESIGN section 4:
n = unit normal of the plane through hip and ankle containing the shank frame's forward axis
x of A', oriented laterally; shift = -(knee - ankle) . n) equals a prescribed value. Because x
depends on the shank axis, i.e. on the knee itself, this is a 1D root find per frame on the
knee's angle on its circle, solved here to ~1e-9 mm by a vectorised safeguarded Newton
iteration (no library root finder works on thousands of independent scalar equations at once
without a Python loop per frame).

All arrays are (F, 3) in mm unless stated; ``sigma`` is +1 for left, -1 for right.
"""

from __future__ import annotations

import numpy as np

from liftlab.core.errors import InputError

UP = np.array([0.0, 0.0, 1.0])


def unit(v: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis."""
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...i->...", a, b)


def rotate(v: np.ndarray, axis: np.ndarray, angle_rad: np.ndarray | float) -> np.ndarray:
    """Rotate ``v`` about unit ``axis`` by ``angle_rad`` (right hand; Rodrigues' formula)."""
    c = np.cos(angle_rad)[..., None] if np.ndim(angle_rad) else np.cos(angle_rad)
    s = np.sin(angle_rad)[..., None] if np.ndim(angle_rad) else np.sin(angle_rad)
    return v * c + np.cross(axis, v) * s + axis * dot(axis, v)[..., None] * (1.0 - c)


def shank_forward(knee: np.ndarray, ankle: np.ndarray, foot_forward: np.ndarray, *,
                  alignment_deg: float, sigma: int) -> np.ndarray:
    """Shank frame A' forward axis x: the foot's forward axis turned back (inward) about the
    shank axis z = ankle -> knee by the side's alignment, made orthogonal to z."""
    z = unit(knee - ankle)
    turned = rotate(foot_forward, z, -sigma * np.deg2rad(alignment_deg))
    return unit(turned - dot(turned, z)[..., None] * z)


def medial_shift(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, x: np.ndarray, *,
                 sigma: int) -> np.ndarray:
    """Medial knee shift (mm, positive toward the midline) given the shank's forward axis x."""
    n = sigma * unit(np.cross(hip - ankle, x))
    return -dot(knee - ankle, n)


def ik_circle(p0: np.ndarray, p2: np.ndarray, l01: float, l12: float, *, where: str
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Circle of joint positions p1 with |p1 - p0| = l01 and |p1 - p2| = l12.

    Returns centre (F, 3), radius (F,) and the unit axis p2 -> p0 (F, 3).
    """
    v = p0 - p2
    dist = np.linalg.norm(v, axis=-1)
    if np.any(dist > l01 + l12 + 1e-9) or np.any(dist < abs(l01 - l12) - 1e-9):
        worst = float(np.max(dist))
        raise InputError(f"Joint out of reach: end points {worst:.1f} mm apart, limb "
                         f"{l01:.1f} + {l12:.1f} mm", where=where,
                         fix="use a smaller depth or stance, or check the anthropometry")
    axis = v / dist[:, None]
    along = (l12**2 - l01**2 + dist**2) / (2.0 * dist)
    radius = np.sqrt(np.clip(l12**2 - along**2, 0.0, None))
    return p2 + along[:, None] * axis, radius, axis


def pole_joint(p0: np.ndarray, p2: np.ndarray, l01: float, l12: float, pole: np.ndarray, *,
               where: str) -> np.ndarray:
    """Middle joint (elbow) on its IK circle, on the side of the ``pole`` direction."""
    centre, radius, axis = ik_circle(p0, p2, l01, l12, where=where)
    towards = pole - dot(pole, axis)[:, None] * axis
    return centre + radius[:, None] * unit(towards)


def solve_knee(hip: np.ndarray, ankle: np.ndarray, foot_forward: np.ndarray, shift_mm: np.ndarray,
               *, thigh_mm: float, shank_mm: float, alignment_deg: float, sigma: int,
               tol_mm: float = 1e-9, max_iter: int = 60) -> np.ndarray:
    """Knee positions whose medial knee shift equals ``shift_mm`` exactly.

    Parameters
    ----------
    hip, ankle
        (F, 3) joint centres.
    foot_forward
        (F, 3) unit heel -> foot_index direction (the foot is rigid, so it is known before the
        knee).
    shift_mm
        (F,) prescribed medial knee shift; 0 puts the knee in its hinge plane.
    thigh_mm, shank_mm
        Bone lengths.
    alignment_deg, sigma
        The side's foot alignment (outward positive) and side sign.

    Returns
    -------
    (F, 3) knee positions, on the forward half of the IK circle.

    Raises
    ------
    InputError
        When the limb cannot reach or the shift exceeds what the knee's circle allows.
    """
    shift_mm = np.broadcast_to(np.asarray(shift_mm, dtype=float), hip.shape[:1])
    centre, radius, u = ik_circle(hip, ankle, thigh_mm, shank_mm, where="knee")
    ahead = rotate(foot_forward, UP, -sigma * np.deg2rad(alignment_deg))
    e1 = unit(ahead - dot(ahead, u)[:, None] * u)   # forward on the circle (hinge guess)
    e2 = sigma * np.cross(e1, u)                    # medial on the circle

    def knee_at(theta: np.ndarray) -> np.ndarray:
        return centre + radius[:, None] * (np.cos(theta)[:, None] * e1 + np.sin(theta)[:, None] * e2)

    def residual(theta: np.ndarray) -> np.ndarray:
        knee = knee_at(theta)
        x = shank_forward(knee, ankle, foot_forward, alignment_deg=alignment_deg, sigma=sigma)
        return medial_shift(hip, knee, ankle, x, sigma=sigma) - shift_mm

    movable = radius > 1e-6
    too_far = np.abs(shift_mm) > 0.9 * radius
    if np.any(too_far & (np.abs(shift_mm) > 1e-9)):
        i = int(np.argmax(too_far & (np.abs(shift_mm) > 1e-9)))
        raise InputError(f"Medial knee shift {shift_mm[i]:.1f} mm is beyond what the knee can "
                         f"reach at frame {i} (circle radius {radius[i]:.1f} mm)",
                         where="valgus pattern", fix="lower valgus_peak_mm or start it deeper")
    theta = np.arcsin(np.clip(np.where(movable, shift_mm / np.where(movable, radius, 1.0), 0), -1, 1))
    step = 1e-6
    for _ in range(max_iter):
        res = residual(theta)
        if np.all(np.abs(res[movable]) < tol_mm):
            break
        slope = (residual(theta + step) - residual(theta - step)) / (2 * step)
        slope = np.where(np.abs(slope) > 1e-9, slope, 1e-9)
        theta = np.where(movable, theta - np.clip(res / slope, -0.3, 0.3), theta)
    else:
        raise InputError("The knee solve did not converge", where="virtual lab knee",
                         fix="report this athlete/trial spec as a bug")
    if np.any(np.cos(theta[movable]) <= 0):
        raise InputError("The knee solve landed behind the hip-ankle line", where="virtual lab",
                         fix="use a smaller valgus_peak_mm")
    return knee_at(theta)


HEAD_POINTS: dict[str, tuple[float, float, float]] = {
    # name: (azimuth deg, left positive; elevation deg; radius factor) on the head sphere
    "nose": (0.0, -12.0, 1.12),
    "left_eye_inner": (12.0, 8.0, 1.0), "left_eye": (22.0, 8.0, 1.0),
    "left_eye_outer": (32.0, 8.0, 1.0),
    "right_eye_inner": (-12.0, 8.0, 1.0), "right_eye": (-22.0, 8.0, 1.0),
    "right_eye_outer": (-32.0, 8.0, 1.0),
    "left_ear": (95.0, 0.0, 1.0), "right_ear": (-95.0, 0.0, 1.0),
    "mouth_left": (14.0, -32.0, 1.0), "mouth_right": (-14.0, -32.0, 1.0),
}


def head_points(centre: np.ndarray, forward: np.ndarray, up: np.ndarray, radius_mm: float
                ) -> dict[str, np.ndarray]:
    """Face landmarks on a head sphere facing ``forward`` (unit, (F, 3)) with ``up``."""
    up = unit(up - dot(up, forward)[:, None] * forward)
    left = np.cross(up, forward)
    out = {}
    for name, (az, el, factor) in HEAD_POINTS.items():
        a, e = np.deg2rad(az), np.deg2rad(el)
        direction = (np.cos(e) * np.cos(a)) * forward + (np.cos(e) * np.sin(a)) * left \
            + np.sin(e) * up
        out[name] = centre + factor * radius_mm * direction
    return out


def hand_points(wrist: np.ndarray, elbow: np.ndarray, across: np.ndarray, hand_mm: float, *,
                sigma: int) -> dict[str, np.ndarray]:
    """Pinky, index and thumb tips of a hand continuing the forearm, ``across`` (unit) pointing
    from the pinky side to the thumb side of the palm."""
    along = unit(wrist - elbow)
    across = unit(across - dot(across, along)[:, None] * along)
    side = "left" if sigma > 0 else "right"
    return {f"{side}_index": wrist + 0.75 * hand_mm * along + 0.18 * hand_mm * across,
            f"{side}_pinky": wrist + 0.65 * hand_mm * along - 0.22 * hand_mm * across,
            f"{side}_thumb": wrist + 0.40 * hand_mm * along + 0.35 * hand_mm * across}
