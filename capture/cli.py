"""``liftlab capture`` (record trials, calibration videos, floor stills) and ``liftlab timing``
(re-read a recorded trial's timestamps and print its sync report)."""

from __future__ import annotations

from pathlib import Path

import click

from liftlab.core.errors import InputError


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()] if text else []


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise InputError(f"--size must look like 1920x1080, got {text!r}", where="--size",
                         fix="write WIDTHxHEIGHT in pixels") from exc
    return w, h


def _parse_pain(text: str | None) -> tuple[float, ...]:
    try:
        return tuple(float(p) for p in _split(text))
    except ValueError as exc:
        raise InputError(f"--pain must be numbers 0-10 separated by commas, got {text!r}",
                         where="--pain", fix="e.g. --pain 0,0,3 (one per rep) or --pain 2") from exc


@click.command("capture")
@click.argument("session", type=click.Path(file_okay=False, path_type=Path))
@click.option("--cameras", "camera_specs", required=True,
              help="Comma-separated sources: device indices (0,1), video files, URLs, or "
                   "'virtual' (test pattern).")
@click.option("--trial", help="Trial name (folder under trials/). Not with --calibration/--floor.")
@click.option("--exercise", default="squat", show_default=True,
              type=click.Choice(["squat", "front_squat", "clean", "snatch", "knee_curl"]))
@click.option("--load-kg", type=float, help="Bar load in kg.")
@click.option("--one-rm-kg", type=float, help="The athlete's 1RM in kg (for %1RM).")
@click.option("--pain", help="Pain 0-10: one per rep (0,0,3) or one for the set.")
@click.option("--notes", default="", help="Free text stored in trial.toml.")
@click.option("--names", help="Camera names in order (default: session.toml's, else cam1..N).")
@click.option("--athlete", help="Athlete name; required when the session is new.")
@click.option("--fps", type=float, help="Frame rate to ask the cameras for (default: session's).")
@click.option("--size", help="Resolution to ask the cameras for, e.g. 1920x1080.")
@click.option("--duration", type=float, help="Seconds to record (default: until Ctrl-C).")
@click.option("--preview/--no-preview", default=True, show_default=True,
              help="Tiled live preview when a display exists.")
@click.option("--calibration", is_flag=True,
              help="Record calibration/<camera>.mp4 with a live board-detection count.")
@click.option("--floor", is_flag=True, help="Grab one still per camera to calibration/floor/.")
@click.option("--loop", is_flag=True, help="Loop video-file sources.")
@click.option("--fast", is_flag=True,
              help="Read file/virtual sources as fast as possible instead of in real time "
                   "(every frame kept, frame i of each file = frame i of the video).")
@click.option("--overwrite", is_flag=True, help="Replace an existing trial's videos.")
def capture(session: Path, camera_specs: str, trial: str | None, exercise: str,
            load_kg: float | None, one_rm_kg: float | None, pain: str | None, notes: str,
            names: str | None, athlete: str | None, fps: float | None, size: str | None,
            duration: float | None, preview: bool, calibration: bool, floor: bool, loop: bool,
            fast: bool, overwrite: bool) -> None:
    """Record all cameras of SESSION at once (one thread per camera, shared start).

    Writes trials/TRIAL/<camera>.mp4, <camera>.timestamps.csv, trial.toml and
    sync_report.json. Stop with Ctrl-C or --duration; an interrupted trial is kept and marked.
    """
    from liftlab.capture.recorder import (
        grab_floor_stills,
        open_or_create_session,
        record_calibration,
        record_trial,
    )
    from liftlab.capture.session import TrialConfig
    from liftlab.capture.sources import parse_source_spec

    specs = _split(camera_specs)
    if calibration and floor:
        raise InputError("--calibration and --floor are separate steps", where="capture",
                         fix="record the board video first, then the floor still")
    if not (calibration or floor) and not trial:
        raise InputError("--trial is required to record a trial", where="capture",
                         fix="add --trial NAME (or --calibration / --floor)")
    frame_size = _parse_size(size)
    config = None if (calibration or floor) else TrialConfig(
        name=trial, exercise=exercise, load_kg=load_kg, one_rm_kg=one_rm_kg,
        pain=_parse_pain(pain), notes=notes)  # every input checked before anything is written
    cam_names = _split(names)
    if cam_names and len(cam_names) != len(specs):
        raise InputError(f"--names gives {len(cam_names)} names for {len(specs)} --cameras",
                         where="--names", fix="give one name per camera")
    if not cam_names and not (session / "session.toml").is_file():
        cam_names = [f"cam{i + 1}" for i in range(len(specs))]
    sess = open_or_create_session(session, cameras=cam_names or None, athlete=athlete, fps=fps)
    order = list(sess.config.cameras)
    if len(order) != len(specs):
        raise InputError(f"{len(specs)} --cameras given, session.toml lists {len(order)}: "
                         f"{order}", where=str(session / "session.toml"),
                         fix="give one source per session camera, in the session's order")
    request_fps = fps or sess.config.fps
    sources = [parse_source_spec(spec, name=name, fps=request_fps, size=frame_size,
                                 realtime=not fast, loop=loop)
               for spec, name in zip(specs, order, strict=True)]

    def show(status) -> None:
        click.echo("\r" + status.line(), nl=False, err=True)

    if floor:
        corners = grab_floor_stills(session, sources)
        for name, n in corners.items():
            seen = f"board seen ({n} corners)" if n else "board NOT seen"
            click.echo(f"{name}: calibration/floor/{name}.png, {seen}")
        return
    if calibration:
        report = record_calibration(session, sources, duration_s=duration, preview=preview,
                                    progress=show)
    else:
        report = record_trial(session, sources, trial=trial, trial_config=config,
                              duration_s=duration, preview=preview, progress=show,
                              overwrite=overwrite)
    click.echo("", err=True)
    click.echo(report.summary())


@click.command("timing")
@click.argument("session", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--trial", required=True, help="Trial name.")
@click.option("--fps", type=float, help="Nominal frame rate (default: session.toml's).")
@click.option("--recompute", is_flag=True,
              help="Analyse the <camera>.timestamps.csv files again instead of printing the "
                   "sync_report written at capture (which also saw the frames trimmed away).")
def timing(session: Path, trial: str, fps: float | None, recompute: bool) -> None:
    """Print the sync report of a recorded trial: per camera start offset, fps, jitter,
    dropped and duplicated frames, drift."""
    import json

    from liftlab.capture.session import Session
    from liftlab.capture.sync import analyse_folder

    sess = Session.open(session)
    stored = sess.trials_dir / trial / "sync_report.json"
    if stored.is_file() and not recompute and fps is None:
        doc = json.loads(stored.read_text())
        click.echo(doc.get("summary") or json.dumps(doc, indent=2))
        for problem in doc.get("capture_problems", []):
            click.echo(f"PROBLEM: {problem}")
        return
    report = analyse_folder(sess.trials_dir / trial, sess.config.cameras,
                            fps or sess.config.fps)
    click.echo(report.summary())


COMMANDS = [capture, timing]
