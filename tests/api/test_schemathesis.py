"""Property-based run of schemathesis against the API's own OpenAPI spec: no 5xx, no schema violations.

Every operation is exercised with generated valid and invalid requests (bounded by
``MAX_EXAMPLES`` per operation, well under a minute in all), authenticated with a key
holding both scopes; each response must be no server error, have a documented status
code and content type, and match its documented schema (the canonical error body included).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.openapi import from_asgi

from api_world import make_world
from threadlift.api.app import create_app
from threadlift.api.snapshot import SnapshotService

MAX_EXAMPLES = 40


# The pytest plugin needs the schema when the module is collected, so the world is built
# here (a 1,000-contact workspace takes well under a second) and removed at exit.
_ROOT = Path(tempfile.mkdtemp(prefix="threadlift-schemathesis-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
WORLD = make_world(_ROOT, n_contacts=1_000)
_SERVICE = SnapshotService(WORLD.settings())
_CONFIG = SchemathesisConfig()
_CONFIG.projects.default.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES
)
_APP = create_app(WORLD.settings(), snapshots=_SERVICE)
schema = from_asgi("/openapi.json", _APP, config=_CONFIG)

# Random experiment ids are nearly always unknown (404), so a second run pins the path's
# experiment_id to a served experiment to reach the assignment answers themselves.
_PINNED = SchemathesisConfig()
_PINNED.projects.default.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES
)
_PINNED.projects.default.update(parameters={"experiment_id": "br-utility"})
pinned_schema = from_asgi("/openapi.json", _APP, config=_PINNED).include(path_regex="assignments")


@pytest.fixture(scope="module", autouse=True)
def _snapshots() -> Iterator[None]:
    _SERVICE.start()
    try:
        yield
    finally:
        _SERVICE.stop()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_openapi_spec(case: Case) -> None:
    case.call_and_validate(
        headers=WORLD.headers(),
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )


@pinned_schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_assignments_of_a_served_experiment_conform(case: Case) -> None:
    case.call_and_validate(
        headers=WORLD.headers(),
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
