"""Upper body of the virtual athlete: trunk, arms holding the bar (or the rack), head.

Everything here is in the athlete's own frame (x forward, y left, z up, mm), vectorised over
frames; :mod:`.motion` places the legs and maps the result to the lab.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from liftlab.capture.virtual.body import Anthropometry
from liftlab.capture.virtual.limbs import UP, hand_points, head_points, pole_joint, unit

ArmStyle = Literal["back", "front", "overhead", "rack"]

#: How the arms hold what, per exercise: back squat bar on the traps (elbows down and back),
#: front rack (elbows forward), snatch overhead, knee-curl hands on the rack in front.
ARM_STYLE: dict[str, ArmStyle] = {"squat": "back", "front_squat": "front", "clean": "front",
                                  "snatch": "overhead", "knee_curl": "rack"}

#: Trunk lean from vertical (deg) per deg of thigh angle from vertical, per arm style: a back
#: squat leans ~40-45 deg at depth, a front or overhead squat stays more upright.
LEAN_PER_THIGH_DEG: dict[str, float] = {"back": 0.5, "front": 0.3, "overhead": 0.25, "rack": 0.0}
STANDING_LEAN_DEG = 2.0


def trunk_axes(lean_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trunk frame axes (forward, left, up), each (F, 3), leaning forward by ``lean_deg``."""
    lean = np.deg2rad(lean_deg)
    zeros = np.zeros_like(lean)
    up = np.stack([np.sin(lean), zeros, np.cos(lean)], axis=-1)
    forward = np.stack([np.cos(lean), zeros, -np.sin(lean)], axis=-1)
    left = np.broadcast_to(np.array([0.0, 1.0, 0.0]), up.shape)
    return forward, left, up


def upper_body(mid_hip: np.ndarray, lean_deg: np.ndarray, style: ArmStyle,
               anthro: Anthropometry) -> dict[str, np.ndarray]:
    """Shoulders, elbows, wrists, hands and face landmarks, (F, 3) each, athlete frame.

    Parameters
    ----------
    mid_hip
        (F, 3) midpoint of the hip joint centres.
    lean_deg
        (F,) trunk lean forward from vertical.
    style
        Where the hands are (see :data:`ARM_STYLE`).
    anthro
        Body dimensions.
    """
    a, h = anthro, anthro.height_mm
    fwd, left, up = trunk_axes(lean_deg)
    mid_sh = mid_hip + a.trunk_mm * up
    arm = a.upper_arm_mm + a.forearm_mm
    out: dict[str, np.ndarray] = {}
    for side, sigma in (("left", 1), ("right", -1)):
        shoulder = mid_sh + sigma * a.shoulder_width_mm / 2 * left
        if style == "back":
            bar = mid_sh - 0.035 * h * fwd + 0.02 * h * up
            wrist = bar + sigma * (a.shoulder_width_mm / 2 + 0.09 * h) * left
            pole = -0.7 * up - 0.5 * fwd + 0.3 * sigma * left
        elif style == "front":
            bar = mid_sh + 0.05 * h * fwd + 0.01 * h * up
            wrist = bar + sigma * (a.shoulder_width_mm / 2 + 0.02 * h) * left
            pole = fwd + 0.1 * sigma * left
        elif style == "overhead":
            wrist = mid_sh + 0.82 * arm * UP + sigma * 0.22 * h * left
            pole = sigma * left - 0.2 * fwd
        else:  # rack: hands on a rack in front, at chest height
            wrist = shoulder + 0.55 * arm * fwd - 0.25 * arm * up
            pole = -up + 0.4 * sigma * left
        elbow = pole_joint(shoulder, wrist, a.upper_arm_mm, a.forearm_mm, pole,
                           where=f"{side} arm ({style})")
        out[f"{side}_shoulder"], out[f"{side}_elbow"], out[f"{side}_wrist"] = shoulder, elbow, wrist
        out.update(hand_points(wrist, elbow, fwd, a.hand_mm, sigma=sigma))
    head_up = unit(up + UP)
    gaze = unit(np.array([1.0, 0.0, 0.0]) - 0.3 * np.sin(np.deg2rad(lean_deg))[:, None] * UP)
    centre = mid_sh + a.neck_mm * head_up
    out.update(head_points(centre, gaze, head_up, a.head_radius_mm))
    return out
