"""A small synthetic ChArUco rig for calibration tests and benchmarks (not the virtual lab).

Renders a board, warped by its exact homography (pinhole, no distortion), into the views of a
known :class:`~liftlab.core.cameras.Rig`, so that calibration can be checked against truth
without the full virtual-lab renderer.  Everything is generated from a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from liftlab.calibration.boards import Board
from liftlab.capture.session import BoardSpec, SessionConfig, create_session
from liftlab.core.cameras import Camera, Rig

_BOARD_TO_LAB = np.diag([1.0, -1.0, -1.0])


def look_at(name: str, center_mm, target_mm, *, size=(1280, 720), focal_px: float = 1000.0,
            principal_offset_px=(0.0, 0.0)) -> Camera:
    """A distortion-free camera at ``center_mm`` looking at ``target_mm`` (lab Z up)."""
    c = np.asarray(center_mm, float)
    z = np.asarray(target_mm, float) - c
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    r = np.stack([x, y, z])
    k = np.array([[focal_px, 0, size[0] / 2 + principal_offset_px[0]],
                  [0, focal_px, size[1] / 2 + principal_offset_px[1]], [0, 0, 1]])
    return Camera(name, size, k, np.zeros(5), cv2.Rodrigues(r)[0].ravel(), -r @ c)


def ring_rig(n_cameras: int = 4, *, radius_mm: float = 2600.0, height_mm: float = 1600.0,
             size=(1280, 720), focal_px: float = 1000.0) -> Rig:
    """Cameras evenly on a ring around the lab origin, looking at (0, 0, 800) mm."""
    cams = []
    for i in range(n_cameras):
        a = 2 * np.pi * i / n_cameras + 0.3
        cams.append(look_at(f"cam{i + 1}", (radius_mm * np.cos(a), radius_mm * np.sin(a),
                                            height_mm), (0, 0, 800), size=size,
                            focal_px=focal_px * (1 + 0.05 * i),
                            principal_offset_px=(8.0 * i - 10, 5.0 - 4.0 * i)))
    return Rig(tuple(cams))


@dataclass(frozen=True)
class BoardPose:
    """Board-to-lab rigid pose: ``x_lab = rotation @ x_board + translation_mm``."""

    rotation: np.ndarray
    translation_mm: np.ndarray


def random_board_poses(n: int, board: Board, *, seed: int = 0,
                       center_mm=(0.0, 0.0, 1000.0), spread_mm=(900.0, 900.0, 500.0)
                       ) -> list[BoardPose]:
    """Board held up and moved about: random heading, tilt up to ~35 deg, random position."""
    rng = np.random.default_rng(seed)
    w, h = board.size_mm
    poses = []
    for _ in range(n):
        yaw = rng.uniform(-np.pi, np.pi)
        tilt = rng.normal(0, 0.35, 2)
        roll = rng.uniform(-0.5, 0.5)
        # upright board facing direction (cos yaw, sin yaw, 0): board x horizontal, y down
        normal = np.array([np.cos(yaw), np.sin(yaw), 0.0])
        bx = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
        by = np.array([0.0, 0.0, -1.0])
        bz = -normal  # z into the board, away from the viewer it faces
        r = np.stack([bx, by, bz], axis=1)
        tweak = cv2.Rodrigues(np.array([tilt[0], tilt[1], roll]))[0]
        r = r @ tweak
        centre = np.asarray(center_mm) + rng.uniform(-1, 1, 3) * np.asarray(spread_mm)
        t = centre - r @ np.array([w / 2, h / 2, 0.0])
        poses.append(BoardPose(r, t))
    return poses


def floor_pose() -> BoardPose:
    """The board lying face up on the floor with its corner at the lab origin."""
    return BoardPose(_BOARD_TO_LAB.T, np.zeros(3))


def render_view(camera: Camera, board: Board, pose: BoardPose, *, px_per_mm: float = 2.0,
                margin_mm: float = 15.0, background: int = 110,
                noise_sigma: float = 2.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """Grey image of the board in ``pose`` seen by ``camera`` (board back side: blank)."""
    w, h = camera.size
    img = np.full((h, w), background, np.uint8)
    r_cb = camera.R @ pose.rotation
    t_cb = camera.R @ pose.translation_mm + camera.translation_mm
    facing = r_cb[:, 2] @ (r_cb @ np.array([*board.size_mm, 0]) / 2 + t_cb) > 0
    corners_b = np.array([[-margin_mm, -margin_mm, 0], [board.size_mm[0] + margin_mm, -margin_mm, 0],
                          [board.size_mm[0] + margin_mm, board.size_mm[1] + margin_mm, 0],
                          [-margin_mm, board.size_mm[1] + margin_mm, 0]])
    depth = (corners_b @ r_cb.T + t_cb)[:, 2]
    if facing and np.all(depth > 100):
        tex = board.render(px_per_mm=px_per_mm, margin_mm=margin_mm)
        # texture pixel centre (u, v) -> board mm ((u + 0.5) / ppm - margin, ...): OpenCV
        # draws the squares' edges on pixel boundaries
        off = 0.5 / px_per_mm - margin_mm
        s = np.array([[1 / px_per_mm, 0, off], [0, 1 / px_per_mm, off], [0, 0, 1]])
        hom = camera.matrix @ np.column_stack([r_cb[:, 0], r_cb[:, 1], t_cb]) @ s
        mask = cv2.warpPerspective(np.full_like(tex, 255), hom, (w, h), flags=cv2.INTER_LINEAR)
        warped = cv2.warpPerspective(tex, hom, (w, h), flags=cv2.INTER_AREA)
        img = np.where(mask > 127, warped, img).astype(np.uint8)
    if noise_sigma > 0:
        rng = rng or np.random.default_rng(0)
        img = np.clip(img + rng.normal(0, noise_sigma, img.shape), 0, 255).astype(np.uint8)
    return img


def write_session(root: str | Path, rig: Rig, spec: BoardSpec, *, n_views: int = 60,
                  seed: int = 0, as_video: bool = False, fps: float = 30.0,
                  floor: bool = True) -> Path:
    """A session folder with synthetic calibration views, floor stills and ``truth/rig.toml``.

    ``as_video`` writes ``calibration/<camera>.mp4`` (mp4v); otherwise
    ``calibration/<camera>/000.png`` ... (frame ``i`` of every camera is the same instant).
    """
    root = Path(root)
    board = Board(spec)
    create_session(root, SessionConfig(athlete="Synthetic", date="2026-01-01",
                                       cameras=tuple(rig.names), fps=fps, board=spec))
    rng = np.random.default_rng(seed)
    poses = random_board_poses(n_views, board, seed=seed)
    cal = root / "calibration"
    for cam in rig.cameras:
        writer = None
        if as_video:
            writer = cv2.VideoWriter(str(cal / f"{cam.name}.mp4"),
                                     cv2.VideoWriter_fourcc(*"mp4v"), fps, cam.size)
        else:
            (cal / cam.name).mkdir(parents=True, exist_ok=True)
        for i, pose in enumerate(poses):
            img = render_view(cam, board, pose, rng=rng)
            if writer is not None:
                writer.write(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
            else:
                cv2.imwrite(str(cal / cam.name / f"{i:04d}.png"), img)
        if writer is not None:
            writer.release()
        if floor:
            (cal / "floor").mkdir(exist_ok=True)
            cv2.imwrite(str(cal / "floor" / f"{cam.name}.png"),
                        render_view(cam, board, floor_pose(), rng=rng))
    rig.save(root / "truth" / "rig.toml")
    return root
