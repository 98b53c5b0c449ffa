"""Per-camera streaming during a recording: grab thread -> bounded queue -> writer thread.

A :class:`CameraStream` grab thread reads its :class:`~liftlab.capture.sources.Source`,
stamps every frame with ``time.monotonic_ns()`` and hands it through a bounded queue to the
camera's writer thread (memory stays bounded: when a writer falls behind, a live camera's
frames are counted as dropped, never buffered without limit). :class:`SpanGate` holds the
span common to all cameras, decided by the recorder's main thread, so writers stream the
synchronised videos straight away. Files are written under ``.recording/`` until
:meth:`CameraStream.place` moves them out; :class:`FrameWriter` is the video-writer seam
(tests inject failing ones).
"""

from __future__ import annotations

import csv
import errno
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from liftlab.capture.board_count import BoardCounter
from liftlab.capture.report import CameraCapture, CameraStatus
from liftlab.capture.session import BoardSpec
from liftlab.capture.sources import Source, SourceDisconnected
from liftlab.capture.sync import (
    TIMESTAMP_COLUMNS,
    Alignment,
    FrameTimes,
    grid_length,
    timestamp_row,
    write_timestamps_csv,
)

log = logging.getLogger(__name__)

RECORDING_DIR = ".recording"
TAIL_FRAMES = 4  # frames a writer holds back until the common end is known


class FrameWriter(Protocol):
    """Writes frames of one camera; ``release`` must leave a complete file."""

    def write(self, frame: np.ndarray) -> None: ...

    def release(self) -> None: ...


WriterFactory = Callable[[Path, float, tuple[int, int]], FrameWriter]


