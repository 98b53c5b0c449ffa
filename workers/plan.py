"""What `liftlab process` will do for a session, checked before any heavy work starts.

A plan lists every (trial, camera) video with its frame count, so a trial whose videos differ
in length, or miss a camera, is refused up front (and named), while the other trials proceed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2

from liftlab.capture.session import Session, TrialConfig
from liftlab.core.errors import InputError, LiftlabError


@dataclass(frozen=True)
class VideoFacts:
    camera: str
    path: Path
    n_frames: int
    fps: float
    size: tuple[int, int]


def probe_video(path: Path) -> VideoFacts:
    """Frame count, fps and size of a video, with a clear error when it cannot be read."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(f"Cannot open video {path.name}", where=str(path),
                             fix="check the file is a complete video (re-record or re-copy it)")
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        ok, _ = cap.read()
    finally:
        cap.release()
    if n <= 0 or not ok:
        raise InputError(f"Video {path.name} has no readable frame", where=str(path),
                         fix="re-record or re-copy the video")
    return VideoFacts(camera=path.stem, path=path, n_frames=n, fps=fps, size=size)


@dataclass(frozen=True)
class TrialPlan:
    name: str
    config: TrialConfig
    videos: dict[str, VideoFacts]

    @property
    def n_frames(self) -> int:
        return min(v.n_frames for v in self.videos.values())

    @property
    def fps(self) -> float:
        return next(iter(self.videos.values())).fps


@dataclass
class SessionPlan:
    session: Session
    trials: list[TrialPlan] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # trial -> reason


def plan_session(session: Session, *, trials: list[str] | None = None,
                 max_length_mismatch_frames: int = 1) -> SessionPlan:
    """Check every trial's videos; refuse (with the reason) the trials that cannot be processed.

    Raises InputError when the session has no trial at all (or none of ``trials`` exists).
    """
    names = session.trial_names()
    if trials:
        unknown = sorted(set(trials) - set(names))
        if unknown:
            raise InputError(f"Unknown trial(s) {unknown}; the session has {names}",
                             where=str(session.trials_dir), fix="check the trial names")
        names = [n for n in names if n in trials]
    if not names:
        raise InputError("The session has no trial", where=str(session.trials_dir),
                         fix="record trials (`liftlab capture`) into trials/<name>/ with a trial.toml")
    plan = SessionPlan(session=session)
    for name in names:
        try:
            config = session.trial(name)
            videos = {cam: probe_video(session.video_path(name, cam))
                      for cam in session.config.cameras}
            lengths = {cam: v.n_frames for cam, v in videos.items()}
            if max(lengths.values()) - min(lengths.values()) > max_length_mismatch_frames:
                raise InputError(
                    f"Videos differ in length: {lengths} frames", where=f"trial {name!r}",
                    fix="the cameras were not started and stopped together: re-record the trial, "
                        "or trim the videos to the same frames",
                )
            plan.trials.append(TrialPlan(name=name, config=config, videos=videos))
        except LiftlabError as exc:
            plan.refused[name] = str(exc)
    return plan
