"""Experiment files: valid designs parse; every invalid one is a one-line error naming the field."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from threadlift.errors import ConfigError
from threadlift.experiment import check_audience_sql, load_experiment, parse_experiment

DESIGN_EXAMPLE = """
id = "br-winback-2026-11"
channel = "whatsapp"
sender_id = "15550001111"
category = "marketing"
assigned_at = 2026-11-02T09:00:00Z
window_days = 7
salt = "br-winback-2026-11"
audience_sql = "select contact_id from contacts where market = 'BR'"

[[arms]]
name = "holdout"
weight = 10
holdout = true

[[arms]]
name = "whatsapp"
weight = 90

[eligibility]
require_consent = true
exclude_feedback_days = 90

[[metrics]]
name = "conversion"
type = "proportion"
action = "order"

[[metrics]]
name = "revenue"
type = "mean"
action = "order"
cuped_days = 28

[[guardrails]]
name = "block_rate"
kind = "block"
max_increase = 0.002
"""


def experiment_text(
    *,
    assigned: str = "assigned_at = 2026-11-02T09:00:00Z",
    extra: str = "",
    holdout_weight: str = "10",
    treatment_weight: str = "90",
    treatment_extra: str = "",
    tail: str = "",
) -> str:
    return f"""
id = "x"
channel = "whatsapp"
{assigned}
{extra}
[[arms]]
name = "holdout"
weight = {holdout_weight}
holdout = true

