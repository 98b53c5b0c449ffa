"""The virtual athlete's mannequin: primitives posed by 33 landmarks, and their materials.

The mannequin is built, frame by frame, from the 33 landmarks (lab frame, mm) as tapered
capsules (:class:`~liftlab.capture.virtual.shapes.RoundCone`) for limbs, trunk and feet, and
ellipsoids for head, hair, buttocks and hands, with a face (eyes, nose, mouth) because
BlazePose's person detector keys on the face. The limbs are drawn through the landmarks moved
by a fitted :class:`SurfaceAnatomy`, so that BlazePose's landmarks land on the joint centres.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from liftlab.capture.virtual.shapes import Ellipsoid, Primitive, RoundCone, lerp, sphere, unit
from liftlab.core.errors import check_all
from liftlab.core.landmarks import INDEX

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
#: Row ``MATERIAL_ID[name]`` of ``MATERIAL_BGR`` is the BGR colour of material ``name``.
MATERIAL_ID = {name: i for i, name in enumerate(MATERIALS)}
MATERIAL_BGR = np.array(list(MATERIALS.values()), dtype=np.float32)


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
    heel_back_mm, heel_out_mm
        Back of the shoe drawn this far behind the heel landmark and laterally.
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
    heel_out_mm: float = 0.0
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
#: about half of each move, hence offsets about twice the bias. The heel's forward bias is not
#: corrected: BlazePose's heel stays ~20 mm forward of the model's (floor-level, back-of-heel)
#: point however far back the shoe is drawn. Sideways, only the shoe is corrected (heel 5 mm
#: narrower, tip 8 mm wider): BlazePose read the foot axis turned in, which biased the knee-curl
#: alignment by up to -3.4 deg (now within 2.4 deg on two rigs); larger sideways offsets, or any
#: at the hips and knees, made BlazePose swap left and right in oblique views.
ANATOMY = SurfaceAnatomy(hip_up_mm=48.0, knee_down_mm=35.0, ankle_down_mm=57.0,
                         heel_back_mm=20.0, heel_out_mm=-5.0, toe_forward_mm=15.0,
                         toe_out_mm=8.0)


def surface_points(landmarks_mm: np.ndarray, *, anatomy: SurfaceAnatomy = ANATOMY,
                   scale: float = 1.0) -> dict[str, np.ndarray]:
    """The landmarks the limbs are drawn through: the truth moved by ``anatomy`` (mm)."""
    p = {name: np.asarray(landmarks_mm[i], float) for name, i in INDEX.items()}
    a = anatomy
    lat = unit(p["left_hip"] - p["right_hip"])
    q = dict(p)
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        hip, knee, ankle = p[f"{side}_hip"], p[f"{side}_knee"], p[f"{side}_ankle"]
        heel, toe = p[f"{side}_heel"], p[f"{side}_foot_index"]
        out = sgn * lat
        thigh, shank = unit(knee - hip), unit(ankle - knee)
        foot = toe - heel
        foot[2] = 0.0
        foot = unit(foot)
        foot_out = unit(out - (out @ foot) * foot)
        q[f"{side}_hip"] = hip + (out * a.hip_out_mm - thigh * a.hip_up_mm) * scale
        q[f"{side}_knee"] = knee + (thigh * a.knee_down_mm + out * a.knee_out_mm) * scale
        q[f"{side}_ankle"] = ankle + (shank * a.ankle_down_mm + foot_out * a.ankle_out_mm) * scale
        q[f"{side}_heel"] = heel + (foot_out * a.heel_out_mm - foot * a.heel_back_mm) * scale
        q[f"{side}_foot_index"] = toe + (foot * a.toe_forward_mm
                                         + foot_out * a.toe_out_mm) * scale
    return q


def build_mannequin(landmarks_mm: np.ndarray, *, bar: bool = False,
                    anatomy: SurfaceAnatomy | None = None) -> list[Primitive]:
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
    prims: list[Primitive] = []
    cone = prims.append

    # trunk frame: lateral (to the left), up, forward
    mid_hip = (p["left_hip"] + p["right_hip"]) / 2
    mid_sh = (p["left_shoulder"] + p["right_shoulder"]) / 2
    lat = unit(p["left_hip"] - p["right_hip"])
    up = unit(mid_sh - mid_hip)
    fwd = unit(np.cross(lat, up))
    lat = np.cross(up, fwd)

    # head: ellipsoid around the ears' midpoint, hair shifted back and up, then the face
    ear_mid = (p["left_ear"] + p["right_ear"]) / 2
    eye_mid = (p["left_eye"] + p["right_eye"]) / 2
    h_lat = unit(p["left_ear"] - p["right_ear"])
    h_fwd = unit(p["nose"] - ear_mid)
    h_fwd = unit(h_fwd - (h_fwd @ h_lat) * h_lat)
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
        normal = unit(head_axes.T @ (q / head_r))
        return surface - normal * depth

    for side in ("left", "right"):
        cone(sphere(on_head(p[f"{side}_eye"], 8 * s), 14 * s, "eye"))
        cone(RoundCone(on_head(p[f"{side}_eye_inner"] + h_up * 16 * s, 3 * s),
                       on_head(p[f"{side}_eye_outer"] + h_up * 14 * s, 3 * s), 6 * s, 6 * s, "hair"))
        ear = p[f"{side}_ear"]
        cone(Ellipsoid(ear + unit(ear - ear_mid) * 4 * s, head_axes, np.array([12, 22, 30]) * s,
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
    cone(RoundCone(lerp(sh_l, sh_r, 0.12), lerp(sh_r, sh_l, 0.12), 62 * s, 62 * s, "shirt"))
    cone(RoundCone(mid_sh - up * 70 * s, mid_hip + up * 110 * s, 110 * s, 100 * s, "shirt"))
    # the neckline: skin showing at the front of the collar only (a front/back cue)
    cone(RoundCone(mid_sh + fwd * 52 * s - up * 5 * s, mid_sh + fwd * 108 * s - up * 75 * s,
                   36 * s, 10 * s, "skin"))
    for sh, hip in ((sh_l, hip_l), (sh_r, hip_r)):
        cone(RoundCone(lerp(sh, mid_sh, 0.25) - up * 50 * s, hip + up * 120 * s + (hip - mid_hip) * 0.1,
                       75 * s, 85 * s, "shirt"))
    pelvis_half = np.linalg.norm(hip_l - hip_r) / 2
    cone(RoundCone(mid_hip + lat * (pelvis_half + 25 * s) + up * 20 * s,
                   mid_hip - lat * (pelvis_half + 25 * s) + up * 20 * s, 95 * s, 95 * s, "shorts"))
    for hip, side in ((hip_l, "left"), (hip_r, "right")):
        c = lerp(mid_hip, hip, 0.55) - fwd * 55 * s + up * 5 * s
        cone(Ellipsoid(c, np.stack([lat, fwd, up]), np.array([85, 80, 95]) * s, f"shorts_{side}"))

    # limbs: sleeve / skin, shorts / skin, sock, shoe
    for side in ("left", "right"):
        sh, el, wr = p[f"{side}_shoulder"], p[f"{side}_elbow"], p[f"{side}_wrist"]
        hip, kn, an = p[f"{side}_hip"], p[f"{side}_knee"], p[f"{side}_ankle"]
        heel, toe = p[f"{side}_heel"], p[f"{side}_foot_index"]
        skin = f"skin_{side}"
        cone(RoundCone(sh, lerp(sh, el, 0.45), 56 * s, 50 * s, f"sleeve_{side}"))
        cone(RoundCone(lerp(sh, el, 0.4), el, 45 * s, 38 * s, skin))
        cone(RoundCone(el, wr, 38 * s, 28 * s, skin))
        fingers = (p[f"{side}_index"] + p[f"{side}_pinky"]) / 2
        cone(RoundCone(wr, lerp(wr, fingers, 0.8), 30 * s, 26 * s, skin))
        cone(RoundCone(hip + (hip - mid_hip) * 0.15, lerp(hip, kn, 0.5), 92 * s, 76 * s,
                       f"shorts_{side}"))
        cone(RoundCone(lerp(hip, kn, 0.45), kn, 68 * s, 52 * s, skin))
        calf = lerp(kn, an, 0.3) - unit(toe - heel) * 12 * s
        cone(RoundCone(kn, calf, 52 * s, 56 * s, skin))
        cone(RoundCone(calf, lerp(kn, an, 0.78), 56 * s, 38 * s, skin))
        cone(RoundCone(lerp(kn, an, 0.75), an, 38 * s, 35 * s, "sock"))
        axis = unit(toe - heel)
        shoe_h, shoe_t = 42 * s, 30 * s
        cone(RoundCone(heel + axis * shoe_h * 0.8, toe - axis * shoe_t * 0.8, shoe_h, shoe_t,
                       f"shoe_{side}"))
        cone(RoundCone(an, lerp(heel, toe, 0.45), 40 * s, 36 * s, f"shoe_{side}"))
    if bar:  # a barbell through both hands (2.2 m, 28 mm grip)
        grip_l = (p["left_wrist"] + p["left_index"]) / 2
        grip_r = (p["right_wrist"] + p["right_index"]) / 2
        axis = unit(grip_l - grip_r)
        center = (grip_l + grip_r) / 2
        cone(RoundCone(center - axis * 1100, center + axis * 1100, 14.0, 14.0, "bar"))
    return prims

