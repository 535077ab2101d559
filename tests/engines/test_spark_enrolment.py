"""``assign_spark`` follows ``assign``'s run rules: a first run with nobody eligible is
refused and appends nothing, a ``once`` experiment refuses to add contacts later, a
``rolling`` one adds them dated when first assigned.

Starting the JVM takes tens of seconds on a small machine, so the module is ``slow``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytest.importorskip("pyspark")

from threadlift.engines.lake import export_lake
from threadlift.engines.spark import SparkEngine, assign_spark
from threadlift.errors import EnrolmentClosedError, NoEligibleContactsError
from threadlift.experiment import Experiment
from threadlift.workspace import Workspace

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

AT = datetime(2026, 11, 2, 9, 0, 0)
DAY = timedelta(days=1)


def _lake_rows(lake: Path) -> dict[str, datetime]:
    rows = duckdb.connect().execute(
        "SELECT contact_id, assigned_at FROM read_parquet($p) WHERE experiment_id = 'camp'",
        {"p": str(lake / "assignments" / "*.parquet")},
    ).fetchall()
    return {str(contact_id): at for contact_id, at in rows}


def test_spark_assign_follows_the_first_run_and_enrolment_rules(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    workspace = Workspace.create(tmp_path / "ws.duckdb")
    workspace.con.execute(
        "INSERT INTO contacts SELECT 'c' || i, 'BR', $t FROM range(10) AS r(i)", {"t": AT - 400 * DAY}
    )
    export_lake(workspace, lake)

    def grant(*ids: str) -> None:
        workspace.con.executemany(
            "INSERT INTO consents VALUES ($1, 'whatsapp', NULL, 'marketing', 'granted', $2, 'form')",
            [(contact_id, AT - DAY) for contact_id in ids],
        )
        export_lake(workspace, lake, ("consents",))
        engine.refresh("consents")

    fields: dict[str, Any] = {
        "id": "camp", "channel": "whatsapp", "assigned_at": "2026-11-02T09:00:00Z",
        "arms": [{"name": "holdout", "weight": 10, "holdout": True}, {"name": "whatsapp", "weight": 90}],
    }
    once = Experiment.model_validate(fields)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    engine = SparkEngine.local(lake, master="local[2]")
    try:
        with pytest.raises(NoEligibleContactsError) as nobody:
            assign_spark(engine, once, now=AT + 3 * DAY)
        assert nobody.value.excluded == {"no_consent": 10}
        assert "nothing was appended" in str(nobody.value)
        assert _lake_rows(lake) == {}

        grant("c0", "c1", "c2", "c3", "c4", "c5")
        first = assign_spark(engine, once, now=AT + 3 * DAY)
        assert (first.assigned, first.evaluated_at) == (6, AT)
        assert set(_lake_rows(lake).values()) == {AT}
        again = assign_spark(engine, once, now=AT + 4 * DAY)
        assert (again.assigned, sum(again.by_arm.values())) == (0, 6)

        grant("c6")
        with pytest.raises(EnrolmentClosedError) as closed:
            assign_spark(engine, once, now=AT + 5 * DAY)
        assert closed.value.newly_eligible == 1
        assert 'enrolment = "rolling"' in str(closed.value)
        assert "--new-version" in str(closed.value)
        assert len(_lake_rows(lake)) == 6

        rolling = once.model_copy(update={"enrolment": "rolling"})
        added = assign_spark(engine, rolling, now=AT + 5 * DAY)
        assert (added.assigned, added.evaluated_at) == (1, AT + 5 * DAY)
        assert _lake_rows(lake)["c6"] == AT + 5 * DAY
    finally:
        engine.stop()
        workspace.close()
