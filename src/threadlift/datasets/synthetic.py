"""A seeded synthetic WhatsApp holdout experiment with a known true effect.

One generator feeds the demo, the notebooks, the tests and the benchmarks.
:func:`generate_whatsapp_experiment` returns every canonical table as a
pandas DataFrame (columns in the order of ``sql/workspace/001_canonical_tables.sql``),
the experiment file, the arms ``threadlift assign`` must reproduce and the true
effects; :func:`write_tables` writes them as Parquet, CSV or JSON lines for
``threadlift load``.

The data are messy the way platform logs are: status webhooks arrive twice and out of
order, some ``read`` events come without a ``delivered`` event, sends fail with the
real Cloud API error codes (131026 undeliverable, 131049 per-user marketing limit,
130472 Meta's own experiment, 131050 user stopped marketing; every US marketing
template fails with 131049), orders happen long before and after the window, consent
is granted, revoked, re-granted, granted too late or for another sender, the sender's
quality rating and messaging-limit tier move during the window and the rate card
changes price inside it.

Effect model (everything independent across contacts, all draws from one
``numpy.random.Generator(seed)``):

- Market ``m`` is drawn with probability ``share[m]``; eligibility states are drawn
  independently of market and behaviour, so eligible contacts have the same market
  mix and the same behaviour as everyone else.
- Each contact has an order rate ``λ ~ Gamma(k, θ[m])`` per day (``k = 0.4``,
  ``k·θ[m]·7`` the market's weekly order rate) and a basket scale; order counts over
  any period of ``t`` days are ``Poisson(λ·t)`` (so the 28-day pre-period predicts the
  window: CUPED helps), order values are log-normal with mean ``order_value[m]``,
  independent of the count.
- Only eligible contacts of the treatment arm are sent a template. It is delivered
  with probability ``d[m] = (1-0.03)(1-0.01)(1-0.01)(1-cap[m])`` (131026, 130472,
  131050, then 131049 with ``cap[US] = 1``).
- A delivered contact's order rate over the window is multiplied by ``M[m]``, chosen
  so that ``P(≥ 1 order in the window)`` rises by the factor ``1 + conversion_lift``
  for delivered contacts: with ``r[m]`` the expected orders in the window,
  ``c0[m] = 1 - (1 + r[m]/k)^-k`` and
  ``M[m] = ((1 - c0[m](1 + conversion_lift))^(-1/k) - 1)·k / r[m]`` (``market_lift`` may set
  the lift per market: a world whose effect differs by market). The extra orders
  fall after delivery and inside the window; values are unchanged. Holdout and
  undelivered contacts have no effect.
- Feedback (``block``, ``report``, ``opt_out``): every contact has at most one event
  of each kind in the window with probability ``p0 = 1 - exp(-rate·window_days)``; a
  delivered contact instead with ``p0 + (1 - p0)·q`` (``q`` = ``block_rate_delivered``…).

Eligibility (what ``expected_arms`` says, and what ``threadlift assign`` must find):
the latest consent event at or before ``assigned_at`` for channel ``whatsapp`` and
:data:`SENDER_ID` is a grant of scope ``marketing`` or ``all``; no feedback in the 90
days before ``assigned_at``; no marketing stop before it (a revoke, or a send that
failed with 131050). Each ineligible contact fails exactly one of these, named in
``ineligible_reason``; boundaries are never hit exactly. A contact's grants and
revokes share one scope, so reading "latest event" per scope gives the same answer.

Around the experiment: 40% of opted-in contacts got a newsletter 21 days before
(no ``experiment_id``), which is where the 131050 stops show; delivered, unread,
non-blocking treated contacts get a reminder template three days in (part of the
treatment: the effect is defined per delivered first template).

The intent-to-treat truths among eligible contacts are then, with
``D = Σ share·d``:

- conversion: ``Σ share·c0`` (holdout), plus ``Σ share·d·c0·conversion_lift``;
- revenue per unit: ``Σ share·r·order_value`` (holdout), times ``1 + d·(M - 1)``
  inside the sum for treatment;
- feedback rate of a kind: ``p0`` (holdout) and ``p0 + (1 - p0)·q·D`` (treatment).

Examples:
    >>> data = generate_whatsapp_experiment(n_contacts=2_000, seed=1)
    >>> sorted(data.tables)[:3]
    ['actions', 'consents', 'contacts']
    >>> round(data.truth["conversion_abs_effect"], 4)
    0.0233
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from threadlift.core.bucketing import BUCKETS, arm_for_bucket, arm_ranges, bucket

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
TextArray = npt.NDArray[np.str_]
Columns = dict[str, Any]
"""A table before conversion: column name to numpy array (or a scalar to repeat)."""

DEFAULT_EXPERIMENT_ID = "wa-reactivation-2026-09"
DEFAULT_ASSIGNED_AT = datetime(2026, 9, 28, 9, 0, 0)
"""Naive UTC; three days before the 2026-10-01 rate-card change."""
SENDER_ID = "106540352242922"
"""The business phone number id the experiment sends from."""
OTHER_SENDER_ID = "113277024658934"
"""Another phone number of the same business: consent to it does not cover ours."""
HOLDOUT_ARM = "holdout"
TREATMENT_ARM = "whatsapp"
CHANNEL = "whatsapp"
CAMPAIGN_ID = "reactivation-2026-09"
TEMPLATES = ("reactivation_offer_a", "reactivation_offer_b")
REMINDER_TEMPLATE = "reactivation_reminder"
PRIOR_CAMPAIGN_ID = "newsletter-2026-09"
PRIOR_TEMPLATE = "newsletter_september"
WABA_ID = "102290129340398"
"""The WhatsApp Business Account whose template webhooks the generator writes."""
TEMPLATE_LANGUAGE = "en"
TEMPLATE_IDS = {
    PRIOR_TEMPLATE: "1447283915764820",
    TEMPLATES[0]: "1447283915764821",
    TEMPLATES[1]: "1447283915764822",
    REMINDER_TEMPLATE: "1447283915764823",
}
"""Platform ids of the generated templates (webhooks carry both name and id)."""

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("contact_id", "market", "created_at"),
    "identities": ("contact_id", "channel", "address", "sender_id"),
    "consents": ("contact_id", "channel", "sender_id", "scope", "status", "ts", "source"),
    "messages": (
        "message_id",
        "contact_id",
        "channel",
        "sender_id",
        "experiment_id",
        "arm",
        "campaign_id",
        "template",
        "category",
        "sent_at",
    ),
    "message_events": ("message_id", "status", "ts", "error_code", "pricing_category", "billable"),
    "inbound": (
        "message_id",
        "contact_id",
        "channel",
        "sender_id",
        "ts",
        "type",
        "context_message_id",
    ),
    "actions": ("action_id", "contact_id", "action", "ts", "value"),
    "feedback": ("contact_id", "channel", "sender_id", "kind", "ts", "reason"),
    "sender_quality": ("sender_id", "ts", "quality_rating", "messaging_limit_tier", "event"),
    "rate_card": ("channel", "market", "category", "price", "currency", "valid_from"),
}
"""The generated tables and their columns, in the order of the canonical schema."""

INELIGIBLE_REASONS = (
    "no_consent",
    "consent_revoked",
    "consent_after_assignment",
    "other_sender",
    "marketing_stopped",
    "recent_feedback",
)
"""Why a contact is not assigned, as ``expected_arms.ineligible_reason`` names it."""

EXCLUDE_FEEDBACK_DAYS = 90
FEEDBACK_KINDS = ("block", "report", "opt_out")

_DAY = 86_400.0
_HOUR = 3_600.0
_ORDER_RATE_SHAPE = 0.4
_BASKET_SIGMA = 0.7
_ORDER_VALUE_SIGMA = 0.4
_UNDELIVERABLE_RATE = 0.03
_META_EXPERIMENT_RATE = 0.01
_SILENT_STOP_RATE = 0.01
_FEEDBACK_DAILY_RATE = {"block": 0.00007, "report": 0.00003, "opt_out": 0.00015}
_GUARDRAIL_MARGINS = {"block": 0.005, "report": 0.003, "opt_out": 0.01}
_FEEDBACK_REASONS: dict[str, tuple[str | None, ...]] = {
    "block": ("no_longer_needed", "didnt_sign_up", "spam", "offensive", None),
    "report": ("spam", "offensive", "scam"),
    "opt_out": ("stop_keyword", "preference_center", "stop_button"),
}
_GRANT_SOURCES = ("checkout_optin", "web_form", "whatsapp_keyword", "click_to_whatsapp_ad")
_REVOKE_SOURCES = ("stop_keyword", "preference_center", "support_request")


@dataclass(frozen=True)
class Market:
    """A market: its share of contacts, behaviour, phone numbering and marketing cap."""

    code: str
    share: float
    weekly_order_rate: float
    """Expected orders per contact per 7 days without messaging."""
    order_value: float
    """Mean order value in USD."""
    calling_code: str
    mobile_prefixes: str
    """Space-separated national prefixes after which any ``subscriber_digits`` digits
    make a valid mobile number."""
    subscriber_digits: int
    marketing_cap_rate: float
    """Probability that a marketing template fails with 131049 (1 for the US since 2025-04)."""
    prices: tuple[float, float, float]
    """USD per delivered marketing, utility, authentication template (illustrative)."""


MARKETS: tuple[Market, ...] = (
    Market(
        code="BR",
        share=0.30,
        weekly_order_rate=0.13,
        order_value=38.0,
        calling_code="55",
        mobile_prefixes="119 219 319 419 519 619 719 819 859",
        subscriber_digits=8,
        marketing_cap_rate=0.05,
        prices=(0.0625, 0.0068, 0.0068),
    ),
    Market(
        code="IN",
        share=0.22,
        weekly_order_rate=0.10,
        order_value=16.0,
        calling_code="91",
        mobile_prefixes="98 99 97 96 94 93 90 70 81 88 89 63",
        subscriber_digits=8,
        marketing_cap_rate=0.08,
        prices=(0.0118, 0.0014, 0.0014),
    ),
    Market(
        code="MX",
        share=0.14,
        weekly_order_rate=0.12,
        order_value=34.0,
        calling_code="52",
        mobile_prefixes="55 33 81 22 44 99 56",
        subscriber_digits=8,
        marketing_cap_rate=0.05,
        prices=(0.0305, 0.0085, 0.0085),
    ),
    Market(
        code="ID",
        share=0.12,
        weekly_order_rate=0.09,
        order_value=14.0,
        calling_code="62",
        mobile_prefixes="811 812 813 821 822 852 853 857 858 877 878 895",
        subscriber_digits=8,
        marketing_cap_rate=0.07,
        prices=(0.0411, 0.0250, 0.0250),
    ),
    Market(
        code="ES",
        share=0.08,
        weekly_order_rate=0.11,
        order_value=52.0,
        calling_code="34",
        mobile_prefixes="60 61 62 63 64 65 66 67 68 69 71 72 73 74",
        subscriber_digits=7,
        marketing_cap_rate=0.03,
        prices=(0.0615, 0.0200, 0.0200),
    ),
    Market(
        code="DE",
        share=0.06,
        weekly_order_rate=0.10,
        order_value=61.0,
        calling_code="49",
        mobile_prefixes="151 152 157 159 160 162 163 170 171 172 175 176",
        subscriber_digits=8,
        marketing_cap_rate=0.03,
        prices=(0.1365, 0.0550, 0.0550),
    ),
    Market(
        code="US",
        share=0.08,
        weekly_order_rate=0.12,
        order_value=74.0,
        calling_code="1",
        mobile_prefixes="2127 4158 6463 3124 3056 2136 6179 2068 5124 7023",
        subscriber_digits=6,
        marketing_cap_rate=1.0,
        prices=(0.0250, 0.0040, 0.0135),
    ),
)
"""Markets of the synthetic audience; shares sum to 1."""

_MARKETING_PRICE_CHANGE = {"BR": 0.0659, "IN": 0.0107}
"""Marketing prices that change at the in-window rate-card update (service becomes
charged at the utility price at the same time, as announced for 2026-10-01)."""


class _State:
    """Consent/eligibility states, drawn once per contact, mutually exclusive."""

    GRANTED = 0
    REGRANTED = 1
    NO_CONSENT = 2
    REVOKED = 3
    GRANTED_LATE = 4
    OTHER_SENDER = 5
    MARKETING_STOPPED = 6
    RECENT_FEEDBACK = 7

    PROBABILITIES = (0.73, 0.04, 0.08, 0.05, 0.03, 0.03, 0.02, 0.02)
    ELIGIBLE = (GRANTED, REGRANTED)
    REASONS: tuple[str | None, ...] = (
        None,
        None,
        "no_consent",
        "consent_revoked",
        "consent_after_assignment",
        "other_sender",
        "marketing_stopped",
        "recent_feedback",
    )


@dataclass(frozen=True)
class DemoData:
    """A generated experiment: canonical tables, experiment file, expected arms, truth.

    Attributes:
        tables: Canonical tables by name (``contacts``, ``identities``, ``consents``,
            ``messages``, ``message_events``, ``inbound``, ``actions``, ``feedback``,
            ``sender_quality``, ``rate_card``), columns as in the schema.
        experiment_toml: The experiment file (TOML, docs/experiments.md) of this experiment.
        experiment_id: The experiment's id (and bucketing salt).
        assigned_at: Assignment time, naive UTC.
        expected_arms: One row per contact: ``contact_id``, ``arm``, ``bucket`` (as
            :func:`threadlift.core.bucketing.bucket` gives them, for every contact),
            ``eligible`` and ``ineligible_reason`` (``None`` when eligible; one of
            :data:`INELIGIBLE_REASONS` otherwise). ``threadlift assign`` writes exactly
            the eligible rows.
        truth: Superpopulation intent-to-treat quantities among eligible contacts, in
            closed form from the generator's parameters (see the module docstring).
        template_webhooks: WhatsApp webhook bodies (``message_template_status_update``,
            ``message_template_quality_update``) of the templates' lifecycle, for
            ``threadlift ingest --platform whatsapp`` (template events have no canonical
            table to load); see :func:`write_template_webhooks`.
    """

    tables: dict[str, pd.DataFrame]
    experiment_toml: str
    experiment_id: str
    assigned_at: datetime
    expected_arms: pd.DataFrame
    truth: dict[str, float]
    template_webhooks: tuple[dict[str, Any], ...] = ()


def generate_whatsapp_experiment(
    n_contacts: int = 20_000,
    seed: int = 0,
    *,
    holdout_weight: float = 10,
    treatment_weight: float = 90,
    conversion_lift: float = 0.30,
    market_lift: Mapping[str, float] | None = None,
    block_rate_delivered: float = 0.0015,
    report_rate_delivered: float = 0.0006,
    opt_out_rate_delivered: float = 0.006,
    window_days: int = 7,
    experiment_id: str = DEFAULT_EXPERIMENT_ID,
    assigned_at: datetime = DEFAULT_ASSIGNED_AT,
) -> DemoData:
    """Generate a WhatsApp marketing holdout experiment with a known true effect.

    Args:
        n_contacts: Number of contacts (about 77% are eligible).
        seed: Seed of the ``numpy.random.Generator`` behind every draw; the same seed
            gives identical tables.
        holdout_weight: Weight of the ``holdout`` arm.
        treatment_weight: Weight of the ``whatsapp`` arm.
        conversion_lift: Relative rise of ``P(≥ 1 order in the window)`` for a contact
            whose template was delivered (0 for an A/A test).
        market_lift: The same lift for the markets it names (codes of :data:`MARKETS`),
            overriding ``conversion_lift`` there: a world whose effect differs by market
            (lift by segment). ``truth`` then holds each market's effects
            (``conversion_abs_effect_<code>`` …).
        block_rate_delivered: Probability that a delivered template makes the contact
            block the sender in the window (on top of the baseline rate).
        report_rate_delivered: Same for reporting the sender.
        opt_out_rate_delivered: Same for opting out of marketing.
        window_days: Attribution window in days (the rate-card change and the
            reminder fall inside it from 4 days on).
        experiment_id: Experiment id, also the bucketing salt.
        assigned_at: Assignment time, naive UTC (an aware datetime is converted).

    Returns:
        The tables, the experiment file, the expected arms and the truth.

    Raises:
        ValueError: a size, weight, window or rate out of range.
    """
    if assigned_at.tzinfo is not None:
        assigned_at = assigned_at.astimezone(UTC).replace(tzinfo=None)
    induced = {
        "block": block_rate_delivered,
        "report": report_rate_delivered,
        "opt_out": opt_out_rate_delivered,
    }
    lifts = _market_lifts(conversion_lift, market_lift)
    for lift in sorted(set(lifts.tolist())):
        _validate(n_contacts, holdout_weight, treatment_weight, lift, window_days, induced)
    rng = np.random.default_rng(seed)
    window = window_days * _DAY
    multipliers = _rate_multipliers(lifts, window_days)

    contact_ids, market, created = _draw_contacts(rng, n_contacts)
    contacts = _Pool(contact_ids)
    state = rng.choice(len(_State.PROBABILITIES), size=n_contacts, p=_State.PROBABILITIES)
    consents, last_grant = _consents(rng, contacts, state, created)
    expected = _expected_arms(contact_ids, state, experiment_id, holdout_weight, treatment_weight)
    treated = expected["eligible"].to_numpy(dtype=bool) & (
        expected["arm"].to_numpy(dtype=object) == TREATMENT_ARM
    )

    order_rate = rng.gamma(
        _ORDER_RATE_SHAPE,
        np.array([m.weekly_order_rate for m in MARKETS])[market] / (7 * _ORDER_RATE_SHAPE),
    )
    # Frequent buyers read more: comparing readers with the holdout would overstate the
    # lift, which is why reports estimate effects on readers by instrumental variables.
    contact = _ContactTraits(
        read_propensity=0.45 + 0.40 * (1.0 - np.exp(-60.0 * order_rate)),
        undeliverable=rng.random(n_contacts) < _UNDELIVERABLE_RATE,
        in_meta_experiment=rng.random(n_contacts) < _META_EXPERIMENT_RATE,
        cap_rate=np.array([m.marketing_cap_rate for m in MARKETS])[market],
    )
    wamids = _WamidFactory(rng)

    prior_who = _prior_audience(rng, state, last_grant)
    prior = _send(
        rng,
        wamids,
        contact.subset(prior_who),
        sent_at=-21 * _DAY + rng.uniform(0, 3 * _HOUR, prior_who.size),
        forced_failure=np.where(state[prior_who] == _State.MARKETING_STOPPED, 131050, 0),
    )
    first_who = np.flatnonzero(treated)
    first = _send(
        rng,
        wamids,
        contact.subset(first_who),
        sent_at=rng.uniform(5 * 60, 4 * _HOUR, first_who.size),
        silent_stop=rng.random(first_who.size) < _SILENT_STOP_RATE,
    )
    delivered_at = np.full(n_contacts, np.nan)
    delivered_at[first_who] = first.delivered_at

    feedback, suppress_until = _feedback(
        rng, contacts, state, created, delivered_at, induced, window
    )
    reminder_at = 3 * _DAY + rng.uniform(0, 3 * _HOUR, first_who.size)
    wants_reminder = (
        first.delivered
        & ~(first.read_at < reminder_at)
        & ~(suppress_until[first_who] < reminder_at)
    )
    reminder_who = first_who[wants_reminder]
    reminder = _send(
        rng,
        wamids,
        contact.subset(reminder_who).for_reminder(),
        sent_at=reminder_at[wants_reminder],
    )
    templates = _Pool((PRIOR_TEMPLATE, REMINDER_TEMPLATE, *TEMPLATES))
    batches = [
        _Batch(
            prior,
            prior_who,
            None,
            None,
            PRIOR_CAMPAIGN_ID,
            templates.ref(np.zeros(prior_who.size, dtype=np.int64)),
        ),
        _Batch(
            first,
            first_who,
            experiment_id,
            TREATMENT_ARM,
            CAMPAIGN_ID,
            templates.ref(rng.integers(2, 2 + len(TEMPLATES), first_who.size)),
        ),
        _Batch(
            reminder,
            reminder_who,
            experiment_id,
            TREATMENT_ARM,
            CAMPAIGN_ID,
            templates.ref(np.ones(reminder_who.size, dtype=np.int64)),
        ),
    ]

    opt_outs = (feedback["kind"] == "opt_out") & (feedback["ts"] > 0)
    consents = _concat(
        consents,
        {
            "contact_id": feedback["contact_id"][opt_outs],
            "channel": CHANNEL,
            "sender_id": SENDER_ID,
            "scope": "marketing",
            "status": "revoked",
            "ts": feedback["ts"][opt_outs] + 1.0,
            "source": "opt_out_keyword",
        },
    )
    consents = _take(consents, np.argsort(consents["ts"], kind="stable"))
    unconverted = {
        "contacts": {
            "contact_id": contacts.ref(np.arange(n_contacts)),
            "market": _Pool([m.code for m in MARKETS]).ref(market),
            "created_at": created,
        },
        "identities": _identities(rng, contacts, market, state),
        "consents": consents,
        "messages": _messages(batches, contacts),
        "message_events": _message_events(rng, batches),
        "inbound": _inbound(rng, wamids, contacts, batches, window),
        "actions": _actions(rng, contacts, market, order_rate, delivered_at, multipliers, window),
        "feedback": feedback,
        "sender_quality": _sender_quality(window_days),
        "rate_card": _rate_card(assigned_at),
    }
    tables = {name: _frame(name, columns, assigned_at) for name, columns in unconverted.items()}
    return DemoData(
        tables=tables,
        experiment_toml=_experiment_toml(
            experiment_id, assigned_at, window_days, holdout_weight, treatment_weight
        ),
        experiment_id=experiment_id,
        assigned_at=assigned_at,
        expected_arms=expected,
        truth=_truth(lifts, window_days, multipliers, induced),
        template_webhooks=_template_webhooks(assigned_at),
    )


def write_template_webhooks(data: DemoData, path: str | Path) -> Path:
    """Write the generated template webhooks as JSON lines (one body per line) to ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "".join(json.dumps(body, sort_keys=True) + "\n" for body in data.template_webhooks),
        encoding="utf-8",
    )
    return target


