"""Calibration outputs: the result container, its JSON / Markdown reports, atomic writing.

Every mode (full, intrinsics-only, import) ends in one :class:`CalibrationResult` and
:func:`write_outputs`, which writes ``calibration.toml`` (aniposelib format, via
``Rig.save``), ``calibration_report.json`` and ``calibration_report.md`` through temporary
files renamed into place, so a crash never leaves half a file and a failed calibration
leaves the previous ``calibration.toml`` untouched.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from liftlab.calibration.quality import CameraQuality, Verdict
from liftlab.core.cameras import Rig

Mode = Literal["full", "intrinsics_only", "import"]


@dataclass(frozen=True)
class CalibrationResult:
    """What a calibration made, how good it is and where it came from.

    Attributes
    ----------
    rig
        The cameras in session order (lab frame, mm, for ``full`` and ``import``).
    qualities
        Per-camera numbers and verdicts.
    verdict
        The rig's verdict (the worst finding, with every reason and fix).
    mode
        ``"full"``, ``"intrinsics_only"`` or ``"import"``.
    lab_frame
        How the lab frame was set (source, on_floor, matrix, fit numbers).
    scale_check
        Board-geometry check: ``rms_mm``, ``scale_ratio``, ``views``.
    provenance
        Sources with sha256, board spec, software versions, date, mode, settings.
    outputs
        Files written (filled in by :func:`write_outputs`).
    """

    rig: Rig
    qualities: tuple[CameraQuality, ...]
    verdict: Verdict
    mode: Mode
    lab_frame: dict[str, Any] = field(default_factory=dict)
    scale_check: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict.status != "fail"

    def to_dict(self) -> dict[str, Any]:
        return _clean({
            "mode": self.mode,
            "verdict": self.verdict.to_dict(),
            "cameras": [
                {**q.to_dict(), "intrinsics": _intrinsics(self.rig, q.camera)}
                for q in self.qualities
            ],
            "lab_frame": self.lab_frame,
            "scale_check": self.scale_check,
            "provenance": self.provenance,
            "outputs": self.outputs,
        })


def _intrinsics(rig: Rig, name: str) -> dict[str, Any]:
    if name not in rig.names:
        return {}
    c = rig[name]
    return {"size": list(c.size), "fx_px": c.matrix[0, 0], "fy_px": c.matrix[1, 1],
            "cx_px": c.matrix[0, 2], "cy_px": c.matrix[1, 2],
            "distortions": c.distortions.tolist(), "center_mm": c.center_mm.tolist()}


def _clean(obj: Any) -> Any:
    """JSON-safe: numpy to Python, NaN/inf to None, paths to str."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None or not np.isfinite(x) else format(x, spec)


def camera_table(result: CalibrationResult) -> str:
    """Plain-text per-camera table and the rig verdict (what the CLI prints)."""
    lines = [f"{'camera':<12}{'views':>7}{'shared':>8}{'mean px':>9}{'p95 px':>8}"
             f"{'coverage':>10}  verdict"]
    for q in result.qualities:
        shared = "-" if q.shared_views is None else str(q.shared_views)
        lines.append(f"{q.camera:<12}{q.views:>7}{shared:>8}{_fmt(q.reproj_mean_px):>9}"
                     f"{_fmt(q.reproj_p95_px):>8}{_fmt(q.coverage * 100, '.0f') + '%':>10}  "
                     f"{q.verdict.status}")
    sc = result.scale_check
    if sc.get("views"):
        lines.append(f"board geometry: {_fmt(sc.get('rms_mm'))} mm RMS over {sc['views']} views, "
                     f"scale {_fmt((sc.get('scale_ratio', 1.0) - 1) * 100, '+.2f')}%")
    if result.lab_frame:
        lf = result.lab_frame
        lines.append(f"lab frame: {lf.get('source')} "
                     f"({'on the floor' if lf.get('on_floor') else 'NOT on the floor'})")
    lines.append(f"rig verdict: {result.verdict.status.upper()}")
    lines += [f"  - {r}" for r in result.verdict.reasons]
    lines += [f"  fix: {f}" for f in result.verdict.fixes]
    return "\n".join(lines)


def to_markdown(result: CalibrationResult) -> str:
    """The human report: verdict, per-camera table, lab frame, scale, provenance."""
    d = result.to_dict()
    out = [f"# Calibration report ({result.mode})", "",
           f"**Verdict: {result.verdict.status.upper()}**", ""]
    out += [f"- {r}" for r in result.verdict.reasons]
    if result.verdict.fixes:
        out += ["", "What to do:", ""] + [f"- {f}" for f in result.verdict.fixes]
    out += ["", "| camera | views | shared views | mean px | p95 px | coverage | fx px | "
                "cx, cy px | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    for cam in d["cameras"]:
        intr = cam.get("intrinsics", {})
        out.append(f"| {cam['camera']} | {cam['views']} | {cam['shared_views'] or '-'} | "
                   f"{_fmt(cam['reproj_mean_px'])} | {_fmt(cam['reproj_p95_px'])} | "
                   f"{_fmt((cam['coverage'] or 0) * 100, '.0f')}% | "
                   f"{_fmt(intr.get('fx_px'), '.1f')} | {_fmt(intr.get('cx_px'), '.1f')}, "
                   f"{_fmt(intr.get('cy_px'), '.1f')} | {cam['verdict']['status']} |")
    if d["lab_frame"]:
        out += ["", "## Lab frame", "", "```json", json.dumps(d["lab_frame"], indent=1), "```"]
    if d["scale_check"]:
        out += ["", "## Board geometry check", "", "```json",
                json.dumps(d["scale_check"], indent=1), "```"]
    out += ["", "## Provenance", "", "```json", json.dumps(d["provenance"], indent=1), "```", ""]
    return "\n".join(out)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_outputs(result: CalibrationResult, calibration_dir: str | Path, *,
                  json_copy: str | Path | None = None) -> CalibrationResult:
    """Write the rig (unless the verdict is fail) and both reports; return the result with
    ``outputs`` filled in."""
    folder = Path(calibration_dir)
    folder.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, str] = {}
    toml_path = folder / "calibration.toml"
    if result.ok:
        result.rig.save(toml_path)
        outputs["calibration"] = str(toml_path)
    else:
        outputs["calibration"] = f"not written (verdict fail); {toml_path.name} left as it was"
    outputs["report_json"] = str(folder / "calibration_report.json")
    outputs["report_md"] = str(folder / "calibration_report.md")
    if json_copy is not None:
        outputs["json"] = str(json_copy)
    final = CalibrationResult(result.rig, result.qualities, result.verdict, result.mode,
                              result.lab_frame, result.scale_check, result.provenance, outputs)
    payload = json.dumps(final.to_dict(), indent=2).encode()
    _write_atomic(folder / "calibration_report.json", payload)
    _write_atomic(folder / "calibration_report.md", to_markdown(final).encode())
    if json_copy is not None:
        Path(json_copy).parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(Path(json_copy), payload)
    return final
