"""A stand-in 2D detector for virtual-lab sessions: the truth projected through the true cameras.

It answers the PoseBackend protocol of :mod:`liftlab.reconstruction.pose2d` without running
MediaPipe, so the workers, storage and reports can be exercised end to end in seconds and
with a known 2D error model (Gaussian pixel noise, optional outlier views). It is a test and
benchmark double: real sessions always use a real detector.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from liftlab.core.cameras import Rig
from liftlab.core.containers import Keypoints2D
from liftlab.core.errors import InputError


@dataclass(frozen=True)
class TruthDetector:
    """Detects by projecting ``SESSION/truth/<trial>`` landmarks through ``truth/rig.toml``.

    Parameters
    ----------
    noise_px
        Standard deviation of the Gaussian noise added to every coordinate.
    outlier_fraction
        Fraction of (frame, landmark) points replaced by a point 50-300 px away.
    confidence
        Confidence reported for every visible point.
    seed
        Random seed (combined with the camera name, so cameras get different noise).
    """

    noise_px: float = 2.0
    outlier_fraction: float = 0.0
    confidence: float = 0.9
    seed: int = 0
    name: str = "virtual-truth-projection"

    def settings(self) -> dict[str, Any]:
        return {"noise_px": self.noise_px, "outlier_fraction": self.outlier_fraction,
                "confidence": self.confidence, "seed": self.seed}

    def detect(self, video_path: str | Path, *, camera: str, progress: bool = False) -> Keypoints2D:
        from liftlab.capture.virtual.truth import load_truth

        path = Path(video_path)
        trial = path.parent.name
        truth_dir = path.parents[2] / "truth"
        if not (truth_dir / trial).is_dir():
            raise InputError(f"No virtual-lab truth for trial {trial!r}", where=str(truth_dir),
                             fix="TruthDetector only works on sessions made by `liftlab simulate`")
        truth = load_truth(truth_dir / trial)
        cam = Rig.load(truth_dir / "rig.toml")[camera]
        pts = cam.project(truth.landmarks_mm)
        rng = np.random.default_rng([self.seed, sum(camera.encode())])
        pts = pts + rng.normal(scale=self.noise_px, size=pts.shape)
        if self.outlier_fraction > 0:
            hit = rng.random(pts.shape[:2]) < self.outlier_fraction
            angle = rng.uniform(0, 2 * np.pi, size=pts.shape[:2])
            dist = rng.uniform(50, 300, size=pts.shape[:2])
            offset = np.stack([np.cos(angle), np.sin(angle)], axis=-1) * dist[..., None]
            pts = np.where(hit[..., None], pts + offset, pts)
        w, h = cam.size
        inside = ((pts[..., 0] >= 0) & (pts[..., 0] < w) & (pts[..., 1] >= 0)
                  & (pts[..., 1] < h) & (cam.depth_mm(truth.landmarks_mm) > 0))
        pts = np.where(inside[..., None], pts, np.nan)
        conf = np.where(inside, self.confidence, 0.0)
        return Keypoints2D(camera=camera, fps=truth.fps, points_px=pts, confidence=conf,
                           image_size=cam.size, source={"detector": self.name, **self.settings()})