def write_tables(
    data: DemoData,
    directory: str | Path,
    fmt: Literal["parquet", "csv", "jsonl"] = "parquet",
) -> dict[str, Path]:
    """Write each table to ``DIRECTORY/<table>.<fmt>`` and the experiment to ``experiment.toml``.

    Timestamps are written as naive UTC (``threadlift load`` reads naive times as UTC),
    nulls as empty CSV fields or JSON ``null``.

    Args:
        data: What :func:`generate_whatsapp_experiment` returned.
        directory: Created if missing; existing files of the same names are replaced.
        fmt: ``parquet``, ``csv`` or ``jsonl``.

    Returns:
        The written paths by table name, plus ``"experiment"`` for the TOML file.

    Raises:
        ValueError: an unknown ``fmt``.
    """
    if fmt not in ("parquet", "csv", "jsonl"):
        raise ValueError(f"fmt must be 'parquet', 'csv' or 'jsonl' (got {fmt!r})")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in data.tables.items():
        path = out / f"{name}.{fmt}"
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        elif fmt == "csv":
            frame.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
        else:
            frame.to_json(path, orient="records", lines=True, date_format="iso", date_unit="s")
        paths[name] = path
    experiment = out / "experiment.toml"
    experiment.write_text(data.experiment_toml, encoding="utf-8")
    paths["experiment"] = experiment
    return paths


