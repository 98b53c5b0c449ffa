"""Zero-lag low-pass filtering for metric inputs (scipy.signal Butterworth + filtfilt).

Where filtering happens in liftlab's metrics (documented once, here):

1. :func:`liftlab.metrics.analyze.analyze` low-passes the 3D landmarks at the exercise's
   cut-off (6 Hz squat, 10-12 Hz clean/snatch; ``[filter]`` in thresholds.toml) before any
   angle or position is computed;
2. it low-passes the joint-angle series again at ``angle_cutoff_hz`` (4 Hz, opencap squat
   example) and knee-over-foot and the medial knee shift at ``shift_cutoff_hz`` (4 Hz); the
   hinge plane of the shift is oriented from landmarks low-passed at ``plane_cutoff_hz``
   (1.5 Hz) and foot motion is judged at ``foot_cutoff_hz`` (2 Hz), see
   :mod:`liftlab.metrics.noise`;
3. mid-hip height for repetitions uses the landmark-filtered signal; its velocity is a
   central difference of that.

Filters are designed on the *measured* fps of the data. NaN gaps are bridged linearly for
filtering and put back afterwards (a metric is never invented where a landmark is missing).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, filtfilt


def lowpass(data: np.ndarray, *, fps: float, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Zero-lag Butterworth low-pass along axis 0 (time), NaN-aware.

    Parameters
    ----------
    data
        (F, ...) samples; NaN where missing.
    fps
        Sampling rate of ``data`` (the measured one).
    cutoff_hz
        -3 dB cut-off of one pass; run forward and back (effective order ``2 * order``).
    order
        Butterworth order of one pass.

    Returns
    -------
    np.ndarray
        Same shape; NaN where ``data`` was NaN. Returned unfiltered when the cut-off is at or
        above Nyquist or the series is too short to pad.
    """
    x = np.asarray(data, dtype=float)
    if x.shape[0] < 2 or cutoff_hz >= 0.5 * fps:
        return x.copy()
    b, a = butter(order, cutoff_hz / (0.5 * fps))
    padlen = 3 * max(len(a), len(b))
    if np.all(np.isfinite(x)) and x.shape[0] > padlen:
        return filtfilt(b, a, x, axis=0)
    flat = x.reshape(x.shape[0], -1)
    out = np.full_like(flat, np.nan)
    t = np.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        col = flat[:, j]
        ok = np.isfinite(col)
        first, last = (np.flatnonzero(ok)[[0, -1]] if ok.any() else (0, -1))
        if last - first + 1 <= padlen:
            out[:, j] = col
            continue
        seg = slice(first, last + 1)
        filled = np.interp(t[seg], t[ok], col[ok])
        out[seg, j] = filtfilt(b, a, filled)
        out[~ok, j] = np.nan
    return out.reshape(x.shape)


def derivative(data: np.ndarray, *, fps: float) -> np.ndarray:
    """Central-difference time derivative along axis 0 (units per second)."""
    x = np.asarray(data, dtype=float)
    if x.shape[0] < 2:
        return np.zeros_like(x)
    return np.gradient(x, 1.0 / fps, axis=0)
