"""The virtual athlete: body dimensions and where and how they stand in the lab.

Hands on :class:`Anthropometry` (segment lengths, mm) and :class:`Athlete` (placement in the
lab, stance, toe-out and the per-side foot alignment) to :mod:`.motion`, which moves them.

Conventions
-----------
The athlete's own frame is x forward, y to their left, z up, origin on the floor midway
between the ankles. ``Athlete.to_lab`` maps it to the lab frame (Z up, mm) by a turn of
``heading_deg`` about Z (0 deg = facing lab +X, 90 deg = facing lab +Y) and a shift to
``position_mm``. Side sign ``sigma`` is +1 for left, -1 for right throughout the virtual lab.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal

import numpy as np

from liftlab.core.errors import check_all

Side = Literal["left", "right"]
SIDES: tuple[Side, Side] = ("left", "right")
SIDE_SIGN: dict[str, int] = {"left": 1, "right": -1}

#: Segment lengths as fractions of standing height. Winter, *Biomechanics and Motor Control
#: of Human Movement* (4th ed., 2009), fig. 4.1, except: hip joint centre spacing (~0.72 x
#: inter-ASIS distance, Harrington et al. 2007), shoulder joint centre spacing (biacromial
#: breadth 0.259 H less the acromion-to-joint-centre offsets), heel behind the ankle
#: (a quarter of foot length) and the head sphere (radius = half the head breadth).
HEIGHT_RATIOS: dict[str, float] = {
    "thigh_mm": 0.245,            # hip joint centre to knee joint centre
    "shank_mm": 0.246,            # knee joint centre to ankle joint centre
    "ankle_height_mm": 0.039,     # ankle joint centre above the floor
    "foot_length_mm": 0.152,      # heel to foot_index (toe tip)
    "heel_back_mm": 0.038,        # heel behind the ankle, along the foot
    "hip_width_mm": 0.105,        # between hip joint centres
    "shoulder_width_mm": 0.220,   # between shoulder joint centres
    "trunk_mm": 0.288,            # mid-hip to mid-shoulder
    "upper_arm_mm": 0.186,
    "forearm_mm": 0.146,
    "hand_mm": 0.108,
    "neck_mm": 0.117,             # mid-shoulder to head centre
    "head_radius_mm": 0.045,
}


@dataclass(frozen=True)
class Anthropometry:
    """Body dimensions in mm; any length left ``None`` follows from ``height_mm``.

    Parameters
    ----------
    height_mm
        Standing height (1000-2300 mm).
    thigh_mm, shank_mm, ...
        Segment lengths; defaults are ``HEIGHT_RATIOS[name] * height_mm``.

    Examples
    --------
    >>> Anthropometry.from_height(1800.0).thigh_mm
    441.0
    >>> Anthropometry(height_mm=1800.0, thigh_mm=460.0).thigh_mm
    460.0
    """

    height_mm: float = 1750.0
    thigh_mm: float | None = None
    shank_mm: float | None = None
    ankle_height_mm: float | None = None
    foot_length_mm: float | None = None
    heel_back_mm: float | None = None
    hip_width_mm: float | None = None
    shoulder_width_mm: float | None = None
    trunk_mm: float | None = None
    upper_arm_mm: float | None = None
    forearm_mm: float | None = None
    hand_mm: float | None = None
    neck_mm: float | None = None
    head_radius_mm: float | None = None

    def __post_init__(self) -> None:
        problems = []
        if not (1000.0 <= self.height_mm <= 2300.0):
            problems.append(f"height_mm must lie in [1000, 2300], got {self.height_mm}")
        for name, ratio in HEIGHT_RATIOS.items():
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, round(ratio * float(self.height_mm), 6))
            elif not (0.0 < float(value) < self.height_mm):
                problems.append(f"{name} must lie in (0, height_mm), got {value}")
            else:
                object.__setattr__(self, name, float(value))
        if not problems and self.heel_back_mm >= self.foot_length_mm:
            problems.append("heel_back_mm must be shorter than foot_length_mm")
        check_all(problems, where="Anthropometry", fix="give lengths in mm, or only height_mm")

    @classmethod
    def from_height(cls, height_mm: float, **overrides: float) -> Anthropometry:
        """Dimensions from standing height by the ratios of :data:`HEIGHT_RATIOS`."""
        return cls(height_mm=float(height_mm), **overrides)

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class Athlete:
    """Who squats and where: anthropometry and placement in the lab.

    Parameters
    ----------
    anthropometry
        Body dimensions.
    position_mm
        Lab (x, y) of the point on the floor midway between the ankles.
    heading_deg
        Direction faced, about lab Z (0 = +X, 90 = +Y).
    stance_width_mm
        Distance between the ankle centres.
    toe_out_deg
        Each foot's heel -> foot_index line turned outward from straight ahead.
    toe_out_left_deg, toe_out_right_deg
        Per-side toe-out; ``None`` takes ``toe_out_deg``.
    alignment_left_deg, alignment_right_deg
        Foot turned out about the shank relative to the knee's flexion axis (tibial torsion
        and foot posture), outward positive. ``None`` draws each uniformly from
        [0, 25] deg with ``alignment_seed`` (settable, reproducible).
    standing_knee_flexion_deg
        Knee flexion when standing tall (a straight knee has no IK circle to move on).
    """

    anthropometry: Anthropometry = Anthropometry()
    position_mm: tuple[float, float] = (0.0, 0.0)
    heading_deg: float = 0.0
    stance_width_mm: float = 380.0
    toe_out_deg: float = 15.0
    toe_out_left_deg: float | None = None
    toe_out_right_deg: float | None = None
    alignment_left_deg: float | None = None
    alignment_right_deg: float | None = None
    alignment_seed: int = 0
    standing_knee_flexion_deg: float = 4.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "position_mm", tuple(float(v) for v in self.position_mm))
        drawn = np.random.default_rng(self.alignment_seed).uniform(0.0, 25.0, size=2)
        for name, value in zip(("alignment_left_deg", "alignment_right_deg"), drawn, strict=True):
            if getattr(self, name) is None:
                object.__setattr__(self, name, round(float(value), 6))
        a = self.anthropometry
        problems = []
        if len(self.position_mm) != 2 or not np.all(np.isfinite(self.position_mm)):
            problems.append(f"position_mm must be two finite numbers, got {self.position_mm}")
        if not np.isfinite(self.heading_deg):
            problems.append(f"heading_deg must be finite, got {self.heading_deg}")
        if not (a.hip_width_mm * 0.8 <= self.stance_width_mm <= a.height_mm * 0.5):
            problems.append(f"stance_width_mm must lie in [0.8 x hip width, 0.5 x height] = "
                            f"[{0.8 * a.hip_width_mm:.0f}, {0.5 * a.height_mm:.0f}], "
                            f"got {self.stance_width_mm}")
        for name in ("toe_out_deg", "toe_out_left_deg", "toe_out_right_deg"):
            value = getattr(self, name)
            if value is not None and not (-15.0 <= value <= 45.0):
                problems.append(f"{name} must lie in [-15, 45], got {value}")
        for name in ("alignment_left_deg", "alignment_right_deg"):
            if not (-20.0 <= getattr(self, name) <= 40.0):
                problems.append(f"{name} must lie in [-20, 40], got {getattr(self, name)}")
        if not (1.0 <= self.standing_knee_flexion_deg <= 20.0):
            problems.append("standing_knee_flexion_deg must lie in [1, 20], "
                            f"got {self.standing_knee_flexion_deg}")
        check_all(problems, where="Athlete", fix="use mm and degrees within the stated bounds")

    def alignment_deg(self, side: Side) -> float:
        """The foot's turn-out relative to the knee axis on one side (deg, outward positive)."""
        return float(self.alignment_left_deg if side == "left" else self.alignment_right_deg)

    def toe_out(self, side: Side) -> float:
        """The foot's toe-out on one side (deg, outward positive)."""
        value = self.toe_out_left_deg if side == "left" else self.toe_out_right_deg
        return float(self.toe_out_deg if value is None else value)

    def lab_rotation(self) -> np.ndarray:
        """(3, 3) rotation from the athlete's own frame to the lab frame."""
        h = np.deg2rad(self.heading_deg)
        c, s = np.cos(h), np.sin(h)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def to_lab(self, points_local_mm: np.ndarray) -> np.ndarray:
        """Points (..., 3) in the athlete's frame -> lab frame."""
        offset = np.array([self.position_mm[0], self.position_mm[1], 0.0])
        return np.asarray(points_local_mm) @ self.lab_rotation().T + offset

    def planted_foot(self, side: Side) -> dict[str, np.ndarray]:
        """Heel, foot_index and ankle (3,) of a planted foot in the athlete's frame.

        Heel and foot_index lie on the floor (z = 0), the ankle ``ankle_height_mm`` above the
        heel -> foot_index line, ``heel_back_mm`` in front of the heel.
        """
        a = self.anthropometry
        sigma = SIDE_SIGN[side]
        turn = np.deg2rad(sigma * self.toe_out(side))
        forward = np.array([np.cos(turn), np.sin(turn), 0.0])
        ankle_floor = np.array([0.0, sigma * self.stance_width_mm / 2.0, 0.0])
        heel = ankle_floor - a.heel_back_mm * forward
        return {"heel": heel, "foot_index": heel + a.foot_length_mm * forward,
                "ankle": ankle_floor + np.array([0.0, 0.0, a.ankle_height_mm])}

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["anthropometry"] = self.anthropometry.as_dict()
        out["position_mm"] = list(self.position_mm)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Athlete:
        values = dict(data)
        values["anthropometry"] = Anthropometry(**values["anthropometry"])
        values["position_mm"] = tuple(values["position_mm"])
        return cls(**values)


