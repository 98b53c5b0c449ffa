"""Frame timing of a multi-camera recording: match frames across cameras by host timestamp,
count dropped and duplicated frames, measure jitter, start offsets and clock drift.

Input is one array of host timestamps (ns, ``time.monotonic_ns`` at grab) per camera, as the
recorder writes them to ``<camera>.timestamps.csv``; output is a :class:`SyncReport` that the
recorder stores as ``sync_report.json`` beside the videos. Everything here is pure numpy.

Conventions
-----------
- ``period = 1 / fps`` is the *nominal* frame period (the rate the cameras were asked for).
- A gap between consecutive frames larger than ``drop_gap_periods`` periods means frames were
  lost: ``dropped = round(gap / period) - 1`` for that gap.
- A gap shorter than ``duplicate_gap_periods`` periods means the same instant was delivered
  twice (a duplicated frame, or a burst from a buffer after a stall).
- Jitter is the standard deviation of the *regular* intervals (neither drop gaps nor
  duplicates), so one lost frame does not read as jitter.
- The first camera is the reference: start offsets and drift are "this camera minus it".
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from liftlab.core.errors import InputError, check_all

TIMESTAMP_COLUMNS: tuple[str, ...] = ("frame", "host_ns", "source_index", "raw_frame", "filled")


@dataclass(frozen=True)
class SyncSettings:
    """Thresholds of the timing analysis, in nominal frame periods."""

    drop_gap_periods: float = 1.5
    duplicate_gap_periods: float = 0.25
    match_tolerance_periods: float = 0.5
    drift_warn_periods: float = 0.5
    fps_warn_fraction: float = 0.05

    def __post_init__(self) -> None:
        problems = []
        if not 1.0 < self.drop_gap_periods <= 3.0:
            problems.append(f"drop_gap_periods must lie in (1, 3], got {self.drop_gap_periods}")
        if not 0.0 <= self.duplicate_gap_periods < 1.0:
            problems.append("duplicate_gap_periods must lie in [0, 1), "
                            f"got {self.duplicate_gap_periods}")
        if not 0.0 < self.match_tolerance_periods <= 0.5:
            problems.append("match_tolerance_periods must lie in (0, 0.5], "
                            f"got {self.match_tolerance_periods}")
        if not self.drift_warn_periods > 0:
            problems.append(f"drift_warn_periods must be > 0, got {self.drift_warn_periods}")
        if not 0 < self.fps_warn_fraction < 1:
            problems.append(f"fps_warn_fraction must lie in (0, 1), got {self.fps_warn_fraction}")
        check_all(problems, where="SyncSettings")


@dataclass(frozen=True)
class CameraTiming:
    """Timing of one camera. Times in ms unless named otherwise; NaN when not measurable
    (fewer than two frames, or no overlap with the reference camera)."""

    name: str
    n_frames: int
    start_offset_ms: float
    measured_fps: float
    median_interval_ms: float
    jitter_ms: float
    dropped: int
    duplicated: int
    drop_events: tuple[tuple[int, int], ...] = ()
    matched: int = 0
    drift_ms: float = float("nan")
    drift_ppm: float = float("nan")

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["drop_events"] = [{"after_frame": f, "dropped": n} for f, n in self.drop_events]
        return {k: _finite_or_none(v) for k, v in doc.items()}


@dataclass(frozen=True)
class SyncReport:
    """Result of :func:`analyse_timestamps`.

    Attributes
    ----------
    fps
        Nominal frame rate the analysis assumed.
    cameras
        One :class:`CameraTiming` per camera, in the order given (the first is the reference).
    matches
        (M, C) int array: for every frame of the reference camera (rows), the index of the
        matched frame of each camera (columns, same order), or -1 when none lies within
        ``match_tolerance_periods`` periods.
    warnings
        Plain-language problems (late start, drops, drift, wrong fps), each naming the camera.
    """

    fps: float
    cameras: tuple[CameraTiming, ...]
    matches: np.ndarray
    warnings: tuple[str, ...]
    duration_s: float
    settings: SyncSettings = field(default_factory=SyncSettings)

    @property
    def reference(self) -> str:
        return self.cameras[0].name if self.cameras else ""

    @property
    def n_matched_all(self) -> int:
        """Reference frames for which every camera has a partner."""
        if self.matches.size == 0:
            return 0
        return int(np.all(self.matches >= 0, axis=1).sum())

    def camera(self, name: str) -> CameraTiming:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise KeyError(f"no camera {name!r} in the sync report "
                       f"(cameras: {[c.name for c in self.cameras]})")

    def to_json(self) -> dict[str, Any]:
        return {"fps": self.fps, "reference": self.reference,
                "duration_s": _finite_or_none(self.duration_s),
                "n_matched_all": self.n_matched_all,
                "cameras": [c.to_json() for c in self.cameras],
                "warnings": list(self.warnings), "settings": asdict(self.settings),
                "summary": self.summary()}

    def summary(self) -> str:
        """A short table a technician can read."""
        lines = [f"sync vs {self.reference} at {self.fps:g} fps nominal, "
                 f"{self.duration_s:.1f} s, {self.n_matched_all} frames matched on all cameras"]
        lines.append(f"{'camera':<12}{'frames':>7}{'fps':>8}{'start ms':>10}{'jitter ms':>11}"
                     f"{'dropped':>9}{'dup':>5}{'drift ms':>10}")
        for c in self.cameras:
            lines.append(f"{c.name:<12}{c.n_frames:>7}{_fmt(c.measured_fps, 2):>8}"
                         f"{_fmt(c.start_offset_ms, 1):>10}{_fmt(c.jitter_ms, 2):>11}"
                         f"{c.dropped:>9}{c.duplicated:>5}{_fmt(c.drift_ms, 2):>10}")
        lines += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)

    def save(self, path: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
        """Write the report as JSON (plus ``extra`` top-level keys) and a ``.txt`` summary."""
        path = Path(path)
        doc = self.to_json()
        doc.update(extra or {})
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        tmp.replace(path)
        path.with_suffix(".txt").write_text(self.summary() + "\n")
        return path


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _fmt(value: float, digits: int) -> str:
    return "-" if not np.isfinite(value) else f"{value:.{digits}f}"


def _interval_stats(t_ns: np.ndarray, period_ns: float, settings: SyncSettings
                    ) -> tuple[int, int, tuple[tuple[int, int], ...], float, float, float]:
    """dropped, duplicated, drop events, jitter ms, median interval ms, measured fps."""
    if t_ns.size < 2:
        return 0, 0, (), float("nan"), float("nan"), float("nan")
    gaps = np.diff(t_ns).astype(np.float64)
    in_periods = gaps / period_ns
    is_drop = in_periods > settings.drop_gap_periods
    is_dup = in_periods < settings.duplicate_gap_periods
    n_lost = np.where(is_drop, np.rint(in_periods).astype(np.int64) - 1, 0)
    n_lost = np.maximum(n_lost, 0)
    events = tuple((int(i), int(n_lost[i])) for i in np.flatnonzero(n_lost > 0))
    regular = gaps[~is_drop & ~is_dup]
    jitter_ms = float(regular.std() / 1e6) if regular.size >= 2 else float("nan")
    span_ns = float(t_ns[-1] - t_ns[0])
    fps = (t_ns.size - 1) * 1e9 / span_ns if span_ns > 0 else float("nan")
    return (int(n_lost.sum()), int(is_dup.sum()), events, jitter_ms,
            float(np.median(gaps) / 1e6), fps)


def _match(t_ref: np.ndarray, t_cam: np.ndarray, tolerance_ns: float) -> np.ndarray:
    """Index into ``t_cam`` of the nearest frame to each ``t_ref`` within tolerance, else -1;
    each camera frame is used at most once (the closest reference frame keeps it)."""
    out = np.full(t_ref.size, -1, dtype=np.int64)
    if t_ref.size == 0 or t_cam.size == 0:
        return out
    right = np.clip(np.searchsorted(t_cam, t_ref), 0, t_cam.size - 1)
    left = np.clip(right - 1, 0, t_cam.size - 1)
    d_right = np.abs(t_cam[right] - t_ref)
    d_left = np.abs(t_cam[left] - t_ref)
    nearest = np.where(d_left <= d_right, left, right)
    dist = np.minimum(d_left, d_right).astype(np.float64)
    ok = dist <= tolerance_ns
    # one-to-one: visit candidates from closest to farthest, keep the first claim of a frame
    order = np.argsort(np.where(ok, dist, np.inf), kind="stable")
    claimed: set[int] = set()
    for i in order:
        if not ok[i]:
            break
        j = int(nearest[i])
        if j not in claimed:
            claimed.add(j)
            out[i] = j
    return out


def _drift(t_ref: np.ndarray, t_cam: np.ndarray, period_ns: float) -> tuple[float, float]:
    """Change of the camera-minus-reference offset over the overlap (ms), and its slope (ppm).

    The nearest-frame difference wraps around by one frame period of the camera when clocks
    drift by more than half a frame, so it is unwrapped (modulo the camera's median frame
    interval) before a straight line is fitted.
    """
    lo, hi = max(t_ref[0], t_cam[0]), min(t_ref[-1], t_cam[-1])
    inside = t_ref[(t_ref >= lo) & (t_ref <= hi)]
    if inside.size < 3 or hi - lo <= 0:
        return float("nan"), float("nan")
    idx = np.clip(np.searchsorted(t_cam, inside), 1, t_cam.size - 1)
    prev = t_cam[idx - 1]
    nxt = t_cam[idx]
    nearest = np.where(np.abs(prev - inside) <= np.abs(nxt - inside), prev, nxt)
    diff = (nearest - inside).astype(np.float64)
    cam_period = float(np.median(np.diff(t_cam)))  # the camera's own frame period
    diff = np.unwrap(diff, period=cam_period if cam_period > 0 else period_ns)
    x_s = (inside - inside[0]).astype(np.float64) / 1e9
    slope_ns_per_s = float(np.polyfit(x_s, diff, 1)[0])
    drift_ms = slope_ns_per_s * float(x_s[-1]) / 1e6
    return drift_ms, slope_ns_per_s / 1e3  # ns per s -> parts per million


def analyse_timestamps(timestamps_ns: dict[str, np.ndarray], fps: float, *,
                       settings: SyncSettings | None = None) -> SyncReport:
    """Match frames of all cameras by host timestamp and describe each camera's timing.

    Parameters
    ----------
    timestamps_ns
        Camera name -> host timestamps of its recorded frames (ns, increasing), in camera
        order; the first camera is the reference.
    fps
        Nominal frame rate the cameras were asked for.
    settings
        Thresholds (:class:`SyncSettings`); the defaults follow the module docstring.

    Returns
    -------
    SyncReport
        Per camera start offset, measured fps, jitter, dropped, duplicated, drift; the frame
        matches; warnings that name the camera and the amount.

    Examples
    --------
    >>> t = np.arange(10) * 10_000_000            # 100 fps, 10 frames
    >>> r = analyse_timestamps({"a": t, "b": np.delete(t, 4) + 200_000_000}, 100)
    >>> r.camera("b").dropped, r.camera("b").start_offset_ms
    (1, 200.0)
    """
    settings = settings or SyncSettings()
    problems = []
    if not (np.isfinite(fps) and fps > 0):
        problems.append(f"fps must be positive, got {fps}")
    if not timestamps_ns:
        problems.append("no camera given")
    arrays: dict[str, np.ndarray] = {}
    for name, values in timestamps_ns.items():
        arr = np.asarray(values, dtype=np.int64).reshape(-1)
        if arr.size > 1 and np.any(np.diff(arr) < 0):
            problems.append(f"timestamps of {name!r} go backwards")
        arrays[name] = arr
    check_all(problems, where="analyse_timestamps",
              fix="pass host timestamps in ns per camera, in recording order")

    period_ns = 1e9 / fps
    names = list(arrays)
    ref = arrays[names[0]]
    starts = [a[0] for a in arrays.values() if a.size]
    ends = [a[-1] for a in arrays.values() if a.size]
    duration_s = (max(ends) - min(starts)) / 1e9 if starts else 0.0
    matches = np.full((ref.size, len(names)), -1, dtype=np.int64)
    cameras: list[CameraTiming] = []
    warnings: list[str] = []
    for c, name in enumerate(names):
        t = arrays[name]
        dropped, duplicated, events, jitter_ms, median_ms, measured_fps = _interval_stats(
            t, period_ns, settings)
        offset_ms = float(t[0] - ref[0]) / 1e6 if t.size and ref.size else float("nan")
        matches[:, c] = _match(ref, t, settings.match_tolerance_periods * period_ns)
        drift_ms, drift_ppm = (_drift(ref, t, period_ns) if c and t.size and ref.size
                               else (0.0 if t.size else float("nan"), 0.0))
        timing = CameraTiming(name=name, n_frames=int(t.size), start_offset_ms=offset_ms,
                              measured_fps=measured_fps, median_interval_ms=median_ms,
                              jitter_ms=jitter_ms, dropped=dropped, duplicated=duplicated,
                              drop_events=events, matched=int((matches[:, c] >= 0).sum()),
                              drift_ms=drift_ms, drift_ppm=drift_ppm)
        cameras.append(timing)
        warnings += _camera_warnings(timing, fps, period_ns, c == 0, settings)
    return SyncReport(fps=float(fps), cameras=tuple(cameras), matches=matches,
                      warnings=tuple(warnings), duration_s=float(duration_s), settings=settings)


def _camera_warnings(c: CameraTiming, fps: float, period_ns: float, is_reference: bool,
                     settings: SyncSettings) -> list[str]:
    period_ms = period_ns / 1e6
    out = []
    if c.n_frames < 2:
        out.append(f"{c.name} recorded {c.n_frames} frame(s): no timing can be measured")
        return out
    if np.isfinite(c.median_interval_ms):
        fps_median = 1e3 / c.median_interval_ms if c.median_interval_ms > 0 else float("inf")
        if abs(fps_median - fps) > settings.fps_warn_fraction * fps:
            out.append(f"{c.name} runs at {fps_median:.1f} fps, not the {fps:g} fps asked for: "
                       "its drop counts assume the nominal rate")
    if c.dropped:
        out.append(f"{c.name} dropped {c.dropped} frame(s) in {len(c.drop_events)} gap(s) "
                   f"({100.0 * c.dropped / (c.n_frames + c.dropped):.1f}%)")
    if c.duplicated:
        out.append(f"{c.name} delivered {c.duplicated} duplicated frame(s)")
    if not is_reference:
        if abs(c.start_offset_ms) > settings.match_tolerance_periods * period_ms:
            word = "after" if c.start_offset_ms > 0 else "before"
            out.append(f"{c.name} started {abs(c.start_offset_ms):.0f} ms {word} the reference "
                       "camera")
        if np.isfinite(c.drift_ms) and abs(c.drift_ms) > settings.drift_warn_periods * period_ms:
            out.append(f"{c.name} drifts {c.drift_ms:+.1f} ms against the reference over the "
                       f"recording ({c.drift_ppm:+.0f} ppm), more than "
                       f"{settings.drift_warn_periods:g} frame: match frames by timestamp, "
                       "not by index")
    return out


@dataclass(frozen=True)
class FrameTimes:
    """The rows of a ``<camera>.timestamps.csv``, one per video frame.

    Attributes
    ----------
    host_ns
        Host time (``time.monotonic_ns``) at which the frame shown was grabbed.
    source_index
        The source's own frame number, -1 when it has none.
    raw_frame
        Index of the frame in the raw recording (equal to the row for raw recordings).
    filled
        True where the camera had no frame within half a period of this instant (a
        dropped frame): the nearest frame is repeated; treat its 2D data as missing.
    """

    host_ns: np.ndarray
    source_index: np.ndarray
    raw_frame: np.ndarray
    filled: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.host_ns)
        check_all([f"{k} has {len(getattr(self, k))} rows, host_ns {n}"
                   for k in ("source_index", "raw_frame", "filled")
                   if len(getattr(self, k)) != n], where="FrameTimes")

    @classmethod
    def raw(cls, host_ns: np.ndarray, source_index: np.ndarray | None = None) -> FrameTimes:
        host = np.asarray(host_ns, dtype=np.int64)
        src = (np.full(host.size, -1, np.int64) if source_index is None
               else np.asarray(source_index, dtype=np.int64))
        return cls(host, src, np.arange(host.size, dtype=np.int64), np.zeros(host.size, bool))

    def take(self, frames: np.ndarray, filled: np.ndarray) -> FrameTimes:
        """Rows ``frames`` of this recording, marked ``filled``."""
        return FrameTimes(self.host_ns[frames], self.source_index[frames],
                          self.raw_frame[frames], np.asarray(filled, bool))

    def real_rows(self) -> np.ndarray:
        """Rows of the distinct, really grabbed frames (first row of each raw frame that is
        not ``filled``), in order."""
        keep = np.flatnonzero(~self.filled)
        _, first = np.unique(self.raw_frame[keep], return_index=True)
        return keep[np.sort(first)]

    def real(self) -> np.ndarray:
        """Host times of the distinct, really grabbed frames (for timing analysis)."""
        return self.host_ns[self.real_rows()]


def timestamp_row(frame: int, host_ns: int, source_index: int, raw_frame: int,
                  filled: bool) -> tuple[int, int, int | str, int, int]:
    """One ``<camera>.timestamps.csv`` row (:data:`TIMESTAMP_COLUMNS`; source_index empty
    when the source has no frame numbers, i.e. -1)."""
    return (int(frame), int(host_ns), "" if source_index < 0 else int(source_index),
            int(raw_frame), int(bool(filled)))


def write_timestamps_csv(path: str | Path, times: FrameTimes) -> Path:
    """Write ``frame,host_ns,source_index,raw_frame,filled`` rows (source_index empty when
    the source has no frame numbers)."""
    path = Path(path)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(TIMESTAMP_COLUMNS)
        for i in range(len(times.host_ns)):
            writer.writerow(timestamp_row(i, times.host_ns[i], int(times.source_index[i]),
                                          times.raw_frame[i], times.filled[i]))
    return path


def read_timestamps_csv(path: str | Path) -> FrameTimes:
    """Read a ``<camera>.timestamps.csv`` (``raw_frame`` and ``filled`` optional)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Missing timestamps file {path.name}", where=str(path),
                         fix="record with `liftlab capture`, which writes it beside the video")
    rows: list[tuple[int, int, int, int]] = []
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "host_ns" not in reader.fieldnames:
            raise InputError("Timestamps file has no host_ns column", where=str(path),
                             fix=f"expected the header {','.join(TIMESTAMP_COLUMNS)}")
        for i, row in enumerate(reader):
            src = (row.get("source_index") or "").strip()
            raw = (row.get("raw_frame") or "").strip()
            rows.append((int(row["host_ns"]), int(src) if src else -1,
                         int(raw) if raw else i, int((row.get("filled") or "0").strip() or 0)))
    arr = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    return FrameTimes(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3].astype(bool))


