"""The one ``liftlab`` command. Each stage contributes its sub-commands from its own
``cli`` module (a list ``COMMANDS`` of click commands), so this file only wires them."""

from __future__ import annotations

import importlib
import sys

import click

from liftlab import __version__
from liftlab.core.errors import LiftlabError

STAGE_CLI_MODULES: tuple[str, ...] = (
    "liftlab.demo",
    "liftlab.capture.virtual.cli",
    "liftlab.capture.cli",
    "liftlab.calibration.cli",
    "liftlab.reconstruction.cli",
    "liftlab.metrics.cli",
    "liftlab.workers.cli",
    "liftlab.storage.cli",
    "liftlab.reports.cli",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="liftlab")
def cli() -> None:
    """liftlab: multi-camera 3D knee-valgus analysis for barbell athletes.

    Typical session: `liftlab board`, `liftlab capture --calibration`, `liftlab calibrate`,
    `liftlab capture`, `liftlab process`, `liftlab report`. Try `liftlab demo` first.
    """


def _register() -> None:
    for module_name in STAGE_CLI_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # stage has no CLI yet
                continue
            raise
        for command in getattr(module, "COMMANDS", []):
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point: LiftlabError becomes a one-line message and exit code 2."""
    try:
        cli.main(args=argv, prog_name="liftlab", standalone_mode=False)
    except LiftlabError as exc:
        click.echo(f"liftlab: error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("liftlab: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
