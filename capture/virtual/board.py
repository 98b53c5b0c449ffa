"""Render the calibration board: hand-held ChArUco videos and the floor still of every camera.

The board's image comes from OpenCV (``cv2.aruco.CharucoBoard.generateImage``) so its layout is
exactly the one OpenCV and aniposelib detect. It is a textured plane: every pixel ray of the
(distorted) camera is intersected with the board plane and the texture is sampled with
``cv2.remap`` at twice the resolution, then area-averaged (anti-aliasing).

Board frame (OpenCV's object frame): origin at the printed board's outer top-left corner,
x along ``squares_x``, y down the printed page, z into the board. A pose maps board points
to the lab as ``lab = translation_mm + rotation @ board``. The floor board of the virtual lab
defines the lab frame (agreed with calibration): ``rotation = diag(1, -1, -1)``,
``translation_mm = 0``, so the board lies at z = 0 extending to +x and -y, its printed face up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from liftlab.capture.session import BoardSpec
from liftlab.capture.virtual.render import Backdrop, RenderSettings, write_video
from liftlab.core.cameras import Camera, Rig
from liftlab.core.errors import InputError

#: The virtual lab's board: a 7 x 5 ChArUco printed large (1.4 m x 1.0 m, e.g. on foam
#: board). Measured: smaller boards (110/80 mm or 160/120 mm squares/markers) lying on the
#: floor are too foreshortened for 640 x 480 cameras 3.5 m away (ArUco cells under 2 px),
#: so some cameras find few or no corners in their floor still.
VIRTUAL_BOARD = BoardSpec(type="charuco", squares_x=7, squares_y=5, square_mm=200.0,
                          marker_mm=150.0, dictionary="DICT_4X4_50")

DEFAULT_SETTINGS = RenderSettings()

#: Floor board pose: lab = (x_b, -y_b, -z_b).
FLOOR_ROTATION = np.diag([1.0, -1.0, -1.0])


def charuco_board(spec: BoardSpec) -> cv2.aruco.CharucoBoard:
    """The OpenCV ChArUco board of ``spec`` (lengths in mm)."""
    if spec.type != "charuco":
        raise InputError(f"Expected a charuco board, but got type {spec.type!r}",
                         where="[board] in session.toml", fix="set type = \"charuco\"")
    name = spec.dictionary
    if not hasattr(cv2.aruco, name):
        raise InputError(f"Unknown ArUco dictionary {name!r}", where="[board] in session.toml",
                         fix="use an OpenCV name such as DICT_4X4_50 or DICT_5X5_100")
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))
    return cv2.aruco.CharucoBoard((spec.squares_x, spec.squares_y), spec.square_mm,
                                  spec.marker_mm, dictionary)


@dataclass(frozen=True)
class BoardPose:
    """Where the board is: ``lab = translation_mm + rotation @ board_point`` (mm)."""

    rotation: np.ndarray
    translation_mm: np.ndarray


class BoardRenderer:
    """Renders the board of ``spec`` at given poses for one camera, over the lab backdrop.

    Parameters
    ----------
    camera
        The (true) camera.
    spec
        The ChArUco board.
    margin_mm
        White border around the squares (defaults to half a square).
    texels_per_square
        Texture resolution.
    """

    def __init__(self, camera: Camera, spec: BoardSpec, *, margin_mm: float | None = None,
                 texels_per_square: int = 48, settings: RenderSettings = DEFAULT_SETTINGS,
                 backdrop: Backdrop | None = None):
        self.camera = camera
        self.spec = spec
        self.margin_mm = spec.square_mm / 2 if margin_mm is None else float(margin_mm)
        board = charuco_board(spec)
        self.texels_per_mm = texels_per_square / spec.square_mm
        size = (spec.squares_x * texels_per_square, spec.squares_y * texels_per_square)
        self.texture = board.generateImage(size, marginSize=0, borderBits=1)
        self.settings = settings
        self.backdrop = backdrop if backdrop is not None else Backdrop(camera, settings=settings)
        self._rays2 = _subpixel_rays(camera)  # 2x supersampling, exact distortion
        self._bg2 = cv2.resize(self.backdrop.image, None, fx=2, fy=2,
                               interpolation=cv2.INTER_NEAREST)
        self._bg_depth2 = cv2.resize(self.backdrop.depth, None, fx=2, fy=2,
                                     interpolation=cv2.INTER_NEAREST)

    def render(self, pose: BoardPose) -> np.ndarray:
        """One BGR uint8 frame with the board at ``pose``."""
        rot = np.asarray(pose.rotation, float)
        t0 = np.asarray(pose.translation_mm, float)
        o = self.camera.center_mm
        normal = rot[:, 2]
        w_mm = self.spec.squares_x * self.spec.square_mm
        h_mm = self.spec.squares_y * self.spec.square_mm
        m = self.margin_mm
        img = self._bg2.copy()
        window = self._window(rot, t0, w_mm, h_mm, m)
        if window is not None:
            y0, y1, x0, x1 = window
            d = self._rays2[y0:y1, x0:x1].astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = ((t0 - o) @ normal) / (d @ normal)
                rel = (o - t0) + t[..., None] * d
                u = rel @ rot[:, 0]
                v = rel @ rot[:, 1]
                on = ((t > 0) & (u >= -m) & (u <= w_mm + m) & (v >= -m) & (v <= h_mm + m)
                      & (t < self._bg_depth2[y0:y1, x0:x1] + 1.0))
            if on.any():
                if float((o - t0) @ (-normal)) > 0:  # printed face toward the camera
                    map_x = np.where(on, u * self.texels_per_mm - 0.5, -1).astype(np.float32)
                    map_y = np.where(on, v * self.texels_per_mm - 0.5, -1).astype(np.float32)
                    tex = cv2.remap(self.texture, map_x, map_y, cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=255)
                else:
                    tex = np.full(on.shape, 90, np.uint8)
                light = np.asarray(self.settings.light_dir, float)
                shade = 0.8 + 0.2 * abs(float(normal @ light)) / np.linalg.norm(light)
                img[y0:y1, x0:x1][on] = (tex[on].astype(np.float32) * shade)[:, None]
        img = cv2.resize(img, self.camera.size, interpolation=cv2.INTER_AREA)
        frame = np.clip(img, 0, 255).astype(np.uint8)
        if self.settings.blur_sigma_px > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), self.settings.blur_sigma_px * 0.7)
        return frame

    def _window(self, rot: np.ndarray, t0: np.ndarray, w_mm: float, h_mm: float,
                m: float) -> tuple[int, int, int, int] | None:
        """Rows and columns of the 2x grid the board can cover (None: out of view)."""
        corners = np.array([[-m, -m, 0], [w_mm + m, -m, 0], [w_mm + m, h_mm + m, 0],
                            [-m, h_mm + m, 0]]) @ rot.T + t0
        depth = self.camera.depth_mm(corners)
        height2, width2 = self._bg_depth2.shape
        if np.all(depth <= 0):
            return None
        if np.any(depth <= 50.0):
            return 0, height2, 0, width2
        px = self.camera.project(corners) * 2.0 + 0.5
        x0 = int(max(np.floor(px[:, 0].min()) - 8, 0))
        x1 = int(min(np.ceil(px[:, 0].max()) + 8, width2))
        y0 = int(max(np.floor(px[:, 1].min()) - 8, 0))
        y1 = int(min(np.ceil(px[:, 1].max()) + 8, height2))
        return (y0, y1, x0, x1) if x1 > x0 and y1 > y0 else None


def _subpixel_rays(camera: Camera) -> np.ndarray:
    """Unit lab-frame rays through the centres of a 2x supersampled pixel grid (2H, 2W, 3)."""
    width, height = camera.size
    xs, ys = np.meshgrid(np.arange(2 * width) / 2.0 - 0.25, np.arange(2 * height) / 2.0 - 0.25)
    pix = np.stack([xs.ravel(), ys.ravel()], axis=1).reshape(-1, 1, 2)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-12)
    norm = cv2.undistortPointsIter(pix, camera.matrix, camera.distortions, None, None,
                                   criteria).reshape(-1, 2)
    dirs = np.concatenate([norm, np.ones((norm.shape[0], 1))], axis=1) @ camera.R
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    return dirs.reshape(2 * height, 2 * width, 3).astype(np.float32)


def floor_pose(spec: BoardSpec) -> BoardPose:
    """The board lying on the floor at the lab origin, printed face up (defines the lab)."""
    return BoardPose(FLOOR_ROTATION.copy(), np.zeros(3))


def _rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Board rotation for a board held upright facing azimuth ``yaw_deg`` (from +X to +Y),
    tilted back by ``pitch_deg`` and turned in its plane by ``roll_deg``."""
    yaw, pitch, roll = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    facing = np.array([math.cos(yaw), math.sin(yaw), 0.0])  # printed face points here
    right = np.array([-math.sin(yaw), math.cos(yaw), 0.0])  # board x, seen from the front
    down = np.array([0.0, 0.0, -1.0])                       # board y (down the page)
    # tilt back about the board x axis: the top goes away from the viewer
    c, s = math.cos(pitch), math.sin(pitch)
    down_t = c * down - s * facing
    facing_t = c * facing + s * down
    c, s = math.cos(roll), math.sin(roll)
    x_axis = c * right + s * down_t
    y_axis = -s * right + c * down_t
    z_axis = -facing_t  # z into the board
    return np.stack([x_axis, y_axis, z_axis], axis=1)


