"""Typed, bounded metric settings loaded once from ``thresholds.toml``.

The packaged ``metrics/thresholds.toml`` holds every default with its unit and source; a
user TOML may override any subset (:func:`load_thresholds`). Numeric functions receive plain
values from these frozen dataclasses, never a dict.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from liftlab.core.errors import InputError, check_all

Exercise = Literal["squat", "front_squat", "clean", "snatch", "knee_curl"]
EXERCISES: tuple[str, ...] = ("squat", "front_squat", "clean", "snatch", "knee_curl")

# (low, high) bounds per field name; inclusive.
_BOUNDS: dict[str, tuple[float, float]] = {
    "squat_cutoff_hz": (0.5, 50), "front_squat_cutoff_hz": (0.5, 50),
    "clean_cutoff_hz": (0.5, 50), "snatch_cutoff_hz": (0.5, 50),
    "knee_curl_cutoff_hz": (0.5, 50), "angle_cutoff_hz": (0.5, 50), "order": (1, 8),
    "prominence_range_fraction": (0.0, 1.0), "prominence_leg_fraction": (0.0, 1.0),
    "min_rep_interval_s": (0.05, 10), "velocity_dead_band_mm_s": (0.0, 1000),
    "still_speed_mm_s": (0.0, 100),
    "shift_present_mm": (0.0, 200), "baseline_return_mm": (0.0, 200),
    "persistent_rep_fraction": (0.0, 1.0), "uncontrolled_velocity_mm_s": (0.0, 10000),
    "uncontrolled_peaks": (2, 100), "oscillation_prominence_mm": (0.0, 200),
    "inconsistent_cv": (0.0, 10), "light_load_percent_1rm": (0.0, 150),
    "heel_lift_mm": (0.0, 500), "foot_rotation_deg": (0.0, 90), "foot_slide_mm": (0.0, 500),
    "pain_above": (0, 10), "abduction_min_reliability": (0.0, 1.0),
    "min_flexion_deg": (5, 120), "other_knee_max_flexion_deg": (5, 120),
    "max_thigh_motion_deg": (1, 90), "good_flexion_deg": (5, 150), "min_frames": (1, 100000),
    "max_spread_deg": (0.1, 45), "assumed_uncertainty_deg": (0, 45),
    "shift_cutoff_hz": (0.5, 50), "foot_cutoff_hz": (0.2, 50), "plane_cutoff_hz": (0.2, 50),
    "foot_window_s": (0.2, 60), "foot_tolerance_sd": (0.0, 20),
    "foot_min_tolerance_mm": (0.0, 100), "min_standing_s": (0.0, 10),
    "standing_margin_s": (0.0, 5), "present_noise_sd": (0.0, 20),
    "prominence_noise_sd": (0.0, 20), "velocity_noise_sd": (0.0, 50),
    "baseline_noise_sd": (0.0, 20), "consistency_margin_sd": (0.0, 20),
}


@dataclass(frozen=True)
class FilterSettings:
    """Zero-lag Butterworth low-pass cut-offs (Hz) per exercise and for angle series."""

    squat_cutoff_hz: float = 6.0
    front_squat_cutoff_hz: float = 6.0
    clean_cutoff_hz: float = 10.0
    snatch_cutoff_hz: float = 12.0
    knee_curl_cutoff_hz: float = 6.0
    angle_cutoff_hz: float = 4.0
    shift_cutoff_hz: float = 4.0
    foot_cutoff_hz: float = 2.0
    plane_cutoff_hz: float = 1.5
    order: int = 2

    def cutoff_hz(self, exercise: Exercise) -> float:
        """Landmark low-pass cut-off for ``exercise``."""
        return float(getattr(self, f"{exercise}_cutoff_hz"))


@dataclass(frozen=True)
class RepSettings:
    """Repetition segmentation on mid-hip height (opencap ``segment_squat`` style)."""

    prominence_range_fraction: float = 0.3
    prominence_leg_fraction: float = 0.12
    min_rep_interval_s: float = 0.5
    velocity_dead_band_mm_s: float = 15.0
    still_speed_mm_s: float = 0.1


@dataclass(frozen=True)
class ReadingThresholds:
    """Thresholds of the valgus reading (see ``thresholds.toml`` for sources)."""

    shift_present_mm: float = 15.0
    baseline_return_mm: float = 8.0
    persistent_rep_fraction: float = 0.6
    uncontrolled_velocity_mm_s: float = 600.0
    uncontrolled_peaks: int = 2
    oscillation_prominence_mm: float = 6.0
    inconsistent_cv: float = 0.5
    light_load_percent_1rm: float = 60.0
    heel_lift_mm: float = 15.0
    foot_rotation_deg: float = 8.0
    foot_slide_mm: float = 20.0
    pain_above: float = 2.0
    abduction_min_reliability: float = 0.5


@dataclass(frozen=True)
class AlignmentSettings:
    """Frame selection and quality verdict of the knee-curl alignment calibration."""

    min_flexion_deg: float = 30.0
    other_knee_max_flexion_deg: float = 25.0
    max_thigh_motion_deg: float = 15.0
    good_flexion_deg: float = 60.0
    min_frames: int = 15
    max_spread_deg: float = 3.0
    assumed_uncertainty_deg: float = 15.0


@dataclass(frozen=True)
class NoiseSettings:
    """Measurement-noise handling: planted-foot reference and the adaptive noise floor."""

    foot_window_s: float = 4.0
    foot_tolerance_sd: float = 4.0
    foot_min_tolerance_mm: float = 0.1
    min_standing_s: float = 0.5
    standing_margin_s: float = 0.2
    present_noise_sd: float = 3.0
    prominence_noise_sd: float = 3.0
    velocity_noise_sd: float = 5.0
    baseline_noise_sd: float = 2.5
    consistency_margin_sd: float = 2.0
    subtract_standing_baseline: bool = True


@dataclass(frozen=True)
class Thresholds:
    """All metric settings: ``filter``, ``reps``, ``reading``, ``alignment`` and ``noise``
    tables; ``source`` = files read."""

    filter: FilterSettings = field(default_factory=FilterSettings)
    reps: RepSettings = field(default_factory=RepSettings)
    reading: ReadingThresholds = field(default_factory=ReadingThresholds)
    alignment: AlignmentSettings = field(default_factory=AlignmentSettings)
    noise: NoiseSettings = field(default_factory=NoiseSettings)
    source: tuple[str, ...] = ("packaged",)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (for provenance and JSON)."""
        return {name: {f.name: getattr(getattr(self, name), f.name)
                       for f in fields(getattr(self, name))}
                for name in _TABLES}


