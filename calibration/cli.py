"""``liftlab board`` and ``liftlab calibrate`` (heavy imports inside the commands)."""

from __future__ import annotations

from pathlib import Path

import click

from liftlab.core.errors import CalibrationError


@click.command("board")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="PDF to write.")
@click.option("--squares-x", type=int, default=7, show_default=True, help="Squares across.")
@click.option("--squares-y", type=int, default=5, show_default=True, help="Squares down.")
@click.option("--square-mm", type=float, default=30.0, show_default=True,
              help="Square side, mm.")
@click.option("--marker-mm", type=float, default=22.0, show_default=True,
              help="ArUco marker side, mm.")
@click.option("--dictionary", default="DICT_4X4_50", show_default=True,
              help="OpenCV ArUco dictionary.")
@click.option("--page", type=click.Choice(["a4", "letter"]), default="a4", show_default=True)
def board(out: Path, squares_x: int, squares_y: int, square_mm: float, marker_mm: float,
          dictionary: str, page: str) -> None:
    """Print a ChArUco board at true scale, with its spec, as a PDF."""
    from liftlab.calibration.boards import aruco_dictionary
    from liftlab.calibration.printing import write_board_pdf
    from liftlab.capture.session import BoardSpec

    aruco_dictionary(dictionary)  # a clear error for an unknown name
    spec = BoardSpec(type="charuco", squares_x=squares_x, squares_y=squares_y,
                     square_mm=square_mm, marker_mm=marker_mm, dictionary=dictionary)
    path = write_board_pdf(spec, out, page=page)  # type: ignore[arg-type]
    click.echo(f"wrote {path} ({squares_x * square_mm:g} x {squares_y * square_mm:g} mm board, "
               f"{page.upper()}); print at 100% and copy into session.toml:")
    click.echo(f'[board]\ntype = "charuco"\nsquares_x = {squares_x}\nsquares_y = {squares_y}\n'
               f'square_mm = {square_mm:g}\nmarker_mm = {marker_mm:g}\n'
               f'dictionary = "{dictionary}"')


@click.command("calibrate")
@click.argument("session", type=click.Path(file_okay=False, path_type=Path))
@click.option("--intrinsics-only", is_flag=True,
              help="Per-camera intrinsics from board photos or videos (no extrinsics).")
@click.option("--import", "import_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Import an aniposelib .toml or Qualisys .qca.txt instead.")
@click.option("--cameras", default=None,
              help="Comma-separated camera names (default: session.toml's); with --import, "
                   "the names given to the file's cameras in order.")
@click.option("--frame", "frame_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="TOML with a 4x4 `matrix` (calibration -> lab, mm) instead "
                                 "of the floor stills.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the JSON report here.")
def calibrate(session: Path, intrinsics_only: bool, import_file: Path | None,
              cameras: str | None, frame_file: Path | None, json_out: Path | None) -> None:
    """Calibrate SESSION/calibration/ and write calibration.toml plus reports."""
    import logging

    from liftlab.calibration.pipeline import calibrate_session
    from liftlab.calibration.report import camera_table

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    names = [c.strip() for c in cameras.split(",") if c.strip()] if cameras else None
    result = calibrate_session(session, intrinsics_only=intrinsics_only, cameras=names,
                               import_from=import_file, frame=frame_file, json_out=json_out)
    click.echo(camera_table(result))
    for key, value in result.outputs.items():
        click.echo(f"{key}: {value}")
    if not result.ok:
        raise CalibrationError(
            "Calibration failed its quality check: " + "; ".join(result.verdict.reasons),
            where=str(session / "calibration" / "calibration_report.md"),
            fix="; ".join(result.verdict.fixes) or "re-film the calibration")


COMMANDS = [board, calibrate]