def _validate(
    n_contacts: int,
    holdout_weight: float,
    treatment_weight: float,
    conversion_lift: float,
    window_days: int,
    induced: Mapping[str, float],
) -> None:
    for kind, rate in induced.items():
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{kind}_rate_delivered must be in [0, 1] (got {rate})")
    if not 1 <= n_contacts <= 10_000_000:
        raise ValueError(f"n_contacts must be between 1 and 10,000,000 (got {n_contacts})")
    if holdout_weight <= 0 or treatment_weight <= 0:
        raise ValueError(
            f"arm weights must be positive (got holdout {holdout_weight}, "
            f"treatment {treatment_weight})"
        )
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1 (got {window_days})")
    highest = max(_baseline_conversion(m, window_days) for m in MARKETS)
    if conversion_lift < 0 or highest * (1 + conversion_lift) >= 1:
        raise ValueError(
            f"conversion_lift must be >= 0 and keep every conversion below 1 "
            f"(at most {1 / highest - 1:.2f} for a {window_days}-day window; got {conversion_lift})"
        )


def _window_orders(market: Market, window_days: int) -> float:
    """Expected orders of a contact of ``market`` in the window without messaging."""
    return market.weekly_order_rate * window_days / 7


def _baseline_conversion(market: Market, window_days: int) -> float:
    """``P(≥ 1 order in the window)`` without messaging: one minus the Gamma-Poisson zero."""
    expected = _window_orders(market, window_days)
    return float(1 - (1 + expected / _ORDER_RATE_SHAPE) ** -_ORDER_RATE_SHAPE)


