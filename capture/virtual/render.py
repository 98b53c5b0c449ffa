"""Render the virtual athlete: a shaded mannequin that MediaPipe BlazePose detects.

The mannequin (:mod:`liftlab.capture.virtual.mannequin`) is a list of analytic primitives
(:mod:`liftlab.capture.virtual.shapes`) rebuilt for every frame. Each camera image is ray cast
per pixel: the rays through every pixel centre are precomputed once per camera from
``cv2.undistortPoints``, so the lens distortion is exact, and each primitive is only tested
against the pixels of its projected bounding box. Shading is Lambert + ambient + a weak
headlight, over a static backdrop (textured floor, plain cylindrical wall) rendered once per
camera.

Hand-written because no maintained Python library ray casts analytic primitives through an
OpenCV-distorted camera: OpenGL-based renderers (pyrender, moderngl) need a GPU/EGL context
and a pinhole camera, so distortion would need an extra warp.

Hands on ``<camera>.mp4`` videos (:func:`write_videos`) and single frames
(:meth:`MannequinRenderer.render`, BGR uint8). The primitives and mannequin names are
re-exported here, so ``liftlab.capture.virtual.render`` stays the one import for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from liftlab.capture.virtual.cameras import pixel_rays
from liftlab.capture.virtual.mannequin import (
    ANATOMY,
    MATERIAL_BGR,
    MATERIAL_ID,
    MATERIALS,
    SurfaceAnatomy,
    build_mannequin,
    surface_points,
)
from liftlab.capture.virtual.shapes import Ellipsoid, Primitive, RoundCone, sphere, unit
from liftlab.core.cameras import Camera, Rig
from liftlab.core.errors import InputError, check_all
from liftlab.core.landmarks import INDEX, N_LANDMARKS

__all__ = [
    "ANATOMY",
    "MATERIALS",
    "Backdrop",
    "Ellipsoid",
    "MannequinRenderer",
    "Primitive",
    "RenderSettings",
    "RoundCone",
    "SurfaceAnatomy",
    "build_mannequin",
    "frames",
    "open_video_writer",
    "reference_pose",
    "sphere",
    "surface_points",
    "write_video",
    "write_videos",
]


@dataclass(frozen=True)
class RenderSettings:
    """How frames look. Light directions point toward the light (lab frame, unnormalised).

    Attributes
    ----------
    ambient, diffuse, headlight
        Shading weights (each 0-1): constant, Lambert from ``light_dir``, Lambert from the
        camera.
    light_dir
        Direction toward the key light.
    wall_radius_mm
        Radius of the cylindrical wall around the lab origin.
    floor_tile_mm
        Side of the floor's checker tiles.
    blur_sigma_px
        Gaussian blur of the finished frame (soft edges, as a real lens); 0 = none.
    noise_sd
        Standard deviation of added sensor noise (grey levels); 0 = none.
    """

    ambient: float = 0.45
    diffuse: float = 0.5
    headlight: float = 0.25
    light_dir: tuple[float, float, float] = (0.4, -0.3, 1.0)
    wall_radius_mm: float = 7000.0
    floor_tile_mm: float = 500.0
    blur_sigma_px: float = 0.7
    noise_sd: float = 0.0

    def __post_init__(self) -> None:
        problems = [f"{k} must lie in 0-1, got {getattr(self, k)}"
                    for k in ("ambient", "diffuse", "headlight")
                    if not 0.0 <= getattr(self, k) <= 1.0]
        if self.wall_radius_mm <= 0 or self.floor_tile_mm <= 0:
            problems.append("wall_radius_mm and floor_tile_mm must be positive")
        if self.blur_sigma_px < 0 or self.noise_sd < 0:
            problems.append("blur_sigma_px and noise_sd must be >= 0")
        check_all(problems, where="RenderSettings")



class Backdrop:
    """The static scene of one camera: floor (z = 0, grey checker tiles) and a plain
    cylindrical wall, with the pixel rays and the depth of every pixel."""

    def __init__(self, camera: Camera, *, settings: RenderSettings = RenderSettings()):
        self.camera = camera
        self.settings = settings
        self.origin = camera.center_mm.astype(np.float64)
        self.rays = pixel_rays(camera)
        self.image, self.depth = self._render()

    def _render(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.settings
        d = self.rays.astype(np.float64)
        o = self.origin
        with np.errstate(divide="ignore", invalid="ignore"):
            t_floor = np.where(d[..., 2] < -1e-6, -o[2] / d[..., 2], np.inf)
        # wall: |o_xy + t d_xy| = R (camera inside the cylinder, far root)
        a = d[..., 0] ** 2 + d[..., 1] ** 2
        b = o[0] * d[..., 0] + o[1] * d[..., 1]
        c = o[0] ** 2 + o[1] ** 2 - s.wall_radius_mm ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            t_wall = (-b + np.sqrt(np.maximum(b * b - a * c, 0))) / a
        t_wall = np.where(a > 1e-12, t_wall, np.inf)
        floor = t_floor < t_wall
        depth = np.minimum(t_floor, t_wall)
        hit = o + depth[..., None] * d
        img = np.empty(depth.shape + (3,), np.float32)
        tile = (np.floor(hit[..., 0] / s.floor_tile_mm) + np.floor(hit[..., 1] / s.floor_tile_mm)) % 2
        grain = 6.0 * np.sin(hit[..., 0] * 0.05) * np.sin(hit[..., 1] * 0.031)
        floor_grey = 128.0 + 16.0 * tile + grain
        img[floor] = np.stack([floor_grey[floor] * 0.95, floor_grey[floor],
                               floor_grey[floor] * 1.02], axis=1)
        z = np.clip(hit[..., 2], 0, None)
        wall_grey = np.where(z < 120, 175.0, 205.0 - 0.004 * z)
        wall = ~floor
        img[wall] = np.stack([wall_grey[wall] * 0.92, wall_grey[wall] * 0.97,
                              wall_grey[wall]], axis=1)
        return img, depth.astype(np.float32)


class MannequinRenderer:
    """Renders mannequin frames for one camera (the backdrop and rays are computed once).

    Examples
    --------
    >>> renderer = MannequinRenderer(rig.cameras[0])        # doctest: +SKIP
    >>> frame_bgr = renderer.render(truth.landmarks_mm[0])  # doctest: +SKIP
    """

    def __init__(self, camera: Camera, *, settings: RenderSettings = RenderSettings(),
                 bar: bool = False, seed: int = 0):
        self.camera = camera
        self.settings = settings
        self.bar = bar
        self.backdrop = Backdrop(camera, settings=settings)
        self._rng = np.random.default_rng(seed)
        self._light = unit(np.asarray(settings.light_dir, float)).astype(np.float32)

    def _boxes(self, prims: list[Primitive]) -> list[tuple[int, int, int, int] | None]:
        cam = self.camera
        centres = np.array([c for prim in prims for c, _ in prim.bounds()])
        radii = np.array([r for prim in prims for _, r in prim.bounds()])
        counts = [len(prim.bounds()) for prim in prims]
        depth = cam.depth_mm(centres)
        px = cam.project(centres)
        focal = float(cam.matrix[0, 0])
        width, height = cam.size
        boxes: list[tuple[int, int, int, int] | None] = []
        k = 0
        for n in counts:
            d, q, r = depth[k:k + n], px[k:k + n], radii[k:k + n]
            k += n
            if np.any(d < r + 10.0) or not np.all(np.isfinite(q)):
                boxes.append(None if np.all(d < -r) else (0, height, 0, width))
                continue
            pad = 1.25 * focal * r / (d - r) + 3.0
            x0 = int(max(np.floor(np.min(q[:, 0] - pad)), 0))
            x1 = int(min(np.ceil(np.max(q[:, 0] + pad)) + 1, width))
            y0 = int(max(np.floor(np.min(q[:, 1] - pad)), 0))
            y1 = int(min(np.ceil(np.max(q[:, 1] + pad)) + 1, height))
            boxes.append((y0, y1, x0, x1) if x1 > x0 and y1 > y0 else None)
        return boxes

    def render(self, landmarks_mm: np.ndarray) -> np.ndarray:
        """One BGR uint8 frame of the mannequin posed by ``landmarks_mm`` (33, 3).

        A frame with any non-finite landmark shows the empty backdrop.
        """
        pts = np.asarray(landmarks_mm, float)
        if pts.shape != (N_LANDMARKS, 3):
            raise InputError(f"Expected landmarks of shape ({N_LANDMARKS}, 3), but got {pts.shape}",
                             where=f"camera {self.camera.name!r}",
                             fix="pass one frame of the 33 MediaPipe landmarks in mm")
        bd = self.backdrop
        depth = bd.depth.copy()
        material = np.full(depth.shape, -1, np.int16)
        normal = np.zeros(depth.shape + (3,), np.float32)
        prims = build_mannequin(pts, bar=self.bar) if np.all(np.isfinite(pts)) else []
        box_all = None
        for prim, box in zip(prims, self._boxes(prims) if prims else [], strict=True):
            if box is None:
                continue
            y0, y1, x0, x1 = box
            rays = bd.rays[y0:y1, x0:x1]
            t, normals = prim.intersect(bd.origin, rays)
            win = depth[y0:y1, x0:x1]
            closer = t < win
            if not closer.any():
                continue
            win[closer] = t[closer]
            material[y0:y1, x0:x1][closer] = MATERIAL_ID[prim.material]
            normal[y0:y1, x0:x1][closer] = normals(closer)
            box_all = box if box_all is None else (min(box_all[0], y0), max(box_all[1], y1),
                                                   min(box_all[2], x0), max(box_all[3], x1))
        image = bd.image.copy()
        if box_all is not None:
            y0, y1, x0, x1 = box_all
            mat = material[y0:y1, x0:x1]
            body = mat >= 0
            n = normal[y0:y1, x0:x1][body]
            rays = bd.rays[y0:y1, x0:x1][body]
            s = self.settings
            light = (s.ambient + s.diffuse * np.maximum(n @ self._light, 0.0)
                     + s.headlight * np.maximum(-np.einsum("ij,ij->i", n, rays), 0.0))
            image[y0:y1, x0:x1][body] = MATERIAL_BGR[mat[body]] * light[:, None]
        if self.settings.noise_sd > 0:
            image += self._rng.normal(0.0, self.settings.noise_sd, image.shape).astype(np.float32)
        frame = np.clip(image, 0, 255).astype(np.uint8)
        if self.settings.blur_sigma_px > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), self.settings.blur_sigma_px)
        return frame


def open_video_writer(path: Path, size: tuple[int, int], fps: float) -> cv2.VideoWriter:
    """An mp4v ``cv2.VideoWriter``; a clear error when OpenCV cannot write there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps),
                             (int(size[0]), int(size[1])))
    if not writer.isOpened():
        raise InputError(f"OpenCV cannot write an mp4v video to {path}",
                         fix="check the folder is writable and OpenCV has FFmpeg support")
    return writer


