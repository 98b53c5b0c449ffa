"""Video probing and streaming frame reading for the 2D pose stage.

Frames are decoded by OpenCV in a background thread (OpenCV releases the GIL while decoding)
into a small bounded queue, so decoding overlaps with pose inference and a video is never
held in memory as a whole.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from liftlab.core.errors import InputError


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video (frame count may be an estimate)."""

    path: Path
    width: int
    height: int
    fps: float
    n_frames: int

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return (self.width, self.height)


def probe_video(path: str | Path) -> VideoInfo:
    """Open a video and read its size, fps and frame count.

    Raises
    ------
    InputError
        When the file is missing, cannot be decoded or holds no frame; the message names
        the file and says what to do.
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise InputError(f"Video not found: {path}",
                         fix="record the trial again or name the camera's video correctly")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(f"Video cannot be opened: {path}",
                             fix="check the file is a complete MP4/AVI (re-export or re-record it)")
        ok, frame = cap.read()
        if not ok or frame is None:
            raise InputError(f"Video has no readable frame: {path}",
                             fix="the file is empty or damaged: re-record or re-export it")
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) or frame.shape[1]
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) or frame.shape[0]
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        n_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    return VideoInfo(path=path, width=width, height=height, fps=fps, n_frames=max(n_frames, 1))


class FrameReader:
    """Iterate over the frames (BGR, or RGB) of a video, decoded ahead in a background thread.

    Parameters
    ----------
    path
        Video file.
    queue_frames
        Frames decoded ahead at most (memory bound: ``queue_frames`` frames).
    rgb
        Convert to RGB in the reader thread (what MediaPipe wants), off the consumer's time.

    Attributes
    ----------
    decode_s
        Seconds the reader thread spent decoding (overlapped with the consumer).
    wait_s
        Seconds the consumer waited for a frame (the decode time that was not hidden).
    """

    _END = object()

    def __init__(self, path: str | Path, *, queue_frames: int = 4, rgb: bool = False):
        self.info = probe_video(path)
        self.rgb = bool(rgb)
        self.queue_frames = int(queue_frames)
        self.decode_s = 0.0
        self.wait_s = 0.0

    def __iter__(self) -> Iterator[np.ndarray]:
        import cv2

        q: queue.Queue = queue.Queue(maxsize=max(1, self.queue_frames))
        stop = threading.Event()
        errors: list[BaseException] = []

        def work() -> None:
            cap = cv2.VideoCapture(str(self.info.path))
            try:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    ok, frame = cap.read()
                    if ok and self.rgb:
                        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                    self.decode_s += time.perf_counter() - t0
                    if not ok:
                        break
                    while not stop.is_set():
                        try:
                            q.put(frame, timeout=0.1)
                            break
                        except queue.Full:
                            continue
            except cv2.error as exc:  # decoding error in the middle of a file
                errors.append(exc)
            finally:
                cap.release()
                while not stop.is_set():
                    try:
                        q.put(self._END, timeout=0.1)
                        break
                    except queue.Full:
                        continue

        thread = threading.Thread(target=work, name=f"decode-{self.info.path.name}", daemon=True)
        thread.start()
        try:
            while True:
                t0 = time.perf_counter()
                item = q.get()
                self.wait_s += time.perf_counter() - t0
                if item is self._END:
                    break
                yield item
        finally:
            stop.set()
            thread.join(timeout=5)
        if errors:
            raise InputError(f"Video could not be decoded to the end: {errors[0]}",
                             where=str(self.info.path), fix="re-export or re-record the video")