def _market_lifts(conversion_lift: float, market_lift: Mapping[str, float] | None) -> FloatArray:
    """Per market (in :data:`MARKETS` order), the relative conversion lift of the delivered."""
    codes = [m.code for m in MARKETS]
    unknown = sorted(set(market_lift or {}) - set(codes))
    if unknown:
        raise ValueError(
            f"market_lift names unknown market(s) {', '.join(unknown)}; the markets are "
            f"{', '.join(codes)}"
        )
    return np.array([(market_lift or {}).get(code, conversion_lift) for code in codes])


def _rate_multipliers(lifts: FloatArray, window_days: int) -> FloatArray:
    """Per market, the order-rate factor that lifts conversion by ``1 + lifts[market]``."""
    k = _ORDER_RATE_SHAPE
    factors = []
    for market, lift in zip(MARKETS, lifts, strict=True):
        lifted = _baseline_conversion(market, window_days) * (1 + lift)
        factors.append(((1 - lifted) ** (-1 / k) - 1) * k / _window_orders(market, window_days))
    return np.array(factors)


def _delivery_rates() -> FloatArray:
    """Per market, the probability that the first template is delivered."""
    passes = (1 - _UNDELIVERABLE_RATE) * (1 - _META_EXPERIMENT_RATE) * (1 - _SILENT_STOP_RATE)
    return np.array([passes * (1 - m.marketing_cap_rate) for m in MARKETS])


def _truth(
    lifts: FloatArray,
    window_days: int,
    multipliers: FloatArray,
    induced: dict[str, float],
) -> dict[str, float]:
    """Closed-form intent-to-treat quantities among eligible contacts."""
    share = np.array([m.share for m in MARKETS])
    delivery = _delivery_rates()
    expected_orders = np.array([_window_orders(m, window_days) for m in MARKETS])
    value = np.array([m.order_value for m in MARKETS])
    conversion = np.array([_baseline_conversion(m, window_days) for m in MARKETS])
    treated_orders = expected_orders * (1 + delivery * (multipliers - 1))

    truth: dict[str, float] = {"window_days": float(window_days)}
    truth["delivery_rate"] = float(share @ delivery)
    truth["conversion_holdout"] = float(share @ conversion)
    market_effect = delivery * conversion * lifts
    truth["conversion_abs_effect"] = float(share @ market_effect)
    truth["conversion_treatment"] = truth["conversion_holdout"] + truth["conversion_abs_effect"]
    truth["conversion_rel_effect"] = truth["conversion_abs_effect"] / truth["conversion_holdout"]
    truth["conversion_effect_on_delivered"] = (
        truth["conversion_abs_effect"] / truth["delivery_rate"]
    )
    truth["orders_holdout"] = float(share @ expected_orders)
    truth["orders_treatment"] = float(share @ treated_orders)
    truth["revenue_holdout"] = float(share @ (expected_orders * value))
    truth["revenue_treatment"] = float(share @ (treated_orders * value))
    truth["revenue_abs_effect"] = truth["revenue_treatment"] - truth["revenue_holdout"]
    truth["revenue_rel_effect"] = truth["revenue_abs_effect"] / truth["revenue_holdout"]
    truth["revenue_effect_on_delivered"] = truth["revenue_abs_effect"] / truth["delivery_rate"]
    truth["revenue_per_order_holdout"] = truth["revenue_holdout"] / truth["orders_holdout"]
    truth["revenue_per_order_treatment"] = truth["revenue_treatment"] / truth["orders_treatment"]
    truth["revenue_per_order_abs_effect"] = (
        truth["revenue_per_order_treatment"] - truth["revenue_per_order_holdout"]
    )
    for market, effect, base in zip(MARKETS, market_effect, conversion, strict=True):
        truth[f"conversion_holdout_{market.code}"] = float(base)
        truth[f"conversion_abs_effect_{market.code}"] = float(effect)
    for kind in FEEDBACK_KINDS:
        baseline = 1 - math.exp(-_FEEDBACK_DAILY_RATE[kind] * window_days)
        increase = (1 - baseline) * induced[kind] * truth["delivery_rate"]
        truth[f"{kind}_rate_holdout"] = baseline
        truth[f"{kind}_rate_treatment"] = baseline + increase
        truth[f"{kind}_rate_abs_effect"] = increase
    return truth


def _draw_contacts(
    rng: np.random.Generator, n_contacts: int
) -> tuple[TextArray, IntArray, FloatArray]:
    numbers = rng.choice(10**10, size=n_contacts, replace=False)
    contact_ids = np.char.add("cus_", _zero_padded(numbers, 10))
    market = rng.choice(len(MARKETS), size=n_contacts, p=[m.share for m in MARKETS])
    created = rng.uniform(-6 * 365 * _DAY, -120 * _DAY, n_contacts)
    return contact_ids, market.astype(np.int64), created


def _zero_padded(numbers: IntArray, width: int) -> TextArray:
    """Decimal text of non-negative integers, left-padded with zeros to ``width``."""
    if numbers.size == 0:
        return np.array([], dtype=np.str_)
    return np.char.zfill(numbers.astype(np.str_), width)


def _sorted_times(
    rng: np.random.Generator, low: FloatArray, high: FloatArray, count: int
) -> FloatArray:
    """``count`` increasing times per row in ``[low, high)``, at least an hour apart."""
    unit = np.sort(rng.random((low.size, count)), axis=1)
    spread = np.maximum(high - low - count * _HOUR, 0.0)
    return low[:, None] + unit * spread[:, None] + np.arange(count) * _HOUR