[[arms]]
name = "whatsapp"
weight = {treatment_weight}
{treatment_extra}
{tail}
"""


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_experiment(text, "winback.toml")
    message = str(info.value)
    assert message.startswith("winback.toml: ")
    assert "\n" not in message
    return message


def test_design_example_parses() -> None:
    experiment = parse_experiment(DESIGN_EXAMPLE)
    assert experiment.assigned_at == datetime(2026, 11, 2, 9, 0)
    assert experiment.sender_id == "15550001111"
    assert [(r.name, r.start, r.stop) for r in experiment.ranges()] == [
        ("holdout", 0, 1000),
        ("whatsapp", 1000, 10000),
    ]
    assert experiment.effective_salt == "br-winback-2026-11"
    assert experiment.layer is None
    assert experiment.version is None


def test_load_experiment_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "winback.toml"
    path.write_text(DESIGN_EXAMPLE, encoding="utf-8")
    assert load_experiment(path).source_path == path
    with pytest.raises(ConfigError, match="cannot read experiment file"):
        load_experiment(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        ("0", "arms[1].weight: Input should be greater than 0 (got 0)"),
        ("-5", "arms[1].weight: Input should be greater than 0 (got -5)"),
        ("inf", "arms[1].weight: Input should be a finite number"),
        ("nan", "arms[1].weight: Input should be a finite number"),
        ("true", "arms[1].weight: must be a number greater than 0, not true/false"),
        ('"ten"', "arms[1].weight: Input should be a valid number"),
    ],
)
def test_weights_must_be_positive_numbers(weight: str, expected: str) -> None:
    assert expected in error_of(experiment_text(treatment_weight=weight))


def test_an_arm_too_small_for_one_bucket() -> None:
    message = error_of(experiment_text(holdout_weight="0.001", treatment_weight="100"))
    assert "arms: holdout would get no bucket" in message


def test_two_holdout_arms() -> None:
    message = error_of(experiment_text(treatment_extra="holdout = true"))
    assert "arms: at most one arm may have holdout = true; found 2: holdout, whatsapp" in message


def test_unknown_arm_in_a_metric() -> None:
    tail = '[[metrics]]\nname = "conversion"\ntype = "proportion"\naction = "order"\narms = ["whatsap"]'
    message = error_of(experiment_text(tail=tail))
    assert "metrics[0].arms: metric 'conversion' names unknown arm(s) whatsap" in message
    assert "the arms are: holdout, whatsapp" in message


@pytest.mark.parametrize(
    ("assigned", "expected"),
    [
        ("", "assigned_at: required field is missing"),
        ("assigned_at = 2026-11-02T09:00:00", "assigned_at: give a UTC offset, e.g. 2026-11-02T09:00:00Z"),
        ('assigned_at = "2026-11-02T09:00:00"', "assigned_at: give a UTC offset"),
        ("assigned_at = 2026-11-02", "assigned_at: must be a date-time with a UTC offset"),
        ("assigned_at = 09:00:00", "assigned_at: must be a date-time with a UTC offset"),
        ('assigned_at = "2026-13-02T09:00:00Z"', "assigned_at: Input should be a valid datetime"),
        ('assigned_at = "yesterday"', "assigned_at: Input should be a valid datetime"),
        ("assigned_at = 12", "assigned_at: "),
    ],
)
def test_bad_timestamps(assigned: str, expected: str) -> None:
    assert expected in error_of(experiment_text(assigned=assigned))


def test_offsets_are_converted_to_utc() -> None:
    experiment = parse_experiment(experiment_text(assigned='assigned_at = "2026-11-02T09:00:00-03:00"'))
    assert experiment.assigned_at == datetime(2026, 11, 2, 12, 0)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select contact_id from contacts; delete from contacts", "found 2 statements"),
        ("delete from contacts", "found a DELETE statement"),
        ("insert into contacts values ('a', 'BR', now())", "found a INSERT statement"),
        ("drop table contacts", "found a DROP statement"),
        (
            "with d as (delete from contacts returning contact_id) select contact_id from d",
            "it contains a DELETE",
        ),
        ("select id from contacts", "it returns id (alias the id column"),
        ("select contact_id from", "it does not parse at line 1"),
        ("", "found 0 statements"),
    ],
)
def test_audience_sql_must_be_one_select(sql: str, expected: str) -> None:
    message = error_of(experiment_text(extra=f'audience_sql = "{sql}"'))
    assert "audience_sql: must be exactly one SELECT statement returning a contact_id column" in message
    assert expected in message


@pytest.mark.parametrize(
    "sql",
    [
        "select contact_id from contacts where market = 'BR'",
        "SELECT c.contact_id FROM contacts AS c JOIN identities USING (contact_id);",
        "select contact_id from contacts union select contact_id from identities",
        "with br as (select * from contacts where market = 'BR') select * from br",
        "select contact_id from contacts where contact_id in (select contact_id from vip_list)",
    ],
)
def test_audience_sql_accepted(sql: str) -> None:
    check_audience_sql(sql)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SELECT column0 AS contact_id FROM read_csv('/etc/passwd', header=false, delim=':')",
            "table function read_csv()",
        ),
        ("select id as contact_id from read_csv('list.csv')", "table function read_csv()"),
        ("select contact_id from '/etc/passwd'", "'/etc/passwd', which is not a plain workspace table"),
        ("select contact_id from \\\"data.parquet\\\"", "'data.parquet', which is not a plain"),
        ("select contact_id from other_db.main.contacts", "'other_db.main.contacts'"),
        ("select contact_id from contacts where getenv('HOME') is not null", "getenv()"),
        (
            "select contact_id from contacts where contact_id in (select * from glob('/root/*'))",
            "table function glob()",
        ),
        ("select content as contact_id from read_text('/etc/hostname')", "read_text()"),
        ("select * from query('select 1 as contact_id')", "table function query()"),
    ],
)
def test_audience_sql_reads_workspace_tables_only(sql: str, expected: str) -> None:
    message = error_of(experiment_text(extra=f'audience_sql = "{sql}"'))
    assert "audience_sql:" in message
    assert expected in message


def test_layer_fields() -> None:
    experiment = parse_experiment(experiment_text(tail='[layer]\nname = "marketing"\nbuckets = [0, 2500]'))
    assert experiment.layer is not None
    assert experiment.layer.effective_salt == "marketing"
    assert experiment.layer.buckets == (0, 2500)
    for bad in ("[0, 10001]", "[5000, 5000]", "[-1, 10]"):
        message = error_of(experiment_text(tail=f'[layer]\nname = "marketing"\nbuckets = {bad}'))
        assert "layer.buckets: must be [start, stop] with 0 <= start < stop <= 10000" in message
    assert "layer.buckets: required field is missing" in error_of(experiment_text(tail='[layer]\nname = "m"'))


def test_version_field() -> None:
    assert parse_experiment(experiment_text(extra="version = 3")).version == 3
    assert "version: Input should be greater than or equal to 1" in error_of(experiment_text(extra="version = 0"))


def test_enrolment_field() -> None:
    assert parse_experiment(experiment_text()).enrolment == "once"
    assert parse_experiment(experiment_text(extra='enrolment = "rolling"')).enrolment == "rolling"
    message = error_of(experiment_text(extra='enrolment = "continuous"'))
    assert "enrolment: Input should be 'once' or 'rolling' (got 'continuous')" in message
    message = error_of(experiment_text(extra='assignment = "external"\nenrolment = "rolling"'))
    assert 'enrolment: applies to experiments threadlift assigns; with assignment = "external"' in message
    # the default is not an error there
    assert parse_experiment(experiment_text(extra='assignment = "external"')).enrolment == "once"


def test_unknown_field_names_the_field() -> None:
    assert "salf: unknown field" in error_of(experiment_text(extra='salf = "x"'))


def test_several_problems_are_reported_together() -> None:
    message = error_of(experiment_text(assigned='assigned_at = "nope"', treatment_weight="0"))
    assert "assigned_at:" in message
    assert "arms[1].weight:" in message


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "winback.toml"
    path.write_bytes(("# campaña\n" + experiment_text()).encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert str(info.value) == (
        f"{path}: not UTF-8 text (byte 0xf1 at offset 7); save the experiment file as UTF-8")


@pytest.mark.parametrize("nested", ["x = " + "[" * 5000 + "]" * 5000, "x = " + "{a = " * 5000 + "1" + "}" * 5000])
def test_deeply_nested_toml_is_a_config_error(nested: str) -> None:
    assert "nested too deeply" in error_of(nested + "\n" + experiment_text())


@pytest.mark.parametrize(
    ("extra", "tail", "expected"),
    [
        ("window_days = 1000000000", "", "window_days: Input should be less than or equal to 36500"),
        ("", "[eligibility]\nexclude_feedback_days = 1000000000",
         "eligibility.exclude_feedback_days: Input should be less than or equal to 36500"),
        ("", '[[metrics]]\nname = "m"\ntype = "mean"\naction = "order"\ncuped_days = 99999999999',
         "metrics[0].cuped_days: Input should be less than or equal to 36500"),
        ("window_days = 36500", "", "assigned_at + window_days is after the year 9999"),
    ],
)
def test_day_counts_are_bounded(extra: str, tail: str, expected: str) -> None:
    assigned = "assigned_at = 9990-01-01T00:00:00Z" if "36500" in extra else "assigned_at = 2026-11-02T09:00:00Z"
    assert expected in error_of(experiment_text(assigned=assigned, extra=extra, tail=tail))


def test_weights_are_at_most_a_trillion() -> None:
    message = error_of(experiment_text(holdout_weight="1e308", treatment_weight="1e308"))
    assert "arms[0].weight: Input should be less than or equal to 1000000000000" in message


@pytest.mark.parametrize(
    "bad_id", ["../escaped", "/etc/cron.d/x", "a/b", "..", ".hidden", "two words", "nul\\u0000", "x" * 201, ""]
)
def test_an_experiment_id_must_be_a_plain_name(bad_id: str) -> None:
    text = experiment_text().replace('id = "x"', f'id = "{bad_id}"')
    message = error_of(text)
    assert "id:" in message
    assert "experiment id" in message or "at least 1 character" in message


@pytest.mark.parametrize("good_id", ["wa-reactivation-2026-09", "A.b_c-1", "7", "x" * 200])
def test_plain_experiment_ids_are_kept(good_id: str) -> None:
    text = experiment_text().replace('id = "x"', f'id = "{good_id}"')
    assert parse_experiment(text).id == good_id
