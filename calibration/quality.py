"""Calibration quality: per-camera numbers and a pass / warn / fail verdict with reasons.

The thresholds are a typed frozen dataclass (:class:`QualityThresholds`) with documented
defaults; the verdict of a rig is the worst of its cameras' and of the rig-level checks.
Hands on :class:`CameraQuality` and :class:`Verdict` to ``calibrate`` and ``report``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from liftlab.core.errors import check_all

Status = Literal["pass", "warn", "fail"]
_ORDER = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class QualityThresholds:
    """Limits of the calibration verdict.

    Attributes
    ----------
    reproj_mean_warn_px, reproj_mean_fail_px
        Mean reprojection error of board corners (default 1.0 / 3.0 px; a good ChArUco
        calibration reaches 0.2-0.5 px, anipose's triangulation gate is 5 px).
    reproj_p95_warn_px, reproj_p95_fail_px
        95th percentile of the same (default 2.5 / 8.0 px).
    min_views_warn, min_views_fail
        Board views a camera needs (default 20 / 5; OpenCV's tutorial asks for 10-20
        intrinsic views, and extrinsics need views shared with other cameras).
    coverage_warn, coverage_fail
        Fraction of a ``coverage_grid`` of image cells hit by board corners (default
        0.5 / 0.2): corners only near the centre leave lens distortion unconstrained.
    coverage_grid
        Cells across and down the image (default 8 x 8).
    scale_error_warn_mm, scale_error_fail_mm
        RMS distance of triangulated board corners from the board geometry (default
        2.0 / 10.0 mm): catches a mis-typed square size or a warped board.
    """

    reproj_mean_warn_px: float = 1.0
    reproj_mean_fail_px: float = 3.0
    reproj_p95_warn_px: float = 2.5
    reproj_p95_fail_px: float = 8.0
    min_views_warn: int = 20
    min_views_fail: int = 5
    coverage_warn: float = 0.5
    coverage_fail: float = 0.2
    coverage_grid: tuple[int, int] = (8, 8)
    scale_error_warn_mm: float = 2.0
    scale_error_fail_mm: float = 10.0

    def __post_init__(self) -> None:
        problems = []
        for warn, fail in (("reproj_mean_warn_px", "reproj_mean_fail_px"),
                           ("reproj_p95_warn_px", "reproj_p95_fail_px"),
                           ("scale_error_warn_mm", "scale_error_fail_mm")):
            w, f = getattr(self, warn), getattr(self, fail)
            if not (0 < w <= f):
                problems.append(f"need 0 < {warn} <= {fail}, got {w} and {f}")
        if not (1 <= self.min_views_fail <= self.min_views_warn):
            problems.append(f"need 1 <= min_views_fail <= min_views_warn, got "
                            f"{self.min_views_fail} and {self.min_views_warn}")
        if not (0 <= self.coverage_fail <= self.coverage_warn <= 1):
            problems.append(f"need 0 <= coverage_fail <= coverage_warn <= 1, got "
                            f"{self.coverage_fail} and {self.coverage_warn}")
        if min(self.coverage_grid) < 1:
            problems.append(f"coverage_grid must be positive, got {self.coverage_grid}")
        check_all(problems, where="calibration quality thresholds")


@dataclass(frozen=True)
class Verdict:
    """pass / warn / fail with one reason and one fix per finding."""

    status: Status
    reasons: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()

    @staticmethod
    def combine(verdicts: list[Verdict]) -> Verdict:
        status: Status = "pass"
        reasons: list[str] = []
        fixes: list[str] = []
        for v in verdicts:
            if _ORDER[v.status] > _ORDER[status]:
                status = v.status
            reasons.extend(v.reasons)
            fixes.extend(f for f in v.fixes if f not in fixes)
        return Verdict(status, tuple(reasons), tuple(fixes))

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": list(self.reasons), "fixes": list(self.fixes)}


@dataclass(frozen=True)
class CameraQuality:
    """Quality numbers of one camera, and its verdict."""

    camera: str
    views: int
    frames_read: int
    reproj_mean_px: float
    reproj_p95_px: float
    coverage: float
    shared_views: int | None = None
    verdict: Verdict = field(default_factory=lambda: Verdict("pass"))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.to_dict()
        return d


def coverage(corners_px: np.ndarray, image_size: tuple[int, int], grid: tuple[int, int]) -> float:
    """Fraction of a ``grid`` (cells across, down) of the image hit by at least one corner."""
    pts = np.asarray(corners_px, dtype=float).reshape(-1, 2)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    w, h = image_size
    gx, gy = grid
    if pts.size == 0:
        return 0.0
    ix = np.clip((pts[:, 0] / w * gx).astype(int), 0, gx - 1)
    iy = np.clip((pts[:, 1] / h * gy).astype(int), 0, gy - 1)
    return float(np.unique(iy * gx + ix).size / (gx * gy))


def error_stats(errors_px: np.ndarray) -> tuple[float, float]:
    """(mean, 95th percentile) of reprojection distances, NaN-free; NaN when empty."""
    e = np.asarray(errors_px, dtype=float).ravel()
    e = e[np.isfinite(e)]
    if e.size == 0:
        return float("nan"), float("nan")
    return float(np.mean(e)), float(np.percentile(e, 95))


def judge_camera(camera: str, *, views: int, frames_read: int, errors_px: np.ndarray,
                 corners_px: np.ndarray, image_size: tuple[int, int],
                 thresholds: QualityThresholds, shared_views: int | None = None) -> CameraQuality:
    """Numbers and verdict of one camera.

    Parameters
    ----------
    errors_px
        Reprojection distances of the board corners this camera saw (any shape).
    corners_px
        Detected corners (..., 2) used for the coverage.
    shared_views
        Views seen together with at least one other camera (None for intrinsics only).
    """
    t = thresholds
    mean_px, p95_px = error_stats(errors_px)
    cov = coverage(corners_px, image_size, t.coverage_grid)
    found: list[Verdict] = []

    def add(status: Status, reason: str, fix: str) -> None:
        found.append(Verdict(status, (f"{camera}: {reason}",), (fix,)))

    closer = f"film the board closer to {camera}, slowly, tilted and in every part of its view"
    for label, n in (("views", views), ("views shared with another camera", shared_views)):
        if n is None:
            continue
        if n < t.min_views_fail:
            add("fail", f"saw the board in {n} {label} (needs {t.min_views_fail}, ideally "
                        f"{t.min_views_warn})", closer)
        elif n < t.min_views_warn:
            add("warn", f"saw the board in {n} {label} (ideally {t.min_views_warn})", closer)
    if not np.isfinite(mean_px):
        add("fail", "no reprojection error could be computed", closer)
    else:
        for name, value, warn, fail in (("mean", mean_px, t.reproj_mean_warn_px,
                                         t.reproj_mean_fail_px),
                                        ("95th percentile", p95_px, t.reproj_p95_warn_px,
                                         t.reproj_p95_fail_px)):
            fix = (f"check that {camera} did not move or refocus, that the board is flat and "
                   "its [board] spec is right, and re-film with less motion blur")
            if value > fail:
                add("fail", f"{name} reprojection error {value:.2f} px > {fail} px", fix)
            elif value > warn:
                add("warn", f"{name} reprojection error {value:.2f} px > {warn} px", fix)
    cover_fix = f"move the board through the corners and edges of {camera}'s image"
    if cov < t.coverage_fail:
        add("fail", f"board corners covered {cov:.0%} of the image (needs {t.coverage_fail:.0%})",
            cover_fix)
    elif cov < t.coverage_warn:
        add("warn", f"board corners covered {cov:.0%} of the image (ideally "
                    f"{t.coverage_warn:.0%})", cover_fix)
    return CameraQuality(camera, int(views), int(frames_read), mean_px, p95_px, cov,
                         None if shared_views is None else int(shared_views),
                         Verdict.combine(found))


def judge_scale(rms_mm: float, scale_ratio: float, thresholds: QualityThresholds) -> Verdict:
    """Verdict of the board-geometry check (triangulated corners vs the board)."""
    if not np.isfinite(rms_mm):
        return Verdict("warn", ("rig: no board view seen by two cameras to check the scale",),
                       ("film the board where at least two cameras see it",))
    bias = (scale_ratio - 1.0) * 100.0
    text = (f"rig: triangulated board corners are {rms_mm:.2f} mm RMS from the board geometry "
            f"(best-fit scale {bias:+.2f}%)")
    fix = ("check square_mm / marker_mm in [board] against the printed board with a ruler, and "
           "that the board is flat")
    if rms_mm > thresholds.scale_error_fail_mm:
        return Verdict("fail", (text,), (fix,))
    if rms_mm > thresholds.scale_error_warn_mm:
        return Verdict("warn", (text,), (fix,))
    return Verdict("pass")
