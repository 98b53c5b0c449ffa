"""Per-athlete alignment: the foot's turn-out about the shank relative to the knee axis.

From a ``knee_curl`` trial (standing, each knee bent slowly with the thigh still): in frames
where one knee bends past ``min_flexion_deg`` while the other stays straight and the thigh
stays near its median direction, the knee axis is the normal of the hip-knee-ankle plane
(a hinge keeps the three in one plane). The foot's heel -> foot_index line, projected
orthogonal to the shank and compared with the knee's forward axis about the shank, gives the
angle (outward positive, both sides). Median over frames; spread = 1.4826 x MAD.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from liftlab.core.containers import Trajectory3D
from liftlab.metrics.angles import knee_flexion_deg
from liftlab.metrics.filtering import lowpass
from liftlab.metrics.frames import (
    SIDES,
    Leg,
    Side,
    dot,
    foot_forward,
    hinge_axis,
    leg,
    reject,
    unit,
)
from liftlab.metrics.settings import AlignmentSettings, Thresholds, load_thresholds

AlignmentSource = Literal["calibration", "assumed", "estimated"]


@dataclass(frozen=True)
class AlignmentQuality:
    """How far one side's alignment can be trusted, and what to do when it cannot."""

    side: Side
    frames_used: int
    spread_deg: float
    max_knee_flexion_deg: float
    thigh_motion_deg: float
    ok: bool
    verdict: str
    fix: str | None = None


@dataclass(frozen=True)
class Alignment:
    """Foot turn-out relative to the knee axis per side (deg, outward positive).

    ``source`` is ``"calibration"`` (knee-curl trial), ``"assumed"`` (0 deg, no calibration)
    or ``"estimated"``; ``quality`` holds one :class:`AlignmentQuality` per side when measured.
    """

    source: AlignmentSource
    left_deg: float = 0.0
    right_deg: float = 0.0
    quality: dict[str, AlignmentQuality] = field(default_factory=dict)
    uncertainty_deg: float = 15.0

    @classmethod
    def assumed(cls, *, uncertainty_deg: float = 15.0) -> Alignment:
        """No calibration: 0 deg on both sides, with the typical turn-out as uncertainty."""
        return cls("assumed", 0.0, 0.0, {}, uncertainty_deg)

    def deg(self, side: Side) -> float:
        """Alignment angle of ``side``."""
        return self.left_deg if side == "left" else self.right_deg

    @property
    def ok(self) -> bool:
        """True when measured and both sides passed their quality check."""
        return self.source != "assumed" and all(q.ok for q in self.quality.values())

    def to_json_dict(self) -> dict[str, Any]:
        """The contract's ``alignment`` object plus the quality per side."""
        return {"source": self.source, "left_deg": round(float(self.left_deg), 2),
                "right_deg": round(float(self.right_deg), 2),
                "uncertainty_deg": round(float(self.uncertainty_deg), 2),
                "quality": {k: asdict(v) for k, v in self.quality.items()}}


def alignment_angle_deg(lg: Leg) -> np.ndarray:
    """Per-frame foot turn-out (deg, outward positive) about the shank vs the hinge knee axis.

    Knee forward = hinge_axis x shank axis; foot forward projected orthogonal to the shank;
    the signed angle from the first to the second about ankle -> knee, times the side sign.
    """
    z = unit(lg.knee - lg.ankle)
    x_knee = unit(np.cross(hinge_axis(lg), z))
    f = unit(reject(foot_forward(lg), z))
    return lg.sign * np.degrees(np.arctan2(dot(np.cross(x_knee, f), z), dot(x_knee, f)))


