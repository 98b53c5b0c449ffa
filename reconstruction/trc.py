"""OpenSim TRC (v4, ``PathFileType 4 (X/Y/Z)``) read and write for :class:`Trajectory3D`.

Marker names are the landmark names (MediaPipe lower snake case). Missing values are empty
fields. liftlab's lab frame is Z up; OpenSim models are Y up (X forward, Y up, Z right): pass
``up_axis="y"`` to write or read that convention, converted with
``lab = (x, -z, y)`` / ``opensim = (x, z, -y)`` (a proper rotation, no mirroring).
Units are taken from the header: ``mm`` as is, ``m`` and ``cm`` converted to mm, and the
conversion recorded in the trajectory's provenance (``provenance["trc"]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from liftlab.core.containers import Trajectory3D
from liftlab.core.errors import InputError

UpAxis = Literal["z", "y"]
UNIT_TO_MM: dict[str, float] = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
# rows map opensim (x, y, z) to lab (x, y, z)
_Y_UP_TO_LAB = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])


def _fmt(x: float, decimals: int | None) -> str:
    if not np.isfinite(x):
        return ""
    return repr(float(x)) if decimals is None else f"{x:.{decimals}f}"


def write_trc(traj: Trajectory3D, path: str | Path, *, up_axis: UpAxis = "z",
              decimals: int | None = None) -> Path:
    """Write ``traj`` as an OpenSim TRC file in mm.

    Parameters
    ----------
    traj
        Trajectory (lab frame, mm).
    path
        Output file (parent folders are created).
    up_axis
        ``"z"`` keeps liftlab's lab frame; ``"y"`` writes OpenSim's Y-up convention.
    decimals
        Fixed decimals; ``None`` writes the shortest exact representation (exact round trip).

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pts = traj.points_mm
    if up_axis == "y":
        pts = pts @ _Y_UP_TO_LAB  # lab -> opensim: inverse (transpose) of the rows map
    n, k = pts.shape[:2]
    rate = repr(float(traj.fps))
    lines = [f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
             "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\t"
             "OrigDataStartFrame\tOrigNumFrames",
             f"{rate}\t{rate}\t{n}\t{k}\tmm\t{rate}\t1\t{n}",
             "Frame#\tTime\t" + "\t".join(f"{m}\t\t" for m in traj.landmarks).rstrip("\t"),
             "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, k + 1)),
             ""]
    time_s = traj.time_s
    for f in range(n):
        vals = "\t".join(_fmt(v, decimals) for v in pts[f].ravel())
        lines.append(f"{f + 1}\t{repr(float(time_s[f]))}\t{vals}")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_trc(path: str | Path, *, up_axis: UpAxis = "z") -> Trajectory3D:
    """Read an OpenSim TRC file into a :class:`Trajectory3D` (mm, lab frame Z up).

    Parameters
    ----------
    path
        The ``.trc`` file.
    up_axis
        The file's vertical axis: ``"z"`` (liftlab, default) or ``"y"`` (OpenSim models).

    Returns
    -------
    Trajectory3D
        Markers in file order; empty fields are NaN; ``provenance["trc"]`` records the file,
        its units and the conversion applied.

    Raises
    ------
    InputError
        Missing file, malformed header, unknown units or ragged rows.
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise InputError(f"No TRC file at {path}", fix="give the path of an existing .trc file")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if len(lines) < 5 or not lines[0].startswith("PathFileType"):
        got = repr(lines[0][:40]) if lines else "an empty file"
        raise InputError(f"Expected an OpenSim TRC header (PathFileType ...), but got {got}",
                         where=where,
                         fix="export the trajectory as TRC (liftlab export --format trc)")
    keys = lines[1].split("\t")
    values = lines[2].split("\t")
    header = {k.strip(): v.strip() for k, v in zip(keys, values, strict=False)}
    try:
        fps = float(header["DataRate"])
        n_markers = int(header["NumMarkers"])
    except (KeyError, ValueError):
        raise InputError("TRC header lacks a numeric DataRate / NumMarkers", where=where,
                         fix="write the standard 8-field TRC header") from None
    units = header.get("Units", "mm").lower()
    if units not in UNIT_TO_MM:
        raise InputError(f"Expected TRC units mm, cm or m, but got {units!r}", where=where,
                         fix="set Units in the header to mm, cm or m")
    names = [m.strip() for m in lines[3].split("\t")[2:] if m.strip()]
    if len(names) != n_markers:
        raise InputError(f"Header says {n_markers} markers but names {len(names)}", where=where,
                         fix="one name per marker on line 4, separated by three tabs")
    start = 5
    while start < len(lines) and not lines[start].strip():
        start += 1
    rows = [ln.split("\t") for ln in lines[start:] if ln.strip()]
    width = 2 + 3 * n_markers
    data = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        if len(row) > width:
            if any(c.strip() for c in row[width:]):
                raise InputError(f"Row {start + i + 1} has {len(row)} fields, expected {width}",
                                 where=where, fix="check the file for a broken row")
            row = row[:width]
        for j, cell in enumerate(row):
            cell = cell.strip()
            if cell:
                try:
                    data[i, j] = float(cell)
                except ValueError:
                    raise InputError(f"Row {start + i + 1}, field {j + 1}: {cell!r} is not a "
                                     "number", where=where, fix="fix or remove the row") from None
    pts = data[:, 2:].reshape(len(rows), n_markers, 3) * UNIT_TO_MM[units]
    if up_axis == "y":
        pts = pts @ _Y_UP_TO_LAB.T
    t0 = float(data[0, 1]) if len(rows) and np.isfinite(data[0, 1]) else 0.0
    prov = {"trc": {"file": str(path), "units": units, "scale_to_mm": UNIT_TO_MM[units],
                    "up_axis": up_axis}}
    return Trajectory3D(points_mm=pts, fps=fps, landmarks=tuple(names), start_time_s=t0,
                        provenance=prov)