def write_video(path: Path, frames: Iterable[np.ndarray], size: tuple[int, int], fps: float,
                progress: Callable[[int], object] | None = None) -> Path:
    """Write BGR ``frames`` to an mp4v video at ``path``, calling ``progress(1)`` per frame."""
    writer = open_video_writer(path, size, fps)
    try:
        for frame in frames:
            writer.write(frame)
            if progress is not None:
                progress(1)
    finally:
        writer.release()
    return path


def write_videos(landmarks_mm: np.ndarray, rig: Rig, out_dir: str | Path, *, fps: float,
                 settings: RenderSettings = RenderSettings(), bar: bool = False,
                 progress: Callable[[int], object] | None = None) -> list[Path]:
    """Render every frame of ``landmarks_mm`` (F, 33, 3) from every camera of ``rig`` into
    ``out_dir/<camera>.mp4`` (mp4v, ``fps``).

    Parameters
    ----------
    landmarks_mm
        Landmark trajectories in the lab frame (mm), MediaPipe order.
    rig
        The (true) cameras.
    out_dir
        Folder of the videos (created).
    fps
        Frame rate written in the videos.
    settings, bar
        Look of the frames; ``bar`` adds a barbell across the shoulders.
    progress
        Called with the number of frames just rendered (e.g. ``tqdm.update``).

    Returns
    -------
    list of Path
        The videos, in rig order.
    """
    pts = np.asarray(landmarks_mm, float)
    check_all([] if pts.ndim == 3 and pts.shape[1:] == (N_LANDMARKS, 3) else
              [f"expected landmarks of shape (F, {N_LANDMARKS}, 3), but got {pts.shape}"],
              where="write_videos", fix="pass MotionTruth.landmarks_mm")
    out = Path(out_dir)
    paths = []
    for cam in rig.cameras:
        renderer = MannequinRenderer(cam, settings=settings, bar=bar)
        paths.append(write_video(out / f"{cam.name}.mp4", (renderer.render(f) for f in pts),
                                 cam.size, fps, progress))
    return paths


