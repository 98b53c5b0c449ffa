"""Errors that say what went wrong, where, and how to fix it."""

from __future__ import annotations


class LiftlabError(Exception):
    """Base error. ``str(err)`` is "<problem> (<where>). Fix: <fix>" when those are given.

    Parameters
    ----------
    problem
        What is wrong, "Expected X, but got Y" style.
    where
        The file, camera, trial or setting concerned.
    fix
        What the user should do about it.
    """

    def __init__(self, problem: str, *, where: str | None = None, fix: str | None = None):
        self.problem = problem
        self.where = where
        self.fix = fix
        text = problem
        if where:
            text += f" ({where})"
        if fix:
            text += f". Fix: {fix}"
        super().__init__(text)


class InputError(LiftlabError):
    """Bad user input: a file, folder, setting or argument."""


class CalibrationError(LiftlabError):
    """Calibration could not be made or is not good enough."""


class ReconstructionError(LiftlabError):
    """2D pose or 3D reconstruction failed for a trial or camera."""


class StorageError(LiftlabError):
    """The database could not be reached or written."""


def check_all(problems: list[str], *, where: str | None = None, fix: str | None = None,
              error: type[LiftlabError] = InputError) -> None:
    """Raise one error listing every problem at once (no-op when the list is empty)."""
    if problems:
        raise error("; ".join(problems), where=where, fix=fix)
