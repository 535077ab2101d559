"""Experiment files (TOML): parsed and validated at the edge with pydantic.

Errors name the file, the field and what is allowed, e.g.
``winback.toml: arms[1].weight: must be greater than 0 (got 0)``.

Besides its core fields (id, channel, sender, arms, metrics, guardrails) an experiment may declare:

* ``version = N`` — the design version the file describes. ``assign`` refuses a file
  whose arms, weights, salt, ``assigned_at`` or layer differ from what was assigned,
  unless the file's ``version`` is higher than the recorded one (or ``new_version`` is
  asked for explicitly); the old assignments are then archived, not lost.
* ``[layer]`` — ``name``, optional ``salt`` (default: the name) and ``buckets = [start,
  stop]``: the half-open range of the layer's own 10,000 buckets this experiment may
  draw from. Experiments in one layer must have disjoint ranges, so no contact is in
  two of them.
* ``enrolment = "once" | "rolling"`` — whether a later ``assign`` run may add contacts.
  ``once`` (the default, a campaign holdout): the audience is the one eligible at
  ``assigned_at``; a later run that would add anyone is refused. ``rolling``: a later
  run adds the contacts that have become eligible, each dated when first assigned.
* ``[[segments]]`` — dimensions the report splits every lift by (:class:`Segment`): a
  column of ``contacts`` (``by``), a query of ``(contact_id, segment)`` (``sql``, run in
  the audience sandbox and as of ``assigned_at``) or a built-in
  (``builtin = "pre_period_activity"``). Without the key, the report splits by market and,
  when a metric has ``cuped_days``, by pre-period activity (:data:`DEFAULT_SEGMENTS`).
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from threadlift.assign.audience import audience_tables
from threadlift.core.bucketing import BUCKETS, ArmRange, arm_ranges
from threadlift.errors import ConfigError

MAX_DAYS = 36_500
"""The longest span (days) an experiment may declare: a century is far beyond any use and
keeps every date threadlift computes from one inside the calendar."""

Days = Annotated[int, Field(le=MAX_DAYS)]

MAX_WEIGHT = 1e12
"""The largest arm weight: weights are relative (percentages, say); the sample-ratio test
multiplies them by unit counts, which must stay finite."""

Channel = Literal["whatsapp", "messenger", "instagram", "apple", "sms", "email"]
Enrolment = Literal["once", "rolling"]
MetricType = Literal["proportion", "mean", "ratio"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Arm(_Model):
    """One arm: a name, a positive weight, and whether it is the holdout."""

    name: Annotated[str, Field(min_length=1)]
    weight: Annotated[float, Field(gt=0, le=MAX_WEIGHT, allow_inf_nan=False)]
    holdout: bool = False
    channel: Channel | None = None
    """For multi-channel experiments: the channel this cell is sent on (default: the experiment's)."""

    @field_validator("weight", mode="before")
    @classmethod
    def _weight_is_number(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be a number greater than 0, not true/false")
        return value


class Layer(_Model):
    """A layer: experiments sharing it draw disjoint bucket ranges of the layer's own hash."""

    name: Annotated[str, Field(min_length=1)]
    salt: str | None = None
    buckets: tuple[int, int]
    """Half-open range ``[start, stop)`` of the layer's buckets (0..10000) this experiment owns."""

    @field_validator("buckets")
    @classmethod
    def _range(cls, value: tuple[int, int]) -> tuple[int, int]:
        start, stop = value
        if not 0 <= start < stop <= BUCKETS:
            raise ValueError(
                f"must be [start, stop] with 0 <= start < stop <= {BUCKETS}, "
                f"e.g. [0, 5000] for the first half of the layer"
            )
        return value

    @property
    def effective_salt(self) -> str:
        """The salt of the layer's hash (``salt``, defaulting to ``name``)."""
        return self.salt if self.salt is not None else self.name


class Eligibility(_Model):
    """Who may be assigned: consent, recent feedback, other experiments (docs/experiments.md)."""

    require_consent: bool = True
    exclude_feedback_days: Annotated[Days, Field(ge=0)] = 90


class Metric(_Model):
    """An outcome metric counted per unit from its own ``assigned_at`` over ``window_days``."""

    name: Annotated[str, Field(min_length=1)]
    type: MetricType
    action: Annotated[str, Field(min_length=1)]
    cuped_days: Annotated[Days, Field(gt=0)] | None = None
    arms: list[str] | None = None
    """Restrict the metric to these arms (default: every arm)."""
    proportion_test: Literal["welch", "prop_test"] = "welch"
    """``welch`` (Welch's t on 0/1 values) or ``prop_test`` (R's ``prop.test``: pooled
    z with Yates' continuity correction); ``prop_test`` only for a proportion without CUPED."""

    @model_validator(mode="after")
    def _prop_test_applies(self) -> Self:
        if self.proportion_test == "prop_test" and (
            self.type != "proportion" or self.cuped_days is not None
        ):
            raise ValueError(
                f"metric {self.name!r}: proportion_test = \"prop_test\" applies only to a "
                "proportion metric without cuped_days; remove it or use \"welch\""
            )
        return self


FAILURE_GUARDRAIL_KINDS = ("spam_rate_limited", "marketing_cap", "undeliverable")
"""Guardrail kinds counted from failed sends (131048, 131049, 131026): the holdout is never
sent, so its rate is zero by construction and a relative margin can never be met."""


class Guardrail(_Model):
    """A one-sided non-inferiority test: treatment may not exceed control by more than the margin."""

    name: Annotated[str, Field(min_length=1)]
    kind: Annotated[str, Field(min_length=1)]
    max_increase: Annotated[float, Field(ge=0)] | None = None
    max_rel_increase: Annotated[float, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _one_margin(self) -> Self:
        if (self.max_increase is None) == (self.max_rel_increase is None):
            raise ValueError("give exactly one of max_increase (absolute) or max_rel_increase")
        if self.kind in FAILURE_GUARDRAIL_KINDS and self.max_rel_increase is not None:
            raise ValueError(
                f"guardrail {self.name!r}: kind {self.kind!r} counts failed sends, and the "
                "holdout is never sent, so its rate is always 0 and no relative increase "
                "can be shown to stay within a margin; give an absolute margin instead, "
                "e.g. max_increase = 0.01 (one percentage point)"
            )
        return self


class Segment(_Model):
    """A segment dimension: how the report splits every lift (docs/experiments.md).

    Exactly one of ``by`` (a column of ``contacts``), ``sql`` (one SELECT returning
    ``contact_id`` and ``segment``, read as of ``assigned_at`` in the audience sandbox) or
    ``builtin`` (``pre_period_activity``: none / some / frequent actions of the metrics
    over the longest ``cuped_days`` before each unit's assignment).
    """

    name: Annotated[str, Field(min_length=1, max_length=100)]
    by: str | None = None
    sql: str | None = None
    builtin: Literal["pre_period_activity"] | None = None
    min_units: Annotated[int, Field(ge=1)] = 100
    """A segment with fewer units than this in any arm is pooled into ``other``."""

    @field_validator("by")
    @classmethod
    def _column_name(cls, value: str | None) -> str | None:
        if value is not None and (
            not _COLUMN_NAME.fullmatch(value) or value.lower() == "contact_id"
        ):
            raise ValueError(
                "by: must name a column of contacts other than contact_id (letters, digits "
                "and '_'), e.g. by = \"market\""
            )
        return value

    @field_validator("sql")
    @classmethod
    def _one_select(cls, value: str | None) -> str | None:
        if value is not None:
            check_segment_sql(value)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [key for key in ("by", "sql", "builtin") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(
                f"segment {self.name!r}: give exactly one of by (a column of contacts), sql "
                "(a query of contact_id, segment) or builtin = \"pre_period_activity\""
                + (f"; found {', '.join(given)}" if given else "")
            )
        return self


_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")

DEFAULT_SEGMENTS: tuple[Segment, ...] = (
    Segment(name="market", by="market"),
    Segment(name="pre_period_activity", builtin="pre_period_activity"),
)
"""The dimensions of an experiment without ``segments``: the contact's market, and its
pre-period activity when a metric has ``cuped_days`` (the lookback it needs)."""


GLOBAL_HOLDOUT_ARMS = ("global_holdout", "everyone_else")
"""Arms of an ``assignment = "global_holdout"`` experiment: the held-out contacts first."""


_PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class Experiment(_Model):
    """A validated experiment file."""

    id: Annotated[str, Field(min_length=1)]
    channel: Channel
    sender_id: str | None = None
    category: str = "marketing"
    assigned_at: datetime
    window_days: Annotated[Days, Field(gt=0)] = 7
    salt: str | None = None
    audience_sql: str | None = None
    version: Annotated[int, Field(ge=1)] | None = None
    layer: Layer | None = None
    assignment: Literal["threadlift", "external", "global_holdout"] = "threadlift"
    """Who assigns the arms: ``threadlift`` (``assign``), ``external`` (a loaded
    ``assignments`` file) or ``global_holdout`` (the program-level comparison: every
    contact known at ``assigned_at``, labelled by the workspace's global holdout; arms
    :data:`GLOBAL_HOLDOUT_ARMS`)."""
    enrolment: Enrolment = "once"
    """Whether a later ``assign`` run may add contacts (``assignment = "threadlift"`` only):
    ``once`` enrols the audience eligible at ``assigned_at`` and refuses a later run that
    would add anyone; ``rolling`` adds the newly eligible, each with its own ``assigned_at``
    (the run's time)."""
    sequential: bool = False
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    srm_alpha: Annotated[float, Field(gt=0, lt=1)] = 0.001
    arms: Annotated[list[Arm], Field(min_length=2)]
    eligibility: Eligibility = Eligibility()
    metrics: list[Metric] = []
    guardrails: list[Guardrail] = []
    segments: list[Segment] | None = None
    """Segment dimensions of the report (``None``: :data:`DEFAULT_SEGMENTS`; ``[]``: none)."""
    source_path: Path | None = Field(default=None, exclude=True)

    @field_validator("id")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _PLAIN_ID.fullmatch(value):
            raise ValueError(
                "an experiment id must be a plain name of at most 200 letters, digits, '.', "
                "'_' or '-', starting with a letter or digit (it names report folders and API "
                "paths)"
            )
        return value

    @field_validator("assigned_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    @field_validator("sender_id", mode="before")
    @classmethod
    def _sender_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("audience_sql")
    @classmethod
    def _one_select(cls, value: str | None) -> str | None:
        if value is not None:
            check_audience_sql(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        self._check_dates()
        names = [arm.name for arm in self.arms]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"arms: names must be unique; repeated: {', '.join(duplicates)}")
        holdouts = [arm.name for arm in self.arms if arm.holdout]
        if len(holdouts) > 1:
            raise ValueError(
                f"arms: at most one arm may have holdout = true; found {len(holdouts)}: "
                f"{', '.join(holdouts)}"
            )
        empty = [r.name for r in self.ranges() if r.width == 0]
        if empty:
            raise ValueError(
                f"arms: {', '.join(empty)} would get no bucket: each arm needs at least "
                f"1/{BUCKETS} of the total weight; raise their weight"
            )
        if self.assignment == "global_holdout":
            self._check_global_holdout_arms()
        if "enrolment" in self.model_fields_set and self.assignment != "threadlift":
            raise ValueError(
                f'enrolment: applies to experiments threadlift assigns; with assignment = '
                f'"{self.assignment}" the arms do not come from `assign` (remove enrolment)'
            )
        metric_names = [m.name for m in self.metrics] + [g.name for g in self.guardrails]
        repeated = sorted({n for n in metric_names if metric_names.count(n) > 1})
        if repeated:
            raise ValueError(f"metric and guardrail names must be unique; repeated: {', '.join(repeated)}")
        for index, metric in enumerate(self.metrics):
            if self.sequential and metric.proportion_test == "prop_test":
                raise ValueError(
                    f"metrics[{index}]: proportion_test = \"prop_test\" is a fixed-horizon "
                    "test; with sequential = true use \"welch\" (confidence sequences)"
                )
            unknown = sorted(set(metric.arms or []) - set(names))
            if unknown:
                raise ValueError(
                    f"metrics[{index}].arms: metric {metric.name!r} names unknown arm(s) "
                    f"{', '.join(unknown)}; the arms are: {', '.join(names)}"
                )
        self._check_segments()
        return self

    def _check_segments(self) -> None:
        segment_names = [s.name for s in self.segments or []]
        repeated = sorted({n for n in segment_names if segment_names.count(n) > 1})
        if repeated:
            raise ValueError(f"segments: names must be unique; repeated: {', '.join(repeated)}")
        for index, segment in enumerate(self.segments or []):
            if segment.builtin == "pre_period_activity" and self.activity_lookback == 0:
                raise ValueError(
                    f"segments[{index}]: pre_period_activity counts actions over the CUPED "
                    "lookback, and no metric has cuped_days; give a metric cuped_days or "
                    "remove this segment"
                )

    @property
    def activity_lookback(self) -> int:
        """Days before assignment that pre-period activity counts: the longest ``cuped_days``
        (0 when no metric has one)."""
        return max([m.cuped_days or 0 for m in self.metrics], default=0)

    def segment_dimensions(self) -> list[Segment]:
        """The declared segments, or the defaults (:data:`DEFAULT_SEGMENTS`) that apply."""
        if self.segments is not None:
            return list(self.segments)
        return [
            s
            for s in DEFAULT_SEGMENTS
            if s.builtin != "pre_period_activity" or self.activity_lookback > 0
        ]

    def _check_dates(self) -> None:
        """The windows around ``assigned_at`` must stay within years 1-9999 (Python's dates)."""
        lookback = max([m.cuped_days or 0 for m in self.metrics]
                       + [self.eligibility.exclude_feedback_days])
        if datetime.max - self.assigned_at < timedelta(days=self.window_days):
            raise ValueError(
                f"assigned_at + window_days is after the year 9999 ({self.assigned_at:%Y-%m-%d} "
                f"+ {self.window_days} days); check both"
            )
        if self.assigned_at - datetime.min < timedelta(days=lookback):
            raise ValueError(
                f"assigned_at minus {lookback} days (cuped_days or exclude_feedback_days) is "
                "before the year 1; check assigned_at"
            )

    def _check_global_holdout_arms(self) -> None:
        holdout_arm, other_arm = GLOBAL_HOLDOUT_ARMS
        declared = {arm.name: arm for arm in self.arms}
        if sorted(declared) != sorted(GLOBAL_HOLDOUT_ARMS) or not declared[holdout_arm].holdout:
            raise ValueError(
                'arms: an experiment with assignment = "global_holdout" has exactly two arms, '
                f"{holdout_arm!r} (holdout = true) and {other_arm!r}, weighted like the "
                "workspace's global holdout (e.g. weights 5 and 95 for a 5 % holdout); "
                f"found {', '.join(repr(n) for n in declared)}"
            )
        if self.audience_sql is not None or self.layer is not None:
            raise ValueError(
                'assignment = "global_holdout" compares every contact of the workspace: '
                "remove audience_sql and [layer]"
            )

    @property
    def effective_salt(self) -> str:
        """The salt used for bucketing (``salt``, defaulting to ``id``)."""
        return self.salt if self.salt is not None else self.id

    @property
    def control_arm(self) -> str:
        """The holdout arm, or the first declared arm when none is marked holdout."""
        for arm in self.arms:
            if arm.holdout:
                return arm.name
        return self.arms[0].name

    def ranges(self) -> list[ArmRange]:
        """Bucket ranges of the arms (holdout first)."""
        return arm_ranges([(arm.name, arm.weight, arm.holdout) for arm in self.arms])


def _not_a_query() -> tuple[type[Any], ...]:
    """The statement kinds an audience or segment query may not contain anywhere."""
    from sqlglot import exp

    return (
        exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter,
        exp.Copy, exp.Command, exp.Pragma, exp.Set, exp.Use, exp.Attach, exp.Detach,
        exp.Transaction,
    )


def check_audience_sql(text: str) -> None:
    """Check that ``text`` is exactly one SELECT (DuckDB dialect) returning ``contact_id``
    that reads workspace tables only (:mod:`threadlift.assign.audience`, the sandbox).

    A query with ``*`` as its output is accepted here; the adapter checks its columns
    when it runs.

    Raises:
        ValueError: saying what is wrong and what is allowed.
    """
    # sqlglot is imported here, not with the module: only experiments with an audience
    # or segment query need it, and a scheduled core report should not pay for it.
    import sqlglot
    from sqlglot import exp

    allowed = "must be exactly one SELECT statement returning a contact_id column"
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        detail = exc.errors[0] if exc.errors else {}
        where = f" at line {detail.get('line')}, column {detail.get('col')}" if detail else ""
        raise ValueError(f"{allowed}; it does not parse{where}") from exc
    except sqlglot.errors.SqlglotError as exc:
        raise ValueError(f"{allowed}; it does not parse: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1:
        raise ValueError(f"{allowed}; found {len(statements)} statements")
    query = statements[0]
    if not isinstance(query, exp.Query):
        raise ValueError(f"{allowed}; found a {query.key.upper()} statement")
    forbidden = next(iter(query.find_all(*_not_a_query())), None)
    if forbidden is not None:
        raise ValueError(f"{allowed}; it contains a {forbidden.key.upper()}")
    names = [name.lower() for name in query.named_selects]
    if "*" not in names and "contact_id" not in names:
        raise ValueError(
            f"{allowed}; it returns {', '.join(names) or 'no column'} "
            "(alias the id column: `SELECT id AS contact_id ...`)"
        )
    audience_tables(text)


def check_segment_sql(text: str) -> None:
    """Check that ``text`` is exactly one SELECT (DuckDB dialect) returning ``contact_id``
    and ``segment`` columns that reads workspace tables only (the audience sandbox).

    Raises:
        ValueError: saying what is wrong and what is allowed.
    """
    import sqlglot
    from sqlglot import exp

    allowed = "must be exactly one SELECT statement returning contact_id and segment columns"
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise ValueError(f"{allowed}; it does not parse: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ValueError(f"{allowed}; found {len(statements)} statements or not a SELECT")
    query = statements[0]
    forbidden = next(iter(query.find_all(*_not_a_query())), None)
    if forbidden is not None:
        raise ValueError(f"{allowed}; it contains a {forbidden.key.upper()}")
    names = [name.lower() for name in query.named_selects]
    if not {"contact_id", "segment"} <= set(names):
        raise ValueError(
            f"{allowed}; it returns {', '.join(names) or 'no column'} (alias them: "
            "`SELECT id AS contact_id, tier AS segment ...`)"
        )
    audience_tables(text, "a segment's sql")


def _check_toml_times(raw: dict[str, Any]) -> list[str]:
    """Problems with TOML date-times that pydantic would accept silently."""
    problems = []
    value = raw.get("assigned_at")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return []  # pydantic reports the malformed text with the field name
    if isinstance(value, datetime) and value.tzinfo is None:
        problems.append(
            f"assigned_at: give a UTC offset, e.g. {value.isoformat()}Z "
            f"(got a local date-time {value.isoformat()}, which has no time zone)"
        )
    elif isinstance(value, date | time | int | float) and not isinstance(value, datetime):
        problems.append(
            "assigned_at: must be a date-time with a UTC offset, e.g. 2026-11-02T09:00:00Z "
            f"(got {value.isoformat() if isinstance(value, date | time) else value!r})"
        )
    return problems


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (``list[Arm]``, ``Arm | None``, ``Arm``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for inner in get_args(annotation):
        found = _model_in(inner)
        if found is not None:
            return found
    return None


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The field names allowed where a validation error points (its ``loc`` less the name)."""
    model: type[BaseModel] = Experiment
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        inner = _model_in(field.annotation) if field is not None else None
        if inner is None:
            return []
        model = inner
    return sorted(model.model_fields)


def parse_experiment(text: str, source: str = "<experiment>") -> Experiment:
    """Parse and validate an experiment from TOML text.

    Raises:
        ConfigError: naming ``source``, the field and what is allowed.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise ConfigError(
            f"{source}: arrays or tables are nested too deeply to read; an experiment file "
            "needs at most a few levels (see docs/experiments.md)"
        ) from None
    time_problems = _check_toml_times(raw)
    if time_problems:
        raise ConfigError(f"{source}: " + "; ".join(time_problems))
    try:
        return Experiment.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = _location(tuple(error["loc"]))
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                allowed = ", ".join(_fields_at(tuple(error["loc"])))
                message = f"unknown field (check the spelling; the fields here are: {allowed})"
            elif error["type"] == "missing":
                message = "required field is missing"
            got = error.get("input")
            suffix = f" (got {got!r})" if error["type"] not in ("missing", "model_type") and not isinstance(got, dict | list) else ""
            problems.append(f"{where}: {message}{suffix}" if where else f"{message}{suffix}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from exc


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read experiment file {file}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{file}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "save the experiment file as UTF-8"
        ) from None
    experiment = parse_experiment(text, source=str(file))
    return experiment.model_copy(update={"source_path": file})
