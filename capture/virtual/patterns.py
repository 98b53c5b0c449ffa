"""Valgus patterns of a repetition: the prescribed medial knee shift, foot instability, and
the reading each should get (DESIGN section 4, "Reading the valgus pattern").

A pattern is a profile s(t) of the medial knee shift in mm (positive toward the midline),
which :func:`liftlab.capture.virtual.limbs.solve_knee` imposes exactly, plus for
``heel_lift`` a heel-lift and foot-rotation profile. Every profile is 0 when standing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from liftlab.core.errors import InputError

Pattern = Literal["none", "transient", "persistent", "uncontrolled", "heel_lift"]
PATTERNS: tuple[str, ...] = get_args(Pattern)
Reading = Literal["none", "transient", "red_flag"]

#: Reason the reading names for each red-flag pattern.
PATTERN_REASON: dict[str, str] = {"persistent": "persistent", "uncontrolled": "uncontrolled",
                                  "heel_lift": "foot_instability"}

#: transient: one sin^2 bump over the first TRANSIENT_END of the ascent, peak half-way there
#: (30 % of the ascent: inside the 20-35 % of the brief), back to 0 well before lockout.
TRANSIENT_END = 0.6
#: persistent / uncontrolled: the shift reaches its full size at this depth progress.
ONSET_DEPTH = 0.25
#: heel_lift: foot collapse (shift, heel lift, foot turn) grows between these depth progresses.
COLLAPSE_DEPTHS = (0.4, 0.9)
#: uncontrolled: oscillation frequency range (Hz) and per-rep gain range, drawn per rep.
WOBBLE_HZ = (1.5, 3.0)
WOBBLE_GAIN = (0.6, 1.3)


@dataclass(frozen=True)
class RepClock:
    """Per-frame clocks over one repetition's frames (start..end inclusive).

    Parameters
    ----------
    depth_progress
        0 standing -> 1 at the bottom -> 0 at lockout.
    ascent_progress
        0 -> 1 over the ascent, NaN before it.
    time_s
        Seconds since the rep's start.
    """

    depth_progress: np.ndarray
    ascent_progress: np.ndarray
    time_s: np.ndarray


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, C1-smooth cubic in between."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _collapse(clock: RepClock) -> np.ndarray:
    lo, hi = COLLAPSE_DEPTHS
    return smoothstep((clock.depth_progress - lo) / (hi - lo))


def medial_shift_profile(pattern: Pattern, clock: RepClock, *, peak_mm: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Prescribed medial knee shift (mm) of one rep.

    Parameters
    ----------
    pattern
        One of :data:`PATTERNS`.
    clock
        The rep's clocks.
    peak_mm
        Peak shift (``uncontrolled`` scales it by a random per-rep gain, and oscillates
        between about -0.2 and 1.2 times that).
    rng
        Draws ``uncontrolled``'s frequency, phase and gain (one draw per rep, so reps differ).
    """
    p = clock.depth_progress
    if pattern == "none":
        return np.zeros_like(p)
    if pattern == "transient":
        u = np.nan_to_num(clock.ascent_progress, nan=-1.0)
        inside = (u >= 0) & (u <= TRANSIENT_END)
        return np.where(inside, peak_mm * np.sin(np.pi * u / TRANSIENT_END) ** 2, 0.0)
    if pattern == "persistent":
        return peak_mm * smoothstep(p / ONSET_DEPTH)
    if pattern == "uncontrolled":
        freq = rng.uniform(*WOBBLE_HZ)
        phase = rng.uniform(0.0, 2.0 * np.pi)
        gain = rng.uniform(*WOBBLE_GAIN)
        wobble = 0.5 + 0.7 * np.sin(2.0 * np.pi * freq * clock.time_s + phase)
        return peak_mm * gain * smoothstep(p / ONSET_DEPTH) * wobble
    if pattern == "heel_lift":
        return peak_mm * _collapse(clock)
    raise InputError(f"Unknown valgus pattern {pattern!r}", where="RepSpec.pattern",
                     fix=f"use one of {', '.join(PATTERNS)}")


def foot_instability_profile(pattern: Pattern, clock: RepClock, *, heel_lift_mm: float,
                             foot_rotation_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Heel lift (mm, foot pivoting about its toes) and foot turn-out (deg) of one rep;
    zero for every pattern except ``heel_lift``."""
    if pattern != "heel_lift":
        zero = np.zeros_like(clock.depth_progress)
        return zero, zero
    grow = _collapse(clock)
    return heel_lift_mm * grow, foot_rotation_deg * grow


def expected_reading(pattern: Pattern, pain: float = 0.0, percent_1rm: float | None = None, *,
                     pain_threshold: float = 2.0, light_load_percent: float = 60.0
                     ) -> tuple[Reading, tuple[str, ...]]:
    """The reading a correct analysis gives a rep with this pattern, and every reason.

    Rules (DESIGN section 4, "Reading the valgus pattern"):

    - ``none`` reads ``none`` (context alone never turns a rep red).
    - ``persistent``, ``uncontrolled`` and ``heel_lift`` read ``red_flag`` with reason
      ``persistent``, ``uncontrolled`` and ``foot_instability``.
    - any valgus pattern with ``pain > pain_threshold`` adds reason ``pain``; at
      ``percent_1rm < light_load_percent`` adds ``light_load`` (a valgus that shows up at light
      loads as much as heavy is not the benign near-maximal kind).
    - ``transient`` with no reason reads ``transient``; with any, ``red_flag``.

    Parameters
    ----------
    pattern
        The rep's prescribed pattern.
    pain
        The rep's pain, 0-10 numeric rating.
    percent_1rm
        Load as % of one-repetition maximum; ``None`` when unknown (rule skipped).
    pain_threshold
        Pain above this reads red. Default 2/10: about the smallest clinically important
        change on the 0-10 numeric pain rating scale (Farrar et al. 2001, Pain 94:149).
    light_load_percent
        Below this %1RM a valgus is "at light load". Default 60 % (the seed's rule; no
        validated cut-off exists, DESIGN section 7).

    Examples
    --------
    >>> expected_reading("transient", pain=0, percent_1rm=90)
    ('transient', ())
    >>> expected_reading("transient", pain=5, percent_1rm=50)
    ('red_flag', ('pain', 'light_load'))
    """
    if pattern not in PATTERNS:
        raise InputError(f"Unknown valgus pattern {pattern!r}", where="RepSpec.pattern",
                     fix=f"use one of {', '.join(PATTERNS)}")
    if pattern == "none":
        return "none", ()
    reasons = [PATTERN_REASON[pattern]] if pattern in PATTERN_REASON else []
    if pain > pain_threshold:
        reasons.append("pain")
    if percent_1rm is not None and percent_1rm < light_load_percent:
        reasons.append("light_load")
    return ("red_flag" if reasons else "transient"), tuple(reasons)
