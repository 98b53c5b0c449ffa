"""`liftlab report`: the coach PDF of one athlete, or of every athlete of a lab day."""

from __future__ import annotations

from pathlib import Path

import click

from liftlab.core.errors import InputError


@click.command("report")
@click.option("--athlete", help="Athlete name as stored (one PDF).")
@click.option("--session", "session", default=None,
              help="Session id, folder name or date (default: the newest processed session).")
@click.option("--all", "all_athletes", is_flag=True,
              help="Every athlete recorded on the session's day; --out is then a folder.")
@click.option("--db", "db_url", default=None,
              help="Database URL (default: $LIFTLAB_DB or sqlite:///liftlab.db).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="PDF file (or folder with --all).")
@click.option("--page", type=click.Choice(["a4", "letter"]), default="a4", show_default=True)
def report(athlete: str | None, session: str | None, all_athletes: bool, db_url: str | None,
           out: Path, page: str) -> None:
    """Write the coach PDF: readings in plain words, curves, rep tables, still frames, trend."""
    from liftlab.reports.pdf import build_report, build_session_reports, slug

    if all_athletes == bool(athlete):
        raise InputError("Give either --athlete NAME or --all",
                         fix="e.g. liftlab report --athlete 'Jane Doe' --out jane.pdf, or "
                             "liftlab report --all --session 2026-11-24 --out reports/")
    if all_athletes:
        if out.suffix.lower() == ".pdf":
            raise InputError(f"With --all, --out is a folder, but got {out}",
                             fix="give a folder, e.g. --out reports/")
        paths = build_session_reports(db_url, session, out, page=page)  # type: ignore[arg-type]
        for path in paths:
            click.echo(f"wrote {path}")
        return
    if out.is_dir():
        out = out / f"{slug(athlete)}.pdf"  # type: ignore[arg-type]
    elif out.suffix.lower() != ".pdf":
        out = out.with_suffix(".pdf")
    path = build_report(db_url, athlete, session=session, out=out, page=page)  # type: ignore[arg-type]
    click.echo(f"wrote {path}")


COMMANDS = [report]
