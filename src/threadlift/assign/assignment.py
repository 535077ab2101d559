"""Assignment on a workspace: the DuckDB adapter of :mod:`threadlift.core.bucketing`.

One SQL statement, ``sql/assign/evaluate.sql``, decides for every candidate contact its
bucket, the first eligibility rule it fails and its arm, from the event logs;
:func:`eligibility_snapshot` returns its rows for given contacts (what the HTTP API
serves) and the Spark engine runs it too. :func:`assign_experiment` inserts the eligible,
unassigned rows of the same contract computed from the per-contact
``eligibility_state`` (``sql/assign/eligibility/verdicts.sql``, see
:mod:`threadlift.assign.eligibility`), which gives the same rows without grouping the
event logs on every run. Both paths include the same rule fragments
(``sql/assign/_eligibility_*.sql``: which events count, what an event tells, the rules
in order), so each rule is written once; ``tests/assign/test_eligibility.py`` holds the
two to each other.

Times: the first run evaluates eligibility at the experiment's ``assigned_at`` and
records that time; a first run that finds nobody eligible is refused
(:class:`~threadlift.errors.NoEligibleContactsError`) and registers nothing, so loading
the missing data and running again still dates everyone to ``assigned_at``. A later run
leaves every assigned contact where it is. With ``enrolment = "rolling"`` it adds the
contacts that have become eligible, evaluated at ``now`` and recorded with
``assigned_at = now``; their outcome windows start then. With ``enrolment = "once"``
(the default) it evaluates at ``assigned_at`` again and refuses
(:class:`~threadlift.errors.EnrolmentClosedError`) to add anyone: a contact added later
would be dated to the run, not to the campaign. Contacts already assigned stay assigned
whatever happens to their consent later (intent to treat).

Design changes: each experiment's design (salt, ``assigned_at``, arm ranges, layer,
global holdout) is registered with a fingerprint. Re-running with a different design is
refused with :class:`~threadlift.errors.AssignmentError`, unless a new version is asked
for (``new_version=True`` or a higher ``version`` in the file); the old version's
assignments then move to ``assignment_archive`` and the new design is assigned afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from threadlift.assign import eligibility as eligibility_state
from threadlift.assign.audience import check_tables_exist
from threadlift.core.bucketing import BUCKETS, Weight, basis_points
from threadlift.engines.sqlfiles import sql_text
from threadlift.errors import (
    AssignmentError,
    ConfigError,
    EnrolmentClosedError,
    NoEligibleContactsError,
)
from threadlift.experiment import Experiment
from threadlift.workspace import Workspace, first_row

EXCLUSION_REASONS = (
    "not_in_audience",
    "global_holdout",
    "layer",
    "other_sender",
    "consent_after_assignment",
    "no_consent",
    "consent_revoked",
    "marketing_stopped",
    "recent_feedback",
)
"""Eligibility rules in the order they are tested; a contact is counted under the first it fails.

* ``not_in_audience``: a workspace contact that ``audience_sql`` does not return.
* ``global_holdout``: in the workspace's global holdout.
* ``layer``: outside the experiment's bucket range of its layer.
* ``other_sender``: (``require_consent``) no covering consent for the experiment's
  sender, but a grant for another sender.
* ``consent_after_assignment``: (``require_consent``) the only covering grants are later
  than the assignment time.
* ``no_consent``: (``require_consent``) no covering consent event at all.
* ``consent_revoked``: (``require_consent``) the latest covering event is a revoke.
* ``marketing_stopped``: (marketing experiments) a marketing or ``all`` revoke (including
  WhatsApp ``user_preferences`` stops) or a 131050 failure newer than the latest grant.
* ``recent_feedback``: a block, report or opt-out on any channel within
  ``exclude_feedback_days`` days before the assignment time (inclusive).
"""

ENROLMENT_CLOSED = "enrolment_closed"
"""Why :func:`eligibility_snapshot` calls a contact not eligible although it passes every
rule: an ``enrolment = "once"`` experiment already had its first run, and a later
``assign`` run adds nobody."""

STATUS_REASONS = (*EXCLUSION_REASONS, ENROLMENT_CLOSED)
"""Every ``reason`` a :class:`ContactStatus` may carry."""

_MARKETING = "marketing"


@dataclass(frozen=True)
class AssignResult:
    """What one ``assign`` run did."""

    experiment_id: str
    assigned: int
    """Contacts newly assigned by this run."""
    already_assigned: int
    """Contacts assigned before this run (left where they were)."""
    excluded: dict[str, int]
    """Unassigned candidates per failing rule (:data:`EXCLUSION_REASONS`)."""
    by_arm: dict[str, int]
    """Contacts per arm after the run (every arm listed, zero included)."""
    version: int = 1
    """Design version the assignments belong to."""
    fingerprint: str = ""
    """Fingerprint of the registered design."""
    evaluated_at: datetime | None = None
    """Time eligibility was evaluated at, and the ``assigned_at`` of contacts added by this run."""
    state_rebuilt: bool = False
    """Whether this run rebuilt ``eligibility_state`` first, because eligibility data had
    changed other than through ``threadlift load`` (see :mod:`threadlift.assign.eligibility`)."""


@dataclass(frozen=True)
class GlobalHoldout:
    """The workspace's global holdout: contacts with ``bucket(salt, id) < basis_points``."""

    salt: str
    basis_points: int

    @property
    def percent(self) -> float:
        """Share of contacts held out, in percent."""
        return self.basis_points / 100