def analyse_folder(folder: str | Path, cameras: list[str] | tuple[str, ...], fps: float, *,
                   settings: SyncSettings | None = None) -> SyncReport:
    """:func:`analyse_timestamps` on the ``<camera>.timestamps.csv`` files of a trial folder
    (the really grabbed frames: filled rows are left out)."""
    folder = Path(folder)
    return analyse_timestamps(
        {c: read_timestamps_csv(folder / f"{c}.timestamps.csv").real() for c in cameras}, fps,
        settings=settings)


@dataclass(frozen=True)
class Alignment:
    """A common frame grid for all cameras: aligned frame ``i`` of every camera shows the
    instant ``grid_ns[i]`` (within half a period, else it is ``filled``).

    Attributes
    ----------
    grid_ns
        (N,) grid times: from the latest first frame to the earliest last frame (within half
        a period), one nominal period apart.
    frames
        Camera -> (N,) index of the recorded frame nearest each grid time (non-decreasing).
    filled
        Camera -> (N,) True where that nearest frame is more than the match tolerance away
        (the camera lost the frame of that instant; its neighbour is shown again).
    """

    fps: float
    grid_ns: np.ndarray
    frames: dict[str, np.ndarray]
    filled: dict[str, np.ndarray]

    @property
    def n_frames(self) -> int:
        return int(self.grid_ns.size)

    def is_identity(self, camera: str, n_recorded: int) -> bool:
        """True when the camera's recording already is its aligned video."""
        return (self.n_frames == n_recorded
                and np.array_equal(self.frames[camera], np.arange(n_recorded)))

    def to_json(self) -> dict[str, Any]:
        return {"aligned_frames": self.n_frames, "cameras": {
            c: {"first_recorded_frame": int(f[0]) if f.size else None,
                "last_recorded_frame": int(f[-1]) if f.size else None,
                "filled": int(self.filled[c].sum())} for c, f in self.frames.items()}}


