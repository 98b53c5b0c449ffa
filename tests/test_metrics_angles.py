"""Analytic tests of the lower-limb frames and angles: hand-built legs with known angles."""

from __future__ import annotations

import numpy as np
import pytest

from liftlab.metrics.alignment import alignment_angle_deg
from liftlab.metrics.angles import (
    abduction_reliability,
    foot_stability,
    frontal_plane_knee_angle_deg,
    hip_angles,
    knee_ankle_separation_ratio,
    knee_flexion_deg,
    knee_jcs,
    knee_over_foot_mm,
    medial_knee_shift_mm,
    shank_frontal_tilt_deg,
)
from liftlab.metrics.frames import Leg, pelvis_frame, rotate_about

Z = np.array([0.0, 0.0, 1.0])


def rot(axis: str, angle_deg: np.ndarray) -> np.ndarray:
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    m = {"x": [[o, z, z], [z, c, -s], [z, s, c]], "y": [[c, z, s], [z, o, z], [-s, z, c]],
         "z": [[c, -s, z], [s, c, z], [z, z, o]]}[axis]
    return np.moveaxis(np.array(m), (0, 1), (-2, -1))


def build_leg(side: str, *, hip_flex=0.0, hip_add=0.0, hip_rot=0.0, knee_flex=0.0,
              knee_abd=0.0, alignment=0.0, heading=0.0, n=1):
    """Forward kinematics of one leg with the JCS conventions of liftlab (degrees).

    Returns (Leg, pelvis frame). Pelvis at (0, 0, 900) turned by ``heading`` about Z.
    """
    s = 1.0 if side == "left" else -1.0
    arr = [np.broadcast_to(np.asarray(v, float), (n,)) for v in
           (hip_flex, hip_add, hip_rot, knee_flex, knee_abd)]
    hf, ha, hr, kf, ka = arr
    pel = np.broadcast_to(rot("z", np.full(n, heading)), (n, 3, 3))
    hip = np.array([0, 0, 900.0]) + pel[:, :, 1] * 100 * s
    thigh = pel @ rot("y", -hf) @ rot("x", -s * ha) @ rot("z", -s * hr)
    knee = hip - 420 * thigh[:, :, 2]
    shank = thigh @ rot("y", kf) @ rot("x", s * ka)
    ankle = knee - 400 * shank[:, :, 2]
    foot = rotate_about(shank[:, :, 0], shank[:, :, 2], np.radians(s * alignment))
    heel = ankle - 50 * foot - 60 * shank[:, :, 2]
    toe = ankle + 150 * foot - 60 * shank[:, :, 2]
    return Leg(side, hip, knee, ankle, heel, toe), pel


ANGLES = dict(hip_flex=[0, 30, 70, 100], hip_add=[-10, 5, 12, 0], hip_rot=[5, -10, 20, 15],
              knee_flex=[10, 40, 65, 120], knee_abd=[3, -4, 8, 6])


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("heading", [0.0, 37.0, -120.0])
@pytest.mark.parametrize("alignment", [0.0, 18.0])
def test_jcs_recovers_known_angles(side, heading, alignment):
    lg, pel = build_leg(side, heading=heading, alignment=alignment, n=4, **ANGLES)
    knee = knee_jcs(lg, alignment_deg=alignment)
    np.testing.assert_allclose(knee.flexion_deg, ANGLES["knee_flex"], atol=1e-6)
    np.testing.assert_allclose(knee.abduction_deg, ANGLES["knee_abd"], atol=1e-6)
    hip = hip_angles(pel, lg, thigh_spin="A", alignment_deg=alignment)
    np.testing.assert_allclose(hip.flexion_deg, ANGLES["hip_flex"], atol=1e-6)
    np.testing.assert_allclose(hip.adduction_deg, ANGLES["hip_add"], atol=1e-6)
    np.testing.assert_allclose(hip.int_rotation_deg, ANGLES["hip_rot"], atol=1e-6)
    plain = np.degrees(np.arccos(np.cos(np.radians(ANGLES["knee_flex"]))
                                 * np.cos(np.radians(ANGLES["knee_abd"]))))
    np.testing.assert_allclose(knee_flexion_deg(lg), plain, atol=1e-6)


@pytest.mark.parametrize("side", ["left", "right"])
def test_hip_rotation_from_hinge_plane_when_knee_is_a_hinge(side):
    lg, pel = build_leg(side, hip_flex=[20, 60, 90], hip_add=[0, 8, -5], hip_rot=[10, -15, 25],
                        knee_flex=[40, 90, 130], heading=15, n=3)
    hip = hip_angles(pel, lg, thigh_spin="B")
    assert hip.thigh_spin == "B"
    np.testing.assert_allclose(hip.int_rotation_deg, [10, -15, 25], atol=1e-6)


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("alignment", [0.0, 12.0, 25.0])
def test_medial_shift_zero_for_hinge_and_positive_for_valgus(side, alignment):
    flex = np.linspace(5, 130, 30)
    lg, _ = build_leg(side, hip_flex=flex * 0.8, hip_rot=10, hip_add=5, knee_flex=flex,
                      alignment=alignment, heading=70, n=30)
    np.testing.assert_allclose(medial_knee_shift_mm(lg, alignment_deg=alignment), 0, atol=1e-6)
    np.testing.assert_allclose(alignment_angle_deg(lg), alignment, atol=1e-6)
    # straight leg with 8 deg valgus: knee's distance from the hip-ankle plane, by hand
    lg2, _ = build_leg(side, knee_abd=8, alignment=alignment, heading=-30, n=1)
    w, h = 420 * np.sin(np.radians(8)), 400 + 420 * np.cos(np.radians(8))
    expected = 400 * w / np.hypot(w, h)
    np.testing.assert_allclose(medial_knee_shift_mm(lg2, alignment_deg=alignment), expected)