def _consents(
    rng: np.random.Generator, contacts: _Pool, state: IntArray, created: FloatArray
) -> tuple[Columns, FloatArray]:
    """Consent events (``ts`` in seconds from assignment) and each contact's last grant
    covering marketing for our sender before assignment (NaN when none).

    Every grant and revoke of a contact has the same scope, so "latest event decides"
    and "latest event of a scope covering marketing decides" agree.
    """
    n = state.size
    scopes = _Pool(("marketing", "all", "utility"))
    scope = scopes.ref(np.where(rng.random(n) < 0.6, 0, 1))
    earliest = created + _DAY
    latest = np.full(n, -_DAY)
    last_grant = np.full(n, np.nan)
    parts: list[Columns] = []

    def add(
        who: IntArray,
        status: str,
        ts: FloatArray,
        sender: str = SENDER_ID,
        utility_only: bool = False,
    ) -> None:
        parts.append(
            {
                "contact_id": contacts.ref(who),
                "sender_id": sender,
                "scope": scopes.ref(np.full(who.size, 2)) if utility_only else scope[who],
                "status": status,
                "granted": status == "granted",
                "ts": np.floor(ts),
            }
        )

    def once(who: IntArray, high: FloatArray | None = None) -> FloatArray:
        return _sorted_times(rng, earliest[who], latest[who] if high is None else high, 1)[:, 0]

    for single_grant in (_State.GRANTED, _State.RECENT_FEEDBACK):
        who = np.flatnonzero(state == single_grant)
        last_grant[who] = once(who)
        add(who, "granted", last_grant[who])
    who = np.flatnonzero((state == _State.GRANTED) & (rng.random(n) < 0.03))
    add(who, "granted", once(who), OTHER_SENDER_ID)

    who = np.flatnonzero(state == _State.REGRANTED)
    times = _sorted_times(rng, earliest[who], latest[who], 3)
    add(who, "granted", times[:, 0])
    add(who, "revoked", times[:, 1])
    add(who, "granted", times[:, 2])
    last_grant[who] = times[:, 2]

    who = np.flatnonzero((state == _State.NO_CONSENT) & (rng.random(n) < 0.25))
    add(who, "granted", once(who), utility_only=True)

    who = np.flatnonzero(state == _State.REVOKED)
    times = _sorted_times(rng, earliest[who], latest[who], 2)
    add(who, "granted", times[:, 0])
    add(who, "revoked", times[:, 1])

    who = np.flatnonzero(state == _State.GRANTED_LATE)
    add(who, "granted", rng.uniform(_HOUR, 10 * _DAY, who.size))

    who = np.flatnonzero(state == _State.OTHER_SENDER)
    add(who, "granted", once(who), OTHER_SENDER_ID)

    who = np.flatnonzero(state == _State.MARKETING_STOPPED)
    last_grant[who] = once(who, np.full(who.size, -22 * _DAY))
    add(who, "granted", last_grant[who])

    columns = _concat(*parts)
    granted = columns.pop("granted")
    columns["channel"] = CHANNEL
    sources = _Pool(_GRANT_SOURCES + _REVOKE_SOURCES)
    columns["source"] = sources.ref(
        np.where(
            granted,
            rng.integers(0, len(_GRANT_SOURCES), granted.size),
            rng.integers(len(_GRANT_SOURCES), len(sources.arrow()), granted.size),
        )
    )
    return columns, last_grant


def _expected_arms(
    contact_ids: TextArray,
    state: IntArray,
    salt: str,
    holdout_weight: float,
    treatment_weight: float,
) -> pd.DataFrame:
    """Arms exactly as ``threadlift assign`` computes them, and who is eligible."""
    buckets = np.fromiter(
        (bucket(salt, contact_id) for contact_id in contact_ids.tolist()),
        dtype=np.int64,
        count=contact_ids.size,
    )
    ranges = arm_ranges(
        [(HOLDOUT_ARM, holdout_weight, True), (TREATMENT_ARM, treatment_weight, False)]
    )
    arm_of_bucket = np.array([arm_for_bucket(ranges, b) for b in range(BUCKETS)])
    reason = np.array(_State.REASONS, dtype=object)[state]
    return pd.DataFrame(
        {
            "contact_id": _text(contact_ids),
            "arm": _text(arm_of_bucket[buckets]),
            "bucket": buckets,
            "eligible": np.isin(state, _State.ELIGIBLE),
            "ineligible_reason": pd.Series(reason, dtype=object),
        }
    )


def _prior_audience(rng: np.random.Generator, state: IntArray, last_grant: FloatArray) -> IntArray:
    """Who got last month's newsletter: a sample of opted-in contacts, and every contact
    whose send revealed a marketing stop (131050)."""
    opted_in = np.isin(state, [_State.GRANTED, _State.REGRANTED, _State.RECENT_FEEDBACK])
    before = np.nan_to_num(last_grant, nan=np.inf) < -21 * _DAY - _HOUR
    sampled = opted_in & before & (rng.random(state.size) < 0.4)
    return np.flatnonzero(sampled | (state == _State.MARKETING_STOPPED))


class _Pool:
    """Strings that text columns point into (see :class:`_Ref`); grows, never changes."""

    def __init__(self, values: Sequence[str] | TextArray = ()) -> None:
        self._chunks: list[TextArray] = []
        self._size = 0
        self._arrow: Any = None
        if len(values):
            self.extend(np.asarray(values, dtype=np.str_))

    def extend(self, values: TextArray) -> _Ref:
        """Add ``values``; return a column pointing at them."""
        positions = np.arange(self._size, self._size + values.size, dtype=np.int64)
        self._chunks.append(values)
        self._size += values.size
        self._arrow = None
        return _Ref(self, positions)

    def ref(self, positions: IntArray) -> _Ref:
        return _Ref(self, positions)

    def position(self, value: str | None) -> int:
        """Where ``value`` is (-1 for ``None``), adding it when missing."""
        if value is None:
            return -1
        offset = 0
        for chunk in self._chunks:
            found = np.flatnonzero(chunk == value)
            if found.size:
                return offset + int(found[0])
            offset += chunk.size
        return int(self.extend(np.array([value])).positions[0])

    def arrow(self) -> Any:
        if self._arrow is None:
            self._arrow = pa.concat_arrays(
                [pa.array(chunk, type=pa.large_string()) for chunk in self._chunks]
            )
        return self._arrow


@dataclass(frozen=True)
class _Ref:
    """A text column as positions in a pool (-1 for missing): reordering and joining
    move integers, and each column becomes an arrow string array once, by ``take``."""

    pool: _Pool
    positions: IntArray

    def __getitem__(self, key: IntArray | BoolArray) -> _Ref:
        return _Ref(self.pool, self.positions[key])

    @property
    def size(self) -> int:
        return int(self.positions.size)

    def where(self, keep: BoolArray) -> _Ref:
        """Missing where ``keep`` is false."""
        return _Ref(self.pool, np.where(keep, self.positions, -1))

    def arrow(self) -> Any:
        return self.pool.arrow().take(pa.array(self.positions, mask=self.positions < 0))


class _WamidFactory(_Pool):
    """Unique WhatsApp-style message ids: ``wamid.`` and base64 of a sequence number and
    random bytes."""

    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__()
        self._rng = rng

    def take(self, count: int) -> _Ref:
        raw = np.empty((count, 18), dtype=np.uint8)
        sequence = np.arange(self._size, self._size + count, dtype=">u8")
        raw[:, :5] = sequence.view(np.uint8).reshape(count, 8)[:, 3:]
        raw[:, 5:] = self._rng.integers(0, 256, (count, 13), dtype=np.uint8)
        encoded = np.frombuffer(base64.b64encode(raw.tobytes()), dtype="S24").astype(np.str_)
        return self.extend(np.char.add("wamid.HBgL", encoded))


@dataclass(frozen=True)
class _ContactTraits:
    """What decides how a contact's marketing templates fare."""

    read_propensity: FloatArray
    undeliverable: BoolArray
    """Not a WhatsApp user any more (131026 on every send)."""
    in_meta_experiment: BoolArray
    """In Meta's own marketing holdout (130472 on every send)."""
    cap_rate: FloatArray
    """Probability of hitting the per-user marketing limit (131049) per send."""

    def subset(self, who: IntArray) -> _ContactTraits:
        return _ContactTraits(
            self.read_propensity[who],
            self.undeliverable[who],
            self.in_meta_experiment[who],
            self.cap_rate[who],
        )

    def for_reminder(self) -> _ContactTraits:
        """Traits for a second template to contacts whose first one was delivered."""
        return _ContactTraits(
            0.6 * self.read_propensity,
            np.zeros_like(self.undeliverable),
            np.zeros_like(self.in_meta_experiment),
            np.minimum(self.cap_rate + 0.05, 1.0),
        )


@dataclass(frozen=True)
class _SendOutcome:
    """A batch of template sends and what the platform did with each (seconds from
    assignment)."""

    message_id: _Ref
    sent_at: FloatArray
    """When the send API accepted it (the send log's ``sent_at``)."""
    sent_event_at: FloatArray
    error_code: IntArray
    """0 when delivered."""
    delivered_at: FloatArray
    """NaN unless delivered."""
    read_at: FloatArray
    """NaN unless read."""
    delivered_event_missing: BoolArray
    """Read without a ``delivered`` webhook (delivered and read at once)."""

    @property
    def delivered(self) -> BoolArray:
        delivered: BoolArray = self.error_code == 0
        return delivered