def frames(landmarks_mm: Iterable[np.ndarray], camera: Camera, *,
           settings: RenderSettings = RenderSettings(), bar: bool = False):
    """Yield BGR frames of ``camera`` for each (33, 3) landmark frame (no file written)."""
    renderer = MannequinRenderer(camera, settings=settings, bar=bar)
    for pts in landmarks_mm:
        yield renderer.render(pts)


def reference_pose(*, facing_deg: float = 90.0, squat: float = 0.0,
                   position_mm: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """A simple 1.75 m athlete's 33 landmarks (mm, lab frame), standing (``squat=0``) or
    squatting to about 100 deg of knee flexion (``squat=1``), facing ``facing_deg`` (azimuth
    from +X toward +Y). For tests and benchmarks of the renderer, independent of the body
    model.
    """
    shank, thigh, trunk = 420.0, 430.0, 520.0
    a_shank = math.radians(35.0 * squat)
    a_thigh = math.radians(95.0 * squat)
    a_trunk = math.radians(40.0 * squat)
    local: dict[str, tuple[float, float, float]] = {}
    for side, y in (("left", 1.0), ("right", -1.0)):
        ankle = np.array([0.0, 100.0 * y, 80.0])
        knee = ankle + shank * np.array([math.sin(a_shank), 0.0, math.cos(a_shank)])
        hip = knee + thigh * np.array([-math.sin(a_thigh), 0.0, math.cos(a_thigh)])
        hip[1] = 95.0 * y
        local[f"{side}_ankle"] = tuple(ankle)
        local[f"{side}_heel"] = (-50.0, 100.0 * y, 35.0)
        local[f"{side}_foot_index"] = (160.0, 110.0 * y, 20.0)
        local[f"{side}_knee"] = tuple(knee)
        local[f"{side}_hip"] = tuple(hip)
    mid_hip = (np.array(local["left_hip"]) + np.array(local["right_hip"])) / 2
    tr_up = np.array([math.sin(a_trunk), 0.0, math.cos(a_trunk)])
    tr_fwd = np.array([math.cos(a_trunk), 0.0, -math.sin(a_trunk)])
    neck = mid_hip + trunk * tr_up
    head = {"nose": (95, 0, 180), "left_eye_inner": (80, 15, 215), "left_eye": (78, 32, 217),
            "left_eye_outer": (72, 45, 216), "left_ear": (0, 75, 190),
            "mouth_left": (85, 25, 145)}
    for name, (f, lat, u) in head.items():
        for nm, sgn in ((name, 1.0), (name.replace("left", "right"), -1.0)):
            local[nm] = tuple(neck + f * tr_fwd + np.array([0, sgn * lat, 0]) + u * tr_up)
    arm = {"shoulder": (0, 180, 0), "elbow": (0, 200, -290), "wrist": (20, 215, -550),
           "pinky": (25, 220, -640), "index": (45, 205, -650), "thumb": (50, 195, -610)}
    for name, (f, lat, u) in arm.items():
        for side, sgn in (("left", 1.0), ("right", -1.0)):
            local[f"{side}_{name}"] = tuple(neck + np.array([f, sgn * lat, u]))
    pts = np.array([local[name] for name in INDEX], float)
    a = math.radians(facing_deg)
    rot = np.array([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0],
                    [0.0, 0.0, 1.0]])
    return pts @ rot.T + np.array([position_mm[0], position_mm[1], 0.0])
