"""The report's charts as PNG bytes (matplotlib, object API: no pyplot, no global state).

Each function takes plain values (a per-frame table, rep rows, numbers), draws one figure
at a given size in centimetres, and returns the PNG bytes for the PDF layout. Colours are
the same everywhere: left side blue, right side purple, threshold red dashed; readings
green / amber / red.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from liftlab.reports.data import RepData, SessionSummary, TrialData
from liftlab.reports.text import reading_label

SIDE_COLORS = {"left": "#1565C0", "right": "#8E24AA"}
READING_COLORS = {"none": "#2E7D32", "transient": "#F9A825", "red_flag": "#C62828",
                  None: "#757575"}
PHASE_COLORS = {"descent": "#E3F2FD", "bottom": "#ECEFF1", "ascent": "#FFF3E0"}
THRESHOLD_COLOR = "#C62828"
CM = 1 / 2.54
DPI = 150


def _figure(width_cm: float, height_cm: float) -> Figure:
    fig = Figure(figsize=(width_cm * CM, height_cm * CM), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _style(ax) -> None:  # noqa: ANN001 - matplotlib Axes
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=7)
    ax.grid(axis="y", color="#E0E0E0", linewidth=0.6)
    ax.set_axisbelow(True)


def summary_figure(lifts: Sequence[TrialData], *, threshold_mm: float,
                   width_cm: float = 17.0) -> bytes:
    """Peak inward knee shift per trial, left and right bars, threshold line, reading label."""
    n = max(len(lifts), 1)
    fig = _figure(width_cm, 1.6 + 0.9 * n)
    ax = fig.add_subplot()
    y = np.arange(len(lifts))[::-1]
    for offset, side in ((0.18, "left"), (-0.18, "right")):
        values = [t.peak_mm(side) for t in lifts]
        ax.barh(y + offset, [0.0 if v is None else v for v in values], height=0.34,
                color=SIDE_COLORS[side], label=side)
    ax.axvline(threshold_mm, color=THRESHOLD_COLOR, linestyle="--", linewidth=1,
               label=f"threshold {threshold_mm:g} mm")
    labels = [f"{t.name}\n{t.load_kg:g} kg" if t.load_kg is not None else t.name for t in lifts]
    ax.set_yticks(y, labels)
    peaks = [v for t in lifts for s in ("left", "right") if (v := t.peak_mm(s)) is not None]
    xmax = max([threshold_mm * 1.5, *peaks]) * 1.35
    ax.set_xlim(min(0.0, *peaks) if peaks else 0.0, xmax)
    for yi, trial in zip(y, lifts, strict=True):
        ax.text(xmax * 0.99, yi, reading_label(trial.reading), ha="right", va="center",
                fontsize=7, fontweight="bold", color=READING_COLORS.get(trial.reading, "#757575"))
    ax.set_xlabel("peak inward knee shift (mm)", fontsize=7)
    ax.legend(fontsize=6, loc="lower right", frameon=False, ncols=3,
              bbox_to_anchor=(1.0, 1.0))
    _style(ax)
    ax.grid(axis="x", color="#E0E0E0", linewidth=0.6)
    return _png(fig)


def _phase_spans(time_s: np.ndarray, phase: np.ndarray) -> list[tuple[float, float, str]]:
    """Contiguous runs of the same phase as (start_s, end_s, phase)."""
    spans = []
    if len(time_s) == 0:
        return spans
    dt_s = float(np.median(np.diff(time_s))) if len(time_s) > 1 else 0.0
    start = 0
    for i in range(1, len(phase) + 1):
        if i == len(phase) or phase[i] != phase[start]:
            spans.append((float(time_s[start]), float(time_s[i - 1]) + dt_s, str(phase[start])))
            start = i
    return spans


def trial_figure(series: pd.DataFrame, reps: Sequence[RepData], *, threshold_mm: float,
                 width_cm: float = 17.0, height_cm: float = 8.5) -> bytes:
    """Inward knee shift and knee-over-foot through the trial: both sides, phases shaded,
    threshold drawn, reps labelled at the top."""
    fig = _figure(width_cm, height_cm)
    top, bottom = fig.subplots(2, 1, sharex=True)
    time_s = series["time_s"].to_numpy(float)
    phase = series["phase"].astype(str).to_numpy() if "phase" in series else None
    panels = ((top, "medial_knee_shift_mm", "inward knee shift (mm)"),
              (bottom, "knee_over_foot_mm", "knee over foot (mm)\n+ = inside the toes"))
    for ax, column, label in panels:
        if phase is not None:
            for start, end, name in _phase_spans(time_s, phase):
                if name in PHASE_COLORS:
                    ax.axvspan(start, end, color=PHASE_COLORS[name], linewidth=0)
        for side in ("left", "right"):
            name = f"{side}_{column}"
            if name in series:
                ax.plot(time_s, series[name].to_numpy(float), color=SIDE_COLORS[side],
                        linewidth=1.1, label=side)
        ax.set_ylabel(label, fontsize=7)
        ax.axhline(0, color="#9E9E9E", linewidth=0.6)
        _style(ax)
    top.axhline(threshold_mm, color=THRESHOLD_COLOR, linestyle="--", linewidth=1,
                label=f"threshold {threshold_mm:g} mm")
    ymax = top.get_ylim()[1]
    top.set_ylim(top=max(ymax, threshold_mm) * 1.25)
    for rep in reps:
        if rep.start_s is not None and rep.end_s is not None:
            mid = 0.5 * (rep.start_s + rep.end_s)
            top.text(mid, 0.98, f"rep {rep.index}", transform=top.get_xaxis_transform(),
                     ha="center", va="top", fontsize=6.5,
                     color=READING_COLORS.get(rep.reading, "#424242"), fontweight="bold")
    bottom.set_xlabel("time (s)   shading: descent (blue), bottom (grey), ascent (orange)",
                      fontsize=7)
    top.legend(fontsize=6, loc="lower right", frameon=False, ncols=3,
               bbox_to_anchor=(1.0, 1.0), borderaxespad=0.1)
    return _png(fig)


def load_figure(lifts: Sequence[TrialData], *, threshold_mm: float,
                width_cm: float = 12.0, height_cm: float = 6.5) -> bytes:
    """Peak inward knee shift of every rep against the set's load (or set order), per side."""
    fig = _figure(width_cm, height_cm)
    ax = fig.add_subplot()
    has_load = all(t.load_kg is not None for t in lifts)
    for k, trial in enumerate(lifts):
        x0 = trial.load_kg if has_load else k + 1
        for offset, side in ((-0.15, "left"), (0.15, "right")):
            values = [v for r in trial.reps if (v := r.peak_mm(side)) is not None]
            spread = (1.0 if has_load else 0.1) * offset * 4
            ax.scatter(np.full(len(values), x0 + spread), values, s=12,
                       color=SIDE_COLORS[side], label=side if k == 0 else None, alpha=0.85)
    ax.axhline(threshold_mm, color=THRESHOLD_COLOR, linestyle="--", linewidth=1,
               label="threshold")
    if has_load:
        ax.set_xlabel("load of the set (kg)", fontsize=7)
    else:
        ax.set_xlabel("set (in recording order)", fontsize=7)
        ax.set_xticks(range(1, len(lifts) + 1), [t.name for t in lifts], fontsize=6)
    ax.set_ylabel("peak inward knee shift\nper rep (mm)", fontsize=7)
    ax.legend(fontsize=6, frameon=False)
    _style(ax)
    return _png(fig)


def trend_figure(history: Sequence[SessionSummary], *, threshold_mm: float,
                 width_cm: float = 17.0, height_cm: float = 6.5) -> bytes:
    """Median rep peak of the inward knee shift per session and side, red-flag reps noted."""
    fig = _figure(width_cm, height_cm)
    ax = fig.add_subplot()
    x = np.arange(len(history))
    for side in ("left", "right"):
        values = [getattr(h, f"median_peak_{side}_mm") for h in history]
        ax.plot(x, [np.nan if v is None else v for v in values], marker="o", markersize=4,
                color=SIDE_COLORS[side], linewidth=1.2, label=side)
    ax.axhline(threshold_mm, color=THRESHOLD_COLOR, linestyle="--", linewidth=1,
               label="threshold")
    ax.set_xticks(x, [f"{h.date:%d %b %Y}\n{h.n_red_flag_reps}/{h.n_reps} red flag"
                      for h in history], fontsize=6)
    ax.set_ylabel("median peak inward\nknee shift (mm)", fontsize=7)
    ax.set_xlim(-0.5, len(history) - 0.5)
    ax.legend(fontsize=6, frameon=False, ncols=3)
    _style(ax)
    return _png(fig)
