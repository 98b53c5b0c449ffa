"""TRC write/read: exact round trip, units from the header, Y-up files, missing markers."""

from __future__ import annotations

import numpy as np
import pytest

from liftlab.core.containers import Trajectory3D
from liftlab.core.errors import InputError
from liftlab.core.landmarks import LANDMARKS
from liftlab.reconstruction.trc import read_trc, write_trc


def _traj(n=12, seed=0):
    rng = np.random.default_rng(seed)
    pts = rng.normal(0, 400, (n, len(LANDMARKS), 3)) + [0, 0, 900]
    pts[3, 5] = np.nan
    pts[7:, 30] = np.nan
    return Trajectory3D(points_mm=pts, fps=59.94, start_time_s=1.25)


@pytest.mark.parametrize("up_axis", ["z", "y"])
def test_exact_round_trip(tmp_path, up_axis):
    traj = _traj()
    out = read_trc(write_trc(traj, tmp_path / "a.trc", up_axis=up_axis), up_axis=up_axis)
    np.testing.assert_array_equal(out.points_mm, traj.points_mm)
    assert out.landmarks == traj.landmarks and out.fps == traj.fps
    assert out.start_time_s == traj.start_time_s


def test_y_up_file_is_rotated_into_lab_frame(tmp_path):
    traj = _traj()
    write_trc(traj, tmp_path / "y.trc", up_axis="y")
    raw = read_trc(tmp_path / "y.trc")  # read as if Z up: vertical is then the file's Y column
    np.testing.assert_array_equal(raw.points_mm[..., 1], traj.points_mm[..., 2])
    np.testing.assert_array_equal(raw.points_mm[..., 2], -traj.points_mm[..., 1])


@pytest.mark.parametrize(("units", "scale"), [("m", 1000.0), ("cm", 10.0), ("mm", 1.0)])
def test_units_converted_and_recorded(tmp_path, units, scale):
    traj = _traj()
    path = write_trc(traj, tmp_path / "u.trc")
    text = path.read_text().splitlines()
    fields = text[2].split("\t")
    fields[4] = units
    text[2] = "\t".join(fields)
    data = [ln.split("\t") for ln in text[6:]]
    for row in data:
        row[2:] = [repr(float(c) / scale) if c else "" for c in row[2:]]
    path.write_text("\n".join(text[:6] + ["\t".join(r) for r in data]) + "\n")
    out = read_trc(path)
    np.testing.assert_allclose(out.points_mm, traj.points_mm, rtol=1e-12)
    assert out.provenance["trc"]["units"] == units
    assert out.provenance["trc"]["scale_to_mm"] == scale


def test_missing_markers_tolerated(tmp_path):
    names = ("left_hip", "left_knee")
    traj = Trajectory3D(points_mm=np.ones((4, 2, 3)), fps=30, landmarks=names)
    out = read_trc(write_trc(traj, tmp_path / "two.trc"))
    assert out.landmarks == names and not out.has("right_hip")


@pytest.mark.parametrize(("content", "match"), [
    ("", "TRC header"),
    ("PathFileType\t4\n" "DataRate\tNumMarkers\tUnits\n" "60\t1\tinches\nFrame#\tTime\ta\n\n",
     "units mm, cm or m"),
    ("PathFileType\t4\n" "DataRate\tNumMarkers\tUnits\n" "60\t2\tmm\nFrame#\tTime\ta\n\n",
     "2 markers but names 1"),
    ("PathFileType\t4\n" "DataRate\tNumMarkers\tUnits\n" "60\t1\tmm\nFrame#\tTime\ta\n\t\tX1\n"
     "1\t0\t1\tx\t3\n", "not a number"),
])
def test_bad_files(tmp_path, content, match):
    p = tmp_path / "bad.trc"
    p.write_text(content)
    with pytest.raises(InputError, match=match):
        read_trc(p)


def test_no_file(tmp_path):
    with pytest.raises(InputError, match="No TRC file"):
        read_trc(tmp_path / "nope.trc")
