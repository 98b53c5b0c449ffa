"""Live multi-camera recording into the session folder (trials, calibration videos, floor stills).

One grab thread per camera reads its :class:`~liftlab.capture.sources.Source`, stamps every
frame with ``time.monotonic_ns()`` and hands it through a bounded queue to that camera's
writer thread (memory stays bounded: when a writer falls behind, frames are counted as
dropped, never buffered without limit). All grab threads start together on a
``threading.Barrier``. Videos are written under ``.recording/`` and moved to
``<camera>.mp4`` only once their writer closed cleanly; a writer that failed leaves
``<camera>.mp4.partial``. ``trial.toml`` says ``capture_status = "recording"`` while
recording, then ``"complete"``, ``"interrupted"`` or ``"failed"``; ``sync_report.json``
(:mod:`liftlab.capture.sync`) is written beside the videos.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import logging
import os
import queue
import shutil
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from liftlab.capture.session import (
    BoardSpec,
    Session,
    SessionConfig,
    TrialConfig,
    create_session,
    write_trial_config,
)
from liftlab.capture.sources import Source, SourceDisconnected
from liftlab.capture.sync import (
    Alignment,
    FrameTimes,
    SyncReport,
    SyncSettings,
    align_to_grid,
    analyse_timestamps,
    grid_length,
    write_timestamps_csv,
)
from liftlab.core.errors import InputError, LiftlabError, check_all

log = logging.getLogger(__name__)

CaptureStatus = Literal["complete", "interrupted", "failed"]
CameraStatus = Literal["ok", "ended", "disconnected", "write_failed", "no_frames"]
RECORDING_DIR = ".recording"
TAIL_FRAMES = 4  # frames a writer holds back until the common end is known


class CaptureError(LiftlabError):
    """A recording could not be completed (disk full, writer error). ``report`` holds what
    was recorded and how it was marked."""

    report: CaptureReport | None = None


@dataclass(frozen=True)
class RecorderSettings:
    """How the recorder buffers, encodes and checks.

    Attributes
    ----------
    queue_mb
        Memory (MB) of frames queued per camera between grab and writer threads: the bound
        that keeps memory flat when a writer falls behind (1080p BGR: 6.2 MB a frame, so
        128 MB hold 20 frames, a third of a second at 60 fps; 640x480: 138 frames).
    fourcc
        Video codec for ``cv2.VideoWriter`` (``mp4v`` plays everywhere OpenCV does).
    detect_every
        Calibration mode: look for the board in every Nth frame ...
    detect_width_px
        ... on a copy downscaled to this width, in a separate thread.
    min_board_corners
        Corners needed to count a frame as a board detection.
    min_free_mb
        Stop cleanly (status "failed") when the disk has less free space than this.
    progress_interval_s
        Seconds between progress reports.
    start_timeout_s
        Longest wait for all cameras to reach the shared start.
    keep_raw
        Keep the raw recordings in ``raw/`` when the aligned videos differ from them
        (always kept when a camera was lost, since alignment then cuts every camera).
    """

    queue_mb: float = 128.0
    fourcc: str = "mp4v"
    detect_every: int = 5
    detect_width_px: int = 960
    min_board_corners: int = 6
    min_free_mb: float = 200.0
    progress_interval_s: float = 1.0
    start_timeout_s: float = 20.0
    keep_raw: bool = False

    def queue_size(self, size: tuple[int, int]) -> int:
        """Frames of (width, height) BGR that fit in ``queue_mb`` (at least 2; 1080p when
        the size is unknown)."""
        width, height = size if min(size) > 0 else (1920, 1080)
        return int(max(2, min(10_000, self.queue_mb * 1e6 // (width * height * 3))))

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.queue_mb <= 100_000:
            problems.append(f"queue_mb must lie in (0, 100000], got {self.queue_mb}")
        if len(self.fourcc) != 4:
            problems.append(f"fourcc must be 4 characters, got {self.fourcc!r}")
        if self.detect_every < 1:
            problems.append(f"detect_every must be >= 1, got {self.detect_every}")
        if not 160 <= self.detect_width_px <= 8000:
            problems.append(f"detect_width_px must lie in [160, 8000], got {self.detect_width_px}")
        if self.min_free_mb < 0 or self.progress_interval_s <= 0 or self.start_timeout_s <= 0:
            problems.append("min_free_mb must be >= 0, progress_interval_s and start_timeout_s > 0")
        check_all(problems, where="RecorderSettings")


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


@dataclass(frozen=True)
class CameraCapture:
    """What one camera recorded."""

    name: str
    status: CameraStatus
    frames_grabbed: int
    frames_written: int
    dropped_in_queue: int
    trimmed: int
    video_path: Path | None
    timestamps_path: Path | None
    aligned_frames: int | None = None
    filled: int = 0
    reencoded: bool = False
    raw_video_path: Path | None = None
    board_detections: int | None = None
    board_checked: int | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        doc = dataclasses.asdict(self)
        for key in ("video_path", "timestamps_path", "raw_video_path"):
            doc[key] = None if doc[key] is None else str(doc[key])
        return doc


@dataclass(frozen=True)
class CaptureReport:
    """Result of a recording: per camera counts and files, timing analysis, problems."""

    out_dir: Path
    trial: str | None
    status: CaptureStatus
    duration_s: float
    fps: float
    cameras: tuple[CameraCapture, ...]
    sync: SyncReport | None
    problems: tuple[str, ...] = ()
    alignment: Alignment | None = None

    def camera(self, name: str) -> CameraCapture:
        return next(c for c in self.cameras if c.name == name)

    def to_json(self) -> dict[str, Any]:
        return {"capture_status": self.status, "trial": self.trial,
                "duration_s": round(self.duration_s, 3), "fps": self.fps,
                "capture_problems": list(self.problems),
                "capture": [c.to_json() for c in self.cameras],
                "alignment": None if self.alignment is None else self.alignment.to_json()}

    def summary(self) -> str:
        what = f"trial {self.trial}" if self.trial else "calibration"
        lines = [f"{what}: {self.status}, {self.duration_s:.1f} s -> {self.out_dir}"]
        for c in self.cameras:
            rate = c.frames_grabbed / self.duration_s if self.duration_s > 0 else 0.0
            video = (f"{c.aligned_frames} in the aligned video ({c.filled} filled)"
                     if c.aligned_frames is not None else f"{c.frames_written} in the video")
            board = (f", board in {c.board_detections}/{c.board_checked} checked frames"
                     if c.board_detections is not None else "")
            lines.append(f"  {c.name:<10} {c.status:<12} {c.frames_grabbed:>6} grabbed "
                         f"({rate:.1f}/s), {c.dropped_in_queue} dropped by the writer, "
                         f"{c.trimmed} trimmed, {video}{board}")
        if self.sync is not None:
            lines.append(self.sync.summary())
        lines += [f"PROBLEM: {p}" for p in self.problems]
        return "\n".join(lines)


@dataclass(frozen=True)
class LiveStatus:
    """A progress snapshot: per camera (name, frames written, recent fps, dropped, board)."""

    elapsed_s: float
    cameras: tuple[tuple[str, int, float, int, int | None], ...]

    def line(self) -> str:
        parts = []
        for name, frames, fps, dropped, board in self.cameras:
            board_txt = f" board {board}" if board is not None else ""
            parts.append(f"{name} {frames}f {fps:.1f}fps drop {dropped}{board_txt}")
        return f"{self.elapsed_s:6.1f}s | " + " | ".join(parts)


class BoardCounter:
    """Counts calibration-board corners on a (downscaled) copy of a frame."""

    def __init__(self, board: BoardSpec):
        import cv2

        self.board = board
        if board.type == "charuco":
            dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, board.dictionary))
            cboard = cv2.aruco.CharucoBoard((board.squares_x, board.squares_y), board.square_mm,
                                            board.marker_mm, dictionary)
            self._detector = cv2.aruco.CharucoDetector(cboard)
        else:
            self._detector = None

    def count(self, frame: np.ndarray, *, width_px: int | None = None) -> int:
        import cv2

        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if width_px and gray.shape[1] > width_px:
            scale = width_px / gray.shape[1]
            gray = cv2.resize(gray, (width_px, max(int(gray.shape[0] * scale), 1)),
                              interpolation=cv2.INTER_AREA)
        if self._detector is not None:
            corners = self._detector.detectBoard(gray)[0]
            return 0 if corners is None else len(corners)
        pattern = (self.board.squares_x - 1, self.board.squares_y - 1)
        found, corners = cv2.findChessboardCorners(gray, pattern, flags=cv2.CALIB_CB_FAST_CHECK)
        return len(corners) if found else 0


def tile_frames(frames: list[np.ndarray | None], labels: list[str], *,
                tile_width_px: int = 480) -> np.ndarray:
    """Mosaic of the latest frame of every camera (black tile when none yet), for preview."""
    import cv2

    n = max(len(frames), 1)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    shapes = [f.shape for f in frames if f is not None]
    aspect = shapes[0][0] / shapes[0][1] if shapes else 0.75
    tw, th = tile_width_px, max(int(tile_width_px * aspect), 1)
    canvas = np.zeros((rows * th, cols * tw, 3), dtype=np.uint8)
    for i, (frame, label) in enumerate(zip(frames, labels, strict=False)):
        r, c = divmod(i, cols)
        if frame is not None:
            tile = cv2.resize(frame, (tw, th), interpolation=cv2.INTER_AREA)
            canvas[r * th:(r + 1) * th, c * tw:(c + 1) * tw] = (
                tile if tile.ndim == 3 else cv2.cvtColor(tile, cv2.COLOR_GRAY2BGR))
        cv2.putText(canvas, label, (c * tw + 8, r * th + 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7,
                    (0, 255, 255), 2)
    return canvas


class _Gate:
    """The common span of all cameras, decided by the main thread during the recording.

    Writers keep only the frames within half a period of it (the latest first frame to the
    end of the common frame grid), holding a few frames back until it is known, so a clean
    recording already *is* its aligned video and needs no re-encoding afterwards.
    """

    def __init__(self, fps: float):
        self.period_ns = 1e9 / fps
        self.start_ns: int | None = None
        self.end_ns: int | None = None
        self.started, self.ended = threading.Event(), threading.Event()

    def try_start(self, firsts: list[int | None]) -> None:
        if not self.started.is_set() and firsts and all(f is not None for f in firsts):
            self.start_ns = max(f for f in firsts if f is not None)
            self.started.set()

    def end(self, lasts: list[int]) -> None:
        if self.start_ns is not None and lasts:
            n = grid_length(self.start_ns, min(lasts), self.period_ns)
            self.end_ns = self.start_ns + round((n - 1) * self.period_ns) if n else None
        self.ended.set()

    def keeps(self, host_ns: int, *, gate_start: bool) -> bool:
        half = self.period_ns / 2
        if gate_start and self.start_ns is not None and host_ns < self.start_ns - half:
            return False
        return self.end_ns is None or host_ns <= self.end_ns + half


class _Camera:
    """Threads and counters of one camera during a recording."""

    def __init__(self, source: Source, out_dir: Path, *, fps: float, settings: RecorderSettings,
                 writer_factory: WriterFactory, board: BoardSpec | None):
        self.source = source
        self.name = source.name
        self.fps = fps
        self.settings = settings
        self.writer_factory = writer_factory
        self.queue: queue.Queue = queue.Queue(maxsize=settings.queue_size(source.size))
        self.tmp_video = out_dir / RECORDING_DIR / f"{self.name}.mp4"
        self.tmp_csv = out_dir / RECORDING_DIR / f"{self.name}.timestamps.csv"
        self.grabbed = self.written = self.dropped = self.trimmed = 0
        self.first_ns: int | None = None
        self.queued_ns: list[int] = []  # every frame handed to the writer, before trimming
        self.last_ns: int | None = None
        self._writer: FrameWriter | None = None
        self._csv: Any = None
        self.status: CameraStatus = "ok"
        self.message = ""
        self.write_error: BaseException | None = None
        self.writer_closed = False
        self.latest: np.ndarray | None = None
        self.host_ns: list[int] = []
        self.source_index: list[int] = []
        self.board = BoardCounter(board) if board is not None else None
        self.board_detections = self.board_checked = 0
        self._for_detection: np.ndarray | None = None
        self._detect_ready = threading.Event()
        self.threads: list[threading.Thread] = []

    def grab_loop(self, barrier: threading.Barrier, stop: threading.Event) -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            self.status, self.message = "no_frames", "the shared start was aborted"
            return
        try:
            while not stop.is_set():
                ok, frame, source_index = self.source.read()
                host_ns = time.monotonic_ns()
                if not ok or frame is None:
                    self.status, self.message = "ended", f"stream ended after {self.grabbed} frames"
                    break
                self.grabbed += 1
                self.latest = frame
                if self.board is not None and self.grabbed % self.settings.detect_every == 1:
                    self._for_detection = frame
                    self._detect_ready.set()
                try:
                    self.queue.put_nowait((host_ns, source_index, frame))
                except queue.Full:
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

    def write_loop(self, stop_all: threading.Event, gate: _Gate) -> None:
        held: deque = deque()
        hold_limit = max(TAIL_FRAMES + 1, self.queue.maxsize // 2)
        gate_start = True
        try:
            while True:
                item = self.queue.get()
                if item[2] is None:
                    break
                held.append(item)
                if gate_start and not gate.started.is_set() and len(held) > hold_limit:
                    gate_start = False  # another camera is very late: keep all, align later
                while len(held) > TAIL_FRAMES and (gate.started.is_set() or not gate_start):
                    self._write(held.popleft(), gate, gate_start, stop_all)
            gate.ended.wait(timeout=60.0)
            while held:
                self._write(held.popleft(), gate, gate_start, stop_all)
        finally:
            for closer in ((self._writer.release if self._writer is not None else None),
                           (self._csv.close if self._csv is not None else None)):
                if closer is None:
                    continue
                try:
                    closer()
                except OSError as exc:
                    self._fail(exc, stop_all)
            self.writer_closed = self.write_error is None

    def _write(self, item: tuple[int, int | None, np.ndarray], gate: _Gate, gate_start: bool,
               stop_all: threading.Event) -> None:
        host_ns, source_index, frame = item
        if self.write_error is not None:
            return  # keep draining so the grab thread never blocks
        if not gate.keeps(host_ns, gate_start=gate_start):
            self.trimmed += 1
            return
        try:
            if self._writer is None:
                size = (int(frame.shape[1]), int(frame.shape[0]))
                self._writer = self.writer_factory(self.tmp_video, self.fps, size)
                self._csv = self.tmp_csv.open("w", newline="")
                self._csv.write("frame,host_ns,source_index\n")
            self._writer.write(frame)
            src = -1 if source_index is None else int(source_index)
            self._csv.write(f"{self.written},{host_ns},{'' if src < 0 else src}\n")
            self.host_ns.append(host_ns)
            self.source_index.append(src)
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
            corners = self.board.count(frame, width_px=self.settings.detect_width_px)
            self.board_checked += 1
            if corners >= self.settings.min_board_corners:
                self.board_detections += 1

    def times(self) -> FrameTimes:
        return FrameTimes.raw(np.asarray(self.host_ns, np.int64),
                              np.asarray(self.source_index, np.int64))

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
            video_path=video_path,
            timestamps_path=stamps_path, aligned_frames=n_aligned, filled=filled,
            reencoded=aligned_tmp is not None and n_aligned is not None, raw_video_path=raw_path,
            board_detections=self.board_detections if self.board else None,
            board_checked=self.board_checked if self.board else None, message=self.message)

    def live(self, prev_written: int, dt_s: float) -> tuple[str, int, float, int, int | None]:
        fps = (self.written - prev_written) / dt_s if dt_s > 0 else 0.0
        return (self.name, self.written, fps, self.dropped,
                self.board_detections if self.board else None)


def _open_all(sources: list[Source]) -> None:
    """Open every source; one error listing every camera that failed (the rest released)."""
    problems, opened = [], []
    for src in sources:
        try:
            src.open()
            opened.append(src)
        except LiftlabError as exc:
            problems.append(str(exc))
    if problems:
        for src in opened:
            src.release()
        check_all(problems, where=None)


def _display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _record(out_dir: Path, sources: list[Source], *, fps: float, duration_s: float | None,
            preview: bool, progress: bool | Callable[[LiveStatus], None],
            settings: RecorderSettings, writer_factory: WriterFactory | None,
            board: BoardSpec | None, sync_settings: SyncSettings | None) -> CaptureReport:
    """Record from opened ``sources`` (released here), align, analyse; ``trial`` unset."""
    import cv2

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RECORDING_DIR).mkdir(exist_ok=True)
    factory = writer_factory or (lambda p, f, s: OpenCVFrameWriter(p, f, s,
                                                                  fourcc=settings.fourcc))
    problems = [f"{s.name} runs at {s.fps:g} fps, the session at {fps:g} fps"
                for s in sources if abs(s.fps - fps) > 0.5]
    cams = [_Camera(s, out_dir, fps=fps, settings=settings, writer_factory=factory, board=board)
            for s in sources]
    stop, barrier, gate = threading.Event(), threading.Barrier(len(cams) + 1), _Gate(fps)
    user_stop, disk_full = threading.Event(), threading.Event()
    for cam in cams:
        cam.threads = [threading.Thread(target=cam.grab_loop, args=(barrier, stop),
                                        name=f"grab-{cam.name}", daemon=True),
                       threading.Thread(target=cam.write_loop, args=(stop, gate),
                                        name=f"write-{cam.name}", daemon=True)]
        if board is not None:
            cam.threads.append(threading.Thread(target=cam.detect_loop, args=(stop,),
                                                name=f"board-{cam.name}", daemon=True))
        for t in cam.threads:
            t.start()

    old_handler = None
    if threading.current_thread() is threading.main_thread():
        def on_sigint(signum: int, frame: Any) -> None:
            user_stop.set()
            stop.set()
        old_handler = signal.signal(signal.SIGINT, on_sigint)
    show = preview and _display_available()
    if preview and not show:
        log.warning("no display (DISPLAY unset): recording without preview")
    t_start = time.monotonic()
    try:
        try:
            barrier.wait(timeout=settings.start_timeout_s)
        except threading.BrokenBarrierError:
            stop.set()
            problems.append(f"cameras did not all start within {settings.start_timeout_s:g} s")
        t_start = time.monotonic()
        last_t, last_written = t_start, [0] * len(cams)
        next_disk = t_start
        while not stop.is_set():
            gate.try_start([c.first_ns for c in cams])
            now = time.monotonic()
            if duration_s is not None and now - t_start >= duration_s:
                break
            if not any(c.threads[0].is_alive() for c in cams):
                break
            if now >= next_disk:
                next_disk = now + 1.0
                free_mb = shutil.disk_usage(out_dir).free / 1e6
                if free_mb < settings.min_free_mb:
                    problems.append(f"disk nearly full ({free_mb:.0f} MB free): recording "
                                    "stopped; free space and record again")
                    disk_full.set()
                    break
            if progress and now - last_t >= settings.progress_interval_s:
                status = LiveStatus(now - t_start, tuple(
                    c.live(last_written[i], now - last_t) for i, c in enumerate(cams)))
                if callable(progress):
                    progress(status)
                else:
                    log.info("%s", status.line())
                last_t, last_written = now, [c.written for c in cams]
            if show:
                cv2.imshow("liftlab capture (q to stop)",
                           tile_frames([c.latest for c in cams], [c.name for c in cams]))
                if cv2.waitKey(1) & 0xFF == ord("q"):
                    user_stop.set()
                    break
            time.sleep(0.02)
    finally:
        stop.set()
        duration = time.monotonic() - t_start
        for cam in cams:
            cam.threads[0].join(timeout=10.0)  # grab threads first: then the span is known
        gate.try_start([c.first_ns for c in cams])
        gate.end([c.last_ns for c in cams if c.last_ns is not None])
        for cam in cams:
            for t in cam.threads[1:]:
                t.join(timeout=60.0)
            cam.source.release()
        if old_handler is not None:
            signal.signal(signal.SIGINT, old_handler)
        if show:
            cv2.destroyAllWindows()

    early = user_stop.is_set() and duration_s is not None and duration < duration_s
    if early:
        problems.append("stopped by the user before the requested duration")
    lost = [c for c in cams if c.status == "disconnected" or c.written == 0]
    failed = disk_full.is_set() or any(c.write_error is not None for c in cams)
    recorded = {c.name: c.times() for c in cams if c.written > 0}
    streams = {c.name: np.asarray(c.queued_ns, np.int64) for c in cams if c.queued_ns}
    sync = analyse_timestamps(streams, fps, settings=sync_settings) if streams else None
    alignment = None if failed or not recorded else align_to_grid(
        {n: t.host_ns for n, t in recorded.items()}, fps, settings=sync_settings)
    if alignment is not None and alignment.n_frames < 2:
        problems.append("the cameras' recordings do not overlap in time: videos left as "
                        "recorded (not aligned)")
        alignment = None
    aligned_tmp = _rewrite_all(cams, alignment, out_dir, fps, factory, problems)
    if aligned_tmp is None:
        alignment, aligned_tmp = None, {}
    keep_raw = settings.keep_raw or bool(lost)
    results = [cam.place(out_dir, alignment if cam.name in recorded else None,
                         aligned_tmp.get(cam.name), keep_raw) for cam in cams]
    try:
        (out_dir / RECORDING_DIR).rmdir()
    except OSError:
        log.warning("%s left files behind", out_dir / RECORDING_DIR)
    problems += [f"{c.name}: {c.status}: {c.message}" for c in results
                 if c.status in ("disconnected", "write_failed", "no_frames")]
    status: CaptureStatus = ("failed" if failed else
                             "interrupted" if early or lost else "complete")
    return CaptureReport(out_dir=out_dir, trial=None, status=status, duration_s=duration,
                         fps=fps, cameras=tuple(results), sync=sync, problems=tuple(problems),
                         alignment=alignment)


def rewrite_aligned(raw_video: Path, frames: np.ndarray, out_video: Path, *, fps: float,
                    writer_factory: WriterFactory | None = None) -> int:
    """Write ``out_video`` with the frames ``frames`` (non-decreasing indices, repeats
    allowed) of ``raw_video``, decoding it once front to back. Returns frames written."""
    import cv2

    factory = writer_factory or (lambda p, f, s: OpenCVFrameWriter(p, f, s))
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


def _rewrite_all(cams: list[_Camera], alignment: Alignment | None, out_dir: Path, fps: float,
                 factory: WriterFactory, problems: list[str]) -> dict[str, Path] | None:
    """Aligned copies (in parallel, one thread per camera) of the recordings that need one;
    None when one failed (then no camera is aligned, so frame i stays one instant)."""
    if alignment is None:
        return {}
    jobs = {c.name: c for c in cams if c.written > 0 and c.writer_closed
            and not alignment.is_identity(c.name, c.written)}
    done: dict[str, Path] = {}

    def work(cam: _Camera) -> None:
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


def _finish(report: CaptureReport) -> CaptureReport:
    if report.status == "failed":
        err = CaptureError("; ".join(report.problems) or "recording failed",
                           where=str(report.out_dir),
                           fix="free disk space or check the output drive; what was recorded "
                               "is kept and the recording is marked failed")
        err.report = report
        raise err
    return report


def _ordered_sources(session: Session, sources: list[Source]) -> list[Source]:
    names = [s.name for s in sources]
    if sorted(names) != sorted(session.config.cameras) or len(set(names)) != len(names):
        raise InputError(f"sources are named {names} but session.toml lists cameras "
                         f"{list(session.config.cameras)}", where=str(session.root),
                         fix="give one source per session camera (--names in session order) "
                             "or edit session.toml's cameras")
    by_name = {s.name: s for s in sources}
    return [by_name[n] for n in session.config.cameras]


def open_or_create_session(session_dir: str | Path, *, cameras: list[str] | None = None,
                           athlete: str | None = None, fps: float | None = None) -> Session:
    """Open ``session_dir``; create its ``session.toml`` on first use (athlete required)."""
    root = Path(session_dir)
    if (root / "session.toml").is_file():
        session = Session.open(root)
        if cameras and list(cameras) != list(session.config.cameras):
            raise InputError(f"--names {list(cameras)} differ from session.toml's cameras "
                             f"{list(session.config.cameras)}", where=str(root / "session.toml"),
                             fix="use the session's names (in its order) or a new session folder")
        return session
    if not athlete:
        raise InputError(f"{root} has no session.toml yet", where=str(root),
                         fix="pass --athlete NAME to create the session (and --names for the "
                             "camera names)")
    config = SessionConfig(athlete=athlete, date=dt.date.today().isoformat(),
                           cameras=tuple(cameras or ()), fps=float(fps or 60.0))
    return create_session(root, config)


def record_trial(session_dir: str | Path, sources: list[Source], *, trial: str,
                 trial_config: TrialConfig | None = None, duration_s: float | None = None,
                 preview: bool = False, progress: bool | Callable[[LiveStatus], None] = True,
                 overwrite: bool = False, settings: RecorderSettings | None = None,
                 sync_settings: SyncSettings | None = None,
                 writer_factory: WriterFactory | None = None) -> CaptureReport:
    """Record one trial of all cameras into ``SESSION/trials/<trial>/``.

    Parameters
    ----------
    session_dir
        Session folder with a ``session.toml`` (see :func:`open_or_create_session`).
    sources
        One source per session camera, named as in session.toml (any order).
    trial
        Trial name (folder name).
    trial_config
        Exercise, load, pain, notes; default ``TrialConfig(trial)``.
    duration_s
        Stop after this many seconds; None records until Ctrl-C or all streams end.
    preview
        Tiled live preview when a display exists.
    progress
        True logs a progress line each second; a callable receives :class:`LiveStatus`.
    overwrite
        Replace the videos of an existing trial.
    settings, sync_settings, writer_factory
        Buffering/codec settings, timing thresholds, and the video writer (tests inject a
        failing one).

    Returns
    -------
    CaptureReport
        Status ``complete`` or ``interrupted`` (a camera lost, or Ctrl-C before
        ``duration_s``), per camera counts and files, and the timing analysis.

    Raises
    ------
    CaptureError
        When writing failed (disk full...): the trial is kept and marked ``failed`` first;
        ``err.report`` holds the report.
    """
    settings = settings or RecorderSettings()
    session = Session.open(session_dir)
    sources = _ordered_sources(session, list(sources))
    trial_dir = session.trials_dir / trial
    existing = [p.name for p in trial_dir.glob("*.mp4")] if trial_dir.is_dir() else []
    if existing and not overwrite:
        raise InputError(f"trial {trial!r} already has videos {sorted(existing)}",
                         where=str(trial_dir), fix="choose another --trial name or pass "
                                                   "--overwrite")
    base = dataclasses.replace(trial_config or TrialConfig(name=trial), name=trial)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _open_all(sources)  # before anything is written: a camera that fails leaves no trial
    try:
        write_trial_config(trial_dir, dataclasses.replace(
            base, extra={**base.extra, "capture_status": "recording"}))
    except OSError:
        for src in sources:
            src.release()
        raise
    fps = session.config.fps
    report = dataclasses.replace(_record(
        trial_dir, sources, fps=fps, duration_s=duration_s, preview=preview, progress=progress,
        settings=settings, writer_factory=writer_factory, board=None,
        sync_settings=sync_settings), trial=trial)
    _mark(trial_dir, base, report, started)
    return _finish(report)


def _mark(trial_dir: Path, base: TrialConfig, report: CaptureReport, started: str) -> None:
    """Write trial.toml and sync_report.json with the final status (best effort on a full
    disk: the status 'recording' left behind then still says the trial is not complete)."""
    notes = base.notes
    if report.status != "complete":
        notes = (notes + "\n" if notes else "") + f"capture {report.status}: " + "; ".join(
            report.problems)
    capture = {"started_utc": started, "duration_s": round(report.duration_s, 3),
               "fps": report.fps, "aligned": report.alignment is not None,
               "cameras": {c.name: {
                   "status": c.status, "frames_recorded": c.frames_written,
                   "frames_in_video": c.aligned_frames or c.frames_written,
                   "filled": c.filled, "dropped_in_queue": c.dropped_in_queue,
                   "dropped": 0 if report.sync is None or c.frames_written == 0
                   else report.sync.camera(c.name).dropped} for c in report.cameras}}
    try:
        write_trial_config(trial_dir, dataclasses.replace(base, notes=notes, extra={
            **base.extra, "capture_status": report.status, "capture": capture}))
        _write_sync(trial_dir, report)
    except OSError as exc:
        log.error("could not mark %s: %s", trial_dir, exc)


def _write_sync(out_dir: Path, report: CaptureReport) -> None:
    if report.sync is not None:
        report.sync.save(out_dir / "sync_report.json", extra=report.to_json())
    else:
        import json
        (out_dir / "sync_report.json").write_text(json.dumps(report.to_json(), indent=2))


def record_calibration(session_dir: str | Path, sources: list[Source], *,
                       duration_s: float | None = None, preview: bool = False,
                       progress: bool | Callable[[LiveStatus], None] = True,
                       settings: RecorderSettings | None = None,
                       writer_factory: WriterFactory | None = None) -> CaptureReport:
    """Record board videos to ``SESSION/calibration/<camera>.mp4`` with a live count of board
    detections per camera (board from session.toml [board]); see :func:`record_trial`."""
    settings = settings or RecorderSettings()
    session = Session.open(session_dir)
    sources = _ordered_sources(session, list(sources))
    out_dir = session.calibration_dir
    fps = session.config.fps
    _open_all(sources)
    report = _record(out_dir, sources, fps=fps, duration_s=duration_s, preview=preview,
                     progress=progress, settings=settings, writer_factory=writer_factory,
                     board=session.config.board, sync_settings=None)
    unseen = [f"{c.name}: the board was not seen in {c.board_checked} checked frames (check "
              "[board] in session.toml: dictionary and squares)"
              for c in report.cameras if c.board_checked and c.board_detections == 0]
    report = dataclasses.replace(report, problems=report.problems + tuple(unseen))
    _write_sync(out_dir, report)
    return _finish(report)


def grab_floor_stills(session_dir: str | Path, sources: list[Source], *,
                      warmup_frames: int = 5) -> dict[str, int]:
    """One still per camera to ``calibration/floor/<camera>.png`` (the board on the floor
    defines the lab frame). Returns the board corners found in each still (0 = not seen)."""
    import cv2

    session = Session.open(session_dir)
    sources = _ordered_sources(session, list(sources))
    floor = session.calibration_dir / "floor"
    floor.mkdir(parents=True, exist_ok=True)
    counter = BoardCounter(session.config.board)
    _open_all(sources)
    corners: dict[str, int] = {}
    try:
        for src in sources:
            frame = None
            for _ in range(max(warmup_frames, 1)):  # let exposure settle
                ok, img, _ = src.read()
                if not ok:
                    break
                frame = img
            if frame is None:
                raise InputError(f"{src.name} gave no frame for the floor still",
                                 where=src.name, fix="check the camera")
            path = floor / f"{src.name}.png"
            if not cv2.imwrite(str(path), frame):
                raise CaptureError(f"could not write {path}", where=str(floor),
                                   fix="check the disk")
            corners[src.name] = counter.count(frame)
    finally:
        for src in sources:
            src.release()
    return corners
