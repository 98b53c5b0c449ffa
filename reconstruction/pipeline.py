"""The reconstruction stage: 2D keypoints of every camera -> one checked Trajectory3D.

:func:`reconstruct_trial` runs, in order: input checks (cameras vs calibration, resolution,
frame rate, length, person in view) -> sync check (and correction when asked) -> undistortion
-> multi-view consistency (another person in a view, left/right swaps) -> robust triangulation
with per-view adaptive gates -> spike removal, short-gap filling, zero-lag low-pass ->
thigh/shank length refinement (:mod:`.segments`, ``bone_length_weight``; 0 = off). It hands
on a :class:`ReconstructionResult`: the trajectory plus a per-camera report, so a bad camera
is visible rather than silently averaged in. :func:`detect_trial` makes the 2D keypoints.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from liftlab.core.cameras import Rig
from liftlab.core.containers import Keypoints2D, Trajectory3D
from liftlab.core.errors import InputError, ReconstructionError, check_all
from liftlab.core.landmarks import LANDMARKS
from liftlab.reconstruction import cleanup, consistency, pairs, segments, sync
from liftlab.reconstruction.pose2d import PoseBackend, require_person
from liftlab.reconstruction.triangulation import adaptive_thresholds, triangulate_robust
from liftlab.reconstruction.video import probe_video

log = logging.getLogger(__name__)

Exercise = Literal["squat", "front_squat", "clean", "snatch", "knee_curl"]


@dataclass(frozen=True)
class ReconstructionSettings:
    """How 2D keypoints become a trajectory (units in the names; bounds checked).

    Parameters
    ----------
    exercise
        Picks the default low-pass cut-off (6 Hz squat, 12 Hz clean/snatch).
    cutoff_hz
        Low-pass cut-off; ``None`` = the exercise's default; 0 = no low-pass.
    max_gap_frames
        Longest gap filled by interpolation; longer gaps stay NaN and are flagged.
    reproj_threshold_px
        Largest reprojection error for a view to count as agreeing (the per-view adaptive
        gates are never looser). Pose2Sim uses 15 px, anipose 5 px.
    adaptive_factor, min_threshold_px
        Per-view gate = clip(adaptive_factor x median inlier error, min, reproj_threshold_px).
    min_views
        Agreeing views needed for a 3D point.
    min_confidence
        2D points below this confidence are not used.
    hampel_half_window, hampel_n_sigma
        Spike removal window (frames each side) and threshold.
    fix_swaps, reject_foreign_views
        Multi-view left/right swap repair; dropping a view that saw another person.
    resolve_knees
        After ``fix_swaps``, decide the knees' left/right labels jointly over all views
        (keep / swap / leave out per view, sided by the feet; :mod:`.pairs`).
    pair_drop_cost_px
        Reprojection error (left + right, px) above which a view is left out of the knee
        pair in that frame (a "half-swapped" view with both knees near the middle).
        Off by default: it cuts the knee error on the rendered virtual lab (~30 -> ~21 mm
        when a view swaps knees) but moved the real demo's thigh-length CV from under
        3.5 % to 3.57 % (tests/test_reconstruction_realdata.py); not yet understood.
    bone_length_weight
        Segment-length-constrained refinement after the clean-up (:mod:`.segments`): px of
        reprojection error per mm of thigh/shank length change from the trial's median;
        0 = off (the cleaned trajectory as is). Default 1.0 (with ``segment_anchor_weight``
        0.4), measured side by side: real demo (tests/test_reconstruction_realdata.py) thigh
        and shank length CV max 6.4 % -> 2.0 %, lower-limb reprojection of the delivered
        points median 8.05 -> 7.8 px; virtual lab (3 trials) hips ~24.6 -> ~21.9 mm, knees
        ~28.3 -> ~23.6 mm, ankles ~12.6 -> ~13.0 mm; 2 px-noise synthetic squat legs
        2.5 -> 3.3 mm (the per-frame re-fit to 2D brings back some of the noise the low-pass
        had removed). With it on, ``Trajectory3D.reproj_error_px`` is the error of the
        delivered points.
    segment_anchor_weight
        px per mm pulling refined points to their cleaned (low-passed) position (twice that
        for ankle, heel, toe): higher is smoother but fits the 2D less (real demo median
        7.7 px at 0.3, 7.9 px at 0.5, 8.2 px at 1.0 with the foot factor 1).
    refine_feet
        Also hold ankle-heel, heel-toe and ankle-toe at their median lengths.
    sync
        ``"check"`` reports offsets, ``"correct"`` also shifts the cameras, ``"off"`` skips.
    max_sync_offset_frames
        Offsets searched either way.
    allow_missing_cameras
        Proceed without a calibrated camera that has no keypoints (>= 2 must remain).
    min_detected_fraction
        A camera that saw a person in fewer frames than this is an error ("no person").
    resolution_tolerance_px
        Video vs calibration size difference accepted with a warning (encoders pad 1080 to
        1088: the real demo data has exactly that).
    """

    exercise: Exercise = "squat"
    cutoff_hz: float | None = None
    max_gap_frames: int = 6
    reproj_threshold_px: float = 15.0
    adaptive_factor: float = 3.0
    min_threshold_px: float = 5.0
    min_views: int = 2
    min_confidence: float = 0.3
    hampel_half_window: int = 3
    hampel_n_sigma: float = 3.0
    fix_swaps: bool = True
    reject_foreign_views: bool = True
    resolve_knees: bool = False
    pair_drop_cost_px: float = 15.0
    bone_length_weight: float = 1.0
    segment_anchor_weight: float = 0.4
    refine_feet: bool = False
    sync: Literal["check", "correct", "off"] = "check"
    max_sync_offset_frames: int = 10
    allow_missing_cameras: bool = False
    min_detected_fraction: float = 0.1
    resolution_tolerance_px: int = 16

    def __post_init__(self) -> None:
        p = []
        if self.exercise not in cleanup.DEFAULT_CUTOFF_HZ:
            p.append(f"exercise must be one of {sorted(cleanup.DEFAULT_CUTOFF_HZ)}, "
                     f"got {self.exercise!r}")
        if self.cutoff_hz is not None and not 0 <= self.cutoff_hz <= 100:
            p.append(f"cutoff_hz must lie in [0, 100], got {self.cutoff_hz}")
        if not 0 <= self.max_gap_frames <= 120:
            p.append(f"max_gap_frames must lie in [0, 120], got {self.max_gap_frames}")
        if not 0 < self.min_threshold_px <= self.reproj_threshold_px <= 500:
            p.append("need 0 < min_threshold_px <= reproj_threshold_px <= 500, got "
                     f"{self.min_threshold_px} and {self.reproj_threshold_px}")
        if not 1 <= self.adaptive_factor <= 20:
            p.append(f"adaptive_factor must lie in [1, 20], got {self.adaptive_factor}")
        if self.min_views < 2:
            p.append(f"min_views must be >= 2, got {self.min_views}")
        if not 0 <= self.min_confidence < 1:
            p.append(f"min_confidence must lie in [0, 1), got {self.min_confidence}")
        if not 1 <= self.hampel_half_window <= 30 or not self.hampel_n_sigma > 0:
            p.append("hampel_half_window must lie in [1, 30] and hampel_n_sigma be > 0")
        if not 0 < self.pair_drop_cost_px <= 500:
            p.append(f"pair_drop_cost_px must lie in (0, 500], got {self.pair_drop_cost_px}")
        if not 0 <= self.bone_length_weight <= 100:
            p.append(f"bone_length_weight must lie in [0, 100], got {self.bone_length_weight}")
        if not 0 < self.segment_anchor_weight <= 100:
            p.append("segment_anchor_weight must lie in (0, 100], got "
                     f"{self.segment_anchor_weight}")
        if self.sync not in ("check", "correct", "off"):
            p.append(f"sync must be 'check', 'correct' or 'off', got {self.sync!r}")
        if not 0 <= self.max_sync_offset_frames <= 300:
            p.append(f"max_sync_offset_frames must lie in [0, 300], got "
                     f"{self.max_sync_offset_frames}")
        if not 0 <= self.min_detected_fraction <= 1:
            p.append(f"min_detected_fraction must lie in [0, 1], got {self.min_detected_fraction}")
        if self.resolution_tolerance_px < 0:
            p.append("resolution_tolerance_px must be >= 0")
        check_all(p, where="reconstruction settings")

    @property
    def effective_cutoff_hz(self) -> float:
        return cleanup.DEFAULT_CUTOFF_HZ[self.exercise] if self.cutoff_hz is None \
            else float(self.cutoff_hz)


@dataclass(frozen=True)
class CameraReport:
    """What one camera contributed and what went wrong with it (fractions in [0, 1])."""

    camera: str
    n_frames: int
    detected_fraction: float
    sync_offset_frames: int = 0
    sync_peak_correlation: float = float("nan")
    sync_corrected: bool = False
    swap_fraction: float = 0.0
    foreign_fraction: float = 0.0
    outlier_fraction: float = 0.0
    jump_frames: int = 0
    threshold_px: float = float("nan")
    median_error_px: float = float("nan")
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReconstructionResult:
    """The trajectory of a trial and how it was made."""

    trajectory: Trajectory3D
    cameras: dict[str, CameraReport]
    warnings: tuple[str, ...] = ()
    long_gap_fraction: float = 0.0
    settings: ReconstructionSettings = field(default_factory=ReconstructionSettings)

    def summary(self) -> dict:
        """Plain-Python summary (JSON-ready) for logs, storage and the CLI."""
        return {"cameras": {k: asdict(v) for k, v in self.cameras.items()},
                "warnings": list(self.warnings), "long_gap_fraction": self.long_gap_fraction,
                "n_frames": self.trajectory.n_frames, "fps": self.trajectory.fps}


def _clear_offset(est: sync.SyncEstimate) -> bool:
    """An offset worth acting on: a strong peak, clearly better than no shift.

    2D speed differs between views, so weak or flat correlations (the real demo data: peaks
    0.2-0.7 within 0.1 of zero lag although the cameras are synchronised) are not evidence.
    """
    return bool(est.offset_frames != 0 and est.peak_correlation >= 0.6
                and est.peak_correlation - est.zero_lag_correlation >= 0.05)


def _refine_offset(kps: dict[str, Keypoints2D], rig: Rig, name: str, offset: int,
                   settings: ReconstructionSettings) -> int:
    """Confirm and refine a speed-based offset geometrically (0 = not confirmed).

    Among ``offset - 1 .. offset + 1`` the shift bringing the camera's keypoints closest
    (median) to the 3D triangulated from the other cameras wins, if it is at least 15 %
    closer than no shift. With two cameras there is no such check: the offset is kept.
    """
    if len(rig) < 3:
        return offset
    c = rig.names.index(name)

    def error(d: int) -> float:
        pts, w = _stack(sync.apply_offsets(kps, {name: d}), rig, settings.min_confidence)
        others = [i for i in range(len(rig)) if i != c]
        sub = rig.subset([rig.names[i] for i in others])
        tri = triangulate_robust(sub, pts[others].reshape(len(others), -1, 2),
                                 w[others].reshape(len(others), -1),
                                 threshold_px=settings.reproj_threshold_px)
        pred = rig[name].project(tri.points_mm).reshape(pts.shape[1:])
        d_px = np.linalg.norm(rig[name].undistort_px(pred) - pts[c], axis=-1)
        return float(np.nanmedian(d_px)) if np.isfinite(d_px).any() else np.inf

    base = error(0)
    cands = {d: error(d) for d in (offset - 1, offset, offset + 1) if d != 0}
    best = min(cands, key=cands.get)
    return best if cands[best] < 0.85 * base else 0


def check_inputs(keypoints: dict[str, Keypoints2D], rig: Rig, *,
                 settings: ReconstructionSettings) -> tuple[dict[str, Keypoints2D], Rig,
                                                            list[str]]:
    """Validate and align the inputs; return keypoints and rig in one camera order + warnings.

    Raises one error listing every problem: cameras unknown to the calibration, calibrated
    cameras without keypoints (unless allowed), rotated or wrongly sized videos, differing
    frame rates, cameras that saw nobody.
    """
    warnings: list[str] = []
    problems: list[str] = []
    if not keypoints:
        raise InputError("No 2D keypoints given", fix="run the 2D stage on the trial's videos")
    unknown = [c for c in keypoints if c not in rig.names]
    if unknown:
        problems.append(f"camera(s) {unknown} are not in the calibration (it has {rig.names})")
    missing = [c for c in rig.names if c not in keypoints]
    present = [c for c in rig.names if c in keypoints]
    if missing:
        if settings.allow_missing_cameras and len(present) >= 2:
            warnings.append(f"camera(s) {missing} missing from the trial; using {present}")
        else:
            problems.append(f"camera(s) {missing} of the calibration have no keypoints in this "
                            "trial")
    for name in present:
        kp, cam = keypoints[name], rig[name]
        (w, h), (cw, ch) = kp.image_size, cam.size
        if (w, h) != (cw, ch):
            if (w, h) == (ch, cw):
                problems.append(f"{name} video is {w}x{h} but calibration says {cw}x{ch}: "
                                "recalibrate or rotate")
            elif max(abs(w - cw), abs(h - ch)) <= settings.resolution_tolerance_px:
                warnings.append(f"{name} video is {w}x{h}, calibration {cw}x{ch} (padding, "
                                "within tolerance)")
            else:
                problems.append(f"{name} video is {w}x{h} but calibration says {cw}x{ch}: "
                                "recalibrate at this resolution")
        if kp.landmarks != LANDMARKS:
            problems.append(f"{name} keypoints are not in MediaPipe's 33-landmark order")
    fps = {n: keypoints[n].fps for n in present}
    if fps and max(fps.values()) > 1.01 * min(fps.values()):
        problems.append(f"cameras run at different frame rates {fps}")
    check_all(problems, where="reconstruction inputs",
              fix="check session.toml's cameras, the trial's videos and the calibration")
    for name in present:
        try:
            require_person(keypoints[name], min_detected_fraction=settings.min_detected_fraction)
        except ReconstructionError as exc:
            if settings.allow_missing_cameras and len(present) > 2:
                warnings.append(f"{exc}: camera dropped")
                present = [c for c in present if c != name]
            else:
                raise
    if len(present) < 2:
        raise ReconstructionError(f"Need at least two cameras, have {present}",
                                  fix="record with two or more calibrated cameras")
    lengths = {n: keypoints[n].n_frames for n in present}
    n_min = min(lengths.values())
    if max(lengths.values()) != n_min:
        short = [n for n, v in lengths.items() if v == n_min]
        warnings.append(f"videos differ in length {lengths}: truncated to {n_min} frames "
                        f"(shortest: {short}); check for dropped frames")
    aligned = {n: replace(keypoints[n], points_px=keypoints[n].points_px[:n_min],
                          confidence=keypoints[n].confidence[:n_min]) for n in present}
    return aligned, rig.subset(present), warnings


def _stack(keypoints: dict[str, Keypoints2D], rig: Rig,
           min_confidence: float) -> tuple[np.ndarray, np.ndarray]:
    pts = np.stack([rig[n].undistort_px(keypoints[n].points_px) for n in rig.names])
    w = np.stack([keypoints[n].confidence for n in rig.names])
    w = np.where(np.all(np.isfinite(pts), axis=-1) & (w >= min_confidence), w, 0.0)
    pts[w == 0] = np.nan
    return pts, w


def reconstruct_trial(keypoints: dict[str, Keypoints2D], rig: Rig, *,
                      settings: ReconstructionSettings | None = None) -> ReconstructionResult:
    """2D keypoints of every camera of one trial -> Trajectory3D and per-camera report.

    Parameters
    ----------
    keypoints
        Keypoints2D per camera name (the names of ``rig``).
    rig
        The calibration.
    settings
        See :class:`ReconstructionSettings`.
    """
    settings = settings or ReconstructionSettings()
    kps, rig, warns = check_inputs(keypoints, rig, settings=settings)
    names = rig.names
    fps = kps[names[0]].fps
    offsets: dict[str, sync.SyncEstimate] = {}
    sync_applied: set[str] = set()
    if settings.sync != "off":
        offsets = sync.estimate_offsets(kps, reference=names[0],
                                        max_offset_frames=settings.max_sync_offset_frames)
        off = {n: _refine_offset(kps, rig, n, e.offset_frames, settings)
               for n, e in offsets.items() if _clear_offset(e)}
        off = {n: d for n, d in off.items() if d}
        if off and settings.sync == "correct":
            kps = sync.apply_offsets(kps, off)
            sync_applied = set(off)
            warns.append(f"sync corrected by {off} frames")
        elif off:
            warns.append(f"cameras look out of sync by {off} frames (relative to {names[0]}); "
                         "re-run with sync='correct' or check the recording")
    pts, w = _stack(kps, rig, settings.min_confidence)
    n_cam, n_f, n_k = w.shape
    detected = w > 0
    foreign = np.zeros((n_cam, n_f), dtype=bool)
    swaps = np.zeros((n_cam, n_f, len(consistency.SWAP_GROUPS)), dtype=bool)
    if n_cam >= 3 and (settings.fix_swaps or settings.reject_foreign_views):
        pred = consistency.leave_one_out_predictions(rig, pts, w,
                                                     threshold_px=settings.reproj_threshold_px)
        if settings.fix_swaps:
            pts, w, swaps = consistency.fix_swaps(rig, pts, w, predicted=pred,
                                                  threshold_px=settings.reproj_threshold_px)
            if settings.resolve_knees:
                pts, w, swapped, _ = pairs.resolve_legs(
                    rig, pts, w, names=("knee",), drop_cost_px=settings.pair_drop_cost_px,
                    threshold_px=settings.reproj_threshold_px)
                g = list(consistency.SWAP_GROUPS).index("knees")
                swaps[..., g] ^= swapped[..., 0]
        if settings.reject_foreign_views:
            foreign = consistency.detect_foreign_views(pts, pred)
            w[foreign] = 0.0
            pts[foreign] = np.nan
    flat_pts, flat_w = pts.reshape(n_cam, -1, 2), w.reshape(n_cam, -1)
    tri = triangulate_robust(rig, flat_pts, flat_w, threshold_px=settings.reproj_threshold_px,
                             min_views=settings.min_views)
    thr = adaptive_thresholds(tri.errors_px, tri.used, base_px=settings.reproj_threshold_px,
                              factor=settings.adaptive_factor,
                              floor_px=settings.min_threshold_px)
    tri = triangulate_robust(rig, flat_pts, flat_w, threshold_px=thr,
                             min_views=settings.min_views)
    raw = tri.points_mm.reshape(n_f, n_k, 3)
    spikes = cleanup.hampel_3d(raw, half_window=settings.hampel_half_window,
                               n_sigma=settings.hampel_n_sigma)
    clean = np.where(spikes[..., None], np.nan, raw)
    filled_pts, filled = cleanup.fill_gaps(clean, max_gap_frames=settings.max_gap_frames)
    cutoff = settings.effective_cutoff_hz
    final = cleanup.lowpass(filled_pts, fps=fps, cutoff_hz=cutoff) if cutoff > 0 else filled_pts
    n_views = np.where(spikes, 0, tri.n_views.reshape(n_f, n_k)).astype(np.int16)
    err = np.where(spikes, np.nan, tri.mean_error_px.reshape(n_f, n_k))
    used = tri.used.reshape(n_cam, n_f, n_k)
    if settings.bone_length_weight > 0:
        segs = segments.LEG_SEGMENTS + (segments.FOOT_SEGMENTS if settings.refine_feet else ())
        ref = segments.refine_segments(
            final, rig, pts, np.where(used & ~spikes, w, 0.0), segments=segs,
            bone_length_weight=settings.bone_length_weight,
            anchor_weight=settings.segment_anchor_weight)
        final = ref.points_mm
        # the error of the points handed on, not of the raw triangulation
        err = np.where(np.isfinite(ref.reproj_error_px), ref.reproj_error_px, err)
    missing = ~np.all(np.isfinite(final), axis=-1)
    reports = {}
    for c, name in enumerate(names):
        kp = kps[name]
        n_det = max(int(detected[c].sum()), 1)
        e = tri.errors_px[c][tri.used[c]]
        est = offsets.get(name)
        cam_warn = []
        jumps = consistency.track_jumps(kp.points_px)
        if foreign[c].mean() > 0.1:
            cam_warn.append(f"{foreign[c].mean():.0%} of frames show another person or "
                            "nonsense: check the view")
        reports[name] = CameraReport(
            camera=name, n_frames=n_f, detected_fraction=kp.detected_fraction(),
            sync_offset_frames=est.offset_frames if est else 0,
            sync_peak_correlation=est.peak_correlation if est else float("nan"),
            sync_corrected=bool(est and settings.sync == "correct"
                                and name in sync_applied),
            swap_fraction=float(swaps[c].any(-1).mean()),
            foreign_fraction=float(foreign[c].mean()),
            outlier_fraction=float((detected[c] & ~used[c]).sum() / n_det),
            jump_frames=int(jumps.sum()), threshold_px=float(thr[c]),
            median_error_px=float(np.median(e)) if e.size else float("nan"),
            warnings=tuple(cam_warn))
        warns += [f"{name}: {m}" for m in cam_warn]
    long_gap = float(missing.mean())
    if long_gap > 0.02:
        warns.append(f"{long_gap:.1%} of points missing after gap filling (gaps longer than "
                     f"{settings.max_gap_frames} frames stay empty)")
    provenance = {"operations": ["undistort", "consistency(foreign views, swaps)",
                                 *(["pairs.resolve_legs(knees)"] if settings.resolve_knees
                                   else []),
                                 "triangulate_robust(adaptive per-view gates)",
                                 "hampel_3d", f"fill_gaps(max {settings.max_gap_frames} frames)",
                                 f"butterworth 2nd order filtfilt {cutoff:g} Hz",
                                 *([f"segments.refine_segments(weight "
                                    f"{settings.bone_length_weight:g} px/mm)"]
                                   if settings.bone_length_weight > 0 else [])],
                  "settings": asdict(settings), "cameras": names,
                  "pose2d": {n: kps[n].source.get("backend", "?") for n in names},
                  "thresholds_px": dict(zip(names, map(float, thr), strict=True))}
    traj = Trajectory3D(points_mm=final, fps=fps, landmarks=LANDMARKS, n_views=n_views,
                        reproj_error_px=err, filled=filled, provenance=provenance)
    for m in warns:
        log.warning(m)
    return ReconstructionResult(trajectory=traj, cameras=reports, warnings=tuple(warns),
                                long_gap_fraction=long_gap, settings=settings)


def detect_trial(videos: dict[str, Path], *, backend: PoseBackend | None = None,
                 rig: Rig | None = None, progress: bool = False,
                 resolution_tolerance_px: int = 16) -> dict[str, Keypoints2D]:
    """2D keypoints of every camera's video of one trial.

    All videos are probed first (missing, unreadable, empty, wrongly sized vs ``rig``), and
    every problem is reported at once before any time is spent on 2D pose.
    """
    from liftlab.reconstruction.pose2d import MediaPipePose

    backend = backend or MediaPipePose()
    problems = []
    for name, path in videos.items():
        try:
            info = probe_video(path)
        except InputError as exc:
            problems.append(f"{name}: {exc}")
            continue
        if rig is not None and name in rig.names:
            cw, ch = rig[name].size
            if (info.width, info.height) == (ch, cw) and cw != ch:
                problems.append(f"{name} video is {info.width}x{info.height} but calibration "
                                f"says {cw}x{ch}: recalibrate or rotate")
            elif max(abs(info.width - cw), abs(info.height - ch)) > resolution_tolerance_px:
                problems.append(f"{name} video is {info.width}x{info.height} but calibration "
                                f"says {cw}x{ch}: recalibrate at this resolution")
    check_all(problems, where="trial videos", fix="see each camera's message")
    return {name: backend.detect(path, camera=name, progress=progress)
            for name, path in videos.items()}
