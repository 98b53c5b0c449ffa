"""Render the virtual athlete: a shaded mannequin that MediaPipe BlazePose detects.

The mannequin is built, frame by frame, from the 33 landmarks (lab frame, mm) as tapered
capsules ("round cones": the convex hull of two spheres) for limbs, trunk and feet, and
ellipsoids for head, hair, buttocks and hands, with a face (eyes, nose, mouth) because
BlazePose's person detector keys on the face. Each camera image is ray cast per pixel: the
rays through every pixel centre are precomputed once per camera from ``cv2.undistortPoints``,
so the lens distortion is exact, and each primitive is only tested against the pixels of its
projected bounding box. Shading is Lambert + ambient + a weak headlight, over a static
backdrop (textured floor, plain cylindrical wall) rendered once per camera.

Hand-written because no maintained Python library ray casts analytic primitives through an
OpenCV-distorted camera: OpenGL-based renderers (pyrender, moderngl) need a GPU/EGL context
and a pinhole camera, so distortion would need an extra warp.

Hands on ``<camera>.mp4`` videos (:func:`write_videos`) and single frames
(:meth:`MannequinRenderer.render`, BGR uint8).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from liftlab.capture.virtual.cameras import pixel_rays
from liftlab.core.cameras import Camera, Rig
from liftlab.core.errors import InputError, check_all
from liftlab.core.landmarks import INDEX, N_LANDMARKS

# Material colours, BGR. Left and right differ a little in shade, as real clothes do.
MATERIALS: dict[str, tuple[int, int, int]] = {
    "skin": (140, 172, 224),
    "skin_left": (146, 178, 230),
    "skin_right": (134, 166, 218),
    "hair": (35, 45, 70),
    "eye": (40, 30, 30),
    "mouth": (70, 60, 160),
    "shirt": (165, 85, 40),
    "sleeve_left": (175, 95, 45),
    "sleeve_right": (155, 78, 35),
    "shorts": (50, 42, 40),
    "shorts_left": (56, 46, 44),
    "shorts_right": (46, 38, 36),
    "sock": (225, 228, 230),
    "shoe_left": (45, 55, 200),
    "shoe_right": (40, 50, 185),
    "bar": (120, 120, 125),
}
_MATERIAL_ID = {name: i for i, name in enumerate(MATERIALS)}
_MATERIAL_BGR = np.array(list(MATERIALS.values()), dtype=np.float32)


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


# ----------------------------------------------------------------------------- primitives
@dataclass(frozen=True)
class RoundCone:
    """Convex hull of a sphere of radius ``ra`` at ``a`` and one of radius ``rb`` at ``b``."""

    a: np.ndarray
    b: np.ndarray
    ra: float
    rb: float
    material: str

    def bounds(self) -> list[tuple[np.ndarray, float]]:
        return [(self.a, self.ra), (self.b, self.rb)]

    def intersect(self, origin: np.ndarray, rays: np.ndarray) -> tuple[np.ndarray, Callable]:
        """Ray distances ``t`` (inf = miss) for rays (..., 3) from ``origin``, and a function
        giving unit normals at selected hits. After Inigo Quilez's analytic round cone."""
        ba = self.b - self.a
        oa = origin - self.a
        ob = origin - self.b
        ra, rb = self.ra, self.rb
        rr = ra - rb
        m0 = float(ba @ ba)
        m1 = float(ba @ oa)
        m5 = float(oa @ oa)
        m7 = float(ob @ ob)
        m2 = rays @ ba.astype(np.float32)
        m3 = rays @ oa.astype(np.float32)
        m6 = rays @ ob.astype(np.float32)
        d2 = m0 - rr * rr
        k2 = d2 - m2 * m2
        k1 = d2 * m3 - m1 * m2 + m2 * (rr * ra)
        k0 = d2 * m5 - m1 * m1 + m1 * rr * ra * 2.0 - m0 * ra * ra
        h = k1 * k1 - k0 * k2
        hit = h >= 0
        with np.errstate(invalid="ignore", divide="ignore"):
            t_body = (-np.sqrt(np.where(hit, h, 0.0)) - k1) / k2
        y = m1 - ra * rr + t_body * m2
        body = hit & (y > 0) & (y < d2)
        h1 = m3 * m3 - m5 + ra * ra
        h2 = m6 * m6 - m7 + rb * rb
        t1 = np.where(h1 > 0, -m3 - np.sqrt(np.maximum(h1, 0)), np.inf)
        t2 = np.where(h2 > 0, -m6 - np.sqrt(np.maximum(h2, 0)), np.inf)
        t_caps = np.minimum(t1, t2)
        t = np.where(body, t_body, np.where(hit, t_caps, np.inf))
        t = np.where(t > 0, t, np.inf).astype(np.float32)
        cap_b = t2 < t1

        def normals(sel: np.ndarray) -> np.ndarray:
            d = rays[sel]
            ts = t[sel][:, None]
            p_oa = oa + ts * d
            n_body = d2 * p_oa - np.outer(y[sel], ba)
            n_a = p_oa / ra
            n_b = (ob + ts * d) / rb
            n = np.where(body[sel][:, None], n_body, np.where(cap_b[sel][:, None], n_b, n_a))
            return n / np.linalg.norm(n, axis=1, keepdims=True)

        return t, normals


