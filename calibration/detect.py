"""Board detection in calibration videos and image folders, per camera.

Detection is done with OpenCV (``cv2.aruco.CharucoDetector`` for ChArUco,
``findChessboardCornersSB`` + ``cornerSubPix`` for checkerboards) rather than aniposelib's
``detect_video`` so that liftlab knows, per camera, how many frames were read, which views
held the board and where its corners fell (the quality verdict needs all three), and can say
what was seen when nothing matched.  Hands on :class:`Detections` (one per camera).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from liftlab.calibration.boards import COMMON_DICTIONARIES, Board, aruco_dictionary
from liftlab.core.errors import CalibrationError, InputError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class Detections:
    """Board corners seen by one camera.

    Attributes
    ----------
    camera
        Camera name.
    source
        The video file or image folder read.
    image_size
        (width, height) in pixels.
    frames
        (V,) frame index (video) or image index (folder) of each view holding the board.
    corners_px
        (V, n_corners, 2) pixel position of every board corner, NaN where not seen.
    frames_read
        Frames or images examined (views with the board are a subset).
    hint
        What was seen when the board was not found (empty otherwise).
    """

    camera: str
    source: str
    image_size: tuple[int, int]
    frames: np.ndarray
    corners_px: np.ndarray
    frames_read: int
    hint: str = ""
    file_names: tuple[str, ...] = field(default=())

    @property
    def n_views(self) -> int:
        return int(self.frames.shape[0])

    @property
    def counts(self) -> np.ndarray:
        """(V,) corners seen per view."""
        return np.sum(np.isfinite(self.corners_px[..., 0]), axis=1)

    def subset(self, keep: np.ndarray) -> Detections:
        """The views selected by a boolean or index array."""
        names = tuple(np.asarray(self.file_names, dtype=object)[keep]) if self.file_names else ()
        return Detections(self.camera, self.source, self.image_size, self.frames[keep],
                          self.corners_px[keep], self.frames_read, self.hint, names)


def _gray(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _collect(board: Board, gray: np.ndarray, min_corners: int) -> np.ndarray | None:
    ids, corners = board.detect(gray)
    if ids.size < min_corners:
        return None
    filled = np.full((board.n_corners, 2), np.nan)
    filled[ids] = corners
    return filled


def detect_video(path: str | Path, board: Board, *, camera: str, max_views: int = 200,
                 min_corners: int = 6, frame_step: int | None = None) -> Detections:
    """Detect the board in a video, examining about ``max_views`` evenly spaced frames.

    Parameters
    ----------
    path
        Video file.
    board
        The board filmed.
    camera
        Camera name (for messages).
    max_views
        Frames examined at most (``frame_step`` is derived from the frame count).
    min_corners
        Corners a view needs to count.
    frame_step
        Examine every ``frame_step``-th frame instead.
    """
    path = Path(path)
    cap = cv2.VideoCapture(str(path))
    fix = f"re-record or re-encode {path.name} (H.264 .mp4 plays everywhere)"
    if not cap.isOpened():
        raise InputError(f"Camera {camera!r}: cannot open the calibration video", where=str(path),
                         fix=fix)
    try:
        n_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        step = frame_step or max(1, math.ceil(n_frames / max(1, max_views)) if n_frames > 0 else 1)
        frames, views, samples = [], [], []
        size = None
        index = read = 0
        while True:
            if not cap.grab():
                break
            if index % step == 0:
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    read += 1
                    gray = _gray(frame)
                    size = (gray.shape[1], gray.shape[0])
                    filled = _collect(board, gray, min_corners)
                    if filled is not None:
                        frames.append(index)
                        views.append(filled)
                    elif len(samples) < 4 and read % 5 == 1:
                        samples.append(gray)
            index += 1
    finally:
        cap.release()
    if read == 0 or size is None:
        raise InputError(f"Camera {camera!r}: the calibration video has no readable frame",
                         where=str(path), fix=fix)
    hint = "" if views else diagnose(samples, board)
    return Detections(camera, str(path), size, np.asarray(frames, dtype=int),
                      np.asarray(views).reshape(-1, board.n_corners, 2), read, hint)


def detect_images(paths: list[Path], board: Board, *, camera: str,
                  min_corners: int = 6) -> Detections:
    """Detect the board in still images of one camera (all must have the same size)."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError(f"Camera {camera!r}: no images to calibrate from",
                         fix="put .png or .jpg photos of the board in the camera's folder")
    sizes: dict[tuple[int, int], list[str]] = {}
    frames, views, names, samples = [], [], [], []
    for i, p in enumerate(paths):
        img = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise InputError(f"Camera {camera!r}: cannot read image {p.name}", where=str(p),
                             fix="remove or replace the file (PNG or JPEG)")
        sizes.setdefault((img.shape[1], img.shape[0]), []).append(p.name)
        filled = _collect(board, img, min_corners)
        if filled is not None:
            frames.append(i)
            views.append(filled)
            names.append(p.name)
        elif len(samples) < 4:
            samples.append(img)
    if len(sizes) > 1:
        listing = "; ".join(f"{w}x{h}: {', '.join(n[:3])}{' ...' if len(n) > 3 else ''}"
                            for (w, h), n in sizes.items())
        raise InputError(f"Camera {camera!r}: images have different sizes ({listing})",
                         where=str(paths[0].parent),
                         fix="use photos from one camera at one resolution (no crops or "
                             "rotations); move the others out of the folder")
    size = next(iter(sizes))
    hint = "" if views else diagnose(samples, board)
    return Detections(camera, str(paths[0].parent), size, np.asarray(frames, dtype=int),
                      np.asarray(views).reshape(-1, board.n_corners, 2), len(paths), hint,
                      tuple(names))


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def detect_source(path: str | Path, board: Board, *, camera: str, max_views: int = 200,
                  min_corners: int = 6) -> Detections:
    """Detect in a video file or an image folder, whichever ``path`` is."""
    path = Path(path)
    if path.is_dir():
        return detect_images(image_files(path), board, camera=camera, min_corners=min_corners)
    if path.is_file():
        return detect_video(path, board, camera=camera, max_views=max_views,
                            min_corners=min_corners)
    raise InputError(f"Camera {camera!r}: no calibration video or folder", where=str(path),
                     fix=f"film the board with {camera} into calibration/{camera}.mp4")


