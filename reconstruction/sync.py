"""Synchronisation check from 2D keypoint motion.

Each camera's motion signal is the mean 2D speed of the lower-limb landmarks, divided by the
person's height in that view (so near and far cameras compare) and standardised. A camera's
offset relative to the reference camera is the lag that maximises the Pearson correlation of
those signals over the overlapping frames, searched within +-``max_offset_frames``.

Convention: ``offset_frames = d`` means the camera's frame ``f + d`` shows the instant of the
reference's frame ``f`` (the camera started ``d`` frames early / lags by ``d``).
:func:`apply_offsets` corrects by ``new[f] = old[f + d]``, padding with NaN.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from liftlab.core.containers import Keypoints2D
from liftlab.core.errors import InputError
from liftlab.core.landmarks import INDEX, LOWER_LIMB


@dataclass(frozen=True)
class SyncEstimate:
    """Offset of one camera relative to the reference and the correlation at that lag."""

    camera: str
    offset_frames: int
    peak_correlation: float
    zero_lag_correlation: float


def motion_signal(kp: Keypoints2D, *, landmarks: tuple[str, ...] = LOWER_LIMB) -> np.ndarray:
    """(F,) standardised mean 2D speed of ``landmarks``, NaN where unknown."""
    idx = [INDEX[n] for n in landmarks]
    pts = kp.points_px[:, idx]
    speed = np.linalg.norm(np.diff(pts, axis=0), axis=-1)  # (F-1, L)
    y = kp.points_px[..., 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        height = np.nanmax(y, axis=1) - np.nanmin(y, axis=1)
        sig = np.nanmean(speed, axis=1) / np.fmax(height[1:], height[:-1])
        sig = (sig - np.nanmean(sig)) / (np.nanstd(sig) or 1.0)
    return np.concatenate([[np.nan], sig])


def _lagged_correlation(ref: np.ndarray, sig: np.ndarray, lag: int) -> float:
    n = min(ref.size, sig.size)
    if lag >= 0:
        a, b = ref[: n - lag] if lag else ref[:n], sig[lag:n]
        a = a[: b.size]
    else:
        a, b = ref[-lag:n], sig[: n + lag]
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10:
        return np.nan
    a, b = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else np.nan


def estimate_offsets(keypoints: dict[str, Keypoints2D], *, reference: str | None = None,
                     max_offset_frames: int = 15) -> dict[str, SyncEstimate]:
    """Offset of every camera relative to ``reference`` (default: the first camera).

    Parameters
    ----------
    keypoints
        2D keypoints per camera (same fps).
    max_offset_frames
        Largest offset searched either way; keep it below half the movement's period.
    """
    if not keypoints:
        raise InputError("No camera to check synchronisation of")
    names = list(keypoints)
    reference = reference or names[0]
    if reference not in keypoints:
        raise InputError(f"Reference camera {reference!r} is not among {names}")
    ref = motion_signal(keypoints[reference])
    out = {}
    for name in names:
        sig = motion_signal(keypoints[name])
        lags = range(-max_offset_frames, max_offset_frames + 1)
        corr = np.array([_lagged_correlation(ref, sig, d) for d in lags])
        if name == reference or not np.isfinite(corr).any():
            zero = 1.0 if name == reference else float("nan")
            out[name] = SyncEstimate(name, 0, zero, zero)
            continue
        best = int(np.nanargmax(corr))
        out[name] = SyncEstimate(name, int(lags[best]), float(corr[best]),
                                 float(corr[max_offset_frames]))
    return out


def apply_offsets(keypoints: dict[str, Keypoints2D],
                  offsets: dict[str, int]) -> dict[str, Keypoints2D]:
    """Shift each camera by its offset (``new[f] = old[f + d]``), NaN-padded, same length."""
    out = {}
    for name, kp in keypoints.items():
        d = int(offsets.get(name, 0))
        if d == 0:
            out[name] = kp
            continue
        px = np.full_like(kp.points_px, np.nan)
        conf = np.zeros_like(kp.confidence)
        n = kp.n_frames
        if d > 0:
            px[: n - d], conf[: n - d] = kp.points_px[d:], kp.confidence[d:]
        else:
            px[-d:], conf[-d:] = kp.points_px[: n + d], kp.confidence[: n + d]
        source = dict(kp.source)
        source["sync_shift_frames"] = d
        out[name] = replace(kp, points_px=px, confidence=conf, source=source)
    return out
