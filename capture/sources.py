"""Frame sources for live capture: cameras (device index, file, URL), clocked video files,
in-memory virtual cameras, and fault-injection wrappers for tests.

A source hands the recorder one frame at a time through the small :class:`Source` protocol.
``read()`` returns ``(ok, frame, source_index)``: ``ok`` is False when the stream has ended
normally (end of a file); a lost camera raises :class:`SourceDisconnected` instead, so the
recorder can tell "finished" from "failed". ``source_index`` is the frame number the source
itself gave the frame (None when it has none); gaps in it show frames the source skipped.

Clocked sources (``realtime=True``) behave like a live camera: frame ``k`` becomes available
at ``t0 + k / fps`` (``t0`` = first read) and a reader that comes late gets the *current*
frame, the missed ones are lost, exactly as a webcam driver overwrites its buffer.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from liftlab.core.errors import InputError, LiftlabError, check_all

log = logging.getLogger(__name__)

ReadResult = tuple[bool, np.ndarray | None, int | None]


class SourceDisconnected(LiftlabError):
    """A camera stopped delivering frames in the middle of a recording."""


@runtime_checkable
class Source(Protocol):
    """What the recorder needs from a camera. ``size`` is (width, height) in px.

    A source may also say ``realtime = False`` (frames come as fast as they are read, as
    from a file): the recorder then keeps every frame and does not align by host time.
    """

    name: str
    fps: float
    size: tuple[int, int]

    def open(self) -> None: ...

    def read(self) -> ReadResult: ...

    def release(self) -> None: ...


class _Clock:
    """Live-camera pacing: frame slot k is due at t0 + k / fps; late readers skip slots."""

    def __init__(self, fps: float):
        self.period_ns = int(round(1e9 / fps))
        self.t0_ns: int | None = None
        self.last_slot = -1

    def next_slot(self, *, drop_late: bool = True) -> int:
        now = time.monotonic_ns()
        if self.t0_ns is None:
            self.t0_ns = now
        slot = self.last_slot + 1
        if drop_late:
            current = (now - self.t0_ns) // self.period_ns
            slot = max(slot, int(current))
        self.last_slot = slot
        return slot

    def wait(self, slot: int) -> None:
        t0_ns = self.t0_ns if self.t0_ns is not None else time.monotonic_ns()
        delay_ns = t0_ns + slot * self.period_ns - time.monotonic_ns()
        if delay_ns > 0:
            time.sleep(delay_ns / 1e9)


def _check_fps_size(fps: float, size: tuple[int, int], where: str) -> None:
    problems = []
    if not (fps > 0):
        problems.append(f"fps must be positive, got {fps}")
    if len(size) != 2 or min(size) < 8:
        problems.append(f"size must be (width, height) of at least 8 px, got {size}")
    check_all(problems, where=where)


class OpenCVSource:
    """A camera opened with ``cv2.VideoCapture``: a device index, a stream URL or a file.

    Parameters
    ----------
    spec
        Device index (``0``), URL (``rtsp://...``) or path. A file is read as fast as the
        recorder asks (use :class:`FileSource` to pace a file like a camera).
    name
        Camera name as in session.toml.
    fps, size
        Requested frame rate and (width, height); set on devices, read back after opening
        (the device may refuse them: the actual values are what ``fps`` and ``size`` report).
    fourcc
        Pixel format asked from devices; ``"MJPG"`` lets USB cameras reach 1080p at 30-60 fps.
    """

    def __init__(self, spec: int | str, *, name: str, fps: float | None = None,
                 size: tuple[int, int] | None = None, fourcc: str | None = "MJPG"):
        self.spec = spec
        self.name = name
        self.fps = float(fps or 30.0)
        self.size = tuple(size) if size else (0, 0)
        self.fourcc = fourcc
        self._requested = (fps, size)
        self._cap = None
        self._index = 0

    @property
    def is_device(self) -> bool:
        return isinstance(self.spec, int)

    @property
    def realtime(self) -> bool:
        """Devices and streams deliver frames in real time; a file as fast as it is read."""
        return not self.is_file

    @property
    def is_file(self) -> bool:
        return isinstance(self.spec, str) and Path(self.spec).is_file()

    def open(self) -> None:
        import cv2

        cap = cv2.VideoCapture(self.spec)
        if not cap.isOpened():
            cap.release()
            what = f"camera {self.spec}" if self.is_device else f"source {self.spec!r}"
            raise InputError(f"{what} could not be opened", where=self.name,
                             fix="check the index with `v4l2-ctl --list-devices` or use a "
                                 "file/URL" if self.is_device else
                                 "check the path or URL (is the stream running?)")
        fps, size = self._requested
        if self.is_device:
            if self.fourcc:
                cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.fourcc))
            if size:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
            if fps:
                cap.set(cv2.CAP_PROP_FPS, fps)
        got_size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        got_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if size and got_size != tuple(size):
            log.warning("%s: asked for %sx%s, the source gives %sx%s", self.name, *size, *got_size)
        if fps and got_fps > 0 and abs(got_fps - fps) > 0.5:
            log.warning("%s: asked for %g fps, the source reports %g", self.name, fps, got_fps)
        self.size = got_size
        self.fps = got_fps if got_fps > 0 else float(fps or 30.0)
        self._cap = cap
        self._index = 0

    def read(self) -> ReadResult:
        if self._cap is None:
            raise SourceDisconnected("source read before open()", where=self.name)
        ok = self._cap.grab()
        frame = self._cap.retrieve()[1] if ok else None
        if not ok or frame is None:
            if self.is_file:
                return False, None, None
            raise SourceDisconnected(f"{self.name} stopped delivering frames after "
                                     f"{self._index} frames", where=str(self.spec),
                                     fix="check the cable/USB bandwidth or the stream")
        self._index += 1
        return True, frame, self._index - 1

    def release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FileSource:
    """A video file played like a camera.

    Parameters
    ----------
    path
        Video file readable by OpenCV.
    name
        Camera name.
    realtime
        True: clocked at the file's fps like a live camera (late reads lose frames);
        False: every frame as fast as the reader asks.
    loop
        Start again at the end of the file instead of ending the stream.
    fps
        Override the file's frame rate.
    """

    def __init__(self, path: str | Path, *, name: str, realtime: bool = True, loop: bool = False,
                 fps: float | None = None):
        self.path = Path(path)
        self.name = name
        self.realtime = realtime
        self.loop = loop
        self._fps_override = fps
        self.fps = float(fps or 30.0)
        self.size = (0, 0)
        self._cap = None
        self._clock: _Clock | None = None
        self._pos = 0
        self._n_file = 0

    def open(self) -> None:
        import cv2

        if not self.path.is_file():
            raise InputError(f"video file {self.path} does not exist", where=self.name,
                             fix="give an existing video file")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise InputError(f"video file {self.path} could not be opened", where=self.name,
                             fix="check it is a complete MP4/AVI")
        self.size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.fps = float(self._fps_override or cap.get(cv2.CAP_PROP_FPS) or 30.0)
        self._n_file = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._cap = cap
        self._clock = _Clock(self.fps) if self.realtime else None
        self._pos = 0

    def _next_frame(self) -> np.ndarray | None:
        import cv2

        ok, frame = self._cap.read()
        if not ok and self.loop and self._pos > 0:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        return frame if ok else None

    def read(self) -> ReadResult:
        if self._cap is None:
            raise SourceDisconnected("source read before open()", where=self.name)
        if self._clock is None:
            frame = self._next_frame()
            if frame is None:
                return False, None, None
            self._pos += 1
            return True, frame, self._pos - 1
        slot = self._clock.next_slot()
        while self._pos < slot:  # the reader was late: these frames were "exposed" and lost
            if not self._cap.grab():
                if not self.loop:
                    return False, None, None
                self._next_frame()
            self._pos += 1
        frame = self._next_frame()
        if frame is None:
            return False, None, None
        self._pos += 1
        self._clock.wait(slot)
        return True, frame, slot

    def release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


FrameFn = Callable[[int], np.ndarray]


def moving_pattern(size: tuple[int, int], *, label: str = "") -> FrameFn:
    """Frames of a test pattern: a bar sweeping across a gradient, the frame number drawn.

    Returns a function ``frame_index -> BGR uint8 image`` of the given (width, height).
    """
    import cv2

    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)
    base = np.empty((height, width, 3), dtype=np.uint8)
    base[..., 0] = x[None, :].astype(np.uint8)
    base[..., 1] = y[:, None].astype(np.uint8)
    base[..., 2] = 96
    scale = max(height / 240.0, 0.5)

    def frame(i: int) -> np.ndarray:
        img = base.copy()
        bar = (i * max(width // 90, 2)) % width
        img[:, bar:bar + max(width // 40, 2)] = 255
        cv2.putText(img, f"{label} {i}", (int(10 * scale), int(40 * scale)),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), max(int(2 * scale), 1))
        return img

    return frame


class VirtualSource:
    """A camera whose frames are made in memory (no device, no file).

    Parameters
    ----------
    name
        Camera name.
    fps, size
        Frame rate and (width, height).
    frame_fn
        ``frame_index -> BGR image``; default :func:`moving_pattern`. Pass e.g. a function
        that renders the virtual lab (capture/virtual/render.py) for realistic frames.
    n_frames
        End the stream after this many frames (None: endless).
    realtime
        Clocked like a live camera (True) or as fast as possible (False).
    """

    def __init__(self, name: str, *, fps: float = 30.0, size: tuple[int, int] = (640, 480),
                 frame_fn: FrameFn | None = None, n_frames: int | None = None,
                 realtime: bool = True):
        _check_fps_size(fps, size, where=f"virtual camera {name}")
        self.name = name
        self.fps = float(fps)
        self.size = (int(size[0]), int(size[1]))
        self.frame_fn = frame_fn
        self.n_frames = n_frames
        self.realtime = realtime
        self._clock: _Clock | None = None
        self._count = 0
        self._opened = False

    def open(self) -> None:
        if self.frame_fn is None:
            self.frame_fn = moving_pattern(self.size, label=self.name)
        self._clock = _Clock(self.fps) if self.realtime else None
        self._count = 0
        self._opened = True

    def read(self) -> ReadResult:
        if not self._opened:
            raise SourceDisconnected("source read before open()", where=self.name)
        slot = self._clock.next_slot() if self._clock else self._count
        if self.n_frames is not None and slot >= self.n_frames:
            return False, None, None
        frame = self.frame_fn(slot)
        if self._clock:
            self._clock.wait(slot)
        self._count += 1
        return True, frame, slot

    def release(self) -> None:
        self._opened = False


class _Wrapper:
    """Base of the fault-injection wrappers: forwards everything to the wrapped source."""

    def __init__(self, source: Source):
        self.source = source
        self._reads = 0

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def fps(self) -> float:
        return self.source.fps

    @property
    def size(self) -> tuple[int, int]:
        return self.source.size

    @property
    def realtime(self) -> bool:
        return bool(getattr(self.source, "realtime", True))

    def open(self) -> None:
        self.source.open()
        self._reads = 0

    def read(self) -> ReadResult:
        return self.source.read()

    def release(self) -> None:
        self.source.release()


class Stall(_Wrapper):
    """Freeze for ``stall_ms`` before delivering frame number ``at_frame`` (0-based count of
    delivered frames). A clocked source then skips the frames it would have shown meanwhile."""

    def __init__(self, source: Source, *, at_frame: int, stall_ms: float):
        super().__init__(source)
        self.at_frame, self.stall_ms = int(at_frame), float(stall_ms)

    def read(self) -> ReadResult:
        if self._reads == self.at_frame:
            time.sleep(self.stall_ms / 1e3)
        self._reads += 1
        return self.source.read()


class DropFrames(_Wrapper):
    """Lose a ``fraction`` of the frames at random (seeded): a dropped frame is read from the
    source and thrown away, so the next delivered frame comes one period later."""

    def __init__(self, source: Source, *, fraction: float, seed: int = 0):
        super().__init__(source)
        if not 0.0 <= fraction < 1.0:
            raise InputError(f"fraction must lie in [0, 1), got {fraction}", where=source.name)
        self.fraction = float(fraction)
        self.seed = seed
        self.discarded = 0

    def open(self) -> None:
        super().open()
        self._rng = random.Random(self.seed)
        self.discarded = 0

    def read(self) -> ReadResult:
        result = self.source.read()
        while result[0] and self._reads > 0 and self._rng.random() < self.fraction:
            self.discarded += 1
            result = self.source.read()
        self._reads += 1
        return result


class StartLate(_Wrapper):
    """Deliver the first frame ``delay_ms`` late (a camera that starts after the others)."""

    def __init__(self, source: Source, *, delay_ms: float):
        super().__init__(source)
        self.delay_ms = float(delay_ms)

    def read(self) -> ReadResult:
        if self._reads == 0:
            time.sleep(self.delay_ms / 1e3)
        self._reads += 1
        return self.source.read()


class Disconnect(_Wrapper):
    """Raise :class:`SourceDisconnected` after ``after_frames`` delivered frames."""

    def __init__(self, source: Source, *, after_frames: int):
        super().__init__(source)
        self.after_frames = int(after_frames)

    def read(self) -> ReadResult:
        if self._reads >= self.after_frames:
            raise SourceDisconnected(f"{self.name} disconnected after {self._reads} frames",
                                     where=self.name, fix="check the camera's cable and power")
        self._reads += 1
        return self.source.read()


def parse_source_spec(spec: str, *, name: str, fps: float | None = None,
                      size: tuple[int, int] | None = None, realtime: bool = True,
                      loop: bool = False) -> Source:
    """One ``--cameras`` entry -> a source.

    ``"0"`` a device index; ``"virtual"`` a moving test pattern; an existing file a
    :class:`FileSource` (clocked unless ``realtime=False``); anything else a URL.
    """
    spec = spec.strip()
    if spec.isdigit():
        return OpenCVSource(int(spec), name=name, fps=fps, size=size)
    if spec == "virtual":
        return VirtualSource(name, fps=fps or 30.0, size=size or (640, 480), realtime=realtime)
    if Path(spec).is_file():
        return FileSource(spec, name=name, realtime=realtime, loop=loop, fps=fps)
    if "://" in spec:
        return OpenCVSource(spec, name=name, fps=fps, size=size, fourcc=None)
    raise InputError(f"camera {spec!r} is neither a device index, an existing file, a URL nor "
                     "'virtual'", where=name,
                     fix="use e.g. --cameras 0,1 or --cameras a.mp4,b.mp4 or rtsp://...")


def rendered_source(camera, landmarks_mm: np.ndarray, *, fps: float = 30.0,
                    realtime: bool = False, loop: bool = True, bar: bool = False
                    ) -> VirtualSource:
    """A virtual camera showing the virtual lab's mannequin (capture/virtual/render.py).

    Parameters
    ----------
    camera
        A :class:`liftlab.core.cameras.Camera` (its name and size are the source's).
    landmarks_mm
        (F, 33, 3) landmarks in the lab frame, mm (e.g. ``MotionTruth.landmarks_mm``).
    fps
        Frame rate of the stream.
    realtime
        Clocked like a live camera. Rendering a frame takes tens of ms, so a clocked
        rendered camera loses frames when the renderer is slower than ``fps``, as a real
        overloaded camera would.
    loop
        Play the motion again after its last frame (else the stream ends).
    bar
        Draw the barbell.
    """
    from liftlab.capture.virtual.render import MannequinRenderer

    points = np.asarray(landmarks_mm, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (33, 3) or points.shape[0] == 0:
        raise InputError(f"landmarks_mm must be (F, 33, 3), got {points.shape}",
                         where=f"rendered camera {camera.name}",
                         fix="pass MotionTruth.landmarks_mm")
    renderer = MannequinRenderer(camera, bar=bar)
    n = points.shape[0]
    return VirtualSource(camera.name, fps=fps, size=tuple(camera.size),
                         frame_fn=lambda i: renderer.render(points[i % n]),
                         n_frames=None if loop else n, realtime=realtime)