@pytest.mark.parametrize("side", ["left", "right"])
def test_knee_over_foot_and_tilt_known_offset(side):
    s = 1.0 if side == "left" else -1.0
    # foot along +x at y = s*150; knee displaced 30 mm toward the midline, 400 mm above
    ankle = np.array([[0, s * 150, 80.0]])
    heel, toe = ankle + [-50, 0, -60], ankle + [150, 0, -60]
    knee = ankle + [100, -s * 30, 400 * np.cos(np.arcsin(30 / 400))]
    lg = Leg(side, knee + [0, 0, 420], knee, ankle, heel, toe)
    np.testing.assert_allclose(knee_over_foot_mm(lg), 30, atol=1e-9)
    tilt = np.degrees(np.arctan2(30, knee[0, 2] - ankle[0, 2]))
    np.testing.assert_allclose(shank_frontal_tilt_deg(lg), tilt, atol=1e-9)


def test_frontal_plane_angle_and_separation_ratio():
    s_l, s_r = 1.0, -1.0
    def leg_at(side, s, dy):
        hip = np.array([[0, s * 100, 900.0]])
        knee = np.array([[0, s * (150 - dy), 480.0]])
        ankle = np.array([[0, s * 150, 80.0]])
        return Leg(side, hip, knee, ankle, ankle + [-50, 0, -60], ankle + [150, 0, -60])
    left, right = leg_at("left", s_l, 40), leg_at("right", s_r, 40)
    pel = pelvis_frame(left.hip, right.hip, left.hip + [0, 0, 500], right.hip + [0, 0, 500])
    # knee 40 mm in from the ankle at mid height: inner angle from the two segment vectors
    a = np.array([-50 + 40, 420])  # (y, z) from the knee, left side
    b = np.array([40, -400])
    expected = 180 - np.degrees(np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
    for lg in (left, right):
        np.testing.assert_allclose(frontal_plane_knee_angle_deg(lg, pel), expected, atol=1e-9)
    np.testing.assert_allclose(knee_ankle_separation_ratio(left, right, pel), 220 / 300)


def test_foot_stability_relative_to_reference():
    n = 5
    heel = np.zeros((n, 3))
    toe = np.tile([200.0, 0, 0], (n, 1))
    heel[:, 2] = [0, 0, 5, 20, 0]
    ang = np.radians([0, 0, 0, 0, 10])
    toe[4] = [200 * np.cos(ang[4]), 200 * np.sin(ang[4]), 0]
    toe[:, 2] += heel[:, 2] * 0  # toe stays down
    lg = Leg("left", heel, heel, heel, heel, toe)
    fs = foot_stability(lg, np.zeros(n, dtype=int))
    np.testing.assert_allclose(fs.heel_lift_mm, [0, 0, 5, 20, 0])
    np.testing.assert_allclose(fs.rotation_deg[4], 10)
    rlg = Leg("right", heel, heel, heel, heel, toe)
    np.testing.assert_allclose(foot_stability(rlg, np.zeros(n, dtype=int)).rotation_deg[4], -10)


def test_abduction_reliability_bounds():
    f = np.array([0.0, 45, 90, 135])
    np.testing.assert_allclose(abduction_reliability(f), np.abs(np.cos(np.radians(f))),
                               atol=1e-9)
    r_assumed = abduction_reliability(f, alignment_uncertainty_deg=15)
    assert r_assumed[0] == pytest.approx(1) and np.all(r_assumed[1:] < np.abs(
        np.cos(np.radians(f[1:]))) + 1e-12) and r_assumed[2] == pytest.approx(0, abs=1e-9)


def test_fppa_2d_frontal_camera_matches_frontal_angle_sign_and_size():
    import cv2

    from liftlab.core.cameras import Camera
    from liftlab.metrics.angles import fppa_2d_deg

    r = np.array([[0.0, 1, 0], [0, 0, -1], [-1, 0, 0]])  # looking along -x at the athlete
    centre = np.array([6000.0, 0, 500])
    cam = Camera("front", (1920, 1080), [[1400, 0, 960], [0, 1400, 540], [0, 0, 1]],
                 np.zeros(5), cv2.Rodrigues(r)[0].ravel(), -r @ centre)
    for side, s in (("left", 1.0), ("right", -1.0)):
        hip = np.array([[0, s * 100, 900.0]])
        ankle = np.array([[0, s * 150, 80.0]])
        knee = np.array([[0, s * 110, 480.0]])  # 40 mm medial of the hip-ankle line
        lg = Leg(side, hip, knee, ankle, ankle + [-50, 0, -60], ankle + [150, 0, -60])
        mid = np.array([[0, 0, 900.0]])
        pel = pelvis_frame(np.array([[0, 100, 900.0]]), np.array([[0, -100, 900.0]]),
                           np.array([[0, 100, 1400.0]]), np.array([[0, -100, 1400.0]]))
        ref = frontal_plane_knee_angle_deg(lg, pel)
        got = fppa_2d_deg(lg, cam, mid_hip=mid)
        assert ref[0] > 2 and got[0] == pytest.approx(ref[0], abs=1.0)
