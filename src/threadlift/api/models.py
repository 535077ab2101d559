"""Request and response bodies of the API (pydantic), kept apart from the domain objects.

The domain answers (:class:`threadlift.assign.assignment.ContactStatus`, :class:`~threadlift.experiment.Experiment`)
are turned into these shapes by :mod:`threadlift.api.app`; assignment answers are
serialised by :func:`assignment_body` (the hot path), which produces exactly the fields
of :class:`Assignment`; the tests and the schemathesis run check it against the schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from threadlift.assign.assignment import STATUS_REASONS, ContactStatus

from .exposures import Mismatch

MAX_ID_LENGTH = 256
"""Longest contact, experiment or exposure id accepted."""


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from exc
    return value


ContactId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_LENGTH),
    AfterValidator(_encodable),
]
"""A contact id as sent by a caller: 1–256 characters of UTF-8 text."""

Reason = Literal[STATUS_REASONS]  # type: ignore[valid-type]
"""Why a contact is not eligible (threadlift.assign.assignment.STATUS_REASONS: the first
failing rule, or ``enrolment_closed`` after the first run of an ``enrolment = "once"`` experiment)."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorBody(_Out):
    """The one error body of every 4xx/5xx answer."""

    ok: Literal[False] = False
    error: str
    status: int


class Arm(_Out):
    """An arm, the half-open bucket range it owns, and its eligible known contacts."""

    name: str
    weight: float
    holdout: bool
    bucket_start: int
    bucket_stop: int
    eligible_contacts: int
    """Known contacts that are assigned to, or would be assigned to, this arm (in the snapshot)."""


class Layer(_Out):
    """The experiment's layer: its salt and the bucket range it owns."""

    name: str
    salt: str
    bucket_start: int
    bucket_stop: int


class ExperimentSummary(_Out):
    """An experiment in the list."""

    id: str
    channel: str
    category: str
    sender_id: str | None
    assigned_at: datetime
    window_days: int
    state: Literal["ok", "external", "error"]
    """``ok``: served; ``external``: arms come from a loaded file, not served; ``error``: see ``problem``."""


class ExperimentDetail(ExperimentSummary):
    """One experiment: its design and what the snapshot knows of it."""

    salt: str
    source: str
    """The experiment file's name."""
    problem: str | None
    layer: Layer | None
    arms: list[Arm]
    known_contacts: int
    snapshot_at: datetime


class ExperimentList(_Out):
    """Every served experiment."""

    experiments: list[ExperimentSummary]
    snapshot_at: datetime


class Assignment(_Out):
    """Whether to send to a contact in an experiment, and which arm."""

    experiment_id: str
    contact_id: str
    arm: str | None
    """The arm (``None`` when not eligible)."""
    holdout: bool | None
    """Whether the arm is the holdout (``None`` when not eligible)."""
    eligible: bool
    """Assigned, or would be assigned by the next ``threadlift assign`` run."""
    reason: Reason | None
    """The first eligibility rule the contact fails (``None`` when eligible)."""
    bucket: int = Field(ge=0, lt=10_000)
    assigned: bool
    """Recorded in the workspace's ``assignments``."""
    assigned_at: datetime | None
    """When it was, or will be, assigned (``None`` when not eligible)."""
    send: bool
    """Eligible and in a treatment arm: the sending system may send."""
    evaluated_at: datetime | None
    """The time eligibility was evaluated at: the experiment's ``assigned_at`` until it is
    first assigned, then the snapshot's time (when the next ``assign`` run would add it)."""
    snapshot_at: datetime
    """When the eligibility served was evaluated."""


class BatchRequest(_In):
    """Contact ids to look up, at most ``max_batch`` (10,000); more is 413, as documented."""

    contact_ids: Annotated[list[ContactId], Field(min_length=1)]


class BatchAssignments(_Out):
    """One answer per distinct contact id, in the order asked."""

    experiment_id: str
    snapshot_at: datetime
    assignments: list[Assignment]


class ExposureIn(_In):
    """A send (or decision to hold back) the sending system acted on."""

    exposure_id: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(_encodable)]
    """Caller-chosen id; sending the same exposure again is harmless."""
    experiment_id: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(_encodable)]
    contact_id: ContactId
    arm: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)] | None = None
    """The arm acted on; when given it must be one of the experiment's arms."""
    ts: datetime
    """When it happened; a time without offset is UTC. Part of the exposure, so a retry
    must send the same value (a default of "now" would make retries look like new exposures)."""
    source: Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_encodable)] = "api"
    """Who logged it; ``counterfactual`` for the would-be send of a holdout contact (logged
    instead of sending), any other value for a real send."""


class ExposureBatch(_In):
    """Exposures to record (at most ``max_exposures``, 1,000 by default; more is 413)."""

    exposures: Annotated[list[ExposureIn], Field(min_length=1)]


class ExposureResult(_Out):
    """What happened to one exposure."""

    exposure_id: str
    status: Literal["recorded", "duplicate"]
    """``duplicate``: the same exposure was recorded before; nothing changed."""
    mismatch: Mismatch | None = None
    """Set when the exposure contradicts the contact's assignment (it is recorded all the
    same, and the report raises an ``exposure_mismatch`` alert); absent when it matches."""
    message: str | None = None
    """What is wrong and what to do, with ``mismatch``."""


class ExposureAck(_Out):
    """All exposures of the request are durable (synced to disk) when this is returned."""

    ok: Literal[True] = True
    results: list[ExposureResult]


class Health(_Out):
    """Whether the worker has a snapshot to serve: all an unauthenticated caller learns."""

    ok: bool
    status: Literal["ok", "not ready"]


class Status(_Out):
    """The worker's snapshot in detail (authenticated: problems name files and experiments)."""

    ok: bool
    snapshot_at: datetime | None
    experiments: int
    builder: bool
    """This worker builds the snapshots."""
    problems: list[str]
    last_error: str | None


def utc_text(value: datetime) -> str:
    """RFC 3339 text of a UTC time (naive values are UTC): ``2026-11-02T09:00:00Z``."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


def assignment_body(status: ContactStatus, holdout_arms: frozenset[str], snapshot_at: str) -> dict[str, object]:
    """The :class:`Assignment` fields of ``status`` as JSON-ready values (the fast path)."""
    return {
        "experiment_id": status.experiment_id,
        "contact_id": status.contact_id,
        "arm": status.arm,
        "holdout": status.holdout,
        "eligible": status.eligible,
        "reason": status.reason,
        "bucket": status.bucket,
        "assigned": status.assigned,
        "assigned_at": None if status.assigned_at is None else utc_text(status.assigned_at),
        "send": status.eligible and status.arm is not None and status.arm not in holdout_arms,
        "evaluated_at": None if status.evaluated_at is None else utc_text(status.evaluated_at),
        "snapshot_at": snapshot_at,
    }
