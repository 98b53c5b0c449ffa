"""``liftlab query``, ``liftlab export`` and ``liftlab strength`` (the biomechanist's tables).

Heavy imports (pandas, SQLAlchemy) happen inside the commands so ``liftlab --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

import click

DB_HELP = "Database URL (default: $LIFTLAB_DB, else sqlite:///liftlab.db)."
QUERIES = ("reps", "red-flags", "load", "asymmetry", "alignment", "strength", "trials")
NEEDS_ATHLETE = ("reps", "strength")


def _echo_frame(frame: Any, fmt: str) -> None:
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif frame.empty:
        click.echo("(no rows)")
    else:
        click.echo(frame.to_string(index=False, float_format=lambda v: f"{v:.1f}"))


def _open(db_url: str | None) -> Any:
    from liftlab.storage.db import open_database

    return open_database(db_url, create=False)


format_option = click.option("--format", "fmt", type=click.Choice(["table", "csv"]),
                             default="table", show_default=True, help="Output format.")
db_option = click.option("--db", "db_url", default=None, help=DB_HELP)


@click.command("query")
@click.argument("what", type=click.Choice(QUERIES))
@click.option("--athlete", default=None, help="Athlete name (required for reps, strength).")
@click.option("--since", default=None,
              help="red-flags: sessions on or after YYYY-MM-DD (default: the last 30 days).")
@db_option
@format_option
def query(what: str, athlete: str | None, since: str | None, db_url: str | None,
          fmt: str) -> None:
    """Print a table: reps | red-flags | load | asymmetry | alignment | strength | trials.

    \b
    reps       every rep of --athlete across sessions
    red-flags  red-flag reps since --since (default: last 30 days)
    load       load and %1RM vs peak knee-over-foot and medial knee shift per rep
    asymmetry  left minus right of the per-rep peak metrics
    alignment  sessions whose trials lack a calibrated foot alignment (knee_curl)
    strength   strength tests of --athlete by muscle, position and side
    trials     one row per trial
    """
    from liftlab.core.errors import InputError
    from liftlab.storage import queries

    if what in NEEDS_ATHLETE and not athlete:
        raise InputError(f"`liftlab query {what}` needs --athlete NAME",
                         fix=f"e.g. liftlab query {what} --athlete 'Jane Doe'")
    db = _open(db_url)
    try:
        frame = {
            "reps": lambda: queries.athlete_reps(db, athlete or ""),
            "red-flags": lambda: queries.red_flags(db, since, athlete=athlete),
            "load": lambda: queries.load_vs_peak(db, athlete),
            "asymmetry": lambda: queries.asymmetry(db, athlete),
            "alignment": lambda: queries.sessions_without_alignment(db),
            "strength": lambda: queries.strength_by_position(db, athlete or ""),
            "trials": lambda: queries.trials_table(db, athlete),
        }[what]()
    finally:
        db.dispose()
    _echo_frame(frame, fmt)


@click.command("export")
@db_option
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "trc"]), default="csv",
              show_default=True, help="Tables as CSV/Parquet, or one TRC file per trial.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder (created).")
@click.option("--athlete", default=None, help="Only this athlete.")
def export(db_url: str | None, fmt: str, out_dir: str, athlete: str | None) -> None:
    """Export sessions, trials, reps, per-frame series and strength tests, or TRC files."""
    from liftlab.storage.export import export as run_export

    db = _open(db_url)
    try:
        written = run_export(db, out_dir, fmt=fmt, athlete=athlete)  # type: ignore[arg-type]
    finally:
        db.dispose()
    for path in written:
        click.echo(str(path))
    click.echo(f"{len(written)} file(s) written to {out_dir}")


@click.group("strength")
def strength() -> None:
    """Strength tests by position (add, list, pattern)."""


@strength.command("add")
@click.option("--athlete", required=True)
@click.option("--muscle", required=True, help="Muscle group, e.g. quadriceps, hip_abductors.")
@click.option("--side", required=True, type=click.Choice(["left", "right", "bilateral"]))
@click.option("--position", required=True,
              type=click.Choice(["supine", "prone", "side_lying", "seated", "standing"]))
@click.option("--value", required=True, type=float)
@click.option("--unit", required=True, type=click.Choice(["N", "Nm", "kg"]))
@click.option("--date", "date", default=None,
              help="YYYY-MM-DD (default: the --session's date, else today).")
@click.option("--session", default=None, help="Session folder name or date (optional).")
@click.option("--method", default="", help="Method / device, e.g. 'HHD make test'.")
@click.option("--notes", default="")
@db_option
def strength_add(athlete: str, muscle: str, side: str, position: str, value: float, unit: str,
                 date: str | None, session: str | None, method: str, notes: str,
                 db_url: str | None) -> None:
    """Record one strength test."""
    from liftlab.storage.db import open_database
    from liftlab.storage.inputs import StrengthMeasurement
    from liftlab.storage.repository import save_strength_test

    measurement = StrengthMeasurement(
        athlete=athlete, muscle_group=muscle, side=side, position=position,  # type: ignore[arg-type]
        value=value, unit=unit, date=date,  # type: ignore[arg-type]
        session=session, method=method, notes=notes)
    db = open_database(db_url)
    try:
        row_id = save_strength_test(db, measurement)
    finally:
        db.dispose()
    when = measurement.date or f"the date of session {session}"
    click.echo(f"strength test {row_id} stored: {athlete}, {measurement.muscle_group} "
               f"{side} {position} {value:g} {unit} on {when}")


@strength.command("list")
@click.option("--athlete", required=True)
@db_option
@format_option
def strength_list(athlete: str, db_url: str | None, fmt: str) -> None:
    """List an athlete's strength tests by muscle, position and side."""
    from liftlab.storage.queries import strength_by_position

    db = _open(db_url)
    try:
        frame = strength_by_position(db, athlete)
    finally:
        db.dispose()
    _echo_frame(frame, fmt)


@strength.command("pattern")
@click.option("--athlete", required=True)
@click.option("--threshold-pct", type=click.FloatRange(0, 100, min_open=True, max_open=True),
              default=15.0, show_default=True, help="Difference counted as a deficit (%).")
@db_option
@format_option
def strength_pattern_cmd(athlete: str, threshold_pct: float, db_url: str | None,
                         fmt: str) -> None:
    """Upright vs lying strength per muscle and side; flags position-dependent deficits."""
    from liftlab.storage.strength import strength_pattern

    db = _open(db_url)
    try:
        frame = strength_pattern(db, athlete, deficit_threshold_pct=threshold_pct)
    finally:
        db.dispose()
    _echo_frame(frame, fmt)


COMMANDS = [query, export, strength]
