"""report.json's JSON Schema, generated from the section result types.

:class:`~threadlift.analysis.run.ReportJson` types every key of ``report.json`` by its
section's frozen dataclasses; pydantic turns them into a JSON Schema here, at the edge, so
the result types stay plain dataclasses. Every object lists all its keys as required and
allows no others; every float may be null (NaN and infinities are written as null). The
field docstrings become the schema's descriptions. After changing a result type run::

    python -m threadlift.analysis.schema > docs/report.schema.json

``tests/analysis/test_schema.py`` checks that the committed file is current and that
written reports validate against it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import ConfigDict, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from threadlift.analysis.run import ReportJson

DIALECT = "https://json-schema.org/draft/2020-12/schema"

ISO_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$"
"""An ISO 8601 time as Python writes it; workspace times are UTC without an offset."""

_CONFIG = ConfigDict(
    extra="forbid",
    use_attribute_docstrings=True,
    json_schema_serialization_defaults_required=True,
)


class _ReportSchema(GenerateJsonSchema):
    """Floats may be null; times are ISO 8601 strings, UTC, usually without an offset."""

    def float_schema(self, schema: core_schema.FloatSchema) -> JsonSchemaValue:
        return {"type": ["number", "null"]}

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        return {"type": "string", "pattern": ISO_TIME}


def report_schema() -> dict[str, Any]:
    """The JSON Schema of ``report.json`` (draft 2020-12)."""
    # A bare dataclass takes no TypeAdapter config; inside a list its fields get it.
    adapter = TypeAdapter(list[ReportJson], config=_CONFIG)
    generated = adapter.json_schema(mode="serialization", schema_generator=_ReportSchema)
    definitions: dict[str, Any] = generated["$defs"]
    report: dict[str, Any] = definitions.pop(ReportJson.__name__)
    return {"$schema": DIALECT, **report, "title": "report.json", "$defs": definitions}


def schema_text() -> str:
    """:func:`report_schema` as the text of ``docs/report.schema.json``."""
    return json.dumps(report_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Print the schema (``python -m threadlift.analysis.schema > docs/report.schema.json``)."""
    sys.stdout.write(schema_text())


if __name__ == "__main__":
    main()
