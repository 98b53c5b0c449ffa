"""Virtual cameras, ray-cast primitives, the mannequin and the ChArUco board renders.

Truth is analytic or generated: exact re-projection of pixel rays, a round cone against a
dense union of spheres, the board's object points mapped to the lab by the agreed floor
convention and projected by the true camera.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from liftlab.capture.virtual.board import (
    VIRTUAL_BOARD,
    BoardRenderer,
    charuco_board,
    detect_charuco,
    floor_pose,
    hand_held_poses,
)
from liftlab.capture.virtual.cameras import make_camera, make_rig, pixel_rays
from liftlab.capture.virtual.render import (
    Ellipsoid,
    MannequinRenderer,
    RoundCone,
    reference_pose,
)
from liftlab.capture.virtual.scene import CAMERA_HEIGHT_MM
from liftlab.core.errors import InputError
from liftlab.core.landmarks import INDEX


@pytest.fixture(scope="module")
def lab_rig():
    """The virtual lab's rig geometry around the floor board's centre."""
    return make_rig(4, height_mm=CAMERA_HEIGHT_MM, target_mm=(700.0, -500.0, 950.0), seed=3)


# ----------------------------------------------------------------------------- cameras
@pytest.mark.parametrize("n", [1, 3, 8])
def test_make_rig_aims_every_camera_at_the_target(n):
    rig = make_rig(n, size=(640, 480), seed=1)
    assert rig.names == [f"cam{i + 1}" for i in range(n)]
    for cam in rig.cameras:
        px = cam.project(np.array([0.0, 0.0, 1000.0]))
        assert np.hypot(px[0] - 320, px[1] - 240) < 40  # aim jitter + principal point offset
        assert -0.2 <= cam.distortions[0] <= -0.05
        assert np.linalg.norm(cam.center_mm[:2]) == pytest.approx(3500.0, abs=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_cameras": 0}, "at least 1 camera"),
    ({"n_cameras": -2}, "at least 1 camera"),
    ({"n_cameras": 2, "fov_deg": 5.0}, "fov_deg"),
    ({"n_cameras": 2, "radius_mm": 0.0}, "radius_mm"),
])
def test_make_rig_rejects_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        make_rig(**kwargs)


def test_pixel_rays_reproject_to_their_pixels():
    cam = make_rig(1, size=(160, 120), seed=5).cameras[0]  # strong distortion, small image
    rays = pixel_rays(cam).astype(float)
    px = cam.project(cam.center_mm + 2500.0 * rays.reshape(-1, 3)).reshape(120, 160, 2)
    xs, ys = np.meshgrid(np.arange(160), np.arange(120))
    assert np.max(np.hypot(px[..., 0] - xs, px[..., 1] - ys)) < 1e-3


# ----------------------------------------------------------------------------- primitives
def _rays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    origin = np.array([0.0, -2000.0, 500.0])
    aim = rng.uniform([-150, -50, 350], [150, 50, 750], (n, 3))
    d = aim - origin
    return origin, (d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("ra, rb", [(60.0, 35.0), (40.0, 40.0), (20.0, 70.0)])
def test_round_cone_matches_a_dense_union_of_spheres(ra, rb):
    a, b = np.array([-40.0, 10.0, 400.0]), np.array([60.0, -20.0, 700.0])
    origin, rays = _rays(3000, seed=int(ra))
    t, normals = RoundCone(a, b, ra, rb, "skin").intersect(origin, rays)
    # truth: the hull of two spheres is the union of the spheres swept between them
    f = np.linspace(0.0, 1.0, 2001)
    centres, radii = a + f[:, None] * (b - a), ra + f * (rb - ra)
    oc = origin - centres
    bq = rays.astype(float) @ oc.T
    h = bq**2 - (np.sum(oc**2, axis=1) - radii**2)
    t_true = np.where(h >= 0, -bq - np.sqrt(np.maximum(h, 0)), np.inf).min(axis=1)
    assert np.array_equal(np.isfinite(t), np.isfinite(t_true))
    hit = np.isfinite(t)
    assert hit.sum() > 300
    assert np.max(np.abs(t[hit] - t_true[hit])) < 0.5  # mm (sampling of the sweep)
    n = normals(hit)
    assert np.allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-5)
    assert np.all(np.sum(n * rays[hit], axis=1) < 1e-4)  # visible side faces the camera


def test_ellipsoid_intersection_is_exact_for_a_sphere():
    centre, r = np.array([20.0, 0.0, 550.0]), 120.0
    origin, rays = _rays(2000, seed=7)
    t, normals = Ellipsoid(centre, np.eye(3), np.full(3, r), "skin").intersect(origin, rays)
    hit = np.isfinite(t)
    pts = origin + t[hit, None].astype(float) * rays[hit]
    assert hit.sum() > 300
    assert np.allclose(np.linalg.norm(pts - centre, axis=1), r, atol=0.05)
    assert np.allclose(normals(hit), (pts - centre) / r, atol=1e-3)


# ----------------------------------------------------------------------------- mannequin
def test_mannequin_covers_its_joints_and_empty_frames_show_the_backdrop(lab_rig):
    pose = reference_pose(facing_deg=30.0, position_mm=(700.0, -500.0))
    for cam in lab_rig.cameras:
        renderer = MannequinRenderer(cam)
        frame = renderer.render(pose).astype(int)
        empty = renderer.render(np.full((33, 3), np.nan)).astype(int)
        px = np.rint(cam.project(pose)).astype(int)
        for name in ("left_hip", "right_hip", "left_knee", "right_knee", "nose"):
            x, y = px[INDEX[name]]
            assert np.abs(frame[y, x] - empty[y, x]).sum() > 30, (cam.name, name)
        changed = np.abs(frame - empty).sum(axis=2) > 30
        x0, y0 = px.min(axis=0) - 40
        x1, y1 = px.max(axis=0) + 40
        outside = changed.copy()
        outside[max(y0, 0):y1, max(x0, 0):x1] = False
        assert not outside.any()  # nothing drawn far from the body


@pytest.mark.parametrize("shape", [(32, 3), (33, 2)])
def test_render_rejects_bad_landmarks(lab_rig, shape):
    with pytest.raises(InputError, match="33, 3"):
        MannequinRenderer(lab_rig.cameras[0]).render(np.zeros(shape))


# ----------------------------------------------------------------------------- board
def _refined(image: np.ndarray, spec) -> tuple[np.ndarray, np.ndarray]:
    """Charuco corners refined by cv2.cornerSubPix (pixel centres at integers).

    CharucoDetector's own corners sit ~0.5 px right and down of the pixel-centre convention
    (measured on an exact cv2.warpPerspective render, where cornerSubPix is unbiased), so
    render geometry is checked with cornerSubPix.
    """
    ids, px = detect_charuco(image, spec)
    if len(ids) == 0:
        return ids, px
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 100, 1e-4)
    ref = cv2.cornerSubPix(grey, px.astype(np.float32).reshape(-1, 1, 2), (3, 3), (-1, -1),
                           criteria)
    return ids, ref.reshape(-1, 2).astype(float)


def _board_corners_lab(spec) -> np.ndarray:
    obj = np.asarray(charuco_board(spec).getChessboardCorners(), float)
    return obj * np.array([1.0, -1.0, -1.0])  # the agreed floor convention


def test_floor_still_of_every_lab_camera_shows_most_corners(lab_rig):
    n_all = (VIRTUAL_BOARD.squares_x - 1) * (VIRTUAL_BOARD.squares_y - 1)
    for cam in lab_rig.cameras:
        still = BoardRenderer(cam, VIRTUAL_BOARD).render(floor_pose(VIRTUAL_BOARD))
        ids, _ = detect_charuco(still, VIRTUAL_BOARD)
        assert len(ids) > n_all / 2, f"{cam.name}: {len(ids)} of {n_all} corners"


@pytest.mark.parametrize("k1", [0.0, -0.15])
def test_floor_board_lies_where_the_lab_frame_says(k1):
    """Seen from above (squares ~40 px, where cornerSubPix is exact), every corner is at the
    projection of its board point mapped by lab = (x_b, -y_b, -z_b)."""
    cam = make_camera("top", (700.0, -500.0, 3000.0), (700.0, -500.001, 0.0), size=(640, 480),
                      distortions=(k1, 0.02, 0.0, 0.0, 0.0))
    still = BoardRenderer(cam, VIRTUAL_BOARD).render(floor_pose(VIRTUAL_BOARD))
    ids, px = _refined(still, VIRTUAL_BOARD)
    assert len(ids) == (VIRTUAL_BOARD.squares_x - 1) * (VIRTUAL_BOARD.squares_y - 1)
    err = np.hypot(*(px - cam.project(_board_corners_lab(VIRTUAL_BOARD)[ids])).T)
    assert np.median(err) < 0.15 and err.max() < 0.4, err


def test_hand_held_board_is_seen_often_and_by_two_cameras_at_a_time(lab_rig):
    n_frames = 40
    poses = hand_held_poses(VIRTUAL_BOARD, lab_rig, n_frames=n_frames,
                            target_mm=(700.0, -500.0, 1000.0), seed=0)
    obj = np.asarray(charuco_board(VIRTUAL_BOARD).getChessboardCorners(), float)
    seen = np.zeros((len(lab_rig), n_frames), bool)
    for c, cam in enumerate(lab_rig.cameras):
        renderer = BoardRenderer(cam, VIRTUAL_BOARD)
        for f, pose in enumerate(poses):
            ids, px = _refined(renderer.render(pose), VIRTUAL_BOARD)
            if len(ids) >= 6:
                seen[c, f] = True
                truth = cam.project(obj[ids] @ pose.rotation.T + pose.translation_mm)
                assert np.median(np.hypot(*(px - truth).T)) < 0.5
    assert np.all(seen.mean(axis=1) >= 0.15), seen.mean(axis=1)
    assert (seen.sum(axis=0) >= 2).mean() >= 0.25