def hand_held_poses(spec: BoardSpec, rig: Rig, *, n_frames: int,
                    target_mm: tuple[float, float, float] = (0.0, 0.0, 1000.0),
                    seed: int = 0) -> list[BoardPose]:
    """Board poses of a technician walking the board through the capture volume.

    Key poses face, in turn, each camera and each point between two neighbouring cameras (so
    2+ cameras see the board at a time), with random tilt (+-35 deg), in-plane turn
    (+-25 deg) and position (+-500 mm across, 750-1450 mm high at ``target_mm`` 1000 mm); frames between key poses
    are smooth (cosine) blends.
    """
    rng = np.random.default_rng(seed)
    target = np.asarray(target_mm, float)
    az = []
    for cam in rig.cameras:
        c = cam.center_mm - target
        az.append(math.degrees(math.atan2(c[1], c[0])))
    az_sorted = sorted(az)
    facings = []
    for i, a in enumerate(az_sorted):
        facings.append(a)
        if i + 1 < len(az_sorted):
            facings.append((a + az_sorted[i + 1]) / 2)
    n_keys = max(len(facings) + 1, n_frames // 10)  # every facing at least once
    keys = []
    for k in range(n_keys):
        yaw = facings[k % len(facings)] + rng.uniform(-15, 15)
        pitch = rng.uniform(-35, 35)
        roll = rng.uniform(-25, 25)
        centre = target + np.array([rng.uniform(-500, 500), rng.uniform(-500, 500),
                                    rng.uniform(-250, 450)])
        keys.append((yaw, pitch, roll, centre))
    poses = []
    w_mm = spec.squares_x * spec.square_mm
    h_mm = spec.squares_y * spec.square_mm
    for f in range(n_frames):
        x = f * (n_keys - 1) / max(n_frames - 1, 1)
        i = min(int(x), n_keys - 2)
        a = 0.5 - 0.5 * math.cos(math.pi * (x - i))
        k0, k1 = keys[i], keys[i + 1]
        yaw = k0[0] + a * ((k1[0] - k0[0] + 180) % 360 - 180)
        pitch = k0[1] + a * (k1[1] - k0[1])
        roll = k0[2] + a * (k1[2] - k0[2])
        centre = k0[3] + a * (k1[3] - k0[3])
        rot = _rotation(yaw, pitch, roll)
        origin = centre - rot @ np.array([w_mm / 2, h_mm / 2, 0.0])
        poses.append(BoardPose(rot, origin))
    return poses


def write_board_videos(spec: BoardSpec, rig: Rig, out_dir: str | Path, *, fps: float,
                       n_frames: int = 120, seed: int = 0,
                       target_mm: tuple[float, float, float] = (0.0, 0.0, 1000.0),
                       settings: RenderSettings = DEFAULT_SETTINGS,
                       progress: Callable[[int], object] | None = None) -> list[Path]:
    """Write ``out_dir/<camera>.mp4`` (hand-held board) and ``out_dir/floor/<camera>.png``
    (board on the floor at the lab origin) for every camera of ``rig``.

    Returns
    -------
    list of Path
        The videos, in rig order.
    """
    out = Path(out_dir)
    poses = hand_held_poses(spec, rig, n_frames=n_frames, target_mm=target_mm, seed=seed)
    paths = []
    for cam in rig.cameras:
        renderer = BoardRenderer(cam, spec, settings=settings)
        floor_dir = out / "floor"
        floor_dir.mkdir(parents=True, exist_ok=True)
        still = renderer.render(floor_pose(spec))
        if not cv2.imwrite(str(floor_dir / f"{cam.name}.png"), still):
            raise InputError(f"Could not write {floor_dir / (cam.name + '.png')}",
                             fix="check the folder is writable")
        paths.append(write_video(out / f"{cam.name}.mp4", (renderer.render(p) for p in poses),
                                 cam.size, fps, progress))
    return paths


def detect_charuco(image_bgr: np.ndarray, spec: BoardSpec) -> tuple[np.ndarray, np.ndarray]:
    """ChArUco corners found by ``cv2.aruco.CharucoDetector``: (ids (N,), corners_px (N, 2))."""
    detector = cv2.aruco.CharucoDetector(charuco_board(spec))
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY) if image_bgr.ndim == 3 else image_bgr
    corners, ids, _, _ = detector.detectBoard(grey)
    if ids is None or len(ids) == 0:
        return np.zeros(0, int), np.zeros((0, 2))
    return ids.ravel().astype(int), corners.reshape(-1, 2).astype(float)
