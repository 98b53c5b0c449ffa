"""analyse_timestamps on synthetic timestamps whose truth is known by construction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from liftlab.capture.sync import (
    FrameTimes,
    SyncSettings,
    align_to_grid,
    analyse_folder,
    analyse_timestamps,
    read_timestamps_csv,
    write_timestamps_csv,
)
from liftlab.core.errors import InputError

FPS = 50.0
PERIOD_NS = 20_000_000  # 1 / 50 Hz
T0 = 1_000_000_000_000


def clock(n: int, *, start_ns: int = T0, rate: float = 1.0) -> np.ndarray:
    """n frames of a perfect camera at FPS (rate > 1: its clock runs slow, frames come late)."""
    return start_ns + np.round(np.arange(n) * PERIOD_NS * rate).astype(np.int64)


def test_clean_cameras_read_nominal_fps_and_zero_problems():
    ts = {f"cam{i}": clock(500) for i in range(1, 5)}
    report = analyse_timestamps(ts, FPS)
    for cam in report.cameras:
        assert cam.measured_fps == pytest.approx(FPS, rel=1e-9)
        assert (cam.dropped, cam.duplicated) == (0, 0)
        assert cam.jitter_ms == pytest.approx(0.0, abs=1e-9)
        assert cam.start_offset_ms == 0.0
        assert cam.matched == 500
    assert report.warnings == ()
    assert report.n_matched_all == 500
    assert np.array_equal(report.matches, np.tile(np.arange(500)[:, None], (1, 4)))


def test_five_percent_drops_counted_exactly_for_the_right_camera():
    rng = np.random.default_rng(3)
    full = clock(1000)
    lost = rng.choice(np.arange(1, 999), size=50, replace=False)  # 5 %, never first/last
    ts = {"cam1": full, "cam2": full.copy(), "cam3": np.delete(full, lost), "cam4": full}
    report = analyse_timestamps(ts, FPS)
    assert report.camera("cam3").dropped == 50
    assert sum(n for _, n in report.camera("cam3").drop_events) == 50
    assert [c.dropped for c in report.cameras if c.name != "cam3"] == [0, 0, 0]
    assert report.camera("cam3").matched == 950
    assert any(w.startswith("cam3 dropped 50 frame(s)") for w in report.warnings)
    assert not any(w.startswith(("cam1", "cam2", "cam4")) for w in report.warnings)


@pytest.mark.parametrize("stall_frames", [1, 4, 15])
def test_stall_is_one_gap_of_the_right_size(stall_frames):
    full = clock(300)
    stalled = np.delete(full, np.arange(100, 100 + stall_frames))
    report = analyse_timestamps({"cam1": full, "cam2": stalled}, FPS)
    cam2 = report.camera("cam2")
    assert cam2.dropped == stall_frames
    assert cam2.drop_events == ((99, stall_frames),)
    assert cam2.jitter_ms == pytest.approx(0.0, abs=1e-9)  # the gap is not counted as jitter


def test_late_start_gives_offset_and_unmatched_first_frames():
    ts = {"cam1": clock(200), "cam2": clock(190, start_ns=T0 + 200_000_000)}
    report = analyse_timestamps(ts, FPS)
    assert report.camera("cam2").start_offset_ms == pytest.approx(200.0)
    assert report.camera("cam2").dropped == 0
    assert np.all(report.matches[:10, 1] == -1)
    assert np.array_equal(report.matches[10:, 1], np.arange(190))
    assert any("cam2 started 200 ms after" in w for w in report.warnings)


def test_duplicates_counted_and_jitter_is_the_sd_of_regular_intervals():
    jitter_ns = 1_000_000
    intervals = PERIOD_NS + jitter_ns * np.array([1, -1] * 100)  # SD exactly 1 ms
    t = np.concatenate([[T0], T0 + np.cumsum(intervals)])
    dup_at = [50, 120]
    with_dups = np.sort(np.concatenate([t, t[dup_at] + 100_000]))  # 0.1 ms later
    report = analyse_timestamps({"cam1": t, "cam2": with_dups}, FPS)
    assert report.camera("cam1").jitter_ms == pytest.approx(1.0, rel=1e-9)
    assert report.camera("cam2").duplicated == 2
    assert report.camera("cam2").dropped == 0
    assert report.camera("cam2").matched == t.size  # one-to-one matching


def test_drift_measured_through_frame_wraparound_and_warned():
    ppm = 1000.0  # cam2's frames arrive 0.1 % slower: 20 s -> 20 ms, > 1 frame
    ts = {"cam1": clock(1000), "cam2": clock(1000, rate=1 + ppm * 1e-6)}
    report = analyse_timestamps(ts, FPS)
    cam2 = report.camera("cam2")
    overlap_s = (ts["cam1"][-1] - ts["cam1"][0]) / 1e9
    assert cam2.drift_ppm == pytest.approx(ppm, rel=1e-3)
    assert cam2.drift_ms == pytest.approx(ppm * 1e-6 * overlap_s * 1e3, rel=1e-3)
    assert any(w.startswith("cam2 drifts +20.0 ms") for w in report.warnings)


def test_small_drift_is_not_warned():
    ts = {"cam1": clock(500), "cam2": clock(500, rate=1 + 20e-6)}  # 0.2 ms over 10 s
    report = analyse_timestamps(ts, FPS)
    assert report.camera("cam2").drift_ms == pytest.approx(0.2, rel=1e-2)
    assert report.warnings == ()


def test_camera_at_the_wrong_rate_is_named():
    ts = {"cam1": clock(100), "cam2": clock(50, rate=2.0)}  # 25 fps
    report = analyse_timestamps(ts, FPS)
    assert any(w.startswith("cam2 runs at 25.0 fps") for w in report.warnings)


def test_single_frame_and_report_json_round_trip(tmp_path):
    report = analyse_timestamps({"cam1": clock(10), "cam2": clock(1)}, FPS)
    cam2 = report.camera("cam2")
    assert cam2.n_frames == 1 and np.isnan(cam2.measured_fps)
    assert any("cam2 recorded 1 frame" in w for w in report.warnings)
    path = report.save(tmp_path / "sync_report.json", extra={"capture_status": "complete"})
    doc = json.loads(path.read_text())  # NaN written as null, so this is strict JSON
    assert doc["cameras"][1]["measured_fps"] is None
    assert doc["capture_status"] == "complete"
    assert (tmp_path / "sync_report.txt").read_text().startswith("sync vs cam1")


def test_timestamps_csv_round_trip_and_folder_analysis(tmp_path):
    t = clock(20)
    src = np.arange(20)
    src[3] = -1
    write_timestamps_csv(tmp_path / "a.timestamps.csv", FrameTimes.raw(t, src))
    write_timestamps_csv(tmp_path / "b.timestamps.csv", FrameTimes.raw(np.delete(t, 7)))
    times = read_timestamps_csv(tmp_path / "a.timestamps.csv")
    assert np.array_equal(times.host_ns, t) and np.array_equal(times.source_index, src)
    assert np.array_equal(times.raw_frame, np.arange(20)) and not times.filled.any()
    report = analyse_folder(tmp_path, ["a", "b"], FPS)
    assert report.camera("b").dropped == 1


def test_alignment_trims_to_the_common_span_and_fills_drops():
    late = clock(100, start_ns=T0 + 200_000_000 + 3_000_000)  # 10 frames + 3 ms late
    dropped = np.delete(clock(120), [50, 51])
    ts = {"cam1": clock(120), "cam2": late, "cam3": dropped}
    al = align_to_grid(ts, FPS)
    # grid: from cam2's first frame to the earliest last frame (cam2's, at frame 99 of it)
    assert al.grid_ns[0] == late[0] and al.n_frames == 100
    assert np.array_equal(al.frames["cam2"], np.arange(100))
    assert al.is_identity("cam2", 100) and not al.is_identity("cam1", 120)
    assert not al.is_identity("cam3", 118)  # repeats a frame where two were lost
    assert np.array_equal(al.frames["cam1"], np.arange(10, 110))  # 3 ms off: nearest frame
    assert not al.filled["cam1"].any()
    # cam3 lost its frames 50 and 51 (grid rows 40, 41): the nearest frame is repeated
    assert np.flatnonzero(al.filled["cam3"]).tolist() == [40, 41]
    for cam, t in ts.items():
        err = np.abs(t[al.frames[cam]] - al.grid_ns)
        assert np.all(err[~al.filled[cam]] <= PERIOD_NS / 2)
    # the timing of an aligned CSV ignores the filled rows
    aligned = FrameTimes.raw(dropped).take(al.frames["cam3"], al.filled["cam3"])
    assert np.array_equal(aligned.real(), dropped[10:108])  # slots 10..109 but 50, 51


def test_alignment_without_overlap_is_empty():
    al = align_to_grid({"a": clock(10), "b": clock(10, start_ns=T0 + 10**9)}, FPS)
    assert al.n_frames == 0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"drop_gap_periods": 1.0}, "drop_gap_periods"),
    ({"duplicate_gap_periods": 1.0}, "duplicate_gap_periods"),
    ({"match_tolerance_periods": 0.6}, "match_tolerance_periods"),
    ({"drift_warn_periods": 0.0}, "drift_warn_periods"),
])
def test_invalid_settings_are_refused(kwargs, match):
    with pytest.raises(InputError, match=match):
        SyncSettings(**kwargs)


@pytest.mark.parametrize(("ts", "fps", "match"), [
    ({"cam1": clock(5)}, 0.0, "fps must be positive"),
    ({}, FPS, "no camera given"),
    ({"cam1": clock(5)[::-1]}, FPS, "timestamps of 'cam1' go backwards"),
])
def test_invalid_input_is_refused(ts, fps, match):
    with pytest.raises(InputError, match=match):
        analyse_timestamps(ts, fps)


def test_missing_csv_names_the_file(tmp_path):
    with pytest.raises(InputError, match="cam9.timestamps.csv"):
        read_timestamps_csv(tmp_path / "cam9.timestamps.csv")