_TABLES = {"filter": FilterSettings, "reps": RepSettings, "reading": ReadingThresholds,
           "alignment": AlignmentSettings, "noise": NoiseSettings}


def _build(table: str, values: dict[str, Any], where: str) -> Any:
    cls = _TABLES[table]
    known = {f.name: f for f in fields(cls)}
    problems = []
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            problems.append(f"unknown key [{table}] {key} (known: {', '.join(known)})")
            continue
        if known[key].type in ("bool", bool):
            if not isinstance(value, bool):
                problems.append(f"[{table}] {key} must be true or false, got {value!r}")
            else:
                kwargs[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"[{table}] {key} must be a number, got {value!r}")
            continue
        low, high = _BOUNDS[key]
        if not low <= value <= high:
            problems.append(f"[{table}] {key} = {value} is outside [{low}, {high}]")
            continue
        kwargs[key] = int(value) if known[key].type in ("int", int) else float(value)
    check_all(problems, where=where, fix="correct the thresholds TOML (see metrics/thresholds.toml)")
    return cls(**kwargs)


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"No thresholds file at {path}", fix="give an existing TOML file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"Cannot parse TOML: {exc}", where=str(path),
                         fix="fix the TOML syntax") from None


def load_thresholds(path: str | Path | None = None) -> Thresholds:
    """Packaged defaults, overridden key by key by the user TOML at ``path`` (if given).

    Raises
    ------
    InputError
        Unknown tables or keys, non-numbers or values out of bounds (all listed at once).
    """
    text = resources.files("liftlab.metrics").joinpath("thresholds.toml").read_text("utf-8")
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in tomllib.loads(text).items()}
    source = ["packaged"]
    where = "packaged thresholds.toml"
    if path is not None:
        user = _read_toml(Path(path))
        where = str(path)
        unknown = sorted(set(user) - set(_TABLES))
        check_all([f"unknown table [{t}] (known: {', '.join(_TABLES)})" for t in unknown],
                  where=where, fix="use only the tables of metrics/thresholds.toml")
        for table, values in user.items():
            if not isinstance(values, dict):
                raise InputError(f"[{table}] must be a table", where=where)
            merged.setdefault(table, {}).update(values)
        source.append(str(path))
    built = {t: _build(t, merged.get(t, {}), where) for t in _TABLES}
    return Thresholds(**built, source=tuple(source))