@dataclass(frozen=True)
class Ellipsoid:
    """Ellipsoid centred at ``center`` with semi-axes ``radii`` along the rows of ``axes``."""

    center: np.ndarray
    axes: np.ndarray
    radii: np.ndarray
    material: str

    def bounds(self) -> list[tuple[np.ndarray, float]]:
        return [(self.center, float(np.max(self.radii)))]

    def intersect(self, origin: np.ndarray, rays: np.ndarray) -> tuple[np.ndarray, Callable]:
        """Ray distances (inf = miss) and a normal function, as :meth:`RoundCone.intersect`."""
        scale = (self.axes / self.radii[:, None]).astype(np.float32)  # world -> unit sphere
        oc = scale @ (origin - self.center)
        d = rays @ scale.T
        a = np.einsum("...i,...i->...", d, d)
        b = d @ oc.astype(np.float32)
        c = float(oc @ oc) - 1.0
        h = b * b - a * c
        t = np.where(h >= 0, (-b - np.sqrt(np.maximum(h, 0))) / a, np.inf)
        t = np.where(t > 0, t, np.inf).astype(np.float32)

        def normals(sel: np.ndarray) -> np.ndarray:
            q = oc + t[sel][:, None] * d[sel]
            n = q @ scale  # gradient direction: scale.T @ q
            return n / np.linalg.norm(n, axis=1, keepdims=True)

        return t, normals


def sphere(center: np.ndarray, radius: float, material: str) -> Ellipsoid:
    return Ellipsoid(center, np.eye(3), np.full(3, float(radius)), material)


# ----------------------------------------------------------------------------- mannequin
def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 1e-9 else v


def _lerp(a: np.ndarray, b: np.ndarray, f: float) -> np.ndarray:
    return a + (b - a) * f


@dataclass(frozen=True)
class SurfaceAnatomy:
    """Where the mannequin's visible joints sit relative to the model's joint centres (mm at
    scale 1, in each segment's own frame).

    BlazePose was trained on people's *surface* anatomy (the crease of the hip, the knee's
    outline, the shoe collar), not on joint centres, so a mannequin drawn straight on the
    joint centres gets BlazePose landmarks that are off by a fixed amount in the segment's
    frame, the same in every view. These offsets move the drawn limbs (never the truth) so
    that BlazePose's landmarks land on the joint centres; they were measured on rendered
    squats (per-landmark bias of the 3D reconstruction with the true rig, in segment frames).

    Attributes
    ----------
    hip_up_mm
        Pelvis, buttocks and thigh roots drawn this far up the thigh axis (proximal).
    hip_out_mm
        Hip joints drawn this far laterally (negative: a narrower pelvis).
    knee_down_mm, knee_out_mm
        Knee drawn this far along the thigh (distal) and laterally (away from the midline).
    ankle_down_mm, ankle_out_mm
        Ankle (sock/shoe collar) drawn this far along the shank (distal) and laterally.
    heel_back_mm
        Back of the shoe drawn this far behind the heel landmark.
    toe_forward_mm, toe_out_mm
        Shoe tip drawn this far in front of ``foot_index`` and laterally.
    """

    hip_up_mm: float = 0.0
    hip_out_mm: float = 0.0
    knee_down_mm: float = 0.0
    knee_out_mm: float = 0.0
    ankle_down_mm: float = 0.0
    ankle_out_mm: float = 0.0
    heel_back_mm: float = 0.0
    toe_forward_mm: float = 0.0
    toe_out_mm: float = 0.0

    def __post_init__(self) -> None:
        check_all([f"{f.name} must lie in -80..80 mm, got {getattr(self, f.name)}"
                   for f in dataclasses.fields(self) if not -80 <= getattr(self, f.name) <= 80],
                  where="SurfaceAnatomy")


