"""`liftlab process`: the whole session through Ray into the database."""

from __future__ import annotations

import click

from liftlab.core.errors import LiftlabError


def print_process_report(report) -> None:
    """A short table: one line per trial, then failures and refusals."""
    click.echo(f"\nSession {report.session}  ->  {report.db_url}")
    click.echo(f"Ray: {report.ray.get('address')} ({report.ray.get('cpus', '?')} CPUs)")
    if report.alignment is not None:
        a = report.alignment
        click.echo(f"Knee alignment: source={a.source}  left={a.left_deg:.1f} deg  "
                   f"right={a.right_deg:.1f} deg")
    else:
        click.echo("Knee alignment: no knee_curl trial processed -> readings use an assumed "
                   "alignment (record the 20-s knee-curl movement)")
    click.echo(f"{'trial':<20} {'exercise':<12} {'reps':>4}  {'reading':<10} reasons")
    for name, o in report.outcomes.items():
        if o.exercise == "knee_curl":
            status = "stored" if o.stored else "not stored"
            click.echo(f"{name:<20} {o.exercise:<12} {'-':>4}  {'(alignment)':<10} {status}")
            continue
        reading = o.reading or ("failed" if not o.stored else "-")
        click.echo(f"{name:<20} {o.exercise:<12} {o.n_reps:>4}  {reading:<10} "
                   f"{', '.join(o.reasons)}")
    for warning in report.warnings:
        click.echo(f"WARNING {warning}")
    for name, reason in report.refused.items():
        click.echo(f"REFUSED {name}: {reason}")
    for failure in report.failures:
        click.echo(f"FAILED  {failure}")
    t = report.timings_s
    click.echo("Time: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items()))


@click.command("process")
@click.argument("session", type=click.Path(file_okay=False, path_type=str))
@click.option("--db", "db_url", envvar="LIFTLAB_DB", default=None,
              help="Database URL (default sqlite:///liftlab.db; env LIFTLAB_DB).")
@click.option("--ray-address", envvar="RAY_ADDRESS", default=None,
              help="Existing Ray cluster (ray://host:10001); default: a local Ray. "
                   "'inline' runs without Ray.")
@click.option("--num-cpus", type=click.IntRange(1), default=None,
              help="CPUs of the local Ray instance (default: all).")
@click.option("--trial", "trials", multiple=True, help="Only these trials (repeatable).")
@click.option("--ship-videos", is_flag=True,
              help="Send videos through Ray's object store (cluster without shared storage).")
@click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True,
              help="Retries of a task whose worker died.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def process(session: str, db_url: str | None, ray_address: str | None, num_cpus: int | None,
            trials: tuple[str, ...], ship_videos: bool, retries: int, quiet: bool) -> None:
    """Process every trial of SESSION: 2D pose, 3D, metrics, readings -> database.

    Reprocessing is idempotent: a trial's previous results are replaced in one transaction.
    """
    from liftlab.workers.pipeline import ProcessSettings, process_session

    report = process_session(
        session, db_url=db_url, ray_address=ray_address, num_cpus=num_cpus,
        trials=list(trials) or None, progress=not quiet,
        settings=ProcessSettings(max_retries=retries, ship_videos=ship_videos))
    print_process_report(report)
    if not report.ok:
        raise LiftlabError(f"{len(report.failures)} task(s) failed, {len(report.refused)} "
                           "trial(s) refused; the rest of the session was stored",
                           fix="see the FAILED / REFUSED lines above")


COMMANDS = [process]
