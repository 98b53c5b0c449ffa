"""Calibration boards: the OpenCV board objects and geometry for a ``BoardSpec``.

Board frame (stated once, used everywhere in ``liftlab.calibration``): OpenCV's object frame
of the board as printed, origin at the board's *outer* top-left corner, x along ``squares_x``
(to the right on the page), y along ``squares_y`` (down the page), z into the board, mm.
ChArUco corner ``i`` is OpenCV's corner id ``i`` (row-major over the inner corners); a
checkerboard's inner corners are numbered the same way (row-major, ``squares_x - 1`` per
row), its first inner corner at ``(square_mm, square_mm)`` like a ChArUco board's.

This module hands on :class:`Board` (detection and geometry) to ``detect`` and
``calibrate``, and :class:`AniposeBoard`, the thin adapter aniposelib's bundle adjustment
takes in place of its own ``CharucoBoard`` / ``Checkerboard`` (those only know ``DICT_nXn_N``
dictionaries and put the origin on the first inner corner, unlike OpenCV's pose estimates).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
from aniposelib.boards import CalibrationObject

from liftlab.capture.session import BoardSpec
from liftlab.core.errors import InputError

#: Dictionaries tried, in this order, when a board is not found with its stated one.
COMMON_DICTIONARIES: tuple[str, ...] = (
    "DICT_4X4_50", "DICT_5X5_50", "DICT_6X6_50", "DICT_7X7_50",
    "DICT_4X4_100", "DICT_5X5_100", "DICT_6X6_100", "DICT_4X4_250", "DICT_5X5_250",
    "DICT_6X6_250", "DICT_4X4_1000", "DICT_5X5_1000", "DICT_6X6_1000", "DICT_7X7_1000",
    "DICT_ARUCO_ORIGINAL", "DICT_APRILTAG_16h5", "DICT_APRILTAG_25h9", "DICT_APRILTAG_36h11",
)


def aruco_dictionary(name: str) -> cv2.aruco.Dictionary:
    """OpenCV's predefined ArUco dictionary called ``name`` (e.g. ``"DICT_4X4_50"``)."""
    key = name.strip()
    if not key.upper().startswith("DICT_"):
        key = "DICT_" + key
    candidates = [key, key.upper()]
    for cand in candidates:
        if hasattr(cv2.aruco, cand) and cand.startswith("DICT_"):
            return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, cand))
    known = sorted(n for n in dir(cv2.aruco) if n.startswith("DICT_"))
    raise InputError(f"Unknown ArUco dictionary {name!r}", where="[board] dictionary",
                     fix=f"use one of OpenCV's: {', '.join(known)}")


