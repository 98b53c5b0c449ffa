"""A trial's lifting context (load, 1RM, pain), validated and read the same way everywhere.

Shared by the session folder (``capture.session.TrialConfig``) and the database inputs
(``storage.inputs.TrialInfo``), which must agree on what a pain list means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def context_problems(load_kg: float | None, one_rm_kg: float | None,
                     pain: Sequence[float]) -> list[str]:
    """Every problem with a trial's load (kg, >= 0), 1RM (kg, > 0) and pain (0-10 each)."""
    problems = []
    if load_kg is not None and not load_kg >= 0:
        problems.append(f"load_kg must be >= 0, got {load_kg}")
    if one_rm_kg is not None and not one_rm_kg > 0:
        problems.append(f"one_rm_kg must be > 0, got {one_rm_kg}")
    if any(not 0 <= p <= 10 for p in pain):
        problems.append(f"pain must be 0-10, got {list(pain)}")
    return problems


def percent_1rm(load_kg: float | None, one_rm_kg: float | None) -> float | None:
    """Load as % of the one-repetition maximum, None when either is unknown."""
    if load_kg is None or one_rm_kg is None:
        return None
    return 100.0 * load_kg / one_rm_kg


def pain_for_rep(pain: Sequence[float], rep_index: int) -> float | None:
    """Pain (0-10) of rep ``rep_index`` (1-based): one number is the whole set's, a list is
    per rep; None when not recorded for that rep."""
    if len(pain) == 1:
        return float(pain[0])
    if 1 <= rep_index <= len(pain):
        return float(pain[rep_index - 1])
    return None


@dataclass(frozen=True)
class TrialContext:
    """A trial's name and lifting context; subclasses add where it comes from or goes.

    ``pain`` is 0-10 per rep, or one number for the whole set. Subclasses call
    :meth:`_context_checks` from their ``__post_init__`` and report the problems with their
    own location (file or database input).
    """

    name: str
    exercise: str = "squat"
    load_kg: float | None = None
    one_rm_kg: float | None = None
    pain: tuple[float, ...] = ()
    notes: str = ""

    def _context_checks(self) -> list[str]:
        """Normalise ``pain`` to floats and list every problem of the shared fields."""
        object.__setattr__(self, "pain", tuple(float(p) for p in self.pain))
        problems = []
        if not str(self.name).strip():
            problems.append("trial name must not be empty")
        return problems + context_problems(self.load_kg, self.one_rm_kg, self.pain)

    @property
    def percent_1rm(self) -> float | None:
        return percent_1rm(self.load_kg, self.one_rm_kg)

    def pain_for_rep(self, rep_index: int) -> float | None:
        """Pain of rep ``rep_index`` (1-based): per-rep list, or one number for the set."""
        return pain_for_rep(self.pain, rep_index)
