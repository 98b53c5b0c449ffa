"""What a recording produced: per camera counts and files (:class:`CameraCapture`), the whole
recording (:class:`CaptureReport`), live progress snapshots (:class:`LiveStatus`), and the
final marking of the output folder (``trial.toml`` status and ``sync_report.json``).

A recording that failed (disk full, writer error) is still marked on disk first, then raised
as :class:`CaptureError` carrying its report.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from liftlab.capture.session import TrialConfig, write_trial_config
from liftlab.capture.sync import Alignment, SyncReport
from liftlab.core.errors import LiftlabError

log = logging.getLogger(__name__)

CaptureStatus = Literal["complete", "interrupted", "failed"]
CameraStatus = Literal["ok", "ended", "disconnected", "write_failed", "no_frames"]


class CaptureError(LiftlabError):
    """A recording could not be completed (disk full, writer error). ``report`` holds what
    was recorded and how it was marked."""

    report: CaptureReport | None = None


@dataclass(frozen=True)
class CameraCapture:
    """What one camera recorded.

    ``frames_grabbed = dropped_in_queue + trimmed + frames_kept``: frames lost because the
    writer fell behind, outside the span common to all cameras, and the distinct frames in
    the video. ``frames_written`` counts the video's frames (repeats included) before any
    re-encoding; ``aligned_frames`` those of the final aligned video, ``filled`` of which
    repeat a neighbour because the camera lost that instant's frame.
    """

    name: str
    status: CameraStatus
    frames_grabbed: int
    frames_written: int
    dropped_in_queue: int
    trimmed: int
    frames_kept: int
    video_path: Path | None
    timestamps_path: Path | None
    aligned_frames: int | None = None
    filled: int = 0
    reencoded: bool = False
    raw_video_path: Path | None = None
    board_detections: int | None = None
    board_checked: int | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        doc = dataclasses.asdict(self)
        for key in ("video_path", "timestamps_path", "raw_video_path"):
            doc[key] = None if doc[key] is None else str(doc[key])
        return doc


@dataclass(frozen=True)
class CaptureReport:
    """Result of a recording: per camera counts and files, timing analysis, problems."""

    out_dir: Path
    trial: str | None
    status: CaptureStatus
    duration_s: float
    fps: float
    cameras: tuple[CameraCapture, ...]
    sync: SyncReport | None
    problems: tuple[str, ...] = ()
    alignment: Alignment | None = None
    finish_s: float = 0.0  # seconds spent after the stop (flush, align, re-encode, move)

    def camera(self, name: str) -> CameraCapture:
        return next(c for c in self.cameras if c.name == name)

    def to_json(self) -> dict[str, Any]:
        return {"capture_status": self.status, "trial": self.trial,
                "duration_s": round(self.duration_s, 3), "fps": self.fps,
                "finish_s": round(self.finish_s, 3),
                "capture_problems": list(self.problems),
                "capture": [c.to_json() for c in self.cameras],
                "alignment": None if self.alignment is None else self.alignment.to_json()}

    def summary(self) -> str:
        what = f"trial {self.trial}" if self.trial else "calibration"
        lines = [f"{what}: {self.status}, {self.duration_s:.1f} s -> {self.out_dir}"]
        for c in self.cameras:
            rate = c.frames_grabbed / self.duration_s if self.duration_s > 0 else 0.0
            video = (f"{c.aligned_frames} in the aligned video ({c.filled} filled)"
                     if c.aligned_frames is not None else f"{c.frames_written} in the video")
            board = (f", board in {c.board_detections}/{c.board_checked} checked frames"
                     if c.board_detections is not None else "")
            lines.append(f"  {c.name:<10} {c.status:<12} {c.frames_grabbed:>6} grabbed "
                         f"({rate:.1f}/s), {c.dropped_in_queue} dropped by the writer, "
                         f"{c.trimmed} trimmed, {video}{board}")
        if self.sync is not None:
            lines.append(self.sync.summary())
        lines += [f"PROBLEM: {p}" for p in self.problems]
        return "\n".join(lines)


@dataclass(frozen=True)
class LiveStatus:
    """A progress snapshot: per camera (name, frames grabbed, recent fps, frames lost so far
    (writer queue full + gaps in the stream), board detections or None)."""

    elapsed_s: float
    cameras: tuple[tuple[str, int, float, int, int | None], ...]

    def line(self) -> str:
        parts = []
        for name, frames, fps, dropped, board in self.cameras:
            board_txt = f" board {board}" if board is not None else ""
            parts.append(f"{name} {frames}f {fps:.1f}fps lost {dropped}{board_txt}")
        return f"{self.elapsed_s:6.1f}s | " + " | ".join(parts)


def raise_if_failed(report: CaptureReport) -> CaptureReport:
    """Return ``report``, or raise :class:`CaptureError` holding it when it failed."""
    if report.status == "failed":
        err = CaptureError("; ".join(report.problems) or "recording failed",
                           where=str(report.out_dir),
                           fix="free disk space or check the output drive; what was recorded "
                               "is kept and the recording is marked failed")
        err.report = report
        raise err
    return report


def mark_trial(trial_dir: Path, base: TrialConfig, report: CaptureReport, started: str) -> None:
    """Write trial.toml and sync_report.json with the final status (best effort on a full
    disk: the status 'recording' left behind then still says the trial is not complete)."""
    notes = base.notes
    if report.status != "complete":
        notes = (notes + "\n" if notes else "") + f"capture {report.status}: " + "; ".join(
            report.problems)
    capture = {"started_utc": started, "duration_s": round(report.duration_s, 3),
               "fps": report.fps, "aligned": report.alignment is not None,
               "cameras": {c.name: {
                   "status": c.status, "frames_recorded": c.frames_written,
                   "frames_in_video": c.aligned_frames or c.frames_written,
                   "filled": c.filled, "dropped_in_queue": c.dropped_in_queue,
                   "dropped": 0 if report.sync is None or c.frames_written == 0
                   else report.sync.camera(c.name).dropped} for c in report.cameras}}
    try:
        write_trial_config(trial_dir, dataclasses.replace(base, notes=notes, extra={
            **base.extra, "capture_status": report.status, "capture": capture}))
        write_sync_report(trial_dir, report)
    except OSError as exc:
        log.error("could not mark %s: %s", trial_dir, exc)


def write_sync_report(out_dir: Path, report: CaptureReport) -> None:
    """Write ``sync_report.json``: the timing analysis (when any) and the capture report."""
    if report.sync is not None:
        report.sync.save(out_dir / "sync_report.json", extra=report.to_json())
    else:
        (out_dir / "sync_report.json").write_text(json.dumps(report.to_json(), indent=2))