class OpenCVFrameWriter:
    """``cv2.VideoWriter`` that refuses silently dropped frames (wrong size) and unopenable
    files with an error instead."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], *, fourcc: str = "mp4v"):
        import cv2

        self.size = size
        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
        if not self._writer.isOpened():
            raise OSError(errno.EIO, f"cv2.VideoWriter cannot write {path} with codec {fourcc}")

    def write(self, frame: np.ndarray) -> None:
        import cv2

        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size)
        self._writer.write(frame)

    def release(self) -> None:
        self._writer.release()


def opencv_writer_factory(fourcc: str = "mp4v") -> WriterFactory:
    """A :data:`WriterFactory` making :class:`OpenCVFrameWriter` with codec ``fourcc``."""
    return lambda path, fps, size: OpenCVFrameWriter(path, fps, size, fourcc=fourcc)


class SpanGate:
    """The common span of all cameras, decided by the main thread during the recording.

    Writers keep only the frames within half a period of it (the latest first frame to the
    end of the common frame grid, :func:`~liftlab.capture.sync.grid_length`), holding a few
    frames back until it is known, and write for every grid instant the nearest frame (a
    lost frame's neighbour is written again, marked ``filled``): the same mapping as
    :func:`~liftlab.capture.sync.align_to_grid`, but streamed, so the recordings already
    *are* the aligned videos and need no re-encoding afterwards.
    """

    def __init__(self, fps: float):
        self.period_ns = 1e9 / fps
        self.start_ns: int | None = None
        self.end_ns: int | None = None
        self.n_grid: int | None = None
        self.started, self.ended = threading.Event(), threading.Event()

    def try_start(self, firsts: list[int | None]) -> None:
        if not self.started.is_set() and firsts and all(f is not None for f in firsts):
            self.start_ns = max(f for f in firsts if f is not None)
            self.started.set()

    def end(self, lasts: list[int]) -> None:
        if self.start_ns is not None and lasts:
            n = grid_length(self.start_ns, min(lasts), self.period_ns)
            self.n_grid = n
            self.end_ns = self.grid(n - 1) if n else None
        self.ended.set()

    def grid(self, k: int) -> int:
        """Time of grid frame ``k`` (the start must be known)."""
        return int(self.start_ns or 0) + round(k * self.period_ns)

    def grid_ns(self) -> np.ndarray:
        return np.array([self.grid(k) for k in range(self.n_grid or 0)], dtype=np.int64)

    def keeps(self, host_ns: int, *, gate_start: bool) -> bool:
        half = self.period_ns / 2
        if gate_start and self.start_ns is not None and host_ns < self.start_ns - half:
            return False
        return self.end_ns is None or host_ns <= self.end_ns + half


class CameraStream:
    """Threads and counters of one camera during a recording: :meth:`grab_loop`,
    :meth:`write_loop` and (calibration) :meth:`detect_loop` each run in their own thread;
    :meth:`place` then moves the files out of ``.recording/``.

    ``queue_size`` frames fit between grab and writer; with a ``board``, every
    ``detect_every``-th frame is checked for it (downscaled to ``detect_width_px``) and
    counted as a detection with at least ``min_board_corners`` corners.
    """

    def __init__(self, source: Source, out_dir: Path, *, fps: float, queue_size: int,
                 writer_factory: WriterFactory, board: BoardSpec | None = None,
                 detect_every: int = 5, detect_width_px: int = 960,
                 min_board_corners: int = 6):
        self.source = source
        self.name = source.name
        self.fps = fps
        self.detect_every = detect_every
        self.detect_width_px = detect_width_px
        self.min_board_corners = min_board_corners
        self.writer_factory = writer_factory
        self.queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.tmp_video = out_dir / RECORDING_DIR / f"{self.name}.mp4"
        self.tmp_csv = out_dir / RECORDING_DIR / f"{self.name}.timestamps.csv"
        self.grabbed = self.written = self.dropped = self.trimmed = self.gap_lost = 0
        self.first_ns: int | None = None
        self.queued_ns: list[int] = []  # every frame handed to the writer, before trimming
        self.last_ns: int | None = None
        self.last_grab_ns: int | None = None  # also counts frames the full queue refused
        self._writer: FrameWriter | None = None
        self._csv_file: Any = None
        self._csv: Any = None
        self.status: CameraStatus = "ok"
        self.message = ""
        self.write_error: BaseException | None = None
        self.writer_closed = False
        self.latest: np.ndarray | None = None
        self.host_ns: list[int] = []  # per video frame: grab time, source index, raw index,
        self.source_index: list[int] = []  # and whether it repeats a neighbour (filled)
        self.raw_rows: list[int] = []
        self.filled_rows: list[bool] = []
        self.kept = 0  # distinct frames inside the common span
        self.grid_mode = True  # False: written as recorded, aligned afterwards
        self._k = 0  # next grid frame to write
        self._prev: tuple[int, int, np.ndarray, int] | None = None
        self.board = BoardCounter(board) if board is not None else None
        self.board_detections = self.board_checked = 0
        self._for_detection: np.ndarray | None = None
        self._detect_ready = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self, barrier: threading.Barrier, stop: threading.Event, gate: SpanGate) -> None:
        """Start the grab, writer and (with a board) detection threads."""
        self.threads = [threading.Thread(target=self.grab_loop, args=(barrier, stop),
                                         name=f"grab-{self.name}", daemon=True),
                        threading.Thread(target=self.write_loop, args=(stop, gate),
                                         name=f"write-{self.name}", daemon=True)]
        if self.board is not None:
            self.threads.append(threading.Thread(target=self.detect_loop, args=(stop,),
                                                 name=f"board-{self.name}", daemon=True))
        for t in self.threads:
            t.start()

    def grab_loop(self, barrier: threading.Barrier, stop: threading.Event) -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            self.status, self.message = "no_frames", "the shared start was aborted"
            return
        period_ns, prev_ns = 1e9 / self.fps, 0
        try:
            while not stop.is_set():
                ok, frame, source_index = self.source.read()
                host_ns = time.monotonic_ns()
                if not ok or frame is None:
                    self.status, self.message = "ended", f"stream ended after {self.grabbed} frames"
                    break
                if self.grabbed and host_ns - prev_ns > 1.5 * period_ns:  # live estimate
                    self.gap_lost += round((host_ns - prev_ns) / period_ns) - 1
                prev_ns = self.last_grab_ns = host_ns
                self.grabbed += 1
                self.latest = frame
                if self.board is not None and self.grabbed % self.detect_every == 1:
                    self._for_detection = frame
                    self._detect_ready.set()
                if not self._hand_over((host_ns, source_index, frame), stop):
                    self.dropped += 1
                    continue
                if self.first_ns is None:
                    self.first_ns = host_ns
                self.last_ns = host_ns
                self.queued_ns.append(host_ns)
        except (SourceDisconnected, OSError) as exc:
            self.status, self.message = "disconnected", str(exc)
            log.warning("%s: %s", self.name, exc)
        except Exception as exc:  # noqa: BLE001 - a driver error must not kill the others
            self.status, self.message = "disconnected", f"{type(exc).__name__}: {exc}"
            log.warning("%s: read failed: %s", self.name, self.message)
        finally:
            self.queue.put((0, None, None))  # end marker; the writer always drains

    def _hand_over(self, item: tuple[int, int | None, np.ndarray],
                   stop: threading.Event) -> bool:
        """Queue a frame for the writer. A live source cannot wait (a full queue loses the
        frame); a source read on demand (a file) waits for room, so nothing is lost."""
        if getattr(self.source, "realtime", True):
            try:
                self.queue.put_nowait(item)
                return True
            except queue.Full:
                return False
        while not stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def write_loop(self, stop_all: threading.Event, gate: SpanGate) -> None:
        held: deque = deque()
        hold_limit = max(TAIL_FRAMES + 1, self.queue.maxsize // 2)
        try:
            while True:
                item = self.queue.get()
                if item[2] is None:
                    break
                held.append(item)
                if self.grid_mode and not gate.started.is_set() and len(held) > hold_limit:
                    self.grid_mode = False  # another camera is very late: keep all, align later
                while len(held) > TAIL_FRAMES and (gate.started.is_set() or not self.grid_mode):
                    self._consume(held.popleft(), gate, stop_all)
            gate.ended.wait(timeout=60.0)
            self.grid_mode = self.grid_mode and gate.start_ns is not None
            while held:
                self._consume(held.popleft(), gate, stop_all)
            if self.grid_mode and self._prev is not None and gate.n_grid is not None:
                # the grid's last instants: to the end for a camera that ran to the stop,
                # never past the last frame of a camera lost early
                until = (gate.n_grid if self.status == "ok" else
                         grid_length(gate.start_ns or 0, self._prev[0], gate.period_ns))
                while self._k < min(until, gate.n_grid):
                    self._emit(self._prev, gate.grid(self._k), gate, stop_all)
        finally:
            for closer in ((self._writer.release if self._writer is not None else None),
                           (self._csv_file.close if self._csv_file is not None else None)):
                if closer is None:
                    continue
                try:
                    closer()
                except OSError as exc:
                    self._fail(exc, stop_all)
            self.writer_closed = self.write_error is None

    def _consume(self, item: tuple[int, int | None, np.ndarray], gate: SpanGate,
                 stop_all: threading.Event) -> None:
        """Trim a frame outside the common span, else write it for the grid instants whose
        nearest frame it is (grid mode) or as it is."""
        host_ns, source_index, frame = item
        if self.write_error is not None:
            return  # keep draining so the grab thread never blocks
        if not gate.keeps(host_ns, gate_start=self.grid_mode):
            self.trimmed += 1
            return
        current = (host_ns, -1 if source_index is None else int(source_index), frame, self.kept)
        self.kept += 1
        if not self.grid_mode:
            self._emit(current, host_ns, gate, stop_all)
            return
        while gate.n_grid is None or self._k < gate.n_grid:
            g = gate.grid(self._k)
            if g > host_ns:
                break
            prev = self._prev
            nearer = prev if prev is not None and g - prev[0] <= host_ns - g else current
            self._emit(nearer, g, gate, stop_all)
        self._prev = current

    def _emit(self, shown: tuple[int, int, np.ndarray, int], at_ns: int, gate: SpanGate,
              stop_all: threading.Event) -> None:
        """Write ``shown`` as the video frame of instant ``at_ns``."""
        host_ns, src, frame, raw = shown
        if self.grid_mode:
            self._k += 1
        if self.write_error is not None:
            return
        filled = abs(host_ns - at_ns) > gate.period_ns / 2
        try:
            if self._writer is None:
                size = (int(frame.shape[1]), int(frame.shape[0]))
                self._writer = self.writer_factory(self.tmp_video, self.fps, size)
                self._csv_file = self.tmp_csv.open("w", newline="")
                self._csv = csv.writer(self._csv_file)
                self._csv.writerow(TIMESTAMP_COLUMNS)
            self._writer.write(frame)
            self._csv.writerow(timestamp_row(self.written, host_ns, src, raw, filled))
            self.host_ns.append(host_ns)
            self.source_index.append(src)
            self.raw_rows.append(raw)
            self.filled_rows.append(filled)
            self.written += 1
        except OSError as exc:
            self._fail(exc, stop_all)
        except Exception as exc:  # noqa: BLE001 - e.g. cv2.error: same handling
            self._fail(OSError(errno.EIO, f"{type(exc).__name__}: {exc}"), stop_all)

    def _fail(self, exc: OSError, stop_all: threading.Event) -> None:
        if self.write_error is None:
            self.write_error = exc
            disk = " (disk full)" if exc.errno == errno.ENOSPC else ""
            self.status = "write_failed"
            self.message = (f"writing {self.tmp_video.name} failed after {self.written} frames"
                            f"{disk}: {exc}")
            log.error("%s: %s", self.name, self.message)
        stop_all.set()

    def detect_loop(self, stop: threading.Event) -> None:
        while not (stop.is_set() and not self._detect_ready.is_set()):
            if not self._detect_ready.wait(timeout=0.1):
                continue
            self._detect_ready.clear()
            frame = self._for_detection
            if frame is None or self.board is None:
                continue
            corners = self.board.count(frame, width_px=self.detect_width_px)
            self.board_checked += 1
            if corners >= self.min_board_corners:
                self.board_detections += 1

    def times(self) -> FrameTimes:
        """Per frame of the written video: grab time, source index, raw index, filled."""
        return FrameTimes(np.asarray(self.host_ns, np.int64),
                          np.asarray(self.source_index, np.int64),
                          np.asarray(self.raw_rows, np.int64),
                          np.asarray(self.filled_rows, bool))

    def place(self, out_dir: Path, alignment: Alignment | None, aligned_tmp: Path | None,
              keep_raw: bool) -> CameraCapture:
        """Move the files out of ``.recording/``: ``<camera>.mp4`` (aligned when
        ``aligned_tmp`` is given) when the writer closed cleanly, ``.mp4.partial`` if not."""
        video = out_dir / f"{self.name}.mp4"
        stamps = out_dir / f"{self.name}.timestamps.csv"
        video_path = stamps_path = raw_path = None
        times, n_aligned, filled = self.times(), None, 0
        if self.written == 0 and self.status != "write_failed":
            self.status = "no_frames"
            self.message = self.message or "no frame was recorded"
            self.tmp_video.unlink(missing_ok=True)
        elif not self.writer_closed or alignment is None:
            video_path = video if self.writer_closed else video.with_suffix(".mp4.partial")
            if self.tmp_video.exists():
                os.replace(self.tmp_video, video_path)
            else:
                video_path = None
            stamps_path = write_timestamps_csv(stamps, times)
        else:
            frames, fill = alignment.frames[self.name], alignment.filled[self.name]
            n_aligned, filled = int(frames.size), int(fill.sum())
            if aligned_tmp is None:  # the recording already is its aligned video
                os.replace(self.tmp_video, video)
            else:
                os.replace(aligned_tmp, video)
                if keep_raw:
                    raw_path = out_dir / "raw" / f"{self.name}.mp4"
                    raw_path.parent.mkdir(exist_ok=True)
                    os.replace(self.tmp_video, raw_path)
                    write_timestamps_csv(raw_path.with_suffix(".timestamps.csv"), times)
                else:
                    self.tmp_video.unlink()
            video_path = video
            stamps_path = write_timestamps_csv(stamps, times.take(frames, fill))
        self.tmp_csv.unlink(missing_ok=True)
        return CameraCapture(
            name=self.name, status=self.status, frames_grabbed=self.grabbed,
            frames_written=self.written, dropped_in_queue=self.dropped, trimmed=self.trimmed,
            frames_kept=self.kept, video_path=video_path,
            timestamps_path=stamps_path, aligned_frames=n_aligned, filled=filled,
            reencoded=aligned_tmp is not None and n_aligned is not None, raw_video_path=raw_path,
            board_detections=self.board_detections if self.board else None,
            board_checked=self.board_checked if self.board else None, message=self.message)

    def live(self, prev_grabbed: int, dt_s: float) -> tuple[str, int, float, int, int | None]:
        fps = (self.grabbed - prev_grabbed) / dt_s if dt_s > 0 else 0.0
        return (self.name, self.grabbed, fps, self.dropped + self.gap_lost,
                self.board_detections if self.board else None)
