"""Seeing the calibration board: :class:`BoardCounter` counts its corners in a frame (the
live detection count while recording calibration videos), and :func:`save_stills` grabs
the floor stills (``calibration/floor/<camera>.png``: the board lying on the floor defines
the lab frame) with the corners found in each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liftlab.capture.report import CaptureError
from liftlab.capture.session import BoardSpec
from liftlab.capture.sources import Source
from liftlab.core.errors import InputError


class BoardCounter:
    """Counts calibration-board corners on a (downscaled) copy of a frame."""

    def __init__(self, board: BoardSpec):
        import cv2

        self.board = board
        if board.type == "charuco":
            if not board.dictionary.startswith("DICT_") or not hasattr(cv2.aruco,
                                                                        board.dictionary):
                raise InputError(f"unknown ArUco dictionary {board.dictionary!r}",
                                 where="[board] in session.toml",
                                 fix="use an OpenCV name such as DICT_4X4_50 or DICT_5X5_100")
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


def save_stills(sources: list[Source], out_dir: Path, counter: BoardCounter, *,
                warmup_frames: int = 5) -> dict[str, int]:
    """One still per opened source to ``out_dir/<camera>.png`` (every source released
    here). Returns the board corners found in each still (0 = not seen)."""
    import cv2

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
            path = out_dir / f"{src.name}.png"
            if not cv2.imwrite(str(path), frame):
                raise CaptureError(f"could not write {path}", where=str(out_dir),
                                   fix="check the disk")
            corners[src.name] = counter.count(frame)
    finally:
        for src in sources:
            src.release()
    return corners
