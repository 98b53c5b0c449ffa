"""Live multi-camera recording into the session folder: the public entry points
:func:`record_trial`, :func:`record_calibration`, :func:`grab_floor_stills`,
:func:`open_or_create_session` and their :class:`RecorderSettings`.

One grab thread per camera reads its :class:`~liftlab.capture.sources.Source`, stamps every
frame with ``time.monotonic_ns()`` and hands it through a bounded queue to that camera's
writer thread (:mod:`liftlab.capture.streaming`). All grab threads start together on a
``threading.Barrier``; this module runs the recording's main loop (stop on Ctrl-C, duration,
all streams ended or a nearly full disk; progress; preview, :mod:`liftlab.capture.preview`).

The videos come out synchronised (frame i of every camera = the same instant, as the
session contract says): writers keep only the span common to all cameras and write, for
each instant of one frame grid, the nearest frame (a lost frame's neighbour is repeated and
marked ``filled`` in ``<camera>.timestamps.csv``). This happens while recording; only when a
camera started very late or was lost are the videos re-encoded afterwards
(:mod:`liftlab.capture.realign`; the full recordings then kept in ``raw/``).

Videos are written under ``.recording/`` and moved to ``<camera>.mp4`` only once their
writer closed cleanly; a writer that failed leaves ``<camera>.mp4.partial``. ``trial.toml``
says ``capture_status = "recording"`` while recording, then ``"complete"``,
``"interrupted"`` or ``"failed"``; ``sync_report.json`` (:mod:`liftlab.capture.sync`, on the
frames as grabbed) is written beside the videos (:mod:`liftlab.capture.report`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from liftlab.capture.board_count import BoardCounter, save_stills
from liftlab.capture.preview import Preview, tile_frames
from liftlab.capture.preview import (  # noqa: F401 - the old private name, still imported
    display_available as _display_available,
)
from liftlab.capture.realign import rewrite_aligned, rewrite_all, written_alignment
from liftlab.capture.report import (
    CaptureError,
    CaptureReport,
    CaptureStatus,
    LiveStatus,
    mark_trial,
    raise_if_failed,
    write_sync_report,
)
from liftlab.capture.session import (
    BoardSpec,
    Session,
    SessionConfig,
    TrialConfig,
    create_session,
    write_trial_config,
)
from liftlab.capture.sources import Source
from liftlab.capture.streaming import (
    RECORDING_DIR,
    CameraStream,
    OpenCVFrameWriter,
    SpanGate,
    WriterFactory,
    opencv_writer_factory,
)
from liftlab.capture.sync import SyncSettings, analyse_timestamps
from liftlab.core.errors import InputError, LiftlabError, check_all

__all__ = [
    "CaptureError",
    "CaptureReport",
    "LiveStatus",
    "OpenCVFrameWriter",
    "RecorderSettings",
    "grab_floor_stills",
    "open_or_create_session",
    "record_calibration",
    "record_trial",
    "rewrite_aligned",
    "tile_frames",
]

log = logging.getLogger(__name__)


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


def _record(out_dir: Path, sources: list[Source], *, fps: float, duration_s: float | None,
            preview: bool, progress: bool | Callable[[LiveStatus], None],
            settings: RecorderSettings, writer_factory: WriterFactory | None,
            board: BoardSpec | None, sync_settings: SyncSettings | None) -> CaptureReport:
    """Record from opened ``sources`` (released here), align, analyse; ``trial`` unset."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RECORDING_DIR).mkdir(exist_ok=True)
    factory = writer_factory or opencv_writer_factory(settings.fourcc)
    problems = [f"{s.name} runs at {s.fps:g} fps, the session at {fps:g} fps"
                for s in sources if abs(s.fps - fps) > 0.5]
    cams = [CameraStream(s, out_dir, fps=fps, queue_size=settings.queue_size(s.size),
                         writer_factory=factory, board=board,
                         detect_every=settings.detect_every,
                         detect_width_px=settings.detect_width_px,
                         min_board_corners=settings.min_board_corners) for s in sources]
    stop, barrier, gate = threading.Event(), threading.Barrier(len(cams) + 1), SpanGate(fps)
    clocked = all(getattr(s, "realtime", True) for s in sources)
    if not clocked:  # frames read as fast as possible: host times say nothing, keep all
        gate.started.set()
        for cam in cams:
            cam.grid_mode = False
    user_stop, disk_full = threading.Event(), threading.Event()
    for cam in cams:
        cam.start(barrier, stop, gate)

    old_handler = None
    if threading.current_thread() is threading.main_thread():
        def on_sigint(signum: int, frame: Any) -> None:
            user_stop.set()
            stop.set()
        old_handler = signal.signal(signal.SIGINT, on_sigint)
    window = Preview(preview)
    t_start = time.monotonic()
    try:
        try:
            barrier.wait(timeout=settings.start_timeout_s)
        except threading.BrokenBarrierError:
            stop.set()
            problems.append(f"cameras did not all start within {settings.start_timeout_s:g} s")
        t_start = time.monotonic()
        last_t, last_grabbed = t_start, [0] * len(cams)
        next_disk = t_start
        while not stop.is_set():
            if clocked:
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
                    c.live(last_grabbed[i], now - last_t) for i, c in enumerate(cams)))
                if callable(progress):
                    progress(status)
                else:
                    log.info("%s", status.line())
                last_t, last_grabbed = now, [c.grabbed for c in cams]
            if window.show([c.latest for c in cams], [c.name for c in cams]):
                user_stop.set()
                break
            time.sleep(0.02)
    finally:
        stop.set()
        duration = time.monotonic() - t_start
        t_stop = time.monotonic()
        for cam in cams:
            cam.threads[0].join(timeout=10.0)  # grab threads first: then the span is known
        if clocked:
            gate.try_start([c.first_ns for c in cams])
        # the span ends with the cameras still running when stopped (their last grab: a frame
        # the full queue refused is a lost frame, filled like any other); a camera lost early
        # must not cut the others' tails, they keep all they recorded
        running = [c.last_grab_ns for c in cams if c.status == "ok" and c.last_ns is not None]
        gate.end(running or [c.last_ns for c in cams if c.last_ns is not None])
        for cam in cams:
            for t in cam.threads[1:]:
                t.join(timeout=60.0)
            cam.source.release()
        window.close()

    try:  # Ctrl-C during the finish only marks the stop: files are never left half-moved
        early = user_stop.is_set() and duration_s is not None and duration < duration_s
        if early:
            problems.append("stopped by the user before the requested duration")
        lost = [c for c in cams if c.status == "disconnected" or c.written == 0]
        failed = disk_full.is_set() or any(c.write_error is not None for c in cams)
        recorded = {c.name: c.times() for c in cams if c.written > 0}
        streams = {c.name: np.asarray(c.queued_ns, np.int64) for c in cams if c.queued_ns}
        sync = analyse_timestamps(streams, fps, settings=sync_settings) if streams else None
        alignment = None if failed or not recorded or not clocked else written_alignment(
            [c for c in cams if c.name in recorded], gate, fps, sync_settings)
        if alignment is not None and alignment.n_frames < 2:
            problems.append("the cameras' recordings do not overlap in time: videos left as "
                            "recorded (not aligned)")
            alignment = None
        aligned_tmp = rewrite_all(cams, alignment, out_dir, fps, factory, problems)
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
                             alignment=alignment, finish_s=time.monotonic() - t_stop)
    finally:
        if old_handler is not None:
            signal.signal(signal.SIGINT, old_handler)