def random_athlete(seed: int, *, height_range_mm: tuple[float, float] = (1550.0, 1950.0),
                   stance_range_hip_widths: tuple[float, float] = (1.6, 2.6),
                   toe_out_range_deg: tuple[float, float] = (0.0, 30.0),
                   alignment_range_deg: tuple[float, float] = (0.0, 25.0),
                   position_range_mm: float = 300.0,
                   heading_range_deg: tuple[float, float] = (0.0, 360.0)) -> Athlete:
    """A reproducible random athlete for generated test batteries.

    Height, stance (in hip widths), each side's toe-out, heading, position (within
    +-``position_range_mm`` of the origin) and each side's alignment are drawn uniformly.
    Limb proportions vary by +-4 % around the height ratios.
    """
    rng = np.random.default_rng(seed)
    height = float(rng.uniform(*height_range_mm))
    jitter = {name: round(HEIGHT_RATIOS[name] * height * float(rng.uniform(0.96, 1.04)), 6)
              for name in ("thigh_mm", "shank_mm", "trunk_mm")}
    anthro = Anthropometry(height_mm=height, **jitter)
    hip = HEIGHT_RATIOS["hip_width_mm"] * height
    return Athlete(
        anthropometry=anthro,
        position_mm=tuple(rng.uniform(-position_range_mm, position_range_mm, 2)),
        heading_deg=float(rng.uniform(*heading_range_deg)),
        stance_width_mm=float(hip * rng.uniform(*stance_range_hip_widths)),
        toe_out_deg=float(rng.uniform(*toe_out_range_deg)),
        toe_out_right_deg=float(rng.uniform(*toe_out_range_deg)),
        alignment_left_deg=float(rng.uniform(*alignment_range_deg)),
        alignment_right_deg=float(rng.uniform(*alignment_range_deg)),
    )


def with_alignment(athlete: Athlete, left_deg: float, right_deg: float) -> Athlete:
    """A copy of ``athlete`` with both alignments set."""
    return replace(athlete, alignment_left_deg=float(left_deg), alignment_right_deg=float(right_deg))
