"""Plain-language wording of the coach report: readings, rules, alignment, method, disclaimer.

Every sentence a coach reads is built here from plain values (no database, no PDF), so the
wording can be tested and changed in one place. Numbers are rounded for reading: millimetres
to whole numbers, degrees to whole numbers, percentages to whole numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Reading = Literal["none", "transient", "red_flag"]

#: Short label of each reading, as printed in tables and headings.
READING_LABELS: dict[str, str] = {
    "none": "No valgus",
    "transient": "Transient (controlled)",
    "red_flag": "Red flag",
}

#: What each red-flag rule means, in words a coach uses.
RULE_TEXT: dict[str, str] = {
    "persistent": "persistent: the knee stayed inside its line in both the descent and the "
                  "ascent, for most of the rep",
    "light_load": "at a light load: it shows at a load well below maximal, not only near the "
                  "athlete's limit",
    "uncontrolled": "uncontrolled: the knee moved in fast, wobbled, or did something different "
                    "from rep to rep",
    "foot_instability": "with foot instability: the heel lifted or the foot turned or slid "
                        "during the rep",
    "pain": "with pain: pain was reported on a rep where the knee moved in",
}

#: Short names of the rules for table cells.
RULE_SHORT: dict[str, str] = {
    "persistent": "persistent",
    "light_load": "light load",
    "uncontrolled": "uncontrolled",
    "foot_instability": "foot instability",
    "pain": "pain",
}

ALIGNMENT_SOURCE_TEXT: dict[str, str] = {
    "calibration": "measured with the knee-curl movement",
    "assumed": "0 degrees: no knee-curl movement was recorded",
    "estimated": "estimated from the lifts themselves: no knee-curl movement was recorded",
}

KNEE_CURL_REQUEST = (
    "Please record the 20-second knee-curl movement at the next session: standing and holding "
    "the rack, the athlete bends each knee slowly 4-5 times (heel toward the buttock, thigh "
    "still), left then right. It measures how this athlete's feet are turned relative to the "
    "knees, so build and movement can be told apart."
)

DISCLAIMER = (
    "This report is educational information about movement, not medical advice. It does not "
    "diagnose or rule out any injury or condition. For pain or injury concerns, see a "
    "qualified health professional."
)


@dataclass(frozen=True)
class Reason:
    """One rule that made a reading a red flag, with its numbers as stored (``detail``)."""

    rule: str
    detail: str = ""

    @property
    def short(self) -> str:
        return RULE_SHORT.get(self.rule, self.rule.replace("_", " "))

    @property
    def sentence(self) -> str:
        """The rule in plain words, followed by its stored numbers when there are any."""
        text = RULE_TEXT.get(self.rule, self.rule.replace("_", " "))
        return f"{text} ({self.detail})" if self.detail else text


def parse_reasons(raw: Any) -> tuple[Reason, ...]:
    """Reasons as stored (strings ``"rule"`` / ``"rule: numbers"``, or dicts) as :class:`Reason`.

    Dicts name the rule under ``rule``, ``reason``, ``name`` or ``code``; their text under
    ``detail``, ``text`` or ``message``, else their other scalar entries become ``key value``.
    """
    if raw is None:
        return ()
    if isinstance(raw, str | dict):
        raw = [raw]
    out: list[Reason] = []
    for item in raw:
        if isinstance(item, str):
            rule, _, detail = item.partition(":")
            out.append(Reason(rule.strip(), detail.strip()))
        elif isinstance(item, dict):
            rule = next((str(item[k]) for k in ("rule", "reason", "name", "code") if k in item),
                        "unspecified")
            detail = next((str(item[k]) for k in ("detail", "text", "message") if k in item), "")
            if not detail:
                extras = [f"{k.replace('_', ' ')} {fmt_num(v)}" for k, v in item.items()
                          if k not in ("rule", "reason", "name", "code")
                          and isinstance(v, int | float | str) and not isinstance(v, bool)]
                detail = ", ".join(extras)
            out.append(Reason(rule, detail))
    return tuple(out)


def fmt_num(value: Any, *, digits: int = 0) -> str:
    """A number for reading (``-`` for missing), whole by default; strings pass through."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{float(value):.{digits}f}"


def fmt_mm(value: float | None) -> str:
    return "-" if fmt_num(value) == "-" else f"{fmt_num(value)} mm"


