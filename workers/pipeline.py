"""`liftlab process`: every trial of a session, 2D -> 3D -> metrics -> database, on Ray.

Stages and their parallelism:

1. 2D pose, one Ray task per (trial, camera): all cameras of all trials at once.
2. Reconstruction, one task per trial, started as soon as its cameras are done.
3. Alignment from the session's knee_curl trial (if any), then metrics, one task per trial.
4. Storage in the driver, one transaction per trial (a trial is stored whole or not at all).

A task that dies (worker killed, out of memory) is retried ``max_retries`` times by Ray; a
task that still fails is reported by trial and camera, and the rest of the session completes.
``ray_address="inline"`` runs the same stages without Ray (for debugging and for measuring
Ray's overhead).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from liftlab.capture.session import Session
from liftlab.core.cameras import Rig
from liftlab.core.containers import Keypoints2D
from liftlab.core.errors import InputError, LiftlabError
from liftlab.workers import tasks
from liftlab.workers.plan import SessionPlan, TrialPlan, plan_session
from liftlab.workers.raysetup import ray_session

log = logging.getLogger(__name__)

INLINE = "inline"


@dataclass(frozen=True)
class ProcessSettings:
    """How a session is processed (plain values; stage settings are the stages' own types).

    Attributes
    ----------
    max_retries
        Times Ray re-runs a task whose worker died, before the task is reported failed.
    ship_videos
        Send video bytes through Ray's object store (for clusters without shared storage).
    save_artifacts
        Write keypoints, trajectory, analysis and series under ``SESSION/derived/<trial>/``.
    """

    max_retries: int = 2
    ship_videos: bool = False
    save_artifacts: bool = True
    reconstruction: Any = None   # liftlab.reconstruction ReconstructionSettings; None = defaults
    thresholds: Any = None       # liftlab.metrics Thresholds; None = packaged defaults


@dataclass(frozen=True)
class TaskFailure:
    stage: str
    trial: str
    camera: str | None
    error: str

    def __str__(self) -> str:
        cam = f", camera {self.camera}" if self.camera else ""
        return f"{self.stage} failed for trial {self.trial}{cam}: {self.error}"


@dataclass
class TrialOutcome:
    trial: str
    exercise: str
    reading: str | None = None
    reasons: list[str] = field(default_factory=list)
    n_reps: int = 0
    alignment_source: str | None = None
    stored: bool = False
    trial_id: int | None = None
    analysis: dict | None = None
    reconstruction_report: Any = None
    trajectory: Any = None
    timings_s: dict[str, float] = field(default_factory=dict)


@dataclass
class ProcessReport:
    session: Path
    db_url: str
    ray: dict
    outcomes: dict[str, TrialOutcome] = field(default_factory=dict)
    failures: list[TaskFailure] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    alignment: Any = None
    warnings: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.refused


def default_pose_backend() -> Any:
    from liftlab.reconstruction.pose2d import MediaPipePose

    return MediaPipePose()


def load_rig(session: Session) -> Rig:
    """The session's calibration, restricted to (and ordered as) its cameras."""
    if not session.calibration_file.is_file():
        raise InputError(
            "The session is not calibrated", where=str(session.calibration_file),
            fix="run `liftlab calibrate SESSION` (or `liftlab calibrate SESSION --import FILE`)",
        )
    rig = Rig.load(session.calibration_file)
    return rig.subset(list(session.config.cameras))


class _Runner:
    """Submits stage functions to Ray, or runs them inline, with one interface."""

    def __init__(self, inline: bool, max_retries: int):
        self.inline = inline
        self.max_retries = max_retries
        self._remote: dict[Callable, Any] = {}

    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        if self.inline:
            try:
                return ("done", fn(*args, **kwargs))
            except Exception as exc:  # noqa: BLE001 - reported per task, never swallowed
                return ("error", exc)
        import ray

        if fn not in self._remote:
            self._remote[fn] = ray.remote(max_retries=self.max_retries,
                                          retry_exceptions=False)(fn)
        return self._remote[fn].remote(*args, **kwargs)

    def put(self, value: Any) -> Any:
        if self.inline:
            return value
        import ray

        return ray.put(value)

    def gather(self, futures: dict[Any, Any], *, desc: str, progress: bool):
        """Yield (key, result, error) as tasks finish, with a progress bar."""
        bar = tqdm(total=len(futures), desc=desc, unit="task", disable=not progress,
                   leave=True)
        try:
            if self.inline:
                for key, (status, value) in futures.items():
                    bar.update(1)
                    yield (key, value, None) if status == "done" else (key, None, value)
                return
            import ray

            pending = {ref: key for key, ref in futures.items()}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    key = pending.pop(ref)
                    bar.update(1)
                    try:
                        yield key, ray.get(ref), None
                    except Exception as exc:  # noqa: BLE001 - RayTaskError, WorkerCrashedError...
                        yield key, None, _unwrap(exc)
        finally:
            bar.close()


def _unwrap(exc: BaseException) -> BaseException:
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, LiftlabError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


def process_session(
    session_dir: str | Path,
    *,
    db_url: str | None = None,
    ray_address: str | None = None,
    num_cpus: int | None = None,
    trials: list[str] | None = None,
    settings: ProcessSettings | None = None,
    pose_backend: Any = None,
    progress: bool = True,
) -> ProcessReport:
    """Process every trial of a session and store the results (see the module docstring).

    Raises LiftlabError before any work starts when the session, calibration or database is
    unusable; per-trial and per-camera failures are collected in the report instead.
    """
    from liftlab.metrics.settings import load_thresholds
    from liftlab.storage.db import open_database, resolve_url

    settings = settings or ProcessSettings()
    if settings.thresholds is None:  # record the thresholds actually used, not "defaults"
        settings = replace(settings, thresholds=load_thresholds())
    t_start = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    session = Session.open(session_dir)
    plan = plan_session(session, trials=trials)
    rig = load_rig(session)
    url = resolve_url(db_url)
    db = open_database(url)  # fail fast on a wrong URL, before minutes of 2D pose
    backend = pose_backend if pose_backend is not None else default_pose_backend()

    inline = ray_address == INLINE
    report = ProcessReport(session=session.root, db_url=url, ray={"address": INLINE},
                           refused=dict(plan.refused))
    for name, reason in plan.refused.items():
        log.warning("trial %s refused: %s", name, reason)
    if not plan.trials:
        raise InputError("No trial of the session can be processed: "
                         + "; ".join(f"{k}: {v}" for k, v in plan.refused.items()),
                         where=str(session.root), fix="fix the trials named above")

    runner = _Runner(inline, settings.max_retries)
    ctx = _null_ctx() if inline else ray_session(address=ray_address, num_cpus=num_cpus)
    t_ray = time.perf_counter()
    with ctx as ray_info:
        report.timings_s["ray_start"] = time.perf_counter() - t_ray
        if ray_info:
            report.ray = ray_info
        keypoints = _pose_stage(plan, runner, backend, settings, report, progress)
        _reconstruction_stage(plan, runner, rig, keypoints, settings, report, progress)
        _analysis_stage(plan, runner, settings, report, progress)
    t_compute = time.perf_counter()
    _store_stage(db, session, plan, rig, keypoints, settings, report, backend,
                 started_at=started_at, progress=progress)
    report.timings_s.update(compute=t_compute - t_start,
                            store=time.perf_counter() - t_compute,
                            total=time.perf_counter() - t_start)
    db.dispose()
    return report


class _null_ctx:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _pose_stage(plan: SessionPlan, runner: _Runner, backend: Any, settings: ProcessSettings,
                report: ProcessReport, progress: bool) -> dict[str, dict[str, Keypoints2D]]:
    t0 = time.perf_counter()
    backend_ref = runner.put(backend)
    futures = {}
    for trial in plan.trials:
        for cam, facts in trial.videos.items():
            video: Any = str(facts.path)
            if settings.ship_videos:
                video = runner.put(facts.path.read_bytes())
            futures[(trial.name, cam)] = runner.submit(tasks.pose_task, backend_ref, video, cam,
                                                       facts.path.suffix)
    out: dict[str, dict[str, Keypoints2D]] = {t.name: {} for t in plan.trials}
    for (trial, cam), value, error in runner.gather(futures, desc="2D pose", progress=progress):
        if error is not None:
            report.failures.append(TaskFailure("2D pose", trial, cam, _describe(error)))
        else:
            out[trial][cam] = value
    report.timings_s["pose2d"] = time.perf_counter() - t0
    return out


def _reconstruction_stage(plan: SessionPlan, runner: _Runner, rig: Rig,
                          keypoints: dict[str, dict[str, Keypoints2D]],
                          settings: ProcessSettings, report: ProcessReport,
                          progress: bool) -> None:
    t0 = time.perf_counter()
    rig_ref = runner.put(rig)
    futures = {}
    for trial in plan.trials:
        kp = keypoints[trial.name]
        report.outcomes[trial.name] = TrialOutcome(trial.name, trial.config.exercise)
        if len(kp) < 2:
            report.failures.append(TaskFailure(
                "reconstruction", trial.name, None,
                f"only {len(kp)} camera(s) have 2D pose; at least 2 are needed"))
            continue
        futures[trial.name] = runner.submit(tasks.reconstruct_task, kp, rig_ref,
                                            settings.reconstruction)
    for name, value, error in runner.gather(futures, desc="3D reconstruction", progress=progress):
        if error is not None:
            report.failures.append(TaskFailure("reconstruction", name, None, _describe(error)))
            continue
        result, seconds = value
        outcome = report.outcomes[name]
        outcome.trajectory = result.trajectory
        outcome.reconstruction_report = result
        outcome.timings_s["reconstruction"] = seconds
    report.timings_s["reconstruction"] = time.perf_counter() - t0


def _analysis_stage(plan: SessionPlan, runner: _Runner, settings: ProcessSettings,
                    report: ProcessReport, progress: bool) -> None:
    t0 = time.perf_counter()
    # Alignment first: the session's knee_curl trial applies to every other trial.
    alignment = None
    for trial in plan.trials:
        outcome = report.outcomes.get(trial.name)
        if trial.config.exercise != "knee_curl" or outcome is None or outcome.trajectory is None:
            continue
        fut = {trial.name: runner.submit(tasks.alignment_task, outcome.trajectory)}
        for name, value, error in runner.gather(fut, desc="alignment", progress=False):
            if error is not None:
                report.failures.append(TaskFailure("alignment", name, None, _describe(error)))
            else:
                alignment = value
                outcome.alignment_source = getattr(value, "source", None)
        if alignment is not None:
            break
    if alignment is not None and not alignment.ok:
        # A knee curl that failed its quality check must not pass for a calibration: the
        # squats are analysed as uncalibrated, and the verdict (side + fix) is reported.
        from liftlab.metrics.alignment import Alignment

        bad = [q for q in alignment.quality.values() if not q.ok]
        report.warnings.append(
            "knee-curl alignment not usable: "
            + "; ".join(f"{q.verdict} (fix: {q.fix})" for q in bad)
            + ". The squat trials were analysed with an assumed alignment (uncalibrated).")
        alignment = Alignment("assumed", 0.0, 0.0, dict(alignment.quality))
    report.alignment = alignment
    futures = {}
    for trial in plan.trials:
        outcome = report.outcomes.get(trial.name)
        if trial.config.exercise == "knee_curl" or outcome is None or outcome.trajectory is None:
            continue
        cfg = trial.config
        futures[trial.name] = runner.submit(
            tasks.analyze_task, outcome.trajectory, exercise=cfg.exercise, alignment=alignment,
            load_kg=cfg.load_kg, one_rm_kg=cfg.one_rm_kg, pain=cfg.pain,
            thresholds=settings.thresholds)
    for name, value, error in runner.gather(futures, desc="metrics", progress=progress):
        if error is not None:
            report.failures.append(TaskFailure("metrics", name, None, _describe(error)))
            continue
        analysis, series, seconds = value
        outcome = report.outcomes[name]
        outcome.analysis = {"json": analysis, "series": series}
        trial_part = analysis.get("trial", {})
        outcome.reading = trial_part.get("reading")
        outcome.reasons = list(trial_part.get("reasons", []))
        outcome.n_reps = int(trial_part.get("reps", 0))
        outcome.alignment_source = trial_part.get("alignment", {}).get("source")
        outcome.timings_s["metrics"] = seconds
    report.timings_s["metrics"] = time.perf_counter() - t0


def _trial_ok(name: str, report: ProcessReport) -> bool:
    return not any(f.trial == name for f in report.failures)


def _calibration_info(session: Session) -> Any:
    """The rig text plus, when `liftlab calibrate` wrote it, its quality report."""
    from liftlab.storage.inputs import CalibrationInfo

    report_path = session.calibration_dir / "calibration_report.json"
    errors: dict[str, float] = {}
    verdict = None
    provenance: dict[str, Any] = {}
    if report_path.is_file():
        try:
            doc = json.loads(report_path.read_text())
        except json.JSONDecodeError:
            doc = {}
        v = doc.get("verdict")
        verdict = v.get("status") if isinstance(v, dict) else v
        for cam in doc.get("cameras", []) or []:
            if isinstance(cam, dict) and cam.get("camera") and cam.get("reproj_mean_px") is not None:
                errors[str(cam["camera"])] = float(cam["reproj_mean_px"])
        provenance = doc.get("provenance", {}) or {}
    return CalibrationInfo.from_file(session.calibration_file, camera_errors_px=errors,
                                     verdict=verdict, provenance=provenance)


def _save_artifacts(session: Session, trial: TrialPlan, outcome: TrialOutcome,
                    keypoints: dict[str, Keypoints2D]) -> None:
    """Derived files beside the videos (overwritten atomically on reprocessing)."""
    folder = session.root / "derived" / trial.name
    folder.mkdir(parents=True, exist_ok=True)
    for cam, kp in keypoints.items():
        kp.save(folder / f"keypoints_{cam}.npz")
    if outcome.trajectory is not None:
        outcome.trajectory.save(folder / "trajectory.npz")
    if outcome.reconstruction_report is not None:
        tmp = folder / "reconstruction.json.tmp"
        tmp.write_text(json.dumps(outcome.reconstruction_report.summary(), indent=2, default=str))
        tmp.replace(folder / "reconstruction.json")
    if outcome.analysis is not None:
        tmp = folder / "analysis.json.tmp"
        tmp.write_text(json.dumps(outcome.analysis["json"], indent=2, default=str))
        tmp.replace(folder / "analysis.json")
        tmp = folder / "series.csv.tmp"
        outcome.analysis["series"].to_csv(tmp, index=False)
        tmp.replace(folder / "series.csv")


def _thresholds_dict(thresholds: Any) -> Any:
    return thresholds.to_dict() if hasattr(thresholds, "to_dict") else repr(thresholds)


def _alignment_json(alignment: Any) -> dict[str, Any]:
    if alignment is None:
        return {"source": "assumed", "left_deg": 0.0, "right_deg": 0.0}
    doc = alignment.to_json_dict() if hasattr(alignment, "to_json_dict") else {}
    doc.update(source=alignment.source, left_deg=float(alignment.left_deg),
               right_deg=float(alignment.right_deg))
    return doc


def _store_stage(db: Any, session: Session, plan: SessionPlan, rig: Rig,
                 keypoints: dict[str, dict[str, Keypoints2D]], settings: ProcessSettings,
                 report: ProcessReport, backend: Any, *, started_at: dt.datetime,
                 progress: bool) -> None:
    """One transaction per trial; failed trials get a failed run record, old results kept."""
    from liftlab.storage.inputs import RunInfo, SessionInfo, TrialInfo, VideoInfo
    from liftlab.storage.repository import record_failed_run, save_trial_result

    session_info = SessionInfo.from_session(session)
    calibration = _calibration_info(session)
    run_uuid = __import__("uuid").uuid4().hex
    model = str(getattr(backend, "name", None) or type(backend).__name__)
    backend_settings = backend.settings() if hasattr(backend, "settings") else {}
    for trial in tqdm(plan.trials, desc="store", unit="trial", disable=not progress):
        outcome = report.outcomes.get(trial.name)
        trial_info = TrialInfo.from_config(trial.config)
        failures = [str(f) for f in report.failures if f.trial == trial.name]
        recon = outcome.reconstruction_report if outcome else None
        run_settings = {"max_retries": settings.max_retries, "pose2d": backend_settings,
                        "reconstruction_report": recon.summary() if recon is not None else None,
                        "reconstruction": repr(settings.reconstruction),
                        "thresholds": _thresholds_dict(settings.thresholds), "ray": report.ray}
        timings = dict(outcome.timings_s) if outcome else {}
        if failures or outcome is None or outcome.trajectory is None:
            record_failed_run(db, session_info=session_info, trial_info=trial_info,
                              run_info=RunInfo(run_uuid=run_uuid, model=model,
                                               settings=run_settings, timings_s=timings,
                                               started_at=started_at, status="failed",
                                               error="; ".join(failures) or "not processed"))
            continue
        if trial.config.exercise == "knee_curl":
            analysis_json: dict[str, Any] = {
                "trial": {"reps": 0, "reading": None, "reasons": [],
                          "alignment": _alignment_json(report.alignment)},
                "reps": []}
            series = None
        elif outcome.analysis is not None:
            analysis_json = outcome.analysis["json"]
            series = outcome.analysis["series"]
        else:
            continue
        if settings.save_artifacts:
            _save_artifacts(session, trial, outcome, keypoints.get(trial.name, {}))
        videos = [VideoInfo.from_file(cam, facts.path, fps=facts.fps, n_frames=facts.n_frames,
                                      width_px=facts.size[0], height_px=facts.size[1])
                  for cam, facts in trial.videos.items()]
        outcome.trial_id = save_trial_result(
            db, session_info=session_info, trial_info=trial_info, calibration=calibration,
            videos=videos, trajectory=outcome.trajectory, analysis_json=analysis_json,
            series_df=series,
            run_info=RunInfo(run_uuid=run_uuid, model=model, settings=run_settings,
                             timings_s=timings, started_at=started_at))
        outcome.stored = True
