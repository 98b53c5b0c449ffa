"""A small analytic squatter for metric tests (hinge knees, planted feet) and its own checks.

Other ``test_metrics_*`` files import :func:`squat_trial` from here. It is independent of the
virtual lab: two-link inverse kinematics with the knee on the hip-ankle circle, in the plane
of the knee's forward axis (the foot axis turned back by the alignment), optionally turned
medially about the hip-ankle axis by ``valgus_deg(t)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liftlab.core.containers import Trajectory3D
from liftlab.core.landmarks import INDEX, LANDMARKS


@dataclass(frozen=True)
class RepTiming:
    start: int
    bottom_start: int
    ascent_start: int
    end: int


def _rotate_z(v, angle_rad):
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1], v[..., 2]], -1)


def _rodrigues(v, k, a):
    a = np.asarray(a)[..., None]
    return v * np.cos(a) + np.cross(k, v) * np.sin(a) + k * np.sum(k * v, -1, keepdims=True) * (
        1 - np.cos(a))


def squat_trial(reps=((1.0, 0.0, 1.0, 0.45),), *, fps=60.0, stand_s=1.0, gap_s=0.6,
                alignment_deg=(0.0, 0.0), toe_out_deg=10.0, heading_deg=0.0, valgus=None,
                thigh_mm=430.0, shank_mm=410.0, noise_mm=0.0, seed=0):
    """Squat trial: ``reps`` = (descent_s, pause_s, ascent_s, depth_fraction_of_leg) per rep.

    ``valgus(t_in_rep_fraction, rep_index) -> deg`` turns each knee medially about its
    hip-ankle axis. Returns (Trajectory3D, [RepTiming], per-frame valgus deg).
    """
    leg = thigh_mm + shank_mm
    segments = [np.zeros(int(round(stand_s * fps)))]
    timings, cursor = [], len(segments[0])
    vfrac = [np.full(len(segments[0]), np.nan)]
    rep_ids = [np.zeros(len(segments[0]), int)]
    for i, (d_s, p_s, a_s, depth) in enumerate(reps):
        nd, npau, na = (int(round(x * fps)) for x in (d_s, p_s, a_s))
        u = np.arange(nd) / nd
        down = depth * leg * (1 - np.cos(np.pi * u)) / 2
        pause = np.full(npau, depth * leg)
        u = np.arange(na) / na
        up = depth * leg * (1 + np.cos(np.pi * u)) / 2
        prof = np.concatenate([down, pause, up])
        timings.append(RepTiming(cursor, cursor + nd, cursor + nd + npau, cursor + nd + npau + na))
        segments.append(prof)
        vfrac.append(np.arange(prof.size) / prof.size)
        rep_ids.append(np.full(prof.size, i + 1))
        gap = int(round((gap_s if i < len(reps) - 1 else stand_s) * fps))
        segments += [np.zeros(gap)]
        vfrac.append(np.full(gap, np.nan))
        rep_ids.append(np.zeros(gap, int))
        cursor += prof.size + gap
    drop = np.concatenate(segments)
    frac = np.concatenate(vfrac)
    rep_id = np.concatenate(rep_ids)
    n = drop.size
    pts = np.full((n, len(LANDMARKS), 3), np.nan)
    head = np.radians(heading_deg)
    valgus_deg = np.zeros(n)
    if valgus is not None:
        ok = np.isfinite(frac)
        valgus_deg[ok] = [valgus(f, r) for f, r in zip(frac[ok], rep_id[ok], strict=True)]
    straight = 0.995 * leg  # knee never fully straight (5-6 deg)
    for side, s in (("left", 1.0), ("right", -1.0)):
        toe_dir = np.array([np.cos(np.radians(s * toe_out_deg)),
                            np.sin(np.radians(s * toe_out_deg)), 0.0])
        ankle = np.array([0.0, s * 160, 90.0])
        stand_z = 90 + np.sqrt(straight**2 - 60**2)  # hips 60 mm inside the ankles
        hip = np.stack([-0.35 * drop, np.full(n, s * 100), stand_z - drop], -1)
        axis = hip - ankle
        dist = np.linalg.norm(axis, axis=-1)
        k = axis / dist[:, None]
        knee_fwd = _rotate_z(toe_dir, -s * np.radians(alignment_deg[0 if s > 0 else 1]))
        # knee on the circle: in the plane of k and the knee's forward axis (orthogonalised)
        f = knee_fwd - np.sum(knee_fwd * k, -1, keepdims=True) * k
        f /= np.linalg.norm(f, axis=-1, keepdims=True)
        a = (shank_mm**2 - thigh_mm**2 + dist**2) / (2 * dist)  # from the ankle along k
        r = np.sqrt(np.maximum(shank_mm**2 - a**2, 0))
        # medial turn about the (upward) hip-ankle axis: toward the midline = -s about it
        f = _rodrigues(f, k, -s * np.radians(valgus_deg))
        knee = ankle + a[:, None] * k + r[:, None] * f
        # feet: shank-fixed frame would rotate with the knee; feet stay planted here
        foot_x = toe_dir
        heel = ankle + (-60 * foot_x + [0, 0, -70])
        toe = ankle + (150 * foot_x + [0, 0, -70])
        pts[:, INDEX[f"{side}_hip"]] = hip
        pts[:, INDEX[f"{side}_knee"]] = knee
        pts[:, INDEX[f"{side}_ankle"]] = ankle
        pts[:, INDEX[f"{side}_heel"]] = heel
        pts[:, INDEX[f"{side}_foot_index"]] = toe
        trunk_lean = np.stack([20 + 0.5 * drop, np.full(n, s * 80), np.full(n, 480.0)], -1)
        pts[:, INDEX[f"{side}_shoulder"]] = hip + trunk_lean
    rot = np.array([[np.cos(head), -np.sin(head), 0], [np.sin(head), np.cos(head), 0], [0, 0, 1]])
    pts = pts @ rot.T + [500.0, -200.0, 0.0]
    if noise_mm:
        pts = pts + np.random.default_rng(seed).normal(0, noise_mm, pts.shape)
    return Trajectory3D(points_mm=pts, fps=fps), timings, valgus_deg


def test_generator_keeps_segment_lengths_and_planted_feet():
    traj, timings, _ = squat_trial(((1.0, 0.5, 1.0, 0.45), (0.8, 0.0, 0.9, 0.3)),
                                   alignment_deg=(15.0, 5.0), heading_deg=33)
    for side in ("left", "right"):
        thigh = np.linalg.norm(traj.point(f"{side}_hip") - traj.point(f"{side}_knee"), axis=1)
        shank = np.linalg.norm(traj.point(f"{side}_knee") - traj.point(f"{side}_ankle"), axis=1)
        np.testing.assert_allclose(thigh, 430, atol=1e-6)
        np.testing.assert_allclose(shank, 410, atol=1e-6)
        assert np.ptp(traj.point(f"{side}_heel"), axis=0).max() == 0
    assert len(timings) == 2 and timings[1].start > timings[0].end
