"""A realistic report dict, an independent parser of formatted numbers, and the visible
text of an HTML page."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from typing import Any


def sample_report() -> dict[str, Any]:
    """A realistic report: three arms, three metrics (one degenerate), a breached guardrail,
    alerts and warnings, the window split of two treatment arms whose session shares differ;
    every key of report.json has content."""
    window = 7
    cumulative = []
    for arm, final, width in (("whatsapp", 0.0121, 0.006), ("sms", 0.0043, 0.005)):
        for day in range(1, window + 1):
            effect = final * (1 - math.exp(-day / 2.0)) / (1 - math.exp(-window / 2.0))
            half = width * math.sqrt(window / day)
            cumulative.append(
                {
                    "metric": "conversion",
                    "arm": arm,
                    "control_arm": "holdout",
                    "day": day,
                    "effect_size": effect,
                    "effect_size_ci_lower": effect - half,
                    "effect_size_ci_upper": effect + half,
                }
            )
    return {
        "experiment_id": "br-winback-2026-11",
        "as_of": "2026-11-09T09:00:00Z",
        "window_days": window,
        "channel": "whatsapp",
        "category": "marketing",
        "assigned_at": "2026-11-02T09:00:00Z",
        "status": "alert",
        "generated_by": "threadlift 0.1.0",
        "assignment": "threadlift",
        "assignments_quarantined": 37,
        "arms": [
            {
                "arm": "holdout",
                "holdout": True,
                "units": 10_012,
                "weight": 10,
                "expected_share": 0.1,
                "observed_share": 0.10012,
            },
            {
                "arm": "whatsapp",
                "holdout": False,
                "units": 44_950,
                "weight": 45,
                "expected_share": 0.45,
                "observed_share": 0.4495,
            },
            {
                "arm": "sms",
                "holdout": False,
                "units": 45_038,
                "weight": 45,
                "expected_share": 0.45,
                "observed_share": 0.45038,
            },
        ],
        "srm": {"pvalue": 0.8731, "passed": True, "statistic": 0.2716, "alpha": 0.001},
        "metrics": [
            {
                "metric": "conversion",
                "type": "proportion",
                "arm": "whatsapp",
                "control_arm": "holdout",
                "control": 0.05234,
                "treatment": 0.06444,
                "effect_size": 0.0121,
                "effect_size_ci_lower": 0.00712,
                "effect_size_ci_upper": 0.01708,
                "rel_effect_size": 0.2312,
                "rel_effect_size_ci_lower": 0.1289,
                "rel_effect_size_ci_upper": 0.3427,
                "pvalue": 0.00002,
                "pvalue_adjusted": 0.00004,
                "method": "welch-t",
                "error": None,
            },
            {
                "metric": "conversion",
                "type": "proportion",
                "arm": "sms",
                "control_arm": "holdout",
                "control": 0.05234,
                "treatment": 0.05664,
                "effect_size": 0.0043,
                "effect_size_ci_lower": -0.00071,
                "effect_size_ci_upper": 0.00931,
                "rel_effect_size": 0.08215,
                "rel_effect_size_ci_lower": -0.0131,
                "rel_effect_size_ci_upper": 0.1866,
                "pvalue": 0.0934,
                "pvalue_adjusted": 0.1868,
                "method": "welch-t",
                "error": None,
            },
            {
                "metric": "revenue",
                "type": "mean",
                "arm": "whatsapp",
                "control_arm": "holdout",
                "control": 4.2131,
                "treatment": 4.6873,
                "effect_size": 0.4742,
                "effect_size_ci_lower": 0.1019,
                "effect_size_ci_upper": 0.8465,
                "rel_effect_size": 0.1126,
                "rel_effect_size_ci_lower": 0.0214,
                "rel_effect_size_ci_upper": 0.2118,
                "pvalue": 0.0126,
                "pvalue_adjusted": 0.0252,
                "method": "welch-t, cuped",
                "error": None,
            },
            {
                "metric": "revenue_per_order",
                "type": "ratio",
                "arm": "whatsapp",
                "control_arm": "holdout",
                "control": None,
                "treatment": 72.71,
                "effect_size": None,
                "effect_size_ci_lower": None,
                "effect_size_ci_upper": None,
                "rel_effect_size": None,
                "rel_effect_size_ci_lower": None,
                "rel_effect_size_ci_upper": None,
                "pvalue": None,
                "pvalue_adjusted": None,
                "method": "delta",
                "error": "zero_denominator",
            },
        ],
        "complier": [
            {
                "metric": "conversion",
                "arm": "whatsapp",
                "control_arm": "holdout",
                "stage": "read",
                "share": 0.6821,
                "effect_size": 0.01774,
                "effect_size_ci_lower": 0.01043,
                "effect_size_ci_upper": 0.02504,
                "pvalue": 0.00003,
                "method": "wald-iv",
                "error": None,
            },
        ],
        "funnel": [
            {
                "arm": "holdout",
                "units": 10_012,
                "sent": 0,
                "delivered": 0,
                "read": 0,
                "replied": 0,
                "failed": 0,
                "converted": 524,
            },
            {
                "arm": "whatsapp",
                "units": 44_950,
                "sent": 44_120,
                "delivered": 41_903,
                "read": 30_661,
                "replied": 5_210,
                "failed": 2_217,
                "converted": 2_897,
            },
            {
                "arm": "sms",
                "units": 45_038,
                "sent": 44_871,
                "delivered": 43_950,
                "read": 0,
                "replied": 802,
                "failed": 921,
                "converted": 2_551,
            },
        ],
        "cumulative": cumulative,
        "guardrails": [
            {
                "guardrail": "block_rate",
                "kind": "block",
                "channel": "whatsapp",
                "arm": "whatsapp",
                "control": 0.0011,
                "treatment": 0.0043,
                "effect_size": 0.0032,
                "effect_size_ci_upper": 0.0039,
                "threshold": 0.002,
                "pvalue": 0.00001,
                "control_arm": "holdout",
                "margin_type": "absolute",
                "method": "welch_t_noninferiority",
                "error": None,
                "breached": True,
            },
            {
                "guardrail": "block_rate",
                "kind": "block",
                "channel": "sms",
                "arm": "sms",
                "control": 0.0011,
                "treatment": 0.0014,
                "effect_size": 0.0003,
                "effect_size_ci_upper": 0.0009,
                "threshold": 0.002,
                "pvalue": 0.2412,
                "control_arm": "holdout",
                "margin_type": "absolute",
                "method": "welch_t_noninferiority",
                "error": None,
                "breached": False,
            },
            {
                "guardrail": "opt_out_rate",
                "kind": "opt_out",
                "channel": "whatsapp",
                "arm": "whatsapp",
                "control": 0.0021,
                "treatment": 0.0029,
                "effect_size": 0.0008,
                "effect_size_ci_upper": 0.0017,
                "threshold": 0.005,
                "pvalue": 0.0612,
                "control_arm": "holdout",
                "margin_type": "absolute",
                "method": "welch_t_noninferiority",
                "error": None,
                "breached": False,
            },
        ],
        "guardrail_breakdown": [
            {"arm": "whatsapp", "dimension": "template", "value": "winback_offer", "kind": "block",
             "units": 44_950, "events": 187},
            {"arm": "whatsapp", "dimension": "sender", "value": "15550001111", "kind": "opt_out",
             "units": 44_950, "events": 129},
        ],
        "messaging_limits": [
            {"sender_id": "15550001111", "peak_unique_contacts": 1_204,
             "peak_at": "2026-11-02T13:59:59", "messaging_limit_tier": "TIER_1K",
             "tier_limit": 1000.0, "usage_share": 1.204},
        ],
        "window_share": [
            {"arm": "whatsapp", "messages": 43_530, "template_messages": 38_410,
             "session_messages": 5_120, "in_window_messages": 5_317},
            {"arm": "sms", "messages": 44_340, "template_messages": 41_312,
             "session_messages": 3_028, "in_window_messages": 2_961},
        ],
        "sender_quality": [
            {
                "sender_id": "15550001111",
                "ts": "2026-10-30T00:00:00Z",
                "quality_rating": "GREEN",
                "messaging_limit_tier": "TIER_10K",
                "event": "snapshot",
            },
            {
                "sender_id": "15550001111",
                "ts": "2026-11-04T13:20:00Z",
                "quality_rating": "YELLOW",
                "messaging_limit_tier": "TIER_10K",
                "event": "PHONE_NUMBER_QUALITY_UPDATE",
            },
            {
                "sender_id": "15550001111",
                "ts": "2026-11-06T08:05:00Z",
                "quality_rating": "RED",
                "messaging_limit_tier": "TIER_1K",
                "event": "DOWNGRADE",
            },
        ],
        "balance": [
            {
                "metric": "revenue",
                "covariate": "revenue over the 28 days before assignment",
                "arm": arm,
                "control_arm": "holdout",
                "control_mean": 14.45,
                "treatment_mean": mean,
                "standardized_mean_difference": smd,
                "pvalue": p,
                "error": None,
            }
            for arm, mean, smd, p in (("whatsapp", 14.61, 0.0112, 0.4213), ("sms", 14.02, -0.0297, 0.0481))
        ],
        "window_split": {
            "reported": True,
            "stratum": "window_state",
            "definition": "open: wrote in during the 24 hours before assignment",
            "session_messages": 8_148,
            "template_messages": 79_722,
            "note": None,
            "strata": [
                {"window_state": state, "arm": arm, "holdout": arm == "holdout", "units": units,
                 "units_sent": sent, "messages": messages, "session_messages": session,
                 "template_messages": messages - session,
                 "session_share": session / messages if messages else None}
                for state, arm, units, sent, messages, session in (
                    ("open", "holdout", 1_203, 0, 0, 0),
                    ("open", "whatsapp", 5_391, 5_300, 5_402, 4_921),
                    ("closed", "holdout", 8_809, 0, 0, 0),
                    ("closed", "whatsapp", 39_559, 38_100, 38_128, 199),
                    ("open", "sms", 5_402, 5_380, 5_390, 1_078),
                    ("closed", "sms", 39_636, 38_900, 38_950, 1_950),
                )
            ],
            "metrics": [
                {"window_state": state, "metric": metric, "type": "proportion", "arm": arm,
                 "control_arm": "holdout", "control_units": cu, "treatment_units": tu,
                 "control": 0.08, "treatment": 0.08 + effect, "effect_size": effect,
                 "effect_size_ci_lower": effect - 0.011, "effect_size_ci_upper": effect + 0.011,
                 "rel_effect_size": effect / 0.08, "rel_effect_size_ci_lower": (effect - 0.011) / 0.08,
                 "rel_effect_size_ci_upper": (effect + 0.011) / 0.08, "pvalue": p,
                 "method": "welch_t", "error": None,
                 "effect_difference_open_minus_closed": 0.0183,
                 "effect_difference_pvalue": 0.0021}
                for state, metric, arm, cu, tu, effect, p in (
                    ("open", "conversion", "whatsapp", 1_203, 5_391, 0.0271, 0.00001),
                    ("closed", "conversion", "whatsapp", 8_809, 39_559, 0.00884, 0.0123),
                    ("open", "conversion", "sms", 1_203, 5_402, 0.0113, 0.0419),
                    ("closed", "conversion", "sms", 8_809, 39_636, 0.00372, 0.2871),
                    ("open", "revenue", "whatsapp", 1_203, 5_391, 0.6131, 0.2718),
                    ("closed", "revenue", "whatsapp", 8_809, 39_559, 0.2455, 0.4409),
                )
            ],
        },
        "segments": [
            {"dimension": dimension, "segment": segment, "metric": "conversion",
             "type": "proportion", "arm": "whatsapp", "control_arm": "holdout",
             "units_control": cu, "units_treatment": tu, "control": 0.08,
             "treatment": 0.08 + effect, "effect_size": effect,
             "effect_size_ci_lower": effect - 0.012, "effect_size_ci_upper": effect + 0.012,
             "rel_effect_size": effect / 0.08,
             "rel_effect_size_ci_lower": (effect - 0.012) / 0.08,
             "rel_effect_size_ci_upper": (effect + 0.012) / 0.08, "pvalue": p,
             "pvalue_adjusted": min(1.0, 3 * p), "method": "welch_t", "error": None,
             "pooled_segments": pooled}
            for dimension, segment, cu, tu, effect, p, pooled in (
                ("market", "BR", 6_104, 27_480, 0.0213, 0.0004, []),
                ("market", "MX", 3_311, 14_902, 0.0051, 0.4012, []),
                ("market", "other", 597, 2_568, 0.0093, 0.5511, ["CO", "PE"]),
                ("pre_period_activity", "none", 7_702, 34_650, 0.0071, 0.2031, []),
                ("pre_period_activity", "some", 1_508, 6_802, 0.0244, 0.0193, []),
                ("pre_period_activity", "frequent", 802, 3_498, 0.0381, 0.0412, []),
            )
        ],
        "heterogeneity": [
            {"dimension": dimension, "metric": "conversion", "arm": "whatsapp",
             "control_arm": "holdout", "segments": k, "statistic": q, "df": k - 1,
             "pvalue": p, "method": "cochran_q", "error": None}
            for dimension, k, q, p in (
                ("market", 3, 6.912, 0.0316),
                ("pre_period_activity", 3, 4.513, 0.1047),
            )
        ],
        "template_quality": {
            "available": True,
            "window_start": "2026-11-02T09:00:00",
            "window_end": "2026-11-09T09:00:00",
            "note": None,
            "templates": [
                {"template": "winback_offer", "language": "pt_BR", "template_id": "901",
                 "messages": 44_950, "status_at_start": "APPROVED", "status_at_end": "APPROVED",
                 "quality_at_start": "GREEN", "quality_at_end": "RED",
                 "category_at_start": None, "category_at_end": None, "changes": 4,
                 "alarms": ["PAUSED"], "quality_changes": ["GREEN→YELLOW", "YELLOW→RED"],
                 "pauses": [{"start": "2026-11-05T10:05:00", "end": "2026-11-05T13:05:00",
                             "title": "FIRST_PAUSE", "ongoing_at_window_end": False, "hours": 3.0}]},
                {"template": "winback_reminder", "language": "pt_BR", "template_id": "902",
                 "messages": 20_113, "status_at_start": "APPROVED", "status_at_end": "APPROVED",
                 "quality_at_start": "GREEN", "quality_at_end": "GREEN",
                 "category_at_start": None, "category_at_end": None, "changes": 0,
                 "alarms": [], "quality_changes": [], "pauses": []},
            ],
            "events": [
                {"template": "winback_offer", "template_id": "901", "language": "pt_BR", "kind": kind,
                 "event": event, "previous": previous, "title": title, "reason": None,
                 "correct_category": None, "ts": ts, "phase": phase}
                for kind, event, previous, title, ts, phase in (
                    ("status", "APPROVED", None, None, "2026-10-20T09:00:00", "before"),
                    ("quality", "GREEN", "UNKNOWN", None, "2026-10-21T09:00:00", "before"),
                    ("quality", "YELLOW", "GREEN", None, "2026-11-03T17:00:00", "during"),
                    ("quality", "RED", "YELLOW", None, "2026-11-05T10:00:00", "during"),
                    ("status", "PAUSED", None, "FIRST_PAUSE", "2026-11-05T10:05:00", "during"),
                    ("status", "APPROVED", None, "UNPAUSE", "2026-11-05T13:05:00", "during"),
                )
            ],
        },
        "cost": [
            {
                "arm": "whatsapp",
                "channel": "whatsapp",
                "category": "marketing",
                "currency": "USD",
                "messages": 44_120,
                "messages_billed": 41_903,
                "messages_free_entry_point": 312,
                "cost": 2617.69,
                "unpriced": 0,
                "arm_total_cost": 2617.69,
                "incremental_revenue": 21_315.4,
                "return_on_spend": 7.143,
                "incremental_conversions": 543.9,
                "cost_per_incremental_conversion": 4.8128,
                "cost_per_incremental_conversion_ci_lower": 3.4213,
                "cost_per_incremental_conversion_ci_upper": 8.1762,
                "method": "fieller",
            },
            {
                "arm": "sms",
                "channel": "sms",
                "category": "sms",
                "currency": "USD",
                "messages": 44_871,
                "messages_billed": 43_950,
                "messages_free_entry_point": 0,
                "cost": 3296.25,
                "unpriced": 14,
                "arm_total_cost": 3296.25,
                "incremental_revenue": None,
                "return_on_spend": None,
                "incremental_conversions": 193.7,
                "cost_per_incremental_conversion": 17.0173,
                "cost_per_incremental_conversion_ci_lower": None,
                "cost_per_incremental_conversion_ci_upper": None,
                "method": "fieller",
            },
        ],
        "cost_comparison": [
            {"arm": "whatsapp", "channel": "whatsapp", "other_arm": "sms", "other_channel": "sms",
             "currency": "USD", "metric": "conversion", "cost_per_incremental": 4.8128,
             "other_cost_per_incremental": 17.0173, "ratio": 0.2828, "ratio_ci_lower": 0.1311,
             "ratio_ci_upper": 0.6102, "method": "fieller", "pvalue": 0.0013, "error": None},
        ],
        "exposure": {
            "exposures": 4210,
            "arms": [
                {"arm": "holdout", "holdout": True, "units": 1512, "exposures": 455,
                 "exposed_units": 0, "exposed_share": 0.0, "counterfactual_units": 452,
                 "counterfactual_share": 0.2989, "triggered_units": 452,
                 "mismatched_exposures": 3, "mismatched_share": 0.0066},
                {"arm": "whatsapp", "holdout": False, "units": 13488, "exposures": 3755,
                 "exposed_units": 4046, "exposed_share": 0.3, "counterfactual_units": 0,
                 "counterfactual_share": 0.0, "triggered_units": 4046,
                 "mismatched_exposures": 0, "mismatched_share": 0.0},
            ],
            "mismatches": [
                {"mismatch": "sent_to_holdout", "assigned_arm": "holdout", "exposure_arm": "holdout",
                 "source": "api", "exposures": 3, "contacts": 2,
                 "first_ts": "2026-11-03T10:00:00", "last_ts": "2026-11-04T11:30:00"},
            ],
            "triggered": [
                {"metric": "conversion", "type": "proportion", "arm": "whatsapp",
                 "control_arm": "holdout", "control_units": 452, "treatment_units": 4046,
                 "control": 0.1504, "treatment": 0.2101, "effect_size": 0.0597,
                 "effect_size_ci_lower": 0.0221, "effect_size_ci_upper": 0.0973,
                 "rel_effect_size": 0.3969, "rel_effect_size_ci_lower": 0.1201,
                 "rel_effect_size_ci_upper": 0.7421, "pvalue": 0.0019, "pvalue_adjusted": 0.0019,
                 "method": "welch_t", "error": None},
            ],
            "triggered_shown": True,
            "triggered_note": "4,498 of 15,000 units triggered",
        },
        "programme_decay": [
            {"metric": "conversion", "arm": "everyone_else", "control_arm": "global_holdout",
             "horizon_days": h, "units_control": 1004, "units_treatment": 8996,
             "control": c, "treatment": t, "effect_size": t - c,
             "effect_size_ci_lower": t - c - 0.02, "effect_size_ci_upper": t - c + 0.02,
             "rel_effect_size": t / c - 1, "rel_effect_size_ci_lower": t / c - 1.2,
             "rel_effect_size_ci_upper": t / c - 0.8, "pvalue": p, "method": "welch_t",
             "error": None}
            for h, c, t, p in ((7, 0.0269, 0.0227, 0.4303), (30, 0.1006, 0.1177, 0.0899))
        ],
        "programme_parts": [
            {"kind": "experiment", "experiment_id": "welcome-offer", "arm": "treatment",
             "control_arm": "holdout", "treated_units": 7189, "control_units": 1782,
             "population_units": 8996, "horizon_days": None, "effect_size": 0.0382,
             "effect_size_ci_lower": 0.0226, "effect_size_ci_upper": 0.0538,
             "standard_error": 0.0080, "shrunk_effect_size": 0.0338, "weight": 0.7991,
             "contribution": 0.0305, "contribution_ci_lower": 0.0180,
             "contribution_ci_upper": 0.0430, "shrunk_contribution": 0.0270,
             "method": "welch_t", "note": None},
            {"kind": "skipped", "experiment_id": "old-test", "arm": None, "control_arm": None,
             "treated_units": 0, "control_units": 0, "population_units": 8996,
             "horizon_days": None, "effect_size": None, "effect_size_ci_lower": None,
             "effect_size_ci_upper": None, "standard_error": None, "shrunk_effect_size": None,
             "weight": None, "contribution": None, "contribution_ci_lower": None,
             "contribution_ci_upper": None, "shrunk_contribution": None, "method": "",
             "note": "assigned before the programme started"},
            {"kind": "programme", "experiment_id": None, "arm": "everyone_else",
             "control_arm": "global_holdout", "treated_units": 8996, "control_units": 1004,
             "population_units": 8996, "horizon_days": 30, "effect_size": 0.0171,
             "effect_size_ci_lower": -0.0027, "effect_size_ci_upper": 0.0369,
             "standard_error": None, "shrunk_effect_size": None, "weight": 1.0,
             "contribution": 0.0171, "contribution_ci_lower": -0.0027,
             "contribution_ci_upper": 0.0369, "shrunk_contribution": None,
             "method": "welch_t", "note": None},
        ],
        "programme_health": {
            "held_out_units": 1004,
            "contaminated_contacts": 1,
            "contaminated_share": 1 / 1004,
            "contamination": [
                {"source": "webhook", "sent_by": "campaign", "tag": "monthly-news",
                 "contacts": 1, "messages": 2, "first_sent_at": "2026-11-04T10:00:00",
                 "last_sent_at": "2026-11-05T10:00:00"},
            ],
            "drift": [
                {"month": 0, "month_start": "2026-11-02T09:00:00", "metric": "conversion",
                 "covariate": "conversion over the 30 days before the start",
                 "units_control": 1004, "units_treatment": 8996, "control_mean": 0.1036,
                 "treatment_mean": 0.0987, "standardized_mean_difference": -0.0162,
                 "pvalue": 0.6302, "drifted": False, "error": None},
            ],
            "attrition": [
                {"arm": "global_holdout", "eligible_at_start": 1004, "no_longer_eligible": 32,
                 "share": 32 / 1004,
                 "by_reason": [{"reason": "consent_revoked", "units": 32}]},
                {"arm": "everyone_else", "eligible_at_start": 8996, "no_longer_eligible": 271,
                 "share": 271 / 8996,
                 "by_reason": [{"reason": "consent_revoked", "units": 271}]},
            ],
            "attrition_gap": 32 / 1004 - 271 / 8996,
        },
        "alerts": [
            {
                "kind": "guardrail",
                "message": "block_rate rose by +0.0032 for whatsapp, above the allowed +0.002",
            },
            {
                "kind": "degenerate",
                "message": "revenue_per_order: zero_denominator (the holdout placed no orders)",
            },
        ],
        "methods": [
            "Intent to treat: every assigned unit counts from assigned_at.",
            "Welch's t-test; relative effects on the log-ratio scale (delta method).",
            "Ratio metrics by the delta method; CUPED with one pooled theta.",
        ],
        "warnings": [
            "sender 15550001111 reached 1,204 unique contacts outside a service window in 24 "
            "hours, above its TIER_1K limit (1,000)",
            "template winback_offer (pt_BR) was paused from 2026-11-05 10:05 UTC (FIRST_PAUSE) "
            "to 2026-11-05 13:05 UTC; the platform rejects sends of a paused template",
            "37 assignment rows for br-winback-2026-11 were quarantined when loaded (unknown arm "
            "or contact, duplicates); see `threadlift quarantine`",
        ],
        "warning_details": [
            {
                "kind": "messaging_limit",
                "message": "sender 15550001111 reached 1,204 unique contacts outside a service "
                "window in 24 hours, above its TIER_1K limit (1,000)",
            },
            {
                "kind": "template_status",
                "message": "template winback_offer (pt_BR) was paused from 2026-11-05 10:05 UTC "
                "(FIRST_PAUSE) to 2026-11-05 13:05 UTC; the platform rejects sends of a paused "
                "template",
            },
            {
                "kind": "quarantine",
                "message": "37 assignment rows for br-winback-2026-11 were quarantined when "
                "loaded (unknown arm or contact, duplicates); see `threadlift quarantine`",
            },
        ],
        "skipped_sections": [],
    }

def parse_number(text: str) -> tuple[float, float]:
    """A formatted number and half a unit of its last shown digit (an independent parser)."""
    match = re.search(r"[-+]?[\d,]*\.?\d+", text)
    assert match, text
    digits = match.group(0).replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    scale = 100.0 if text.rstrip().endswith("%") else 1.0
    return float(digits) / scale, 0.5 * 10.0**-decimals / scale


class _VisibleText(HTMLParser):
    """Collects the visible text of an HTML page (outside <style>, <svg>, <script>)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "svg", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "svg", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(page: str) -> str:
    """Visible text of a page, entities decoded, whitespace runs made one space."""
    parser = _VisibleText()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())