#: Surface anatomy used by default (see :class:`SurfaceAnatomy`), fitted on a rendered squat
#: (4 cameras, 640x480, true rig) by moving each drawn joint against the residual 3D bias of
#: BlazePose + triangulation in the segment's frame until it fell below ~5 mm along the
#: segments: BlazePose's hip sits ~25 mm down the thigh and its knee and ankle ~20-25 mm up
#: the limb from the joint centres when the mannequin is drawn on them. BlazePose follows
#: about half of each move, hence offsets about twice the bias. The heel is not corrected:
#: BlazePose's heel stays ~20 mm forward of the model's (floor-level, back-of-heel) point
#: however far back the shoe is drawn. Lateral offsets are left at 0: they cut the mean 3D
#: knee error by a few mm on some rigs but made BlazePose swap feet in oblique views of others.
ANATOMY = SurfaceAnatomy(hip_up_mm=48.0, knee_down_mm=35.0, ankle_down_mm=57.0,
                         heel_back_mm=20.0, toe_forward_mm=15.0)


def surface_points(landmarks_mm: np.ndarray, *, anatomy: SurfaceAnatomy = ANATOMY,
                   scale: float = 1.0) -> dict[str, np.ndarray]:
    """The landmarks the limbs are drawn through: the truth moved by ``anatomy`` (mm)."""
    p = {name: np.asarray(landmarks_mm[i], float) for name, i in INDEX.items()}
    a = anatomy
    lat = _unit(p["left_hip"] - p["right_hip"])
    q = dict(p)
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        hip, knee, ankle = p[f"{side}_hip"], p[f"{side}_knee"], p[f"{side}_ankle"]
        heel, toe = p[f"{side}_heel"], p[f"{side}_foot_index"]
        out = sgn * lat
        thigh, shank = _unit(knee - hip), _unit(ankle - knee)
        foot = toe - heel
        foot[2] = 0.0
        foot = _unit(foot)
        foot_out = _unit(out - (out @ foot) * foot)
        q[f"{side}_hip"] = hip + (out * a.hip_out_mm - thigh * a.hip_up_mm) * scale
        q[f"{side}_knee"] = knee + (thigh * a.knee_down_mm + out * a.knee_out_mm) * scale
        q[f"{side}_ankle"] = ankle + (shank * a.ankle_down_mm + foot_out * a.ankle_out_mm) * scale
        q[f"{side}_heel"] = heel - foot * a.heel_back_mm * scale
        q[f"{side}_foot_index"] = toe + (foot * a.toe_forward_mm
                                         + foot_out * a.toe_out_mm) * scale
    return q


