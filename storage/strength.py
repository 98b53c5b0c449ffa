"""Strength by test position: a deficit only upright points to coordination, not weakness.

Clinical reading (for the report): when a muscle group is clearly weaker on one side when
tested seated or standing (upright, loaded, balance and coordination involved) but not when
tested lying (supine, prone, side-lying: supported, isolated), the deficit is more likely a
coordination / neural-drive pattern than plain weakness, and calls for different training.

Rule, per muscle group, unit and side (the most recent test date of each position is used,
several tests on that date are averaged):

- ``lr_deficit_<upright|lying>_pct``: how much lower this side is than the other side,
  ``100 * (other - this) / other``, the largest over the positions of that group where both
  sides were tested (positive = this side weaker).
- ``upright_to_lying_ratio``: mean upright value / mean lying value of this side.
- ``pattern`` (basis ``"left-right"`` when both sides were tested upright and lying):
  ``"position-dependent deficit"`` when the upright deficit is >= the threshold and the lying
  deficit is below it; ``"deficit in all positions"``, ``"deficit lying only"`` or
  ``"no deficit"`` otherwise. With one side only (basis ``"upright vs lying"``), the label is
  ``"position-dependent deficit"`` when upright is >= threshold lower than lying.
  ``"insufficient data"`` when upright or lying tests are missing.

Threshold: :data:`DEFAULT_DEFICIT_THRESHOLD_PCT` = 15 %. Return-to-sport batteries ask for a
limb symmetry index of 85-90 %, and the test-retest error of hand-held dynamometry is of the
order of 10 %, so a 15 % difference is taken as larger than measurement error. It is a
keyword option, stated in the report.
"""

from __future__ import annotations

import pandas as pd

from liftlab.core.errors import InputError
from liftlab.storage.db import Database

UPRIGHT_POSITIONS: tuple[str, ...] = ("seated", "standing")
LYING_POSITIONS: tuple[str, ...] = ("supine", "prone", "side_lying")
DEFAULT_DEFICIT_THRESHOLD_PCT = 15.0
PATTERN_COLUMNS: tuple[str, ...] = (
    "muscle_group", "unit", "side", "upright_value", "lying_value", "upright_to_lying_ratio",
    "lr_deficit_upright_pct", "lr_deficit_lying_pct", "pattern", "basis", "latest_date",
)


def _latest(tests: pd.DataFrame) -> pd.DataFrame:
    """Mean value per (muscle, unit, side, position) on that combination's latest date."""
    tests = tests.copy()
    tests["date"] = pd.to_datetime(tests["date"])
    keys = ["muscle_group", "unit", "side", "position"]
    last = tests.groupby(keys)["date"].transform("max")
    latest = tests[tests["date"] == last]
    return latest.groupby(keys, as_index=False).agg(value=("value", "mean"), date=("date", "max"))


def _deficit_pct(values: pd.DataFrame, side: str, positions: tuple[str, ...]) -> float:
    """Largest (other - this) / other over the positions where both sides were tested."""
    other = "right" if side == "left" else "left"
    out = float("nan")
    for position in positions:
        here = values[(values.side == side) & (values.position == position)]["value"]
        there = values[(values.side == other) & (values.position == position)]["value"]
        if len(here) and len(there):
            deficit = 100.0 * (float(there.iloc[0]) - float(here.iloc[0])) / float(there.iloc[0])
            out = deficit if out != out else max(out, deficit)  # NaN-aware max
    return out


def _label(upright_def: float, lying_def: float, ratio: float, threshold_pct: float
           ) -> tuple[str, str]:
    if upright_def == upright_def and lying_def == lying_def:  # both sides, both postures
        upright_low, lying_low = upright_def >= threshold_pct, lying_def >= threshold_pct
        if upright_low and not lying_low:
            return "position-dependent deficit", "left-right"
        if upright_low and lying_low:
            return "deficit in all positions", "left-right"
        if lying_low:
            return "deficit lying only", "left-right"
        return "no deficit", "left-right"
    if ratio == ratio:
        if ratio <= 1.0 - threshold_pct / 100.0:
            return "position-dependent deficit", "upright vs lying"
        return "no deficit", "upright vs lying"
    return "insufficient data", ""


def classify_strength(tests: pd.DataFrame, *,
                      deficit_threshold_pct: float = DEFAULT_DEFICIT_THRESHOLD_PCT
                      ) -> pd.DataFrame:
    """Apply the module's rule to a table of tests.

    Parameters
    ----------
    tests
        Columns ``date, muscle_group, side, position, value, unit`` (as returned by
        :func:`liftlab.storage.queries.strength_by_position`).
    deficit_threshold_pct
        Difference (percent) counted as a deficit, in (0, 100).

    Returns
    -------
    pandas.DataFrame
        One row per muscle group, unit and side with the columns of :data:`PATTERN_COLUMNS`.
    """
    if not 0 < deficit_threshold_pct < 100:
        raise InputError(f"deficit_threshold_pct must lie in (0, 100), got {deficit_threshold_pct}")
    missing = {"date", "muscle_group", "side", "position", "value", "unit"} - set(tests.columns)
    if missing:
        raise InputError(f"strength tests lack columns {sorted(missing)}")
    if tests.empty:
        return pd.DataFrame(columns=list(PATTERN_COLUMNS))
    latest = _latest(tests)
    rows = []
    for (muscle, unit), values in latest.groupby(["muscle_group", "unit"], sort=True):
        for side in sorted(set(values.side)):
            mine = values[values.side == side]
            upright = mine[mine.position.isin(UPRIGHT_POSITIONS)]["value"]
            lying = mine[mine.position.isin(LYING_POSITIONS)]["value"]
            ratio = (float(upright.mean()) / float(lying.mean())
                     if len(upright) and len(lying) else float("nan"))
            if side in ("left", "right"):
                upright_def = _deficit_pct(values, side, UPRIGHT_POSITIONS)
                lying_def = _deficit_pct(values, side, LYING_POSITIONS)
            else:
                upright_def = lying_def = float("nan")
            pattern, basis = _label(upright_def, lying_def, ratio, deficit_threshold_pct)
            rows.append({"muscle_group": muscle, "unit": unit, "side": side,
                         "upright_value": float(upright.mean()) if len(upright) else None,
                         "lying_value": float(lying.mean()) if len(lying) else None,
                         "upright_to_lying_ratio": ratio, "lr_deficit_upright_pct": upright_def,
                         "lr_deficit_lying_pct": lying_def, "pattern": pattern,
                         "basis": basis, "latest_date": mine["date"].max().date()})
    return pd.DataFrame(rows, columns=list(PATTERN_COLUMNS))


def strength_pattern(db: Database, athlete: str, *,
                     deficit_threshold_pct: float = DEFAULT_DEFICIT_THRESHOLD_PCT
                     ) -> pd.DataFrame:
    """:func:`classify_strength` of all strength tests of ``athlete`` in the database."""
    from liftlab.storage.queries import strength_by_position

    return classify_strength(strength_by_position(db, athlete),
                             deficit_threshold_pct=deficit_threshold_pct)
