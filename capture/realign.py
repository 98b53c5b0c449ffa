"""After the stop: the alignment of the written videos (frame i of every camera = one
instant) and, for the recordings that are not already on the common grid (a camera started
very late, was lost, or frames were read on demand), their re-encoded aligned copies.
"""

from __future__ import annotations

import errno
import threading
from pathlib import Path

import numpy as np

from liftlab.capture.streaming import (
    RECORDING_DIR,
    CameraStream,
    FrameWriter,
    SpanGate,
    WriterFactory,
    opencv_writer_factory,
)
from liftlab.capture.sync import Alignment, SyncSettings, align_to_grid


def written_alignment(cams: list[CameraStream], gate: SpanGate, fps: float,
                      sync_settings: SyncSettings | None) -> Alignment:
    """The alignment of the written videos: the streamed grid when every writer kept to it,
    else :func:`align_to_grid` on the distinct real frames, as rows of the written videos."""
    if gate.n_grid and all(c.grid_mode and c.written == gate.n_grid for c in cams):
        return Alignment(fps=fps, grid_ns=gate.grid_ns(),
                         frames={c.name: np.arange(c.written) for c in cams},
                         filled={c.name: c.times().filled for c in cams})
    rows = {c.name: c.times().real_rows() for c in cams}
    al = align_to_grid({c.name: c.times().host_ns[rows[c.name]] for c in cams}, fps,
                       settings=sync_settings)
    return Alignment(fps=fps, grid_ns=al.grid_ns,
                     frames={n: rows[n][f] for n, f in al.frames.items()},
                     filled={n: al.filled[n] for n in al.frames})


def rewrite_aligned(raw_video: Path, frames: np.ndarray, out_video: Path, *, fps: float,
                    writer_factory: WriterFactory | None = None) -> int:
    """Write ``out_video`` with the frames ``frames`` (non-decreasing indices, repeats
    allowed) of ``raw_video``, decoding it once front to back. Returns frames written."""
    import cv2

    factory = writer_factory or opencv_writer_factory()
    cap = cv2.VideoCapture(str(raw_video))
    writer: FrameWriter | None = None
    pos, frame = -1, None
    try:
        for k in np.asarray(frames, dtype=np.int64):
            while pos < k:
                ok, img = cap.read()
                if not ok:
                    raise OSError(errno.EIO, f"{raw_video.name} ended at frame {pos + 1}, "
                                             f"frame {k} was expected")
                frame, pos = img, pos + 1
            if writer is None:
                writer = factory(out_video, fps, (frame.shape[1], frame.shape[0]))
            writer.write(frame)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    return int(len(frames))


def rewrite_all(cams: list[CameraStream], alignment: Alignment | None, out_dir: Path,
                fps: float, factory: WriterFactory, problems: list[str]) -> dict[str, Path] | None:
    """Aligned copies (in parallel, one thread per camera) of the recordings that need one;
    None when one failed (then no camera is aligned, so frame i stays one instant)."""
    if alignment is None:
        return {}
    jobs = {c.name: c for c in cams if c.written > 0 and c.writer_closed
            and not alignment.is_identity(c.name, c.written)}
    done: dict[str, Path] = {}

    def work(cam: CameraStream) -> None:
        out = out_dir / RECORDING_DIR / f"{cam.name}.aligned.mp4"
        try:
            rewrite_aligned(cam.tmp_video, alignment.frames[cam.name], out, fps=fps,
                            writer_factory=factory)
            done[cam.name] = out
        except OSError as exc:
            out.unlink(missing_ok=True)
            problems.append(f"{cam.name}: aligning the video failed ({exc})")

    threads = [threading.Thread(target=work, args=(c,), name=f"align-{n}")
               for n, c in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(done) != len(jobs):
        for path in done.values():
            path.unlink(missing_ok=True)
        return None
    return done