def _open_session(session_dir: str | Path,
                  sources: list[Source]) -> tuple[Session, list[Source]]:
    """The session and its sources in session.toml's camera order (one per camera)."""
    session = Session.open(session_dir)
    names = [s.name for s in sources]
    if sorted(names) != sorted(session.config.cameras) or len(set(names)) != len(names):
        raise InputError(f"sources are named {names} but session.toml lists cameras "
                         f"{list(session.config.cameras)}", where=str(session.root),
                         fix="give one source per session camera (--names in session order) "
                             "or edit session.toml's cameras")
    by_name = {s.name: s for s in sources}
    return session, [by_name[n] for n in session.config.cameras]


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
    session, sources = _open_session(session_dir, list(sources))
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
    mark_trial(trial_dir, base, report, started)
    return raise_if_failed(report)


def record_calibration(session_dir: str | Path, sources: list[Source], *,
                       duration_s: float | None = None, preview: bool = False,
                       progress: bool | Callable[[LiveStatus], None] = True,
                       settings: RecorderSettings | None = None,
                       writer_factory: WriterFactory | None = None) -> CaptureReport:
    """Record board videos to ``SESSION/calibration/<camera>.mp4`` with a live count of board
    detections per camera (board from session.toml [board]); see :func:`record_trial`."""
    settings = settings or RecorderSettings()
    session, sources = _open_session(session_dir, list(sources))
    out_dir = session.calibration_dir
    fps = session.config.fps
    BoardCounter(session.config.board)  # a wrong [board] fails before any camera opens
    _open_all(sources)
    report = _record(out_dir, sources, fps=fps, duration_s=duration_s, preview=preview,
                     progress=progress, settings=settings, writer_factory=writer_factory,
                     board=session.config.board, sync_settings=None)
    unseen = [f"{c.name}: the board was not seen in {c.board_checked} checked frames (check "
              "[board] in session.toml: dictionary and squares)"
              for c in report.cameras if c.board_checked and c.board_detections == 0]
    report = dataclasses.replace(report, problems=report.problems + tuple(unseen))
    write_sync_report(out_dir, report)
    return raise_if_failed(report)


def grab_floor_stills(session_dir: str | Path, sources: list[Source], *,
                      warmup_frames: int = 5) -> dict[str, int]:
    """One still per camera to ``calibration/floor/<camera>.png`` (the board on the floor
    defines the lab frame). Returns the board corners found in each still (0 = not seen)."""
    session, sources = _open_session(session_dir, list(sources))
    floor = session.calibration_dir / "floor"
    counter = BoardCounter(session.config.board)
    floor.mkdir(parents=True, exist_ok=True)
    _open_all(sources)
    return save_stills(sources, floor, counter, warmup_frames=warmup_frames)
