"""``liftlab analyze``: metrics, reps and the valgus reading from an existing TRC file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from liftlab.core.errors import InputError
from liftlab.metrics.settings import EXERCISES


def _pain(text: str | None) -> tuple[float, ...]:
    if not text:
        return ()
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError(f"--pain expects numbers 0-10 separated by commas, got {text!r}",
                         fix="e.g. --pain 0,0,3") from None
    bad = [v for v in values if not 0 <= v <= 10]
    if bad:
        raise InputError(f"pain must be 0-10, got {bad}", fix="e.g. --pain 0,0,3")
    return values


@click.command("analyze")
@click.argument("trc_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--exercise", type=click.Choice(EXERCISES), default="squat", show_default=True)
@click.option("--alignment-trial", type=click.Path(dir_okay=False, path_type=Path),
              help="knee_curl TRC of the same athlete (alignment calibration).")
@click.option("--load-kg", type=click.FloatRange(min=0), help="Load of the set (kg).")
@click.option("--one-rm-kg", type=click.FloatRange(min=0, min_open=True),
              help="The athlete's 1RM (kg), for %1RM.")
@click.option("--pain", "pain_text", help="Pain 0-10 per rep (comma separated) or one value.")
@click.option("--thresholds", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML overriding metrics/thresholds.toml.")
@click.option("--up-axis", type=click.Choice(["z", "y"]), default="z", show_default=True,
              help="Vertical axis of the TRC files (OpenSim models are Y up).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the analysis JSON here.")
@click.option("--series", "series_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the per-frame CSV here.")
def analyze(trc_file: Path, exercise: str, alignment_trial: Path | None, load_kg: float | None,
            one_rm_kg: float | None, pain_text: str | None, thresholds: Path | None,
            up_axis: str, json_out: Path | None, series_out: Path | None) -> None:
    """Knee-valgus metrics, reps and the reading from a 3D trajectory (TRC, mm)."""
    from liftlab.metrics.alignment import estimate_alignment
    from liftlab.metrics.analyze import analyze as run
    from liftlab.metrics.settings import load_thresholds
    from liftlab.reconstruction.trc import read_trc

    th = load_thresholds(thresholds)
    traj = read_trc(trc_file, up_axis=up_axis)  # type: ignore[arg-type]
    alignment = None
    if alignment_trial is not None:
        alignment = estimate_alignment(read_trc(alignment_trial, up_axis=up_axis),  # type: ignore[arg-type]
                                       thresholds=th)
        for q in alignment.quality.values():
            click.echo(f"alignment {q.verdict}" + (f" (fix: {q.fix})" if q.fix else ""))
    result = run(traj, exercise=exercise, alignment=alignment, load_kg=load_kg,  # type: ignore[arg-type]
                 one_rm_kg=one_rm_kg, pain=_pain(pain_text), thresholds=th)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_json_dict(), indent=2, default=str))
    if series_out:
        series_out.parent.mkdir(parents=True, exist_ok=True)
        result.series_frame().to_csv(series_out, index=False)
    al = result.alignment
    click.echo(f"{trc_file.name}: {exercise}, {len(result.reps)} reps, reading {result.reading}"
               + (f" ({', '.join(result.reasons)})" if result.reasons else "")
               + f"; alignment {al.source} L {al.left_deg:+.1f} R {al.right_deg:+.1f} deg")
    for r in result.reps:
        click.echo(f"  rep {r.index}: {r.start_s:.2f}-{r.end_s:.2f} s  {r.reading:<9} "
                   f"shift L {r.left.medial_knee_shift_peak_mm:5.1f} R "
                   f"{r.right.medial_knee_shift_peak_mm:5.1f} mm"
                   + (f"  [{'; '.join(x.text for x in r.rules)}]" if r.rules else ""))
    for w in result.warnings:
        click.echo(f"  note: {w}")


COMMANDS = [analyze]