def reading_label(reading: str | None) -> str:
    """Label of a stored reading; ``None`` means the trial was not read (e.g. no reps)."""
    if reading is None:
        return "Not read"
    return READING_LABELS.get(reading, reading)


def load_text(load_kg: float | None, percent_1rm: float | None) -> str:
    """``"100 kg (83% 1RM)"``, ``"100 kg"``, or ``"no load recorded"``."""
    if load_kg is None:
        return "no load recorded"
    text = f"{fmt_num(load_kg, digits=1).removesuffix('.0')} kg"
    if percent_1rm is not None:
        text += f" ({fmt_num(percent_1rm)}% 1RM)"
    return text


def reading_sentence(reading: str | None, reasons: Iterable[Reason], *, threshold_mm: float,
                     peak_left_mm: float | None, peak_right_mm: float | None,
                     n_reps: int, n_valgus_reps: int) -> str:
    """The trial's reading in one or two plain sentences with its key numbers."""
    peaks = (f"peak inward knee shift {fmt_mm(peak_left_mm)} left, {fmt_mm(peak_right_mm)} "
             f"right (threshold {fmt_num(threshold_mm)} mm)")
    if n_reps == 0:
        return "No repetitions were found in this trial, so it was not read."
    if reading == "none":
        return (f"{READING_LABELS['none']}: the knees stayed in line through all {n_reps} "
                f"reps; {peaks}.")
    if reading == "transient":
        return (f"{READING_LABELS['transient']}: in {n_valgus_reps} of {n_reps} reps the knee "
                f"moved in briefly early in the ascent and came back before lockout, with the "
                f"foot stable and no pain of note; {peaks}. This is common near maximal loads and is "
                f"not a concern by itself.")
    if reading == "red_flag":
        reasons = tuple(reasons)
        why = "; ".join(r.sentence for r in reasons) if reasons else "no rule was stored"
        return (f"{READING_LABELS['red_flag']}: the knee moved in during {n_valgus_reps} of "
                f"{n_reps} reps; {peaks}. Why: {why}.")
    return f"{reading_label(reading)}; {peaks}."


def alignment_sentences(source: str | None, left_deg: float | None, right_deg: float | None,
                        *, build_inside: bool, caves_in: bool,
                        max_shift_mm: float | None) -> list[str]:
    """What the knee position means given the athlete's build, and where the build came from.

    Parameters
    ----------
    source
        ``"calibration"``, ``"assumed"`` or ``"estimated"`` (``None``: not recorded).
    build_inside
        The knees sat inside the toe line (knee-over-foot above the threshold) in some rep.
    caves_in
        The knees moved inward from the athlete's own hinge line (medial knee shift above the
        threshold) in some rep.
    max_shift_mm
        The largest medial knee shift of the session.
    """
    out = []
    source_text = ALIGNMENT_SOURCE_TEXT.get(source or "", "no alignment was recorded")
    angles = ""
    if source != "assumed" and left_deg is not None and right_deg is not None:
        angles = (f": feet turned out {fmt_num(left_deg)} degrees left and {fmt_num(right_deg)} "
                  f"degrees right relative to the knees")
    out.append(f"Alignment source: {source or 'not recorded'} ({source_text}){angles}.")
    calibrated = source == "calibration"
    if caves_in and calibrated:
        out.append(f"The knees cave in during the rep: beyond the athlete's build, the knee "
                   f"moved toward the midline by up to {fmt_mm(max_shift_mm)}.")
    elif caves_in:
        out.append(f"The knees moved inward from the {source or 'assumed'} line by up to "
                   f"{fmt_mm(max_shift_mm)}. Without the knee-curl movement we cannot tell how "
                   f"much of this is the athlete's build (feet turned out relative to the "
                   f"knees) and how much is the knees caving in during the rep, so the "
                   f"readings may overstate it.")
    elif build_inside and calibrated:
        out.append("The knees track inside the toes because of the athlete's build: with the "
                   "measured alignment there is no inward shift during the rep.")
    elif build_inside:
        out.append("The knees sit inside the toes, but without the knee-curl movement we "
                   "cannot tell whether that is the athlete's build or the movement.")
    else:
        out.append("The knees stayed over the feet and in line through the reps.")
    if not calibrated:
        out.append(KNEE_CURL_REQUEST)
    return out