def diagnose(samples: list[np.ndarray], board: Board) -> str:
    """Say what was seen in frames where the board was not found.

    Tries the stated dictionary, then the other common ones, and names the one whose markers
    are in the frames; for a ChArUco board whose markers are found but whose corners are not,
    compares the marker ids seen with the ids the board spec has.
    """
    if not samples:
        return "no frame to examine"
    spec = board.spec
    if not board.is_charuco:
        return (f"no checkerboard with {board.inner_size[0]} x {board.inner_size[1]} inner corners "
                f"was found (squares_x = {spec.squares_x}, squares_y = {spec.squares_y}; inner "
                "corners are squares - 1 each way)")
    params = cv2.aruco.DetectorParameters()

    def markers(name: str) -> set[int]:
        det = cv2.aruco.ArucoDetector(aruco_dictionary(name), params)
        seen: set[int] = set()
        for gray in samples:
            _, ids, _ = det.detectMarkers(gray)
            if ids is not None:
                seen.update(int(i) for i in ids.ravel())
        return seen

    n_markers = (spec.squares_x * spec.squares_y) // 2
    own = markers(spec.dictionary)
    if len(own) >= 2:
        outside = sorted(i for i in own if i >= n_markers)
        if outside:
            return (f"markers of {spec.dictionary} were seen with ids up to {max(own)}, but a "
                    f"{spec.squares_x} x {spec.squares_y} board has ids 0-{n_markers - 1}: the "
                    "board has more squares than session.toml says")
        return (f"{len(own)} {spec.dictionary} markers were seen but no ChArUco corner: check "
                "squares_x/squares_y and square_mm/marker_mm against the printed board")
    best, best_n = "", 0
    for name in COMMON_DICTIONARIES:
        if name.upper() == spec.dictionary.upper():
            continue
        n = len(markers(name))
        if n > best_n:
            best, best_n = name, n
    if best_n >= 3:
        return (f"no {spec.dictionary} marker was seen, but {best_n} markers of {best} were: "
                f"the board was printed with {best}; set dictionary = \"{best}\" in [board]")
    return (f"no {spec.dictionary} marker (nor any common dictionary's) was seen: the board is "
            "out of view, too small, blurred or badly lit")


def require_board(det: Detections, *, min_views: int) -> None:
    """Raise when a camera never saw the board (naming the camera, what was seen, the fix)."""
    if det.n_views == 0:
        raise CalibrationError(
            f"Camera {det.camera!r} never saw the board in {det.frames_read} frames examined "
            f"({det.hint})",
            where=det.source,
            fix=f"film the board filling a good part of {det.camera}'s view for at least "
                f"{min_views} views, or leave {det.camera} out with --cameras")