def _side_alignment(lg: Leg, other: Leg, st: AlignmentSettings) -> tuple[float, AlignmentQuality]:
    flex = knee_flexion_deg(lg)
    other_flex = knee_flexion_deg(other)
    thigh = unit(lg.hip - lg.knee)
    bent = (flex > st.min_flexion_deg) & (other_flex < st.other_knee_max_flexion_deg)
    max_flex = float(np.nanmax(flex)) if np.any(np.isfinite(flex)) else float("nan")
    name = lg.side
    if not bent.any():
        both = np.any((flex > st.min_flexion_deg) & (other_flex > st.min_flexion_deg))
        hint = " (both knees bent together)" if both else ""
        verdict = (f"no knee bend found for the {name} side{hint}: was this a squat file?"
                   if both else f"no knee bend past {st.min_flexion_deg:.0f} deg found for the "
                   f"{name} side (max {max_flex:.0f} deg)")
        fix = (f"record the knee_curl movement: standing, bend the {name} knee slowly 4-5 "
               f"times past {st.good_flexion_deg:.0f} deg with the thigh still, the other leg "
               "straight")
        return 0.0, AlignmentQuality(name, 0, float("nan"), max_flex, float("nan"), False,
                                     verdict, fix)
    median_dir = unit(np.nanmedian(thigh[bent], axis=0)[None])[0]
    motion = np.degrees(np.arccos(np.clip(dot(thigh, median_dir), -1, 1)))
    used = bent & (motion <= st.max_thigh_motion_deg)
    angles = alignment_angle_deg(lg)
    used &= np.isfinite(angles)
    thigh_motion = float(np.nanpercentile(motion[bent], 90))
    n = int(used.sum())
    if n == 0:
        return 0.0, AlignmentQuality(
            name, 0, float("nan"), max_flex, thigh_motion, False,
            f"the {name} thigh moved with every knee bend ({thigh_motion:.0f} deg)",
            f"keep the {name} thigh still (hold the rack) while bending the {name} knee")
    value = float(np.median(angles[used]))
    spread = float(1.4826 * np.median(np.abs(angles[used] - value)))
    bend_used = float(np.max(flex[used]))
    problems, fixes = [], []
    if n < st.min_frames:
        problems.append(f"only {n} usable frames (need {st.min_frames})")
        fixes.append(f"bend the {name} knee slowly 4-5 times")
    if bend_used < st.good_flexion_deg:
        problems.append(f"max knee bend {bend_used:.0f} deg")
        fixes.append(f"bend the {name} knee past {st.good_flexion_deg:.0f} deg")
    if thigh_motion > st.max_thigh_motion_deg:
        problems.append(f"thigh moved {thigh_motion:.0f} deg")
        fixes.append(f"keep the {name} thigh still")
    if spread > st.max_spread_deg:
        problems.append(f"spread {spread:.1f} deg over frames")
        fixes.append(f"keep the {name} thigh still and bend slowly")
    ok = not problems
    verdict = (f"{name}: {value:+.1f} deg from {n} frames, spread {spread:.1f} deg, knee bend up "
               f"to {bend_used:.0f} deg" + ("" if ok else " - " + "; ".join(problems)))
    return value, AlignmentQuality(name, n, spread, bend_used, thigh_motion, ok, verdict,
                                   None if ok else "; ".join(dict.fromkeys(fixes)))


def estimate_alignment(traj: Trajectory3D, *, thresholds: Thresholds | None = None,
                       source: AlignmentSource = "calibration") -> Alignment:
    """Alignment per side from a knee-curl trial (see the module docstring).

    Parameters
    ----------
    traj
        The knee_curl trial (mm, lab frame). Landmarks are low-passed at
        ``filter.knee_curl_cutoff_hz`` first.
    thresholds
        Settings (packaged defaults when None).
    source
        Recorded in the result (``"calibration"`` for a knee-curl trial).

    Returns
    -------
    Alignment
        With a quality verdict per side; a side that fails keeps 0 deg and ``ok=False``.
    """
    th = thresholds or load_thresholds()
    pts = lowpass(traj.points_mm, fps=traj.fps, cutoff_hz=th.filter.knee_curl_cutoff_hz,
                  order=th.filter.order)
    smooth = traj.with_points(pts)
    legs = {s: leg(smooth, s) for s in SIDES}
    values, quality = {}, {}
    for side, other in (("left", "right"), ("right", "left")):
        values[side], quality[side] = _side_alignment(legs[side], legs[other], th.alignment)
    spreads = [q.spread_deg for q in quality.values() if q.ok]
    uncertainty = (max(1.0, max(spreads)) if len(spreads) == 2
                   else th.alignment.assumed_uncertainty_deg)
    return Alignment(source, values["left"], values["right"], quality, uncertainty)
