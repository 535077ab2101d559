"""One exception tree for threadlift.

Every error a user can cause is a :class:`ThreadliftError` whose message names the
input, what was expected and how to fix it. The CLI maps the class to an exit code
(docs/architecture.md, "Exit codes"): 2 for bad input, 1 for a bug (anything that is not a ThreadliftError).
"""

from __future__ import annotations


class ThreadliftError(Exception):
    """Base class of every error threadlift raises on purpose."""

    exit_code: int = 2


class InputError(ThreadliftError):
    """A file, argument or value given by the user is not what threadlift expects."""


class ConfigError(InputError):
    """An experiment file or setting is invalid."""


class WorkspaceError(ThreadliftError):
    """The workspace is missing, of an unknown schema version, or inconsistent."""


class AssignmentError(ThreadliftError):
    """Assignment cannot proceed as asked (for example the design changed after assignment)."""


class NoEligibleContactsError(AssignmentError):
    """A first ``assign`` run found nobody eligible; nothing was registered or written.

    ``excluded`` holds the candidates per failing rule, so a caller (a test, a notebook)
    can see what excluded everyone.
    """

    def __init__(self, message: str, excluded: dict[str, int]) -> None:
        super().__init__(message)
        self.excluded = dict(excluded)


class EnrolmentClosedError(AssignmentError):
    """A later ``assign`` run of an ``enrolment = "once"`` experiment would add contacts."""

    def __init__(self, message: str, newly_eligible: int) -> None:
        super().__init__(message)
        self.newly_eligible = newly_eligible