def asymmetry_sentence(mean_left_mm: float | None, mean_right_mm: float | None,
                       *, threshold_mm: float) -> str:
    """Left-right difference of the average rep peak of the medial knee shift."""
    if mean_left_mm is None or mean_right_mm is None:
        return "Left-right comparison: not available (a side was not measured)."
    diff = mean_left_mm - mean_right_mm
    if abs(diff) < max(3.0, 0.2 * threshold_mm):
        return (f"Left-right: similar (average rep peak {fmt_mm(mean_left_mm)} left, "
                f"{fmt_mm(mean_right_mm)} right).")
    side = "left" if diff > 0 else "right"
    return (f"Left-right: the {side} knee moves in more, by {fmt_mm(abs(diff))} on average "
            f"(average rep peak {fmt_mm(mean_left_mm)} left, {fmt_mm(mean_right_mm)} right).")


def method_notes(*, threshold: dict[str, float], threshold_source: str) -> list[str]:
    """The method in plain words, with the thresholds used (name -> value, unit in the name)."""
    notes = [
        "How this was measured: several calibrated cameras filmed the lift; a pose model found "
        "the joints in every view and the views were combined into a 3D skeleton in "
        "millimetres. Knee position is therefore measured in 3D, not as a 2D angle from one "
        "camera, and does not depend on where a camera stood.",
        "Inward knee shift (the number the reading uses) is how far the knee centre moves "
        "toward the midline from the athlete's own hip-knee-ankle line, in millimetres. "
        "Knee over foot is where the knee sits relative to the line of the foot (what you see "
        "from the front); positive means inside the toes.",
        "Reliability: knee angles such as 3D knee abduction cannot be measured reliably near "
        "90 degrees of knee bend from joint centres alone; they are flagged as unreliable there "
        "and never drive a reading. Readings come from knee position, which is reliable at every "
        "depth.",
        "Readings: none (shift below the threshold), transient (a short, controlled shift early "
        "in the ascent, back before lockout, stable foot, no pain), red flag (persistent, at a "
        "light load, uncontrolled, with foot instability, or with pain; the rule is named). "
        "No validated cut-off exists for weightlifters; these thresholds are expert-opinion "
        "starting points.",
    ]
    listed = "; ".join(threshold_phrases(threshold))
    notes.append(f"Thresholds used ({threshold_source}): {listed}.")
    return notes


#: Words for the reading thresholds a coach sees (units come from the names); other
#: settings are listed with their own names.
THRESHOLD_LABELS: dict[str, str] = {
    "shift_present_mm": "inward shift counted from",
    "baseline_return_mm": "back to baseline below",
    "persistent_rep_fraction": "persistent when above the threshold for at least",
    "uncontrolled_velocity_mm_s": "uncontrolled when the knee moves in faster than",
    "uncontrolled_peaks": "uncontrolled when the knee moves in separately this many times:",
    "inconsistent_cv": "inconsistent when the rep-to-rep coefficient of variation exceeds",
    "light_load_percent_1rm": "light load below",
    "light_load_one_rm_fraction": "light load at or below",
    "heel_lift_mm": "heel lift from",
    "foot_rotation_deg": "foot rotation from",
    "foot_slide_mm": "foot slide from",
    "pain_above": "pain above",
    "pain_min": "pain from",
}

#: Internal settings not listed to the coach.
_HIDDEN = ("abduction_min_reliability", "oscillation_prominence_mm")


def threshold_phrases(values: dict[str, float]) -> list[str]:
    """``"inward shift counted from 15 mm"`` etc. for every threshold given (name -> value)."""
    out = []
    for name, value in values.items():
        if name in _HIDDEN or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        label = THRESHOLD_LABELS.get(name, name.replace("_", " "))
        out.append(f"{label} {_fmt_setting(float(value), name)}")
    return out


def _fmt_setting(value: float, name: str) -> str:
    if name.endswith("_percent_1rm"):
        return f"{fmt_num(value)}% of 1RM"
    if name.endswith("_fraction"):
        suffix = " of 1RM" if "one_rm" in name else " of the rep"
        return f"{fmt_num(100 * value)}%{suffix}"
    if name.startswith("pain"):
        return f"{fmt_num(value)}/10"
    unit = next((u for s, u in (("_mm_s", " mm/s"), ("_mm", " mm"), ("_deg", " degrees"))
                 if name.endswith(s)), "")
    return f"{fmt_num(value, digits=0 if unit or value == int(value) else 2)}{unit}"
