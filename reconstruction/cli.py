"""CLI of the reconstruction stage: ``liftlab pose2d`` and ``liftlab reconstruct``."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("pose2d")
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Keypoints file to write (.npz).")
@click.option("--camera", default=None, help="Camera name (default: the video's file stem).")
@click.option("--backend", type=click.Choice(["mediapipe", "mediapipe-tasks"]),
              default="mediapipe", show_default=True)
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="A .task model file (mediapipe-tasks backend only).")
def pose2d_command(video: Path, out: Path, camera: str | None, backend: str,
                   model: Path | None) -> None:
    """2D pose (33 BlazePose landmarks per frame) of one VIDEO."""
    from liftlab.reconstruction.pose2d import make_backend

    kp = make_backend(backend, model_path=model).detect(video, camera=camera or video.stem,
                                                        progress=True)
    kp.save(out)
    t = kp.source.get("timing_s", {})
    click.echo(f"{kp.camera}: {kp.n_frames} frames, person in {kp.detected_fraction():.0%}, "
               f"{kp.n_frames / max(t.get('total', 1e-9), 1e-9):.1f} frames/s -> {out}")


@click.command("reconstruct")
@click.argument("session", type=click.Path(path_type=Path))
@click.option("--trial", required=True, help="Trial folder name under SESSION/trials.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Trajectory .npz (default: SESSION/trials/TRIAL/trajectory.npz).")
@click.option("--trc", type=click.Path(path_type=Path), default=None,
              help="Also write an OpenSim TRC file.")
@click.option("--sync", type=click.Choice(["check", "correct", "off"]), default="check",
              show_default=True)
@click.option("--cutoff-hz", type=float, default=None,
              help="Low-pass cut-off (default by exercise: 6 Hz squat, 12 Hz clean/snatch).")
@click.option("--allow-missing-cameras", is_flag=True,
              help="Proceed without cameras that have no video (>= 2 must remain).")
@click.option("--bone-length-weight", type=float, default=1.0, show_default=True,
              help="Thigh/shank length refinement, px per mm of length change (0 = off).")
@click.option("--report", "report_path", type=click.Path(path_type=Path), default=None,
              help="Write the per-camera report as JSON.")
def reconstruct_command(session: Path, trial: str, out: Path | None, trc: Path | None,
                        sync: str, cutoff_hz: float | None, allow_missing_cameras: bool,
                        bone_length_weight: float, report_path: Path | None) -> None:
    """2D pose on every camera of a trial, then the 3D trajectory (lab frame, mm)."""
    from liftlab.capture.session import Session
    from liftlab.core.cameras import Rig
    from liftlab.core.errors import InputError
    from liftlab.reconstruction.pipeline import (
        ReconstructionSettings,
        detect_trial,
        reconstruct_trial,
    )

    sess = Session.open(session)
    rig = Rig.load(sess.calibration_file)
    videos, missing = {}, []
    for cam in sess.config.cameras:
        try:
            videos[cam] = sess.video_path(trial, cam)
        except InputError:
            if not allow_missing_cameras:
                raise
            missing.append(cam)
    if missing:
        click.echo(f"warning: no video for {missing}; continuing without them", err=True)
    settings = ReconstructionSettings(exercise=sess.trial(trial).exercise, cutoff_hz=cutoff_hz,
                                      sync=sync, allow_missing_cameras=allow_missing_cameras,
                                      bone_length_weight=bone_length_weight)
    keypoints = detect_trial(videos, rig=rig, progress=True)
    result = reconstruct_trial(keypoints, rig, settings=settings)
    out = out or sess.trials_dir / trial / "trajectory.npz"
    result.trajectory.save(out)
    for w in result.warnings:
        click.echo(f"warning: {w}", err=True)
    for name, rep in result.cameras.items():
        click.echo(f"{name}: person {rep.detected_fraction:.0%}, outliers "
                   f"{rep.outlier_fraction:.0%}, swaps {rep.swap_fraction:.0%}, other person "
                   f"{rep.foreign_fraction:.0%}, sync {rep.sync_offset_frames:+d} frames "
                   f"(r={rep.sync_peak_correlation:.2f}), median error "
                   f"{rep.median_error_px:.1f} px (gate {rep.threshold_px:.1f})")
    click.echo(f"trajectory: {result.trajectory.n_frames} frames -> {out}")
    if trc is not None:
        from liftlab.reconstruction.trc import write_trc

        write_trc(result.trajectory, trc)
        click.echo(f"TRC -> {trc}")
    if report_path is not None:
        report_path.write_text(json.dumps(result.summary(), indent=2, default=str))


COMMANDS = [pose2d_command, reconstruct_command]
