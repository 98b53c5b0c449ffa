"""Capture sources: files, virtual cameras, live-camera pacing and fault injection."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from liftlab.capture.sources import (
    Disconnect,
    DropFrames,
    FileSource,
    OpenCVSource,
    Source,
    SourceDisconnected,
    Stall,
    StartLate,
    VirtualSource,
    moving_pattern,
    parse_source_spec,
)
from liftlab.core.errors import InputError


def write_clip(path, n_frames: int, *, fps: float = 30.0, size=(96, 64)):
    """A clip whose frame i has mean brightness 10 * i (mod 250), so frames can be told apart."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(n_frames):
        writer.write(np.full((size[1], size[0], 3), (10 * i) % 250, dtype=np.uint8))
    writer.release()
    return path


def drain(source: Source, limit: int = 1000) -> list[tuple[np.ndarray, int | None]]:
    out = []
    source.open()
    try:
        for _ in range(limit):
            ok, frame, idx = source.read()
            if not ok:
                break
            out.append((frame, idx))
    finally:
        source.release()
    return out


def test_file_source_fast_reads_every_frame_in_order(tmp_path):
    clip = write_clip(tmp_path / "a.mp4", 12)
    frames = drain(FileSource(clip, name="a", realtime=False))
    assert [idx for _, idx in frames] == list(range(12))
    assert [round(float(f.mean()) / 10) for f, _ in frames] == list(range(12))


def test_file_source_loops(tmp_path):
    clip = write_clip(tmp_path / "a.mp4", 5)
    frames = drain(FileSource(clip, name="a", realtime=False, loop=True), limit=12)
    assert len(frames) == 12
    assert [round(float(f.mean()) / 10) for f, _ in frames] == [i % 5 for i in range(12)]


def test_realtime_file_source_is_clocked_and_a_late_reader_loses_frames(tmp_path):
    clip = write_clip(tmp_path / "a.mp4", 60, fps=50.0)
    src = FileSource(clip, name="a", realtime=True)
    src.open()
    try:
        stamps, idx = [], []
        for i in range(10):
            if i == 5:
                time.sleep(0.1)  # 5 periods late: the source skips what it "exposed" meanwhile
            ok, frame, k = src.read()
            stamps.append(time.monotonic())
            idx.append(k)
            assert round(float(frame.mean()) / 10) == k % 25  # the frame matches its index
    finally:
        src.release()
    assert idx[:5] == [0, 1, 2, 3, 4]
    assert idx[5] - idx[4] >= 5  # frames lost, like a live camera
    assert np.median(np.diff(stamps)) == pytest.approx(0.02, abs=0.006)


def test_virtual_source_pattern_numbers_and_end():
    frames = drain(VirtualSource("v", fps=200, size=(120, 80), n_frames=7, realtime=False))
    assert [idx for _, idx in frames] == list(range(7))
    assert frames[0][0].shape == (80, 120, 3)
    assert not np.array_equal(frames[0][0], frames[1][0])  # the pattern moves


def test_virtual_source_takes_any_frame_function():
    blank = np.zeros((10, 12, 3), np.uint8)
    frames = drain(VirtualSource("v", fps=100, size=(12, 10), n_frames=3, realtime=False,
                                 frame_fn=lambda i: blank + i))
    assert [int(f.max()) for f, _ in frames] == [0, 1, 2]


def test_drop_frames_loses_the_requested_fraction():
    src = DropFrames(VirtualSource("v", size=(32, 24), n_frames=2000, realtime=False,
                                   frame_fn=lambda i: np.zeros((24, 32, 3), np.uint8)),
                     fraction=0.05, seed=1)
    frames = drain(src, limit=5000)
    idx = np.array([k for _, k in frames])
    assert src.discarded == 2000 - len(frames)
    assert int((np.diff(idx) - 1).sum()) == src.discarded
    assert src.discarded / 2000 == pytest.approx(0.05, abs=0.015)


def test_stall_and_late_start_delay_the_right_read():
    src = StartLate(Stall(VirtualSource("v", fps=1000, size=(16, 16), realtime=False,
                                        frame_fn=lambda i: np.zeros((16, 16, 3), np.uint8)),
                          at_frame=3, stall_ms=80), delay_ms=60)
    src.open()
    t = [time.monotonic()]
    for _ in range(5):
        src.read()
        t.append(time.monotonic())
    src.release()
    gaps_ms = np.diff(t) * 1e3
    assert gaps_ms[0] >= 59 and gaps_ms[3] >= 79
    assert max(gaps_ms[1], gaps_ms[2], gaps_ms[4]) < 40


def test_disconnect_raises_after_n_frames():
    src = Disconnect(VirtualSource("cam3", size=(16, 16), realtime=False), after_frames=4)
    src.open()
    for _ in range(4):
        assert src.read()[0]
    with pytest.raises(SourceDisconnected, match="cam3 disconnected after 4 frames"):
        src.read()


def test_missing_device_index_names_it_and_says_how_to_fix():
    with pytest.raises(InputError, match=r"camera 7 could not be opened.*v4l2-ctl --list-devices"):
        OpenCVSource(7, name="cam1").open()


def test_moving_pattern_is_deterministic():
    make = moving_pattern((64, 48), label="x")
    assert np.array_equal(make(5), make(5)) and not np.array_equal(make(5), make(6))


@pytest.mark.parametrize(("spec", "kind"), [
    ("0", OpenCVSource), ("12", OpenCVSource), ("virtual", VirtualSource),
    ("rtsp://10.0.0.2/stream", OpenCVSource), ("CLIP", FileSource),
    ("not_a_file.mp4", InputError),
])
def test_parse_source_spec(tmp_path, spec, kind):
    if spec == "CLIP":
        spec = str(write_clip(tmp_path / "c.mp4", 2))
    if kind is InputError:
        with pytest.raises(InputError, match="neither a device index"):
            parse_source_spec(spec, name="cam1")
    else:
        source = parse_source_spec(spec, name="cam1")
        assert isinstance(source, kind) and isinstance(source, Source)
        assert source.name == "cam1"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"fps": 0.0}, "fps must be positive"), ({"size": (4, 4)}, "size must be"),
])
def test_virtual_source_rejects_bad_settings(kwargs, match):
    with pytest.raises(InputError, match=match):
        VirtualSource("v", **kwargs)


def test_rendered_source_shows_the_virtual_mannequin():
    render = pytest.importorskip("liftlab.capture.virtual.render")
    cameras = pytest.importorskip("liftlab.capture.virtual.cameras")
    from liftlab.capture.sources import rendered_source

    camera = cameras.make_rig(1, size=(160, 120)).cameras[0]
    pose = render.reference_pose()
    frames = drain(rendered_source(camera, np.stack([pose, pose]), loop=False))
    assert [idx for _, idx in frames] == [0, 1]
    assert frames[0][0].shape == (120, 160, 3) and frames[0][0].std() > 5
    with pytest.raises(InputError, match=r"must be \(F, 33, 3\)"):
        rendered_source(camera, pose)