def _send(
    rng: np.random.Generator,
    wamids: _WamidFactory,
    traits: _ContactTraits,
    *,
    sent_at: FloatArray,
    forced_failure: IntArray | None = None,
    silent_stop: BoolArray | None = None,
) -> _SendOutcome:
    """Send one template to each contact of ``traits``; failures take precedence in the
    order forced, 131026, 130472, 131050 (silent stop), 131049."""
    n = sent_at.size
    sent_at = np.floor(sent_at)
    code = np.where(rng.random(n) < traits.cap_rate, 131049, 0)
    if silent_stop is not None:
        code = np.where(silent_stop, 131050, code)
    code = np.where(traits.in_meta_experiment, 130472, code)
    code = np.where(traits.undeliverable, 131026, code)
    if forced_failure is not None:
        code = np.where(forced_failure != 0, forced_failure, code)
    delivered = code == 0
    sent_event_at = sent_at + rng.uniform(0, 2, n)
    delay = np.minimum(rng.lognormal(math.log(3.0), 0.8, n), 600.0)
    offline = rng.random(n) < 0.08
    delay += np.where(offline, np.minimum(rng.exponential(3 * _HOUR, n), 12 * _HOUR), 0.0)
    delivered_at = np.where(delivered, sent_event_at + delay, np.nan)
    read = delivered & (rng.random(n) < traits.read_propensity)
    read_delay = np.minimum(rng.lognormal(math.log(20 * 60.0), 1.6, n), 6 * _DAY)
    return _SendOutcome(
        message_id=wamids.take(n),
        sent_at=sent_at,
        sent_event_at=sent_event_at,
        error_code=code.astype(np.int64),
        delivered_at=delivered_at,
        read_at=np.where(read, delivered_at + read_delay, np.nan),
        delivered_event_missing=read & (rng.random(n) < 0.04),
    )


@dataclass(frozen=True)
class _Batch:
    """Sends of one template wave and the send-log fields they share."""

    sends: _SendOutcome
    recipients: IntArray
    experiment_id: str | None
    arm: str | None
    campaign_id: str
    templates: _Ref


def _truncated_exponential(rng: np.random.Generator, scale: float, upper: FloatArray) -> FloatArray:
    """Exponential delays with mean ``scale`` conditioned to fall below ``upper`` (> 0)."""
    unit = rng.random(upper.size)
    return -scale * np.log1p(unit * np.expm1(-upper / scale))


def _concat(*parts: Columns) -> Columns:
    """Row-wise concatenation of tables given as columns.

    Text scalars become a :class:`_Ref` into a pool of the distinct scalars; columns of
    :class:`_Ref` (one pool, ``None`` for missing) stay references; anything else is
    concatenated as numpy arrays, scalars repeated.
    """
    sizes = [_rows(part) for part in parts]
    names = list(dict.fromkeys(name for part in parts for name in part))
    joined: Columns = {}
    for name in names:
        values = [part[name] for part in parts]
        refs = [v for v in values if isinstance(v, _Ref)]
        if all(isinstance(v, str) or v is None for v in values):
            distinct = list(dict.fromkeys(v for v in values if v is not None))
            pool = _Pool(distinct)
            codes = [distinct.index(v) if v is not None else -1 for v in values]
            joined[name] = pool.ref(np.repeat(np.array(codes, dtype=np.int64), sizes))
        elif refs:
            pool = refs[0].pool
            if any(r.pool is not pool for r in refs):
                raise AssertionError(f"column {name}: cannot join references of several pools")
            joined[name] = pool.ref(
                np.concatenate(
                    [
                        v.positions if isinstance(v, _Ref) else np.full(size, pool.position(v))
                        for v, size in zip(values, sizes, strict=True)
                    ]
                )
            )
        else:
            joined[name] = np.concatenate(
                [
                    v if isinstance(v, np.ndarray) else np.full(size, v)
                    for v, size in zip(values, sizes, strict=True)
                ]
            )
    return joined


def _take(columns: Columns, rows: IntArray) -> Columns:
    """The table's ``rows``, in that order (scalars stay scalars)."""
    return {
        name: value[rows] if isinstance(value, np.ndarray | _Ref) else value
        for name, value in columns.items()
    }


def _rows(columns: Columns) -> int:
    sizes = {value.size for value in columns.values() if isinstance(value, np.ndarray | _Ref)} | {
        len(value)
        for value in columns.values()
        if isinstance(value, pd.api.extensions.ExtensionArray)
    }
    if len(sizes) != 1:
        raise AssertionError(f"columns of unequal or unknown length: {sorted(sizes)}")
    return sizes.pop()


def _text(values: npt.NDArray[Any]) -> Any:
    """A pandas ``str`` array (arrow-backed) from a numpy text or object array; ``None``
    becomes missing. Going through arrow is several times faster than letting pandas
    convert a large array."""
    return pd.array(pa.array(values, from_pandas=True), dtype="str")


_TIME_COLUMNS = {"created_at", "ts", "sent_at", "valid_from"}


def _frame(table: str, columns: Columns, assigned_at: datetime) -> pd.DataFrame:
    """The canonical DataFrame of ``table``: columns in schema order, text as ``str``,
    offsets in seconds from ``assigned_at`` as whole-second naive UTC timestamps."""
    n = _rows(columns)
    data: dict[str, Any] = {}
    for name in TABLE_COLUMNS[table]:
        value = columns[name]
        if isinstance(value, _Ref):
            value = pd.array(value.arrow(), dtype="str")
        elif isinstance(value, str) or value is None:
            value = pd.Series(value, index=pd.RangeIndex(n), dtype="str").array
        elif name in _TIME_COLUMNS and isinstance(value, np.ndarray) and value.dtype.kind == "f":
            seconds = np.floor(value).astype(np.int64).astype("timedelta64[s]")
            value = (np.datetime64(assigned_at, "s") + seconds).astype("datetime64[us]")
        elif isinstance(value, np.ndarray) and value.dtype.kind in "OU":
            value = _text(value)
        data[name] = value
    return pd.DataFrame(data)


def _messages(batches: list[_Batch], contacts: _Pool) -> Columns:
    """The send log, in order of ``sent_at``."""
    columns = _concat(
        *(
            {
                "message_id": b.sends.message_id,
                "contact_id": contacts.ref(b.recipients),
                "experiment_id": b.experiment_id,
                "arm": b.arm,
                "campaign_id": b.campaign_id,
                "template": b.templates,
                "sent_at": b.sends.sent_at,
            }
            for b in batches
        )
    )
    order = np.argsort(columns["sent_at"], kind="stable")
    columns = _take(columns, order)
    columns.update(channel=CHANNEL, sender_id=SENDER_ID, category="marketing")
    return columns


def _message_events(rng: np.random.Generator, batches: list[_Batch]) -> Columns:
    """Status webhooks in arrival order: some duplicated, out of time order, some reads
    without a delivered event; pricing on ``sent`` and on the first of delivered/read."""
    parts: list[Columns] = []
    for batch in batches:
        sends = batch.sends
        failed = ~sends.delivered
        parts.append(
            {
                "message_id": sends.message_id[failed],
                "status": "failed",
                "ts": sends.sent_at[failed] + rng.uniform(1, 20, int(failed.sum())),
                "error_code": sends.error_code[failed].astype(np.str_).astype(object),
                "priced": False,
            }
        )
        delivered = sends.delivered
        shown = delivered & ~sends.delivered_event_missing
        read = ~np.isnan(sends.read_at)
        parts += [
            {
                "message_id": sends.message_id[delivered],
                "status": "sent",
                "ts": sends.sent_event_at[delivered],
                "priced": True,
            },
            {
                "message_id": sends.message_id[shown],
                "status": "delivered",
                "ts": sends.delivered_at[shown],
                "priced": True,
            },
            {
                "message_id": sends.message_id[read],
                "status": "read",
                "ts": sends.read_at[read],
                "priced": sends.delivered_event_missing[read],
            },
        ]
    for part in parts:
        part.setdefault("error_code", None)
        part["ts"] = np.floor(part["ts"])
    columns = _concat(*parts)
    size = columns["ts"].size
    arrival = columns["ts"] + rng.exponential(15.0, size)
    arrival += np.where(rng.random(size) < 0.05, rng.exponential(600.0, size), 0.0)
    repeated = np.flatnonzero(rng.random(size) < 0.015)
    rows = np.concatenate([np.arange(size), repeated])
    arrival = np.concatenate([arrival, arrival[repeated] + rng.exponential(120.0, repeated.size)])
    rows = rows[np.argsort(arrival, kind="stable")]
    columns = _take(columns, rows)
    priced = columns.pop("priced").astype(bool)
    columns["pricing_category"] = _Pool(("marketing",)).ref(np.where(priced, 0, -1))
    columns["billable"] = pd.arrays.BooleanArray(np.ones(priced.size, dtype=bool), ~priced)
    return columns