@dataclass(frozen=True)
class ContactStatus:
    """The answer to "is this contact in the experiment, and in which arm?"."""

    experiment_id: str
    contact_id: str
    bucket: int
    assigned: bool
    """Already recorded in ``assignments``."""
    eligible: bool
    """Assigned, or would be assigned by an ``assign`` run at ``evaluated_at``."""
    reason: str | None
    """First failing rule (:data:`EXCLUSION_REASONS`) when not eligible."""
    arm: str | None
    holdout: bool | None
    assigned_at: datetime | None
    """When it was (or would be) assigned; ``None`` when not eligible."""
    evaluated_at: datetime | None = None
    """The time eligibility of an unassigned contact was evaluated at."""


@dataclass(frozen=True)
class _Design:
    """What fixes the arm and clock of an assigned contact; any change needs a new version."""

    content: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        text = json.dumps(self.content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(self.content, sort_keys=True)


def _utc_naive(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def get_global_holdout(ws: Workspace) -> GlobalHoldout | None:
    """The workspace's global holdout, or ``None`` when none is set."""
    return global_holdout_of(ws.con.execute(sql_text("assign/global_holdout_get")).fetchall())


def global_holdout_of(rows: Sequence[Sequence[Any]]) -> GlobalHoldout | None:
    """The setting in the rows of ``sql/assign/global_holdout_get.sql`` (``None`` when unset),
    whichever connection or engine ran it."""
    if not rows or int(rows[0][1]) == 0:
        return None
    return GlobalHoldout(salt=str(rows[0][0]), basis_points=int(rows[0][1]))


def set_global_holdout(ws: Workspace, *, salt: str, percent: Weight) -> GlobalHoldout | None:
    """Hold ``percent`` % of all contacts (by ``bucket(salt, id)``) out of every experiment.

    ``percent = 0`` removes the global holdout. Experiments already assigned keep their
    assignments; re-running them after a change is refused until a new version is asked
    for, because the change would alter who may be enrolled.

    Raises:
        ConfigError: when ``percent`` is not in ``[0, 100]``.
    """
    points = basis_points(percent)
    if not 0 <= points <= BUCKETS:
        raise ConfigError(f"global holdout percent must be between 0 and 100 (got {percent})")
    ws.con.execute("BEGIN TRANSACTION")
    try:
        ws.con.execute(sql_text("assign/global_holdout#clear"))
        if points:
            ws.con.execute(
                sql_text("assign/global_holdout#set"),
                {"salt": salt, "basis_points": points, "set_at": _now()},
            )
        ws.con.execute("COMMIT")
    except BaseException:
        ws.con.execute("ROLLBACK")
        raise
    return GlobalHoldout(salt=salt, basis_points=points) if points else None


def experiments_assigned_under_other_global_holdout(
    ws: Workspace, setting: GlobalHoldout | None
) -> list[str]:
    """Current experiments whose registered design has a global holdout other than ``setting``.

    Changing the global holdout after these were assigned leaves their contacts where they
    are, but their next ``assign`` run is refused until a new version is asked for (the
    design changed), and contacts who moved into or out of the held-out group would be
    in a different place in a program-level report than in the experiments.
    """
    wanted = None if setting is None else {"salt": setting.salt, "basis_points": setting.basis_points}
    return [
        str(experiment_id)
        for experiment_id, design in ws.con.execute(sql_text("assign/registry#designs")).fetchall()
        if json.loads(design).get("global_holdout") != wanted
    ]


def global_holdout_units(ws: Workspace) -> dict[str, int] | None:
    """Label every contact ``global_holdout`` or ``everyone_else`` (the program-level holdout).

    Creates the temp table ``_global_holdout_units(contact_id, arm, bucket)`` so a report
    can compare the two groups like the arms of an experiment, and returns the contacts
    per group; ``None`` when the workspace has no global holdout.
    """
    setting = get_global_holdout(ws)
    if setting is None:
        return None
    ws.con.execute(
        sql_text("assign/global_holdout#units"),
        {"salt": setting.salt, "basis_points": setting.basis_points},
    )
    counts = {"global_holdout": 0, "everyone_else": 0}
    rows = ws.con.execute(
        "SELECT arm, count(*) FROM _global_holdout_units GROUP BY arm"
    ).fetchall()
    counts.update({str(arm): int(n) for arm, n in rows})
    return counts


def _design(experiment: Experiment, global_holdout: GlobalHoldout | None) -> _Design:
    layer = experiment.layer
    return _Design(
        {
            "salt": experiment.effective_salt,
            "assigned_at": experiment.assigned_at.isoformat(),
            "arms": [
                {"name": r.name, "holdout": r.holdout, "start": r.start, "stop": r.stop}
                for r in experiment.ranges()
            ],
            "layer": None
            if layer is None
            else {
                "name": layer.name,
                "salt": layer.effective_salt,
                "start": layer.buckets[0],
                "stop": layer.buckets[1],
            },
            "global_holdout": None
            if global_holdout is None
            else {"salt": global_holdout.salt, "basis_points": global_holdout.basis_points},
        }
    )


def _describe(key: str, value: Any) -> str:
    if key == "arms":
        return ", ".join(
            f"{a['name']}{' (holdout)' if a['holdout'] else ''} [{a['start']}, {a['stop']})"
            for a in value
        )
    if value is None:
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v!r}" for k, v in value.items())
    return repr(value)


def _explain_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    labels = {
        "salt": "salt",
        "assigned_at": "assigned_at",
        "arms": "arms (bucket ranges from names, holdout flags and weights)",
        "layer": "layer",
        "global_holdout": "workspace global holdout",
    }
    return [
        f"{labels.get(key, key)}: {_describe(key, old.get(key))} -> {_describe(key, new.get(key))}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _create_audience(con: duckdb.DuckDBPyConnection, experiment: Experiment) -> None:
    """Create temp view ``_tl_audience(contact_id)`` from ``audience_sql`` (default: all contacts).

    ``audience_sql`` is the one piece of user SQL: validated as exactly one SELECT over
    workspace tables when the experiment was loaded (:mod:`threadlift.assign.audience`),
    checked again here (its tables must exist in the workspace, so no replacement scan
    reads a file), and used only as a subquery. Duplicates are removed later, by the candidates' GROUP BY.
    """
    audience = experiment.audience_sql
    if audience is None:
        con.execute("CREATE OR REPLACE TEMP VIEW _tl_audience AS SELECT contact_id FROM contacts")
        return
    body = audience.strip().rstrip(";").strip()
    try:
        statements = con.extract_statements(body)
    except duckdb.Error as exc:
        raise ConfigError(
            f"experiment {experiment.id}: audience_sql does not parse in DuckDB: "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise ConfigError(
            f"experiment {experiment.id}: audience_sql must be exactly one SELECT statement"
        )
    check_tables_exist(con, body, f"experiment {experiment.id}")
    try:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW _tl_audience AS "
            f"SELECT CAST(contact_id AS VARCHAR) AS contact_id FROM (\n{body}\n) AS audience "
            "WHERE contact_id IS NOT NULL"
        )
        con.execute("SELECT * FROM _tl_audience LIMIT 0").fetchall()
    except duckdb.Error as exc:
        raise ConfigError(
            f"experiment {experiment.id}: audience_sql fails on this workspace: "
            f"{str(exc).splitlines()[0]}. It must be one SELECT over the workspace's tables "
            "returning a contact_id column"
        ) from exc


def sent_channels(experiment: Experiment) -> list[str]:
    """The channels ``experiment`` sends on, each once: its treatment arms' (an arm
    without its own channel sends on the experiment's), the experiment's channel first.

    Eligibility is judged on each of them, for every contact: a contact is eligible only
    when eligible on all, so every cell (the holdout too) holds the same population.
    """
    used: list[str] = [arm.channel or experiment.channel for arm in experiment.arms if not arm.holdout]
    ordered = sorted(dict.fromkeys(used), key=lambda channel: channel != experiment.channel)
    return ordered or [experiment.channel]


def evaluation_params(
    experiment: Experiment, at: datetime, global_holdout: GlobalHoldout | None
) -> dict[str, Any]:
    """The parameters of the assignment contract for ``experiment`` evaluated at ``at``.

    ``sql/assign/evaluate.sql`` (DuckDB, and Spark through
    :func:`threadlift.engines.spark.assign_spark`) and ``sql/assign/eligibility/evaluate.sql``
    bind exactly these: ``experiment_id``, ``at``, ``salt``, the arm ranges
    (``arm_names``, ``arm_starts``, ``arm_stops``, holdout first), ``channel`` and
    ``other_channels`` (:func:`sent_channels`: the first and the rest), ``sender_id``, ``category``, ``require_consent``, ``marketing``, ``feedback_days``,
    the global holdout (``global_salt``, ``global_stop``; stop 0 without one) and the
    layer (``layer_salt``, ``layer_start``, ``layer_stop``). Another engine that runs the
    contract binds the same values to get the same arms.

    Args:
        experiment: The validated experiment.
        at: The eligibility time (naive UTC).
        global_holdout: The workspace's global holdout (:func:`get_global_holdout`), if any.
    """
    ranges = experiment.ranges()
    layer = experiment.layer
    channels = sent_channels(experiment)
    return {
        "experiment_id": experiment.id,
        "at": at,
        "salt": experiment.effective_salt,
        "arm_names": [r.name for r in ranges],
        "arm_starts": [r.start for r in ranges],
        "arm_stops": [r.stop for r in ranges],
        "channel": channels[0],
        "other_channels": channels[1:],
        "sender_id": experiment.sender_id,
        "category": experiment.category,
        "require_consent": experiment.eligibility.require_consent,
        "marketing": experiment.category == _MARKETING,
        "feedback_days": experiment.eligibility.exclude_feedback_days,
        "global_salt": global_holdout.salt if global_holdout else None,
        "global_stop": global_holdout.basis_points if global_holdout else 0,
        "layer_salt": layer.effective_salt if layer else None,
        "layer_start": layer.buckets[0] if layer else 0,
        "layer_stop": layer.buckets[1] if layer else BUCKETS,
    }


def _evaluate(
    ws: Workspace,
    experiment: Experiment,
    at: datetime,
    global_holdout: GlobalHoldout | None,
    contact_ids: list[str] | None,
) -> None:
    """Fill temp table ``_tl_evaluation`` from the event logs (sql/assign/evaluate.sql)."""
    con = ws.con
    _create_audience(con, experiment)
    if contact_ids is not None:
        con.execute(sql_text("assign/candidates#requested"), {"contact_ids": contact_ids})
        con.execute(sql_text("assign/candidates#given"))
    elif experiment.audience_sql is None:
        con.execute(sql_text("assign/candidates#contacts"))
    else:
        con.execute(sql_text("assign/candidates#all"))
    con.execute(sql_text("assign/evaluate"), evaluation_params(experiment, at, global_holdout))


def _define_state_evaluation(ws: Workspace, experiment: Experiment) -> None:
    """Define the candidates and the temp macros ``_tl_verdicts`` and ``_tl_evaluate``.

    ``sql/assign/eligibility/evaluate.sql`` gives, for every candidate, the same verdict
    (assigned, first failing rule) as ``sql/assign/evaluate.sql`` (:func:`_evaluate`),
    read from one ``eligibility_state`` row per contact instead of the event logs; the
    state must be current (:func:`threadlift.assign.eligibility.ensure_current`).
    """
    con = ws.con
    if experiment.audience_sql is None:
        con.execute(sql_text("assign/eligibility/candidates#contacts"))
    else:
        _create_audience(con, experiment)
        con.execute(sql_text("assign/eligibility/candidates#audience"))
    con.execute(sql_text("assign/eligibility/candidates#eventful_events"))
    for statement in ("plain", "eventful", "all"):
        con.execute(sql_text(f"assign/eligibility/verdicts#{statement}"))
    con.execute(sql_text("assign/eligibility/evaluate"))


def _current_registration(ws: Workspace, experiment_id: str) -> tuple[int, str, dict[str, Any]] | None:
    rows = ws.con.execute(
        sql_text("assign/registry#current"), {"experiment_id": experiment_id}
    ).fetchall()
    if not rows:
        return None
    row = rows[0]
    return int(row[0]), str(row[1]), json.loads(row[2])


def _check_layer(ws: Workspace, experiment: Experiment) -> None:
    layer = experiment.layer
    if layer is None:
        return
    start, stop = layer.buckets
    rows = ws.con.execute(
        sql_text("assign/layer_neighbours"),
        {"layer_name": layer.name, "experiment_id": experiment.id},
    ).fetchall()
    for other_id, other_salt, other_start, other_stop in rows:
        if other_salt != layer.effective_salt:
            raise AssignmentError(
                f"experiment {experiment.id}: layer {layer.name!r} is used by experiment "
                f"{other_id} with salt {other_salt!r}, not {layer.effective_salt!r}; experiments "
                "of one layer must share its salt (set [layer] salt to match, or use another layer name)"
            )
        if start < other_stop and other_start < stop:
            raise AssignmentError(
                f"experiment {experiment.id}: layer {layer.name!r} buckets [{start}, {stop}) "
                f"overlap experiment {other_id}'s [{other_start}, {other_stop}); experiments of "
                "one layer need disjoint ranges so no contact is in two of them (change [layer] buckets)"
            )


def _check_can_assign(experiment: Experiment) -> None:
    if experiment.assignment == "external":
        raise AssignmentError(
            f"experiment {experiment.id} declares assignment = \"external\": its arms come from "
            "`threadlift load assignments FILE`, not from `assign`"
        )
    if experiment.assignment == "global_holdout":
        raise AssignmentError(
            f"experiment {experiment.id} declares assignment = \"global_holdout\": its arms are "
            "the workspace's global holdout and everyone else (`threadlift holdout show`), "
            "nothing to assign; run `threadlift report` on it"
        )


def assign_experiment(
    ws: Workspace,
    experiment: Experiment,
    *,
    new_version: bool = False,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> AssignResult:
    """Assign the eligible audience of ``experiment`` and record it in ``assignments``.

    Args:
        ws: An open, writable workspace.
        experiment: The validated experiment.
        new_version: Start a new version of the design even though the experiment was
            assigned before: its current assignments are archived and the audience is
            assigned afresh as of ``assigned_at``.
        now: The time of this run (default: the current UTC time). The first run
            evaluates eligibility at the experiment's ``assigned_at``. A later run of an
            ``enrolment = "rolling"`` experiment adds the contacts eligible at
            ``max(now, assigned_at)`` and records that time as their ``assigned_at``; a
            later run of an ``enrolment = "once"`` experiment evaluates at
            ``assigned_at`` and adds nobody.
        progress: Called with the name of each stage as it starts (``eligibility
            state``, ``audience``, ``eligibility``, ``writing``), for a progress display.

    Returns:
        Counts of the run: newly and previously assigned, exclusions per reason, totals per arm.

    Raises:
        NoEligibleContactsError: when the first run of a version finds nobody eligible
            (the message gives the count per rule and how to fix it); nothing is
            registered or written, so the next run is a first run again.
        EnrolmentClosedError: when a later run of an ``enrolment = "once"`` experiment
            finds contacts eligible that are not assigned; nothing is written.
        AssignmentError: when the design changed since the experiment was assigned
            (salt, arms, weights, ``assigned_at``, layer or global holdout) and no new
            version was asked for, when its layer range overlaps another experiment of
            the layer, or when the experiment is assigned externally.
        ConfigError: when ``audience_sql`` does not run on the workspace.
    """
    _check_can_assign(experiment)
    stage = progress or (lambda _name: None)
    run_time = _utc_naive(now) if now is not None else _now()
    global_holdout = get_global_holdout(ws)
    design = _design(experiment, global_holdout)
    con = ws.con
    con.execute("BEGIN TRANSACTION")
    try:
        current = _current_registration(ws, experiment.id)
        version, first_run = _resolve_version(experiment, design, current, new_version)
        if first_run:
            _check_layer(ws, experiment)
            if current is not None:
                params = {"experiment_id": experiment.id, "version": current[0], "archived_at": run_time}
                con.execute(sql_text("assign/archive_version#archive"), params)
                con.execute(sql_text("assign/archive_version#drop"), {"experiment_id": experiment.id})
                con.execute(
                    sql_text("assign/registry#retire"),
                    {"experiment_id": experiment.id, "retired_at": run_time},
                )
            _register(ws, experiment, design, version, run_time)
        at = evaluation_time(experiment, first_run, run_time)
        stage("eligibility state")
        state_rebuilt = eligibility_state.ensure_current(con)
        stage("audience")
        _define_state_evaluation(ws, experiment)
        any_assigned = first_row(
            con, sql_text("assign/eligibility/unassigned#any_assigned"), {"experiment_id": experiment.id}
        )
        already_any = bool(any_assigned and any_assigned[0])
        params = evaluation_params(experiment, at, global_holdout)
        rules = {k: v for k, v in params.items() if k not in _NOT_RULE_PARAMS}
        stage("eligibility")
        # Without any assignment there is nothing to look up: the first run reads the
        # verdicts alone, which spares a join over every candidate, and judges the
        # eventful candidates once for its two passes.
        if already_any:
            con.execute(sql_text("assign/eligibility/unassigned#rerun"))
        else:
            con.execute(sql_text("assign/eligibility/unassigned#judge_eventful"), rules)
            con.execute(sql_text("assign/eligibility/unassigned#first"))
        channels = sent_channels(experiment)
        if len(channels) > 1:
            _judge_each_channel(ws, rules, channels, judge_eventful=not already_any)
        # Two passes over the candidates: the counts per reason (no rows written), then
        # the insert of the eligible. Each reads the state once.
        verdicts: dict[str | None, int] = {}
        for reason, channel, count in con.execute(
            sql_text("assign/eligibility/exclusion_counts"), rules
        ).fetchall():
            key = None if reason is None else exclusion_key(reason, channel, params)
            verdicts[key] = verdicts.get(key, 0) + int(count)
        eligible = verdicts.pop(None, 0)
        excluded = {str(r): n for r, n in verdicts.items()}
        if first_run and not eligible and not already_any:
            raise nobody_eligible(experiment, at, excluded)
        if not first_run and experiment.enrolment == "once" and eligible:
            raise enrolment_closed(
                experiment,
                eligible,
                restart=f"start a new version (`threadlift assign --new-version`, or version = "
                f"{version + 1} in the file): the current assignments are archived and the whole "
                "audience is assigned afresh as of assigned_at",
            )
        stage("writing")
        inserted = con.execute(
            sql_text("assign/eligibility/insert_new"),
            {k: v for k, v in params.items() if k != "other_channels"} | {"assigned_at": at},
        ).fetchall()
        by_arm = _arm_counts(ws, experiment)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    newly = int(inserted[0][0]) if inserted else 0
    return AssignResult(
        experiment_id=experiment.id,
        assigned=newly,
        already_assigned=sum(by_arm.values()) - newly,
        excluded=excluded,
        by_arm=by_arm,
        version=version,
        fingerprint=design.fingerprint,
        evaluated_at=at,
        state_rebuilt=state_rebuilt,
    )


_NOT_RULE_PARAMS = frozenset({"salt", "arm_names", "arm_starts", "arm_stops", "other_channels"})
"""Parameters of :func:`evaluation_params` the state path's rule statements do not bind."""

CHANNEL_REASONS = frozenset(
    {"other_sender", "consent_after_assignment", "no_consent", "consent_revoked", "marketing_stopped"}
)
"""The rules judged per channel (consent and stops); the others are the same on every channel."""


def exclusion_key(reason: str, channel: str | None, params: Mapping[str, Any]) -> str:
    """``reason``, or ``"<reason> on <channel>"`` for a per-channel rule of an experiment
    sent on several channels (so the counts say which channel excluded whom)."""
    if params["other_channels"] and reason in CHANNEL_REASONS and channel is not None:
        return f"{reason} on {channel}"
    return reason


def _judge_each_channel(
    ws: Workspace, rules: Mapping[str, Any], channels: Sequence[str], *, judge_eventful: bool
) -> None:
    """Judge the unassigned candidates on each channel, then redefine ``_tl_unassigned``
    as the combination: eligible on every channel, else the first channel's failing rule.
    ``judge_eventful``: a first run's ``_tl_unassigned`` reads the eventful candidates'
    verdicts judged for one channel (``unassigned#judge_eventful``): judge them per channel."""
    con = ws.con
    con.execute(sql_text("assign/eligibility/unassigned#channel_verdicts"))
    for position, channel in enumerate(channels, start=1):
        if judge_eventful:
            con.execute(
                sql_text("assign/eligibility/unassigned#judge_eventful"),
                dict(rules) | {"channel": channel},
            )
        con.execute(
            sql_text("assign/eligibility/unassigned#add_channel"),
            dict(rules) | {"channel": channel, "position": position},
        )
    con.execute(sql_text("assign/eligibility/unassigned#channels"))


def evaluation_time(experiment: Experiment, first_run: bool, run_time: datetime) -> datetime:
    """When eligibility is evaluated: ``assigned_at`` on a first run and for ``once``
    enrolment, ``max(run_time, assigned_at)`` for a later run of ``rolling`` enrolment."""
    if first_run or experiment.enrolment == "once":
        return experiment.assigned_at
    return max(run_time, experiment.assigned_at)


_FIXES = {
    "not_in_audience": "audience_sql returns none of them: check its conditions and that the "
    "tables it reads are loaded",
    "global_holdout": "they are in the workspace's global holdout (`threadlift holdout show`)",
    "layer": "they fall outside this experiment's [layer] buckets: widen buckets",
    "other_sender": "their consents are for another sender: check sender_id = {sender}, or load "
    "this sender's consents with `threadlift load consents FILE`",
    "consent_after_assignment": "their consents were granted after assigned_at = {at}: check "
    "assigned_at (the time the campaign's audience is frozen)",
    "no_consent": "no consent event covers {channel} {category} messages{for_sender}: load "
    "consents with `threadlift load consents FILE` (the experiment requires consent; set "
    "[eligibility] require_consent = false only if you may message them without one)",
    "consent_revoked": "their latest consent event is a revoke",
    "marketing_stopped": "they stopped marketing messages (a revoke, a WhatsApp "
    "marketing-preference stop or a 131050 failure)",
    "recent_feedback": "they blocked, reported or opted out in the {days} days before "
    "assigned_at ([eligibility] exclude_feedback_days)",
}


def nobody_eligible(
    experiment: Experiment,
    at: datetime,
    excluded: Mapping[str, int],
    *,
    unchanged: str = "nothing was assigned and the design was not registered",
    source: str = "workspace",
) -> NoEligibleContactsError:
    """The error of a first run that finds nobody eligible at ``at``: the count per rule
    (``excluded``, as :attr:`AssignResult.excluded` names them) and how to fix each.

    Args:
        experiment: The experiment being assigned.
        at: The eligibility time (its ``assigned_at``).
        excluded: Candidates per failing rule.
        unchanged: What the run left undone (the engine's words).
        source: Where the contacts come from (``workspace``, ``lake``).
    """
    head = (
        f"experiment {experiment.id}: nobody is eligible at assigned_at = {at:%Y-%m-%d %H:%M:%S} "
        f"UTC, so {unchanged}"
    )
    if not excluded:
        audience = " and audience_sql returns none" if experiment.audience_sql else ""
        return NoEligibleContactsError(
            f"{head}: the {source} has no contacts{audience}. Load them with "
            "`threadlift load contacts FILE`, then run assign again",
            {},
        )
    ordered = sorted(excluded.items(), key=lambda kv: -kv[1])
    counts = ", ".join(f"{reason} {n:,}" for reason, n in ordered)
    fixes = []
    for key, _n in ordered:
        # a multi-channel experiment counts a per-channel rule as "<reason> on <channel>"
        reason, _on, channel = key.partition(" on ")
        if reason in _FIXES:
            values = {
                "sender": repr(experiment.sender_id),
                "at": f"{at:%Y-%m-%dT%H:%M:%SZ}",
                "channel": channel or experiment.channel,
                "category": experiment.category,
                "for_sender": f" from sender {experiment.sender_id}" if experiment.sender_id else "",
                "days": experiment.eligibility.exclude_feedback_days,
            }
            fixes.append(f"{key}: {_FIXES[reason].format(**values)}")
    total = sum(excluded.values())
    who = f"All {total:,} candidates were" if total > 1 else "The only candidate was"
    return NoEligibleContactsError(
        f"{head}. {who} excluded ({counts}). How to fix it: {'; '.join(fixes)}. Then run "
        "assign again: everyone is still dated to assigned_at",
        dict(excluded),
    )


def enrolment_closed(experiment: Experiment, eligible: int, *, restart: str) -> EnrolmentClosedError:
    """The error of a later run of an ``enrolment = "once"`` experiment that finds
    ``eligible`` contacts not assigned; ``restart`` says how this engine starts afresh."""
    return EnrolmentClosedError(
        f"experiment {experiment.id} declares enrolment = \"once\" and had its first run; "
        f"{eligible:,} contacts that run did not assign are eligible at assigned_at = "
        f"{experiment.assigned_at:%Y-%m-%dT%H:%M:%SZ} now (consents or contacts loaded since?). "
        "Nothing was written. To add them, set enrolment = \"rolling\" in the file (each is "
        f"dated when first assigned, its outcome window starts then), or {restart}",
        eligible,
    )


def _resolve_version(
    experiment: Experiment,
    design: _Design,
    current: tuple[int, str, dict[str, Any]] | None,
    new_version: bool,
) -> tuple[int, bool]:
    """The version to assign under, and whether it starts afresh (first run of a version)."""
    if current is None:
        return experiment.version or 1, True
    version, fingerprint, old_design = current
    if experiment.version is not None and experiment.version < version:
        raise AssignmentError(
            f"experiment {experiment.id}: the file says version = {experiment.version} but "
            f"version {version} is already assigned; use the current file or set version = {version + 1}"
        )
    asked = new_version or (experiment.version is not None and experiment.version > version)
    if asked:
        return max(version + 1, experiment.version or 0), True
    if fingerprint != design.fingerprint:
        changes = _explain_change(old_design, design.content)
        raise AssignmentError(
            f"experiment {experiment.id} (version {version}) was assigned with a different design; "
            f"changed: {'; '.join(changes)}. Changing it would move contacts between arms or "
            "restart their clocks, which breaks the comparison. Restore the file, or start a new "
            f"version explicitly (`threadlift assign --new-version`, or version = {version + 1} in "
            "the file): the current assignments are archived and the audience is assigned afresh"
        )
    return version, False


def _register(
    ws: Workspace, experiment: Experiment, design: _Design, version: int, run_time: datetime
) -> None:
    layer = experiment.layer
    ws.con.execute(
        sql_text("assign/registry#insert"),
        {
            "experiment_id": experiment.id,
            "version": version,
            "fingerprint": design.fingerprint,
            "design": design.to_json(),
            "layer_name": layer.name if layer else None,
            "layer_salt": layer.effective_salt if layer else None,
            "layer_start": layer.buckets[0] if layer else None,
            "layer_stop": layer.buckets[1] if layer else None,
            "registered_at": run_time,
        },
    )


def _arm_counts(ws: Workspace, experiment: Experiment) -> dict[str, int]:
    counts = {arm.name: 0 for arm in experiment.arms}
    rows = ws.con.execute(sql_text("assign/arm_counts"), {"experiment_id": experiment.id}).fetchall()
    counts.update({str(arm): int(n) for arm, n in rows})
    return counts


def candidate_ids(ws: Workspace, experiment: Experiment) -> list[str]:
    """Every contact id whose eligibility ``assign`` decides for ``experiment``.

    The workspace contacts, the contacts already assigned to it and the ids its
    ``audience_sql`` returns (``sql/assign/candidate_ids.sql``). Any other id is
    ``not_in_audience``: :func:`eligibility_snapshot` of these ids is everything the HTTP
    API needs to answer for the experiment.

    Raises:
        ConfigError: when ``audience_sql`` does not run on the workspace.
    """
    _create_audience(ws.con, experiment)
    rows = ws.con.execute(
        sql_text("assign/candidate_ids"), {"experiment_id": experiment.id}
    ).fetchall()
    return [str(row[0]) for row in rows]


def eligibility_snapshot(
    ws: Workspace,
    experiment: Experiment,
    contact_ids: Iterable[str],
    *,
    now: datetime | None = None,
) -> list[ContactStatus]:
    """Arm and eligibility of ``contact_ids`` as ``assign`` sees them, without writing.

    This is the single-contact and batch face of :func:`assign_experiment` (the HTTP API
    calls it): the same SQL decides. An assigned contact gets its recorded arm. An
    unassigned one is evaluated at the time the next ``assign`` run would use: the
    experiment's ``assigned_at`` before its first run and for ``enrolment = "once"``,
    ``max(now, assigned_at)`` after the first run of ``enrolment = "rolling"``. After the
    first run of a ``once`` experiment the next run adds nobody, so an unassigned contact
    that passes every rule is not eligible either: its reason is
    :data:`ENROLMENT_CLOSED`. Contacts the workspace does not know are
    ``not_in_audience`` (their bucket is still given). Results come back in the order
    asked, one per distinct id.
    """
    _check_can_assign(experiment)
    ids = list(dict.fromkeys(str(contact_id) for contact_id in contact_ids))
    run_time = _utc_naive(now) if now is not None else _now()
    global_holdout = get_global_holdout(ws)
    first_run = _current_registration(ws, experiment.id) is None
    at = evaluation_time(experiment, first_run, run_time)
    closed = not first_run and experiment.enrolment == "once"
    _evaluate(ws, experiment, at, global_holdout, ids)
    holdouts = {arm.name for arm in experiment.arms if arm.holdout}
    found: dict[str, ContactStatus] = {}
    for contact_id, bucket_value, assigned, reason, arm, assigned_at in ws.con.execute(
        "SELECT contact_id, bucket, assigned, reason, arm, assigned_at FROM _tl_evaluation"
    ).fetchall():
        if closed and not assigned and reason is None:
            reason, arm = ENROLMENT_CLOSED, None
        eligible = reason is None
        found[contact_id] = ContactStatus(
            experiment_id=experiment.id,
            contact_id=contact_id,
            bucket=int(bucket_value),
            assigned=bool(assigned),
            eligible=eligible,
            reason=reason,
            arm=arm,
            holdout=(arm in holdouts) if arm is not None else None,
            assigned_at=assigned_at if assigned else (at if eligible else None),
            evaluated_at=at,
        )
    return [found[contact_id] for contact_id in ids]


def export_assignments(ws: Workspace, experiment: Experiment, path: str | Path) -> int:
    """Write ``experiment_id,contact_id,arm,bucket,assigned_at`` CSV; return the row count."""
    return _copy_csv(
        ws, "assign/export_assignments", {"experiment_id": experiment.id}, Path(path)
    )


def export_send_list(ws: Workspace, experiment: Experiment, path: str | Path) -> int:
    """Write the treatment contacts with their address on their arm's channel; return the row count.

    Columns: ``experiment_id,contact_id,arm,channel,sender_id,address,assigned_at``. An
    identity of the experiment's sender is preferred to one without a sender; contacts
    without an address on the channel are left out (compare the count with ``by_arm``).
    """
    treatment = [arm for arm in experiment.arms if not arm.holdout]
    params = {
        "experiment_id": experiment.id,
        "arm_names": [arm.name for arm in treatment],
        "arm_channels": [arm.channel or experiment.channel for arm in treatment],
        "sender_id": experiment.sender_id,
    }
    return _copy_csv(ws, "assign/send_list", params, Path(path))


def _copy_csv(ws: Workspace, query: str, params: dict[str, Any], path: Path) -> int:
    """Write the rows of ``sql/<query>.sql`` to ``path`` as CSV with a header; return the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    params = {**params, "path": str(path)}
    rows = ws.con.execute(
        f"COPY (\n{sql_text(query)}\n) TO $path (HEADER, DELIMITER ',')", params
    ).fetchall()
    return int(rows[0][0]) if rows else 0
