"""Sustained multi-camera capture on this machine: 4 streams of 1080p clocked like live
cameras, recorded by ``record_trial`` at several frame rates, from two kinds of source:

- ``file``: file-backed sources (each frame decoded from a generated 1080p clip, so the
  machine pays decode + encode, more than a real camera's MJPG decode);
- ``memory``: the same frames served from memory (encode only: the recorder's own limit).

Prints, per source kind and requested fps: frames written per second per camera, frames lost
(by the writer queue and as timestamp gaps), CPU seconds per wall second
(``time.process_time``: 1.0 = one core busy), peak resident memory while recording, and the
single-thread decode and encode rates that bound it. The highest rate with ratio ~1 and no
lost frames is this machine's sustained limit.

    python benchmarks/bench_capture.py [--cameras 4] [--size 1920x1080] [--seconds 4]
                                       [--fps 15,30,60]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from liftlab.capture.recorder import RecorderSettings, open_or_create_session, record_trial
from liftlab.capture.sources import FileSource, VirtualSource, moving_pattern


def make_clip(path: Path, size: tuple[int, int], n_frames: int, fps: float) -> Path:
    """A textured moving test clip (pattern + sensor-like noise) so encoding does real work."""
    frame_fn = moving_pattern(size, label=path.stem)
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 12, size=(size[1], size[0], 3), dtype=np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(n_frames):
        writer.write(cv2.add(frame_fn(i), np.roll(noise, i * 7, axis=1)))
    writer.release()
    return path


def single_thread_rates(clip: Path, size: tuple[int, int], n: int = 60) -> tuple[float, float]:
    """Frames/s of decoding ``clip`` and of encoding its frames with mp4v, one thread each."""
    cap = cv2.VideoCapture(str(clip))
    frames = []
    t0 = time.perf_counter()
    while len(frames) < n:
        ok, frame = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        frames.append(frame)
    decode = n / (time.perf_counter() - t0)
    cap.release()
    with tempfile.TemporaryDirectory() as tmp:
        writer = cv2.VideoWriter(str(Path(tmp) / "x.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30,
                                 size)
        t0 = time.perf_counter()
        for frame in frames:
            writer.write(frame)
        writer.release()
        encode = n / (time.perf_counter() - t0)
    return decode, encode


def rss_mb() -> float:
    """Resident memory now (Linux /proc), NaN elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024
    except OSError:
        return float("nan")  # no /proc here
    return float("nan")


def run(kind: str, fps: float, clips: list[Path], frames: list[np.ndarray], seconds: float,
        root: Path) -> dict[str, float]:
    names = [f"cam{i + 1}" for i in range(len(clips))]
    session_dir = root / f"session_{kind}_{fps:g}"
    open_or_create_session(session_dir, cameras=names, athlete="bench", fps=fps)
    size = (frames[0].shape[1], frames[0].shape[0])
    if kind == "file":
        sources = [FileSource(c, name=n, realtime=True, loop=True, fps=fps)
                   for c, n in zip(clips, names, strict=True)]
    else:
        sources = [VirtualSource(n, fps=fps, size=size, realtime=True,
                                 frame_fn=lambda i: frames[i % len(frames)]) for n in names]
    peak = [rss_mb()]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    report = record_trial(session_dir, sources, trial="bench", duration_s=seconds,
                          progress=lambda status: peak.append(rss_mb()))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    written = [c.measured_fps for c in report.sync.cameras]  # delivered frames per second
    return {
        "fps": fps, "written_per_cam": float(np.mean(written)),
        "min_written": float(np.min(written)),
        "queue_drops": float(sum(c.dropped_in_queue for c in report.cameras)),
        "gap_drops": float(sum(c.dropped for c in report.sync.cameras)),
        "frames": float(sum(c.frames_kept for c in report.cameras)),
        "cpu_per_wall": cpu / wall,
        "jitter_ms": max((c.jitter_ms for c in report.sync.cameras
                          if np.isfinite(c.jitter_ms)), default=float("nan")),
        "finish_s": report.finish_s,
        "reencoded": float(sum(c.reencoded for c in report.cameras)),
        "peak_rss_mb": float(np.nanmax(peak)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--fps", default="15,30,60")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    size = tuple(int(v) for v in args.size.split("x"))
    rates = [float(f) for f in args.fps.split(",")]
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other jobs share this machine: rates scale with the free CPU)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        clips = [make_clip(root / f"clip{i}.mp4", size, 30, 30.0) for i in range(args.cameras)]
        print(f"made {args.cameras} clips of 30 frames {size[0]}x{size[1]} in "
              f"{time.perf_counter() - t0:.1f} s")
        decode, encode = single_thread_rates(clips[0], size)
        cap = cv2.VideoCapture(str(clips[0]))
        frames = [cap.read()[1] for _ in range(30)]
        cap.release()
        print(f"single thread: decode {decode:.1f} frames/s, mp4v encode {encode:.1f} frames/s "
              f"-> ceiling per camera on ONE free core: memory {encode / args.cameras:.1f} fps, "
              f"file {1 / (1 / decode + 1 / encode) / args.cameras:.1f} fps")
        print(f"\n{args.cameras} cameras x {size[0]}x{size[1]}, {args.seconds:g} s each, "
              "sources clocked like live cameras")
        print(f"{'source':>6} {'asked fps':>9} {'written/s/cam':>13} {'min cam':>8} {'ratio':>6} "
              f"{'queue drops':>11} {'gap drops':>9} {'lost %':>7} {'cpu/wall':>8} "
              f"{'jitter ms':>9} {'RSS MB':>7} {'finish s':>8} {'re-enc':>6}")
        for kind in ("memory", "file"):
            for fps in rates:
                r = run(kind, fps, clips, frames, args.seconds, root)
                lost = 100.0 * r["gap_drops"] / max(r["frames"] + r["gap_drops"], 1.0)
                print(f"{kind:>6} {fps:>9g} {r['written_per_cam']:>13.1f} {r['min_written']:>8.1f} "
                  f"{r['written_per_cam'] / fps:>6.2f} {r['queue_drops']:>11.0f} "
                  f"{r['gap_drops']:>9.0f} {lost:>7.1f} {r['cpu_per_wall']:>8.2f} "
                      f"{r['jitter_ms']:>9.2f} {r['peak_rss_mb']:>7.0f} {r['finish_s']:>8.2f} "
                      f"{r['reencoded']:>6.0f}")
    settings = RecorderSettings()
    print(f"\nqueue bound per camera: {settings.queue_size(size)} frames "
          f"({settings.queue_mb:g} MB of {size[0] * size[1] * 3 / 1e6:.1f} MB frames); "
          f"peak RSS of the whole run {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print("sustained limit = the highest 'asked fps' with ratio ~1.00 and lost % ~0; "
          "'finish s' = flush + alignment after the stop, 're-enc' = cameras re-encoded")


if __name__ == "__main__":
    main()