def grid_length(start_ns: int, end_ns: int, period_ns: float) -> int:
    """Grid points from ``start_ns`` up to half a period past ``end_ns`` (the earliest last
    frame): every camera still has a frame within half a period of the last one."""
    if end_ns < start_ns:
        return 0
    return int(np.floor((end_ns - start_ns) / period_ns + 0.5)) + 1


def align_to_grid(timestamps_ns: dict[str, np.ndarray], fps: float, *,
                  settings: SyncSettings | None = None) -> Alignment:
    """Resample every camera onto one grid of nominal period (nearest frame per instant).

    The grid starts at the latest first frame (that camera's frame 0 is grid frame 0) and
    ends at the earliest last frame (see :func:`grid_length`), so every aligned video covers
    the same instants and has the same number of frames. Empty when the cameras do not
    overlap in time.
    """
    settings = settings or SyncSettings()
    arrays = {c: np.asarray(t, dtype=np.int64).reshape(-1) for c, t in timestamps_ns.items()}
    check_all([f"{c} has no frame" for c, t in arrays.items() if t.size == 0] +
              ([] if fps > 0 else [f"fps must be positive, got {fps}"]),
              where="align_to_grid", fix="leave out cameras that recorded nothing")
    period_ns = 1e9 / fps
    start = max(int(t[0]) for t in arrays.values())
    n = grid_length(start, min(int(t[-1]) for t in arrays.values()), period_ns)
    grid = start + np.round(np.arange(n) * period_ns).astype(np.int64)
    frames, filled = {}, {}
    for c, t in arrays.items():
        right = np.clip(np.searchsorted(t, grid), 0, t.size - 1)
        left = np.clip(right - 1, 0, t.size - 1)
        pick = np.where(np.abs(t[left] - grid) <= np.abs(t[right] - grid), left, right)
        frames[c] = pick.astype(np.int64)
        filled[c] = np.abs(t[pick] - grid) > settings.match_tolerance_periods * period_ns
    return Alignment(fps=float(fps), grid_ns=grid, frames=frames, filled=filled)