def _feedback(
    rng: np.random.Generator,
    contacts: _Pool,
    state: IntArray,
    created: FloatArray,
    delivered_at: FloatArray,
    induced: Mapping[str, float],
    window: float,
) -> tuple[Columns, FloatArray]:
    """Feedback events (``ts`` in seconds from assignment, in time order) and, per
    contact, the time of its first block or opt-out in the window (inf when none)."""
    n = state.size
    delivered = ~np.isnan(delivered_at)
    delivered_time = np.nan_to_num(delivered_at, nan=0.0)
    kind_names = np.array(FEEDBACK_KINDS)
    parts: list[Columns] = []
    suppress_until = np.full(n, np.inf)
    for kind in FEEDBACK_KINDS:
        baseline = -math.expm1(-_FEEDBACK_DAILY_RATE[kind] * window / _DAY)
        extra = (1 - baseline) * induced[kind]
        chance = np.where(delivered, baseline + extra, baseline)
        hit = rng.random(n) < chance
        caused = hit & delivered & (rng.random(n) * chance < extra)
        ts = np.where(
            caused,
            delivered_time + _truncated_exponential(rng, 6 * _HOUR, window - delivered_time),
            rng.uniform(0, window, n),
        )
        parts.append({"who": np.flatnonzero(hit), "kind": kind, "ts": ts[hit]})
        if kind in ("block", "opt_out"):
            suppress_until = np.fmin(suppress_until, np.where(hit, ts, np.inf))
        later = np.flatnonzero(rng.random(n) < -math.expm1(-_FEEDBACK_DAILY_RATE[kind] * 30))
        parts.append(
            {"who": later, "kind": kind, "ts": rng.uniform(window, window + 30 * _DAY, later.size)}
        )
    old = np.flatnonzero(rng.random(n) < 0.015)
    parts.append(
        {
            "who": old,
            "kind": kind_names[rng.integers(0, 3, old.size)],
            "ts": rng.uniform(np.maximum(created[old], -365 * _DAY) + _DAY, -100 * _DAY),
        }
    )
    recent = np.flatnonzero(state == _State.RECENT_FEEDBACK)
    parts.append(
        {
            "who": recent,
            "kind": kind_names[rng.integers(0, 3, recent.size)],
            "ts": rng.uniform(-(EXCLUDE_FEEDBACK_DAYS - 5) * _DAY, -_HOUR, recent.size),
        }
    )
    columns = _concat(*parts)
    order = np.argsort(columns["ts"], kind="stable")
    kinds = columns["kind"][order]
    reason = np.full(order.size, None, dtype=object)
    for kind, reasons in _FEEDBACK_REASONS.items():
        mask = kinds == kind
        reason[mask] = np.array(reasons, dtype=object)[rng.integers(0, len(reasons), mask.sum())]
    return {
        "contact_id": contacts.ref(columns["who"][order]),
        "channel": CHANNEL,
        "sender_id": SENDER_ID,
        "kind": kinds,
        "ts": np.floor(columns["ts"][order]),
        "reason": reason,
    }, suppress_until


def _inbound(
    rng: np.random.Generator,
    wamids: _WamidFactory,
    contacts: _Pool,
    batches: list[_Batch],
    window: float,
) -> Columns:
    """Replies to read templates (buttons quote the template) and unprompted messages."""
    parts: list[Columns] = []
    for batch in batches:
        sends = batch.sends
        replied = ~np.isnan(sends.read_at) & (rng.random(sends.read_at.size) < 0.07)
        count = int(replied.sum())
        button = rng.random(count) < 0.65
        quoted = button | (rng.random(count) < 0.4)
        delay = np.minimum(rng.lognormal(math.log(90.0), 1.2, count), 2 * _DAY)
        parts.append(
            {
                "who": batch.recipients[replied],
                "ts": sends.read_at[replied] + delay,
                "type": np.where(button, "button", "text"),
                "context_message_id": sends.message_id[replied].where(quoted),
            }
        )
    unprompted = np.flatnonzero(rng.random(len(contacts.arrow())) < 0.04)
    parts.append(
        {
            "who": unprompted,
            "ts": rng.uniform(-28 * _DAY, window + 14 * _DAY, unprompted.size),
            "type": "text",
            "context_message_id": None,
        }
    )
    columns = _concat(*parts)
    order = np.argsort(np.floor(columns["ts"]), kind="stable")
    return {
        "message_id": wamids.take(order.size),
        "contact_id": contacts.ref(columns["who"][order]),
        "channel": CHANNEL,
        "sender_id": SENDER_ID,
        "ts": columns["ts"][order],
        "type": columns["type"][order],
        "context_message_id": columns["context_message_id"][order],
    }


def _actions(
    rng: np.random.Generator,
    contacts: _Pool,
    market: IntArray,
    order_rate: FloatArray,
    delivered_at: FloatArray,
    multipliers: FloatArray,
    window: float,
) -> Columns:
    """Orders (with value) from 60 days before to 30 days after the window, the extra
    orders of delivered contacts inside the window, and add-to-cart events (no value)."""
    n = market.size
    who: list[IntArray] = []
    times: list[FloatArray] = []
    periods = (
        (-60 * _DAY, -28 * _DAY),
        (-28 * _DAY, 0.0),
        (0.0, window),
        (window, window + 30 * _DAY),
    )
    for start, stop in periods:
        index = np.repeat(np.arange(n), rng.poisson(order_rate * (stop - start) / _DAY))
        who.append(index)
        times.append(rng.uniform(start, stop, index.size))
    extra_rate = order_rate * window / _DAY * np.maximum(multipliers[market] - 1, 0.0)
    index = np.repeat(np.arange(n), rng.poisson(np.where(np.isnan(delivered_at), 0.0, extra_rate)))
    who.append(index)
    times.append(
        delivered_at[index] + _truncated_exponential(rng, 1.5 * _DAY, window - delivered_at[index])
    )

    orders = np.concatenate(who)
    basket = np.array([m.order_value for m in MARKETS])[market] * np.exp(
        rng.normal(-(_BASKET_SIGMA**2) / 2, _BASKET_SIGMA, n)
    )
    noise = rng.normal(-(_ORDER_VALUE_SIGMA**2) / 2, _ORDER_VALUE_SIGMA, orders.size)
    value = np.round(basket[orders] * np.exp(noise), 2)
    carts = np.repeat(np.arange(n), rng.poisson(order_rate * (58 * _DAY + window) / _DAY / 2))
    cart_times = rng.uniform(-28 * _DAY, window + 30 * _DAY, carts.size)

    ts = np.floor(np.concatenate([*times, cart_times]))
    order = np.argsort(ts, kind="stable")
    is_order = (np.arange(ts.size) < orders.size)[order]
    sequence = _zero_padded(np.arange(ts.size), 9)
    return {
        "action_id": np.char.add(np.where(is_order, "ord_", "cart_"), sequence),
        "contact_id": contacts.ref(np.concatenate([orders, carts])[order]),
        "action": _Pool(("order", "add_to_cart")).ref(np.where(is_order, 0, 1)),
        "ts": ts[order],
        "value": np.concatenate([value, np.full(carts.size, np.nan)])[order],
    }


