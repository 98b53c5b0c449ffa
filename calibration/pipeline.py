"""Calibrate a session folder: detect, calibrate, place the lab frame, judge, write outputs.

``calibrate_session`` is the one entry point of the three modes (full, intrinsics-only,
import); each ends in a :class:`~.report.CalibrationResult` written by
:func:`~.report.write_outputs` into ``SESSION/calibration/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from liftlab.calibration.boards import Board
from liftlab.calibration.calibrate import (
    CalibrationSettings,
    calibrate_rig,
    intrinsics_from_detections,
)
from liftlab.calibration.detect import Detections, detect_images, detect_video, image_files
from liftlab.calibration.importers import import_calibration
from liftlab.calibration.labframe import (
    LabFrame,
    apply_lab_frame,
    board_geometry_error,
    floor_images,
    lab_frame_from_floor,
    lab_frame_from_views,
    load_frame_toml,
)
from liftlab.calibration.quality import CameraQuality, Verdict, judge_scale
from liftlab.calibration.report import CalibrationResult, write_outputs
from liftlab.capture.session import VIDEO_SUFFIXES, Session
from liftlab.core.cameras import Rig
from liftlab.core.errors import CalibrationError, InputError

log = logging.getLogger(__name__)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _source_record(path: Path) -> dict:
    if path.is_dir():
        files = image_files(path)
        h = hashlib.sha256()
        for p in files:
            h.update(p.name.encode())
            h.update(_sha256(p).encode())
        return {"path": str(path), "images": len(files), "sha256": h.hexdigest()}
    return {"path": str(path), "sha256": _sha256(path)}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"opencv": cv2.__version__, "numpy": np.__version__}
    for pkg in ("liftlab", "aniposelib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def _select_cameras(session: Session, cameras: list[str] | None) -> list[str]:
    names = list(session.config.cameras)
    if cameras is None:
        return names
    unknown = [c for c in cameras if c not in names]
    if unknown:
        raise InputError(f"Camera(s) {', '.join(unknown)} are not in session.toml "
                         f"(cameras: {', '.join(names)})", where=str(session.root / "session.toml"),
                         fix="name cameras as in session.toml")
    return list(cameras)


def _frame_count(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    finally:
        cap.release()


def detect_session(session: Session, cameras: list[str], board: Board,
                   settings: CalibrationSettings) -> tuple[list[Detections], dict]:
    """Board detections of every camera (videos share one frame step, so frames match)."""
    sources = {c: session.calibration_source(c) for c in cameras}
    videos = [p for p in sources.values() if p.is_file()]
    step = None
    if videos:
        longest = max(_frame_count(p) for p in videos)
        step = max(1, math.ceil(longest / settings.max_views_per_camera)) if longest else None
    dets = []
    for cam, src in sources.items():
        if src.is_dir():
            dets.append(detect_images(image_files(src), board, camera=cam,
                                      min_corners=settings.min_corners_per_view))
        else:
            dets.append(detect_video(src, board, camera=cam, frame_step=step,
                                     max_views=settings.max_views_per_camera,
                                     min_corners=settings.min_corners_per_view))
        log.info("%s: board in %d of %d frames", cam, dets[-1].n_views, dets[-1].frames_read)
    return dets, {c: _source_record(p) for c, p in sources.items()}


def _video_sizes(session: Session, cameras: list[str]) -> dict[str, tuple[int, int]]:
    """Each camera's video size, from its calibration or first trial video."""
    sizes: dict[str, tuple[int, int]] = {}
    for cam in cameras:
        candidates = [session.calibration_dir / f"{cam}{s}" for s in VIDEO_SUFFIXES]
        candidates += [session.trials_dir / t / f"{cam}{s}" for t in session.trial_names()
                       for s in VIDEO_SUFFIXES]
        for p in candidates:
            if p.is_file():
                cap = cv2.VideoCapture(str(p))
                if cap.isOpened():
                    sizes[cam] = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                  int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
                cap.release()
                if cam in sizes:
                    break
    return sizes


def _place_lab_frame(session: Session, rig: Rig, dets: list[Detections], board: Board,
                     settings: CalibrationSettings, frame_file: str | Path | None
                     ) -> tuple[LabFrame, Verdict]:
    if frame_file is not None:
        return load_frame_toml(frame_file), Verdict("pass")
    stills = floor_images(session.calibration_dir, rig.names)
    why = "no floor stills in calibration/floor/"
    if stills:
        try:
            frame = lab_frame_from_floor(rig, stills, board, min_cameras=settings.min_floor_cameras,
                                         min_corners=settings.min_corners_per_view)
            return frame, Verdict("pass")
        except (InputError, CalibrationError) as exc:  # fall back, saying why
            why = str(exc)
    frame = lab_frame_from_views(rig, dets, board)
    return frame, Verdict("warn", (
        f"rig: the lab frame is NOT on the floor ({why}); it is the board where "
        f"{len(frame.cameras)} cameras saw it (frame {frame.details.get('frame_index')})",),
        ("lay the board on the floor where two or more cameras see it and save one still per "
         "camera as calibration/floor/<camera>.png, then re-run, or give --frame FILE.toml",))