def build_mannequin(landmarks_mm: np.ndarray, *, bar: bool = False,
                    anatomy: SurfaceAnatomy | None = None) -> list:
    """The primitives of the mannequin for one frame of 33 landmarks (lab frame, mm).

    Sizes scale with the athlete's leg length (thigh + shank = 850 mm at scale 1). The
    pelvis is drawn wider than the hip joint centres and the buttocks behind them, so the
    visible anatomy around BlazePose's "hip" matches a real person's; the limbs are drawn
    through :func:`surface_points` (``anatomy``).
    """
    p = {name: np.asarray(landmarks_mm[i], float) for name, i in INDEX.items()}
    leg = (np.linalg.norm(p["left_hip"] - p["left_knee"])
           + np.linalg.norm(p["left_knee"] - p["left_ankle"])
           + np.linalg.norm(p["right_hip"] - p["right_knee"])
           + np.linalg.norm(p["right_knee"] - p["right_ankle"])) / 2.0
    s = float(np.clip(leg / 850.0, 0.6, 1.5))
    p = surface_points(landmarks_mm, anatomy=ANATOMY if anatomy is None else anatomy, scale=s)
    prims: list = []
    cone = prims.append

    # trunk frame: lateral (to the left), up, forward
    mid_hip = (p["left_hip"] + p["right_hip"]) / 2
    mid_sh = (p["left_shoulder"] + p["right_shoulder"]) / 2
    lat = _unit(p["left_hip"] - p["right_hip"])
    up = _unit(mid_sh - mid_hip)
    fwd = _unit(np.cross(lat, up))
    lat = np.cross(up, fwd)

    # head: ellipsoid around the ears' midpoint, hair shifted back and up, then the face
    ear_mid = (p["left_ear"] + p["right_ear"]) / 2
    eye_mid = (p["left_eye"] + p["right_eye"]) / 2
    h_lat = _unit(p["left_ear"] - p["right_ear"])
    h_fwd = _unit(p["nose"] - ear_mid)
    h_fwd = _unit(h_fwd - (h_fwd @ h_lat) * h_lat)
    h_up = np.cross(h_fwd, h_lat)
    half_ears = np.linalg.norm(p["left_ear"] - p["right_ear"]) / 2
    eye_fwd = max(float((eye_mid - ear_mid) @ h_fwd), 40.0 * s)
    head_c = ear_mid + h_up * 15 * s
    head_axes = np.stack([h_lat, h_fwd, h_up])
    head_r = np.array([max(half_ears * 1.0, 60 * s), eye_fwd + 4 * s, 118 * s])
    cone(Ellipsoid(head_c, head_axes, head_r, "skin"))
    cone(Ellipsoid(head_c - h_fwd * 22 * s + h_up * 14 * s, head_axes, head_r * [1.04, 0.97, 0.97],
                   "hair"))

    def on_head(point: np.ndarray, depth: float) -> np.ndarray:
        q = head_axes @ (point - head_c) / head_r
        q /= np.linalg.norm(q)
        surface = head_c + head_axes.T @ (q * head_r)
        normal = _unit(head_axes.T @ (q / head_r))
        return surface - normal * depth

    for side in ("left", "right"):
        cone(sphere(on_head(p[f"{side}_eye"], 8 * s), 14 * s, "eye"))
        cone(RoundCone(on_head(p[f"{side}_eye_inner"] + h_up * 16 * s, 3 * s),
                       on_head(p[f"{side}_eye_outer"] + h_up * 14 * s, 3 * s), 6 * s, 6 * s, "hair"))
        ear = p[f"{side}_ear"]
        cone(Ellipsoid(ear + _unit(ear - ear_mid) * 4 * s, head_axes, np.array([12, 22, 30]) * s,
                       "skin"))
    nose_root = on_head(p["nose"], 0.0)
    cone(RoundCone(on_head(eye_mid - h_up * 10 * s, 14 * s), nose_root + h_fwd * 6 * s - h_up * 6 * s,
                   9 * s, 14 * s, "skin"))
    cone(RoundCone(on_head(p["mouth_left"], 4 * s), on_head(p["mouth_right"], 4 * s),
                   8 * s, 8 * s, "mouth"))
    # neck
    cone(RoundCone(mid_sh - up * 20 * s, head_c - h_up * 40 * s - h_fwd * 15 * s,
                   55 * s, 48 * s, "skin"))

    # trunk: shoulders, a chest-to-belly cone, flanks, pelvis and buttocks
    sh_l, sh_r = p["left_shoulder"], p["right_shoulder"]
    hip_l, hip_r = p["left_hip"], p["right_hip"]
    cone(RoundCone(_lerp(sh_l, sh_r, 0.12), _lerp(sh_r, sh_l, 0.12), 62 * s, 62 * s, "shirt"))
    cone(RoundCone(mid_sh - up * 70 * s, mid_hip + up * 110 * s, 110 * s, 100 * s, "shirt"))
    # the neckline: skin showing at the front of the collar only (a front/back cue)
    cone(RoundCone(mid_sh + fwd * 52 * s - up * 5 * s, mid_sh + fwd * 108 * s - up * 75 * s,
                   36 * s, 10 * s, "skin"))
    for sh, hip in ((sh_l, hip_l), (sh_r, hip_r)):
        cone(RoundCone(_lerp(sh, mid_sh, 0.25) - up * 50 * s, hip + up * 120 * s + (hip - mid_hip) * 0.1,
                       75 * s, 85 * s, "shirt"))
    pelvis_half = np.linalg.norm(hip_l - hip_r) / 2
    cone(RoundCone(mid_hip + lat * (pelvis_half + 25 * s) + up * 20 * s,
                   mid_hip - lat * (pelvis_half + 25 * s) + up * 20 * s, 95 * s, 95 * s, "shorts"))
    for hip, side in ((hip_l, "left"), (hip_r, "right")):
        c = _lerp(mid_hip, hip, 0.55) - fwd * 55 * s + up * 5 * s
        cone(Ellipsoid(c, np.stack([lat, fwd, up]), np.array([85, 80, 95]) * s, f"shorts_{side}"))

    # limbs: sleeve / skin, shorts / skin, sock, shoe
    for side in ("left", "right"):
        sh, el, wr = p[f"{side}_shoulder"], p[f"{side}_elbow"], p[f"{side}_wrist"]
        hip, kn, an = p[f"{side}_hip"], p[f"{side}_knee"], p[f"{side}_ankle"]
        heel, toe = p[f"{side}_heel"], p[f"{side}_foot_index"]
        skin = f"skin_{side}"
        cone(RoundCone(sh, _lerp(sh, el, 0.45), 56 * s, 50 * s, f"sleeve_{side}"))
        cone(RoundCone(_lerp(sh, el, 0.4), el, 45 * s, 38 * s, skin))
        cone(RoundCone(el, wr, 38 * s, 28 * s, skin))
        fingers = (p[f"{side}_index"] + p[f"{side}_pinky"]) / 2
        cone(RoundCone(wr, _lerp(wr, fingers, 0.8), 30 * s, 26 * s, skin))
        cone(RoundCone(hip + (hip - mid_hip) * 0.15, _lerp(hip, kn, 0.5), 92 * s, 76 * s,
                       f"shorts_{side}"))
        cone(RoundCone(_lerp(hip, kn, 0.45), kn, 68 * s, 52 * s, skin))
        calf = _lerp(kn, an, 0.3) - _unit(toe - heel) * 12 * s
        cone(RoundCone(kn, calf, 52 * s, 56 * s, skin))
        cone(RoundCone(calf, _lerp(kn, an, 0.78), 56 * s, 38 * s, skin))
        cone(RoundCone(_lerp(kn, an, 0.75), an, 38 * s, 35 * s, "sock"))
        axis = _unit(toe - heel)
        shoe_h, shoe_t = 42 * s, 30 * s
        cone(RoundCone(heel + axis * shoe_h * 0.8, toe - axis * shoe_t * 0.8, shoe_h, shoe_t,
                       f"shoe_{side}"))
        cone(RoundCone(an, _lerp(heel, toe, 0.45), 40 * s, 36 * s, f"shoe_{side}"))
    if bar:  # a barbell through both hands (2.2 m, 28 mm grip)
        grip_l = (p["left_wrist"] + p["left_index"]) / 2
        grip_r = (p["right_wrist"] + p["right_index"]) / 2
        axis = _unit(grip_l - grip_r)
        center = (grip_l + grip_r) / 2
        cone(RoundCone(center - axis * 1100, center + axis * 1100, 14.0, 14.0, "bar"))
    return prims


# ----------------------------------------------------------------------------- renderer
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
        self._light = _unit(np.asarray(settings.light_dir, float)).astype(np.float32)

    def _boxes(self, prims: list) -> list[tuple[int, int, int, int] | None]:
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
            material[y0:y1, x0:x1][closer] = _MATERIAL_ID[prim.material]
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
            image[y0:y1, x0:x1][body] = _MATERIAL_BGR[mat[body]] * light[:, None]
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