def _identities(
    rng: np.random.Generator, contacts: _Pool, market: IntArray, state: IntArray
) -> Columns:
    """One WhatsApp identity per contact: a valid, unique E.164 mobile of its market."""
    address = np.empty(market.size, dtype=object)
    for m, spec in enumerate(MARKETS):
        members = np.flatnonzero(market == m)
        position = np.arange(members.size, dtype=np.int64)
        choices = spec.mobile_prefixes.split()
        prefixes = np.array(choices)[rng.integers(0, len(choices), members.size)]
        space = 10**spec.subscriber_digits
        # An affine map whose multiplier is coprime to 10 permutes [0, space): the
        # numbers look random yet never repeat (MARKETS allow 10 million per market).
        subscriber = (position * 3_967_091 + rng.integers(space)) % space
        national = np.char.add(prefixes, _zero_padded(subscriber, spec.subscriber_digits))
        address[members] = np.char.add(f"+{spec.calling_code}", national)
    return {
        "contact_id": contacts.ref(np.arange(market.size)),
        "channel": CHANNEL,
        "address": address,
        "sender_id": np.where(state == _State.OTHER_SENDER, OTHER_SENDER_ID, SENDER_ID),
    }


def _sender_quality(window_days: int) -> Columns:
    """Quality rating and messaging-limit history of the sender: an upgrade eight hours
    into the campaign, a drop to YELLOW two days in, recovery after the window."""
    history = [
        (-300 * _DAY, "UNKNOWN", "TIER_250", "ONBOARDING"),
        (-290 * _DAY, "GREEN", "TIER_2K", "UPGRADE"),
        (-120 * _DAY, "GREEN", "TIER_10K", "UPGRADE"),
        (-45 * _DAY, "YELLOW", "TIER_10K", "QUALITY_UPDATE"),
        (-38 * _DAY, "GREEN", "TIER_10K", "QUALITY_UPDATE"),
        (8 * _HOUR, "GREEN", "TIER_100K", "UPGRADE"),
        (2 * _DAY + 4 * _HOUR, "YELLOW", "TIER_100K", "QUALITY_UPDATE"),
        ((window_days + 2) * _DAY, "GREEN", "TIER_100K", "QUALITY_UPDATE"),
    ]
    return {
        "sender_id": SENDER_ID,
        "ts": np.array([h[0] for h in history]),
        "quality_rating": np.array([h[1] for h in history]),
        "messaging_limit_tier": np.array([h[2] for h in history]),
        "event": np.array([h[3] for h in history]),
    }


def _template_webhooks(assigned_at: datetime) -> tuple[dict[str, Any], ...]:
    """The templates' lifecycle as WhatsApp webhook bodies (deterministic, no draws).

    All four templates are approved two weeks before and rated GREEN a day later. In the
    window, ``reactivation_offer_b`` drops to YELLOW after the first wave; the reminder
    drops to YELLOW after its sends, then to RED a day later and is paused for three hours
    (Meta's first pause). The newsletter, which the experiment does not send, drops to
    YELLOW too: a report on the experiment must leave it out.
    """
    hour = timedelta(hours=1)
    changes: list[tuple[timedelta, str, str, dict[str, Any]]] = []
    for name in (PRIOR_TEMPLATE, *TEMPLATES, REMINDER_TEMPLATE):
        changes.append(
            (
                -14 * 24 * hour,
                name,
                "message_template_status_update",
                {"event": "APPROVED", "reason": "NONE", "message_template_category": "MARKETING"},
            )
        )
        changes.append(
            (-13 * 24 * hour, name, "message_template_quality_update", _quality("UNKNOWN", "GREEN"))
        )
    changes += [
        (26 * hour, PRIOR_TEMPLATE, "message_template_quality_update", _quality("GREEN", "YELLOW")),
        (20 * hour, TEMPLATES[1], "message_template_quality_update", _quality("GREEN", "YELLOW")),
        (
            80 * hour,
            REMINDER_TEMPLATE,
            "message_template_quality_update",
            _quality("GREEN", "YELLOW"),
        ),
        (
            98 * hour,
            REMINDER_TEMPLATE,
            "message_template_quality_update",
            _quality("YELLOW", "RED"),
        ),
        (
            98 * hour + timedelta(minutes=5),
            REMINDER_TEMPLATE,
            "message_template_status_update",
            {
                "event": "PAUSED",
                "reason": "NONE",
                "other_info": {
                    "title": "FIRST_PAUSE",
                    "description": "Your template has been paused for 3 hours because of low quality.",
                },
            },
        ),
        (
            101 * hour + timedelta(minutes=5),
            REMINDER_TEMPLATE,
            "message_template_status_update",
            {
                "event": "APPROVED",
                "reason": "NONE",
                "other_info": {
                    "title": "UNPAUSE",
                    "description": "Your template is no longer paused.",
                },
            },
        ),
    ]
    epoch = assigned_at.replace(tzinfo=UTC)
    bodies = []
    for offset, name, field_name, value in sorted(changes, key=lambda c: (c[0], c[1], c[2])):
        bodies.append(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": WABA_ID,
                        "time": int((epoch + offset).timestamp()),
                        "changes": [
                            {
                                "field": field_name,
                                "value": {
                                    **value,
                                    "message_template_id": int(TEMPLATE_IDS[name]),
                                    "message_template_name": name,
                                    "message_template_language": TEMPLATE_LANGUAGE,
                                },
                            }
                        ],
                    }
                ],
            }
        )
    return tuple(bodies)


def _quality(previous: str, new: str) -> dict[str, Any]:
    return {"previous_quality_score": previous, "new_quality_score": new}


def _rate_card(assigned_at: datetime) -> Columns:
    """Per-market USD prices valid from a quarter before, changed at midnight UTC three
    days into the window (the default lands on the 2026-10-01 update: BR and IN
    marketing change, service messages become charged at the utility price)."""
    change = datetime.combine((assigned_at + timedelta(days=3)).date(), datetime.min.time())
    previous = change - timedelta(days=92)
    rows: list[tuple[str, str, float, datetime]] = []
    for spec in MARKETS:
        marketing, utility, authentication = spec.prices
        rows += [
            (spec.code, "marketing", marketing, previous),
            (spec.code, "utility", utility, previous),
            (spec.code, "authentication", authentication, previous),
            (spec.code, "service", 0.0, previous),
            (spec.code, "service", utility, change),
        ]
        if spec.code in _MARKETING_PRICE_CHANGE:
            rows.append((spec.code, "marketing", _MARKETING_PRICE_CHANGE[spec.code], change))
    return {
        "channel": CHANNEL,
        "market": np.array([r[0] for r in rows]),
        "category": np.array([r[1] for r in rows]),
        "price": np.array([r[2] for r in rows], dtype=np.float64),
        "currency": "USD",
        "valid_from": np.array([r[3] for r in rows], dtype="datetime64[us]"),
    }


def _toml_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _experiment_toml(
    experiment_id: str,
    assigned_at: datetime,
    window_days: int,
    holdout_weight: float,
    treatment_weight: float,
) -> str:
    """The experiment file (TOML) of the generated experiment."""
    guardrails = "".join(
        f'\n[[guardrails]]\nname = "{kind}_rate"\nkind = "{kind}"\n'
        f"max_increase = {_GUARDRAIL_MARGINS[kind]}\n"
        for kind in FEEDBACK_KINDS
    )
    return f"""# Synthetic WhatsApp reactivation experiment (threadlift.datasets.synthetic).
id = {json.dumps(experiment_id)}
channel = "{CHANNEL}"
sender_id = "{SENDER_ID}"
category = "marketing"
assigned_at = {assigned_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
window_days = {window_days}

[[arms]]
name = "{HOLDOUT_ARM}"
weight = {_toml_number(holdout_weight)}
holdout = true

[[arms]]
name = "{TREATMENT_ARM}"
weight = {_toml_number(treatment_weight)}

[eligibility]
require_consent = true
exclude_feedback_days = {EXCLUDE_FEEDBACK_DAYS}

[[metrics]]
name = "conversion"
type = "proportion"
action = "order"

[[metrics]]
name = "revenue"
type = "mean"
action = "order"
cuped_days = 28

[[metrics]]
name = "revenue_per_order"
type = "ratio"
action = "order"
{guardrails}"""
