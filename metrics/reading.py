"""The valgus reading per rep and per trial: ``none`` / ``transient`` / ``red_flag``.

Rules (DESIGN.md "Reading the valgus pattern"; thresholds in ``[reading]`` of
thresholds.toml). Per side and rep, valgus is *present* when the peak medial knee shift
reaches ``shift_present_mm``; absent -> ``none``. Present -> ``red_flag`` when any of these
fires, else ``transient``:

- ``persistent``: above threshold in both descent and ascent for at least
  ``persistent_rep_fraction`` of the rep;
- ``light_load``: the load is below ``light_load_percent_1rm`` % of 1RM (needs both);
- ``uncontrolled``: peak medial velocity above ``uncontrolled_velocity_mm_s`` or at least
  ``uncontrolled_peaks`` separate medial peaks (oscillation);
- ``foot_instability``: heel lift, foot rotation or foot slide from the rep-start pose above
  their thresholds;
- ``pain``: pain reported for the rep above ``pain_above`` (0-10).

A rep's reading is the worse of its sides; a trial's the worst of its reps. The trial also
gets ``uncontrolled`` when the peak shift of its valgus reps varies more than
``inconsistent_cv`` (coefficient of variation, >= 3 reps clearly above the threshold, with the
spread the noise explains taken out). Every fired rule is returned with its number and
threshold.

Noise: :func:`noise_adjusted` raises the thresholds to multiples of the noise floor measured
on the trial's standing frames (``[noise]`` in thresholds.toml), so measurement noise alone
can neither make a valgus present nor fake oscillation or speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from liftlab.metrics.per_rep import SideRep
from liftlab.metrics.settings import NoiseSettings, ReadingThresholds

Reading = Literal["none", "transient", "red_flag"]
Reason = Literal["persistent", "light_load", "uncontrolled", "foot_instability", "pain"]
REASONS: tuple[Reason, ...] = ("persistent", "light_load", "uncontrolled", "foot_instability",
                               "pain")
_RANK = {"none": 0, "transient": 1, "red_flag": 2}


@dataclass(frozen=True)
class Rule:
    """One fired rule: its reason, side, measured value, threshold and a plain sentence."""

    reason: Reason
    side: str
    value: float
    threshold: float
    text: str

    def to_json_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "side": self.side, "value": round(float(self.value), 3),
                "threshold": self.threshold, "text": self.text}


def worst(readings: Sequence[str]) -> Reading:
    """The most severe of ``readings`` (``none`` when empty)."""
    return max(readings, key=lambda r: _RANK[r], default="none")  # type: ignore[return-value]


def order_reasons(reasons: set[str] | Sequence[str]) -> list[str]:
    """Reasons in the canonical order of :data:`REASONS`."""
    return [r for r in REASONS if r in set(reasons)]


def read_side(m: SideRep, side: str, *, th: ReadingThresholds, pain: float | None = None,
              percent_1rm: float | None = None) -> tuple[Reading, list[Rule]]:
    """Reading and fired rules of one side in one rep."""
    if not (m.medial_knee_shift_peak_mm >= th.shift_present_mm):
        return "none", []
    rules: list[Rule] = []
    if (m.above_in_descent and m.above_in_ascent
            and m.fraction_above_threshold >= th.persistent_rep_fraction):
        rules.append(Rule("persistent", side, m.fraction_above_threshold,
                          th.persistent_rep_fraction,
                          f"{side} knee medial (>= {th.shift_present_mm:g} mm) for "
                          f"{100 * m.fraction_above_threshold:.0f}% of the rep, in descent and "
                          "ascent"))
    if percent_1rm is not None and percent_1rm < th.light_load_percent_1rm:
        rules.append(Rule("light_load", side, percent_1rm, th.light_load_percent_1rm,
                          f"{side} knee medial {m.medial_knee_shift_peak_mm:.0f} mm at "
                          f"{percent_1rm:.0f}% 1RM (light load)"))
    if m.peak_medial_velocity_mm_s > th.uncontrolled_velocity_mm_s:
        rules.append(Rule("uncontrolled", side, m.peak_medial_velocity_mm_s,
                          th.uncontrolled_velocity_mm_s,
                          f"{side} knee moved medially at {m.peak_medial_velocity_mm_s:.0f} mm/s"))
    elif m.medial_peaks >= th.uncontrolled_peaks:
        rules.append(Rule("uncontrolled", side, m.medial_peaks, th.uncontrolled_peaks,
                          f"{side} knee went in {m.medial_peaks} separate times in one rep"))
    foot = [("heel_lift_mm", m.heel_lift_mm, th.heel_lift_mm, "heel lifted {:.0f} mm"),
            ("foot_rotation_deg", abs(m.foot_rotation_deg), th.foot_rotation_deg,
             "foot turned {:.0f} deg"),
            ("foot_slide_mm", m.foot_slide_mm, th.foot_slide_mm, "foot slid {:.0f} mm")]
    for _, value, limit, text in foot:
        if np.isfinite(value) and value > limit:
            rules.append(Rule("foot_instability", side, value, limit,
                              f"{side} " + text.format(value)))
            break
    if pain is not None and pain > th.pain_above:
        rules.append(Rule("pain", side, pain, th.pain_above,
                          f"pain {pain:g}/10 with the {side} knee medial "
                          f"{m.medial_knee_shift_peak_mm:.0f} mm"))
    return ("red_flag" if rules else "transient"), rules


def noise_adjusted(th: ReadingThresholds, noise_mm: float, velocity_noise_mm_s: float, *,
                   ns: NoiseSettings) -> ReadingThresholds:
    """Thresholds raised to multiples of the measured noise floor (never lowered).

    ``shift_present_mm`` >= ``present_noise_sd`` x noise, ``oscillation_prominence_mm`` >=
    ``prominence_noise_sd`` x noise, ``baseline_return_mm`` >= ``baseline_noise_sd`` x noise
    and ``uncontrolled_velocity_mm_s`` >= ``velocity_noise_sd`` x the velocity noise; NaN
    noise (no standing frames) leaves ``th`` as it is.
    """
    def at_least(value: float, sd: float, k: float) -> float:
        return max(value, k * sd) if np.isfinite(sd) else value

    return replace(
        th, shift_present_mm=at_least(th.shift_present_mm, noise_mm, ns.present_noise_sd),
        oscillation_prominence_mm=at_least(th.oscillation_prominence_mm, noise_mm,
                                           ns.prominence_noise_sd),
        baseline_return_mm=at_least(th.baseline_return_mm, noise_mm, ns.baseline_noise_sd),
        uncontrolled_velocity_mm_s=at_least(th.uncontrolled_velocity_mm_s, velocity_noise_mm_s,
                                            ns.velocity_noise_sd))


def trial_consistency_rule(peaks_mm: Sequence[float], *, th: ReadingThresholds,
                           noise_mm: float = 0.0, margin_sd: float = 0.0) -> Rule | None:
    """``uncontrolled`` at trial level when valgus reps' peak shifts vary (CV) too much.

    Only reps whose peak clearly exceeds the threshold (by ``margin_sd`` x ``noise_mm``)
    count, and the part of the spread that the noise explains is taken out:
    ``CV = sqrt(max(0, SD^2 - noise^2)) / mean``.
    """
    noise = float(noise_mm) if np.isfinite(noise_mm) else 0.0
    floor = th.shift_present_mm + margin_sd * noise
    x = np.asarray([p for p in peaks_mm if np.isfinite(p) and p >= floor])
    if x.size < 3:
        return None
    sd = float(np.sqrt(max(0.0, x.var(ddof=1) - noise**2)))
    cv = sd / float(x.mean())
    if cv <= th.inconsistent_cv:
        return None
    return Rule("uncontrolled", "both", cv, th.inconsistent_cv,
                f"peak medial shift varied rep to rep (CV {cv:.2f}"
                + (f", noise {noise:.1f} mm taken out)" if noise else ")"))