def calibrate_session(session_dir: str | Path, *, intrinsics_only: bool = False,
                      settings: CalibrationSettings | None = None,
                      cameras: list[str] | None = None, import_from: str | Path | None = None,
                      frame: str | Path | None = None, json_out: str | Path | None = None
                      ) -> CalibrationResult:
    """Calibrate ``SESSION/calibration/`` and write its outputs.

    Parameters
    ----------
    session_dir
        The session folder (``session.toml`` gives cameras and ``[board]``).
    intrinsics_only
        Per-camera intrinsics from board photos or videos; extrinsics left at zero.
    settings
        Detection, model and verdict settings (default :class:`CalibrationSettings`).
    cameras
        Calibrate only these cameras (session order kept otherwise).
    import_from
        Import this aniposelib ``.toml`` or Qualisys ``.qca.txt`` instead of calibrating;
        its cameras are renamed, in order, to the session's.
    frame
        A TOML with a 4x4 ``matrix`` (calibration frame -> lab, mm) instead of the floor.
    json_out
        Also write the JSON report here.

    Returns
    -------
    CalibrationResult
        With ``outputs`` naming the files written.  A ``fail`` verdict leaves any previous
        ``calibration.toml`` untouched.
    """
    settings = settings or CalibrationSettings()
    session = Session.open(session_dir)
    names = _select_cameras(session, cameras)
    board = Board(session.config.board)
    prov = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "software": _versions(), "board": asdict(session.config.board),
            "settings": {k: v for k, v in asdict(settings).items() if k != "thresholds"},
            "thresholds": asdict(settings.thresholds), "session": str(session.root)}
    if import_from is not None:
        return _import(session, names, Path(import_from), prov, json_out)
    dets, sources = detect_session(session, names, board, settings)
    prov["sources"] = sources
    if intrinsics_only:
        prov["mode"] = "intrinsics_only"
        pairs = [intrinsics_from_detections(d, board, settings=settings) for d in dets]
        cams, quals = [p[0] for p in pairs], [p[1] for p in pairs]
        verdict = Verdict.combine([q.verdict for q in quals] + [Verdict(
            "warn", ("rig: intrinsics only; the cameras have no extrinsics (no lab frame)",),
            ("run `liftlab calibrate SESSION` with synchronised board videos for a rig",))])
        rig = Rig(tuple(cams), {"mode": "intrinsics_only"})
        result = CalibrationResult(rig, tuple(quals), verdict, "intrinsics_only", {}, {}, prov)
        return write_outputs(result, session.calibration_dir, json_copy=json_out)
    prov["mode"] = "full"
    rig0, quals = calibrate_rig(dets, board, settings=settings)
    lab, frame_verdict = _place_lab_frame(session, rig0, dets, board, settings, frame)
    rig = apply_lab_frame(rig0, lab)
    scale = board_geometry_error(rig, dets, board)
    verdict = Verdict.combine([q.verdict for q in quals] + [frame_verdict, judge_scale(
        scale["rms_mm"], scale["scale_ratio"], settings.thresholds)])
    rig = Rig(rig.cameras, {"mode": "full", "frame": "lab_zup_mm", "lab_frame": lab.source,
                            "on_floor": lab.on_floor, "verdict": verdict.status,
                            "date": prov["date"]})
    result = CalibrationResult(rig, tuple(quals), verdict, "full", lab.to_dict(), scale, prov)
    return write_outputs(result, session.calibration_dir, json_copy=json_out)


def _import(session: Session, names: list[str], path: Path, prov: dict,
            json_out: str | Path | None) -> CalibrationResult:
    prov.update(mode="import", sources={"import": _source_record(path)})
    sizes = _video_sizes(session, names)
    rig = import_calibration(path, camera_names=names if len(names) else None, image_sizes=sizes)
    quals = []
    for cam in rig.cameras:
        reasons: tuple[str, ...] = ()
        if cam.name not in sizes:
            reasons = (f"{cam.name}: no video found to check the image size "
                       f"({cam.size[0]}x{cam.size[1]} assumed)",)
        quals.append(CameraQuality(cam.name, 0, 0, float("nan"), float("nan"), float("nan"),
                                   None, Verdict("warn" if reasons else "pass", reasons,
                                                 ("record the trial videos at the calibrated "
                                                  "resolution",) if reasons else ())))
    verdict = Verdict.combine([q.verdict for q in quals] + [Verdict("pass", (
        f"rig: imported from {path.name}; quality not re-measured here "
        f"(file's own residuals: {rig.metadata.get('avg_residual', 'n/a')})",))])
    meta = {k: v for k, v in rig.metadata.items()}
    meta.update(mode="import", frame="lab_zup_mm", verdict=verdict.status, date=prov["date"])
    rig = Rig(rig.cameras, meta)
    lab = {"source": "imported", "on_floor": None, "note": "the imported file's frame is kept"}
    result = CalibrationResult(rig, tuple(quals), verdict, "import", lab, {}, prov)
    return write_outputs(result, session.calibration_dir, json_copy=json_out)