@dataclass(frozen=True)
class Board:
    """A calibration board built from its spec (see the module docstring for the frame)."""

    spec: BoardSpec

    @property
    def is_charuco(self) -> bool:
        return self.spec.type == "charuco"

    @property
    def inner_size(self) -> tuple[int, int]:
        """Inner corners (across, down)."""
        return (self.spec.squares_x - 1, self.spec.squares_y - 1)

    @property
    def n_corners(self) -> int:
        return self.inner_size[0] * self.inner_size[1]

    @property
    def size_mm(self) -> tuple[float, float]:
        """Outer width and height of the squares area, mm."""
        return (self.spec.squares_x * self.spec.square_mm, self.spec.squares_y * self.spec.square_mm)

    @cached_property
    def object_points_mm(self) -> np.ndarray:
        """(n_corners, 3) inner-corner positions in the board frame, mm."""
        nx, ny = self.inner_size
        grid = np.mgrid[0:nx, 0:ny].T.reshape(-1, 2).astype(float)
        pts = np.zeros((nx * ny, 3))
        pts[:, :2] = (grid + 1.0) * self.spec.square_mm
        return pts

    @cached_property
    def dictionary(self) -> cv2.aruco.Dictionary:
        return aruco_dictionary(self.spec.dictionary)

    @cached_property
    def cv_board(self) -> cv2.aruco.CharucoBoard:
        """OpenCV's ChArUco board (ChArUco specs only)."""
        if not self.is_charuco:
            raise InputError("A checkerboard has no ArUco markers", where="[board]",
                             fix="use type = \"charuco\" for printed ChArUco boards")
        s = self.spec
        n_markers = (s.squares_x * s.squares_y) // 2
        if n_markers > self.dictionary.bytesList.shape[0]:
            raise InputError(
                f"A {s.squares_x} x {s.squares_y} ChArUco board needs {n_markers} markers but "
                f"{s.dictionary} has only {self.dictionary.bytesList.shape[0]}",
                where="[board]", fix="use a larger dictionary (e.g. DICT_4X4_100) or fewer squares")
        return cv2.aruco.CharucoBoard((s.squares_x, s.squares_y), float(s.square_mm),
                                      float(s.marker_mm), self.dictionary)

    @cached_property
    def charuco_detector(self) -> cv2.aruco.CharucoDetector:
        params = cv2.aruco.DetectorParameters()
        charuco_params = cv2.aruco.CharucoParameters()
        charuco_params.minMarkers = 1
        return cv2.aruco.CharucoDetector(self.cv_board, charuco_params, params)

    def detect(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Corners in one grey image: ``(ids (n,), corners_px (n, 2))``, empty when unseen."""
        if self.is_charuco:
            corners, ids, _, _ = self.charuco_detector.detectBoard(gray)
            if ids is None or len(ids) == 0:
                return np.zeros(0, int), np.zeros((0, 2))
            return ids.ravel().astype(int), corners.reshape(-1, 2).astype(float)
        flags = cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_EXHAUSTIVE | cv2.CALIB_CB_ACCURACY
        found, corners = cv2.findChessboardCornersSB(gray, self.inner_size, flags)
        if not found:  # the classic detector finds boards SB misses (and vice versa)
            found, corners = cv2.findChessboardCorners(
                gray, self.inner_size, cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE)
        if not found:
            return np.zeros(0, int), np.zeros((0, 2))
        pts = corners.reshape(-1, 2)
        spacing = float(np.min(np.linalg.norm(np.diff(pts[: self.inner_size[0]], axis=0), axis=1)))
        win = int(np.clip(spacing * 0.25, 2, 11))
        corners = cv2.cornerSubPix(gray, corners.astype(np.float32), (win, win), (-1, -1),
                                   (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 40, 1e-3))
        return np.arange(self.n_corners), corners.reshape(-1, 2).astype(float)

    def render(self, *, px_per_mm: float = 10.0, margin_mm: float = 0.0) -> np.ndarray:
        """The board as a grey image at ``px_per_mm`` (ChArUco: exactly what OpenCV detects)."""
        w_mm, h_mm = self.size_mm
        size = (int(round(w_mm * px_per_mm + 2 * margin_mm * px_per_mm)),
                int(round(h_mm * px_per_mm + 2 * margin_mm * px_per_mm)))
        margin_px = int(round(margin_mm * px_per_mm))
        if self.is_charuco:
            return self.cv_board.generateImage(size, marginSize=margin_px, borderBits=1)
        img = np.full((size[1], size[0]), 255, np.uint8)
        sq = self.spec.square_mm * px_per_mm
        for j in range(self.spec.squares_y):
            for i in range(self.spec.squares_x):
                if (i + j) % 2 == 0:
                    x0, y0 = int(round(margin_px + i * sq)), int(round(margin_px + j * sq))
                    img[y0:int(round(margin_px + (j + 1) * sq)),
                        x0:int(round(margin_px + (i + 1) * sq))] = 0
        return img


class AniposeBoard(CalibrationObject):
    """aniposelib's board interface over a :class:`Board` (detection happens elsewhere).

    aniposelib's bundle adjustment calls ``get_object_points``, ``get_empty_detection``,
    ``fill_points`` and ``estimate_pose_points``; all use the board frame of this module, so
    its initial board poses agree with its object points.
    """

    def __init__(self, board: Board):
        self.board = board

    def draw(self, size):  # pragma: no cover - not used by calibrate_rows
        return self.board.render()

    def detect_image(self, image):  # pragma: no cover - detection is done by liftlab
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        ids, corners = self.board.detect(gray)
        return corners.reshape(-1, 1, 2), ids.reshape(-1, 1)

    def manually_verify_board_detection(self, image, corners):  # pragma: no cover
        return True

    def get_object_points(self):
        return self.board.object_points_mm.copy()

    def get_empty_detection(self):
        return np.full((self.board.n_corners, 1, 2), np.nan)

    def fill_points(self, corners, ids):
        out = self.get_empty_detection()
        if corners is None or ids is None or len(corners) == 0:
            return out
        out[np.asarray(ids).ravel()] = np.asarray(corners).reshape(-1, 1, 2)
        return out

    def estimate_pose_points(self, camera, corners, ids):
        if corners is None or ids is None or len(corners) < 6:
            return None, None
        obj = self.board.object_points_mm[np.asarray(ids).ravel()]
        img = np.asarray(corners, dtype=float).reshape(-1, 1, 2)
        ok, rvec, tvec = cv2.solvePnP(obj, img, camera.get_camera_matrix(),
                                      camera.get_distortions(), flags=cv2.SOLVEPNP_IPPE)
        if not ok:
            return None, None
        return rvec.reshape(3, 1), tvec.reshape(3, 1)
