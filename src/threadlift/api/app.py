"""The assignment API: ``create_app(settings)`` for tests, :func:`serve` for ``threadlift serve``.

Endpoints (all under ``Authorization: Bearer <key>`` except ``/healthz`` and the docs):

- ``GET /v1/experiments`` and ``GET /v1/experiments/{experiment_id}`` (scope ``read``);
- ``GET /v1/experiments/{experiment_id}/assignments/{contact_id}`` (``read``);
- ``POST /v1/experiments/{experiment_id}/assignments:batch`` (``read``; up to 10,000 ids);
- ``POST /v1/exposures`` (``write``; idempotent by ``exposure_id``, durable once acknowledged);
- ``GET /v1/status`` (``read``): the snapshot's time, experiments, problems, last error;
- ``GET /healthz`` (ok / not ready, nothing more); OpenAPI at ``/openapi.json``, ``/docs`` and ``/redoc``.

Answers come from the worker's in-memory snapshot (:mod:`threadlift.api.snapshot`), whose
eligibility :func:`threadlift.assign.eligibility_snapshot` computed: the API and
``threadlift assign`` are one contract. Every error has one body,
``{"ok": false, "error": "...", "status": 4xx}``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, MutableMapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from threadlift.errors import ConfigError, ThreadliftError

from . import models
from .exposures import Exposure, ExposureConflictError, ExposureLog, Mismatch, mismatch, naive_utc
from .security import ApiKey, KeyRing, load_keys
from .settings import SETTINGS_ENV, ApiSettings
from .snapshot import ServedExperiment, Snapshot, SnapshotService

logger = logging.getLogger("threadlift.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ApiStartError(ThreadliftError):
    """uvicorn could not start the API for a reason the settings check did not catch."""

    exit_code = 1


class ApiError(Exception):
    """An error answered with the canonical body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The canonical error body ``{"ok": false, "error": message, "status": status}``."""
    return JSONResponse({"ok": False, "error": message, "status": status}, status_code=status, headers=headers)


def _error_body_bytes(status: int, message: str) -> bytes:
    return json.dumps({"ok": False, "error": message, "status": status}).encode()


class BodyLimit:
    """Pure ASGI middleware: 413 for a request body above ``limit`` bytes (declared or streamed)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    await self._too_large(send)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # An HTTPException passes through FastAPI's body parsing unchanged.
                    raise StarletteHTTPException(413, self._message())
            return message

        await self.app(scope, limited_receive, send)

    def _message(self) -> str:
        return f"request body larger than {self.limit} bytes"

    async def _too_large(self, send: Send) -> None:
        body = _error_body_bytes(413, self._message())
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key: `Authorization: Bearer <key>`. Scopes: read (experiments, "
    "assignments), write (exposures).",
}
_SECURED: dict[str, Any] = {"security": [{"bearer": []}]}


def _authorization(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The first ``Authorization`` header, as ``request.headers.get`` gives it (the ASGI
    server has lower-cased the names), read from the raw list: the Headers mapping costs
    several times more on the hot path."""
    for name, value in headers:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


def _require(scope_name: str) -> Callable[[Request], Awaitable[ApiKey]]:
    # One flat dependency reading the header itself: nested dependencies (HTTPBearer)
    # cost more per request than the whole lookup. The scheme is declared in OpenAPI by
    # create_app.
    async def check(request: Request) -> ApiKey:
        header = _authorization(request.scope["headers"])
        scheme, _, secret = (header or "").partition(" ")
        if not header or scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(
                401,
                "missing API key: send the header `Authorization: Bearer <key>`",
                {"WWW-Authenticate": "Bearer"},
            )
        key: ApiKey | None = request.app.state.keyring.identify(secret.strip())
        if key is None:
            raise ApiError(401, "invalid API key", {"WWW-Authenticate": "Bearer"})
        if not key.allows(scope_name):
            raise ApiError(403, f"API key {key.name!r} does not have the {scope_name} scope")
        return key

    return check


_check_read = _require("read")
"""The read check :func:`_lookup` calls directly (the hot path): one dependency level
fewer is about a fifth of that endpoint's cost in FastAPI."""
ReadKey = Annotated[ApiKey, Depends(_check_read)]
WriteKey = Annotated[ApiKey, Depends(_require("write"))]
ExperimentId = Annotated[str, Path(min_length=1, max_length=models.MAX_ID_LENGTH)]
ContactIdPath = Annotated[str, Path(min_length=1, max_length=models.MAX_ID_LENGTH)]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "The body is not decodable (e.g. not UTF-8)",
        401: "Missing or invalid API key",
        403: "The key lacks the scope",
        404: "No such experiment",
        409: "Conflict: the experiment cannot be served, or an exposure id was reused",
        413: "Request body too large",
        422: "Invalid request",
        503: "No snapshot loaded yet",
    }
    return {code: {"model": models.ErrorBody, "description": described[code]} for code in codes}


def _snapshot(request: Request) -> Snapshot:
    service: SnapshotService = request.app.state.snapshots
    snapshot = service.current
    if snapshot is None:
        raise ApiError(503, "no snapshot of the workspace is loaded yet; see GET /v1/status")
    return snapshot


def _served(request: Request, experiment_id: str) -> ServedExperiment:
    snapshot = _snapshot(request)
    served = snapshot.experiments.get(experiment_id)
    if served is None:
        raise ApiError(404, f"no experiment {experiment_id!r}; GET /v1/experiments lists them")
    if served.state == "external":
        raise ApiError(
            409,
            f"experiment {experiment_id!r} is assigned externally (arms loaded from a file); "
            "the API serves only experiments threadlift assigns",
        )
    if served.state != "ok":
        raise ApiError(409, f"experiment {experiment_id!r} cannot be served: {served.problem}")
    return served


async def _lookup(request: Request, experiment_id: str, contact_id: str) -> Response:
    """The single lookup: the read check, the experiment, the contact's answer."""
    await _check_read(request)
    served = _served(request, experiment_id)
    return Response(served.answer(contact_id).encode(), media_type="application/json")


def _valid_path_id(value: str) -> bool:
    """What :data:`ExperimentId` and :data:`ContactIdPath` accept."""
    return 1 <= len(value) <= models.MAX_ID_LENGTH


class LookupRoute(APIRoute):
    """The single lookup's route (FastAPI's ``get_route_handler`` hook, made for this).

    A request whose two path segments :data:`ExperimentId` and :data:`ContactIdPath`
    accept goes straight to :func:`_lookup`, the function the declared endpoint calls:
    FastAPI's parameter machinery (solving the dependencies, validating each parameter)
    costs more than the lookup itself. Any other request goes to FastAPI's own handler,
    which refuses it with 422 as the OpenAPI document says; the document itself is made
    from the declared endpoint, unchanged.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        standard = super().get_route_handler()

        async def handler(request: Request) -> Response:
            params = request.path_params
            experiment_id, contact_id = params["experiment_id"], params["contact_id"]
            if _valid_path_id(experiment_id) and _valid_path_id(contact_id):
                return await _lookup(request, experiment_id, contact_id)
            return await standard(request)

        return handler


def _summary(served: ServedExperiment) -> models.ExperimentSummary:
    experiment = served.experiment
    return models.ExperimentSummary(
        id=experiment.id,
        channel=experiment.channel,
        category=experiment.category,
        sender_id=experiment.sender_id,
        assigned_at=experiment.assigned_at.replace(tzinfo=UTC),
        window_days=experiment.window_days,
        state=served.state,
    )


def _detail(served: ServedExperiment, snapshot: Snapshot) -> models.ExperimentDetail:
    experiment = served.experiment
    counts = served.counts
    weights = {arm.name: arm.weight for arm in experiment.arms}
    layer = experiment.layer
    return models.ExperimentDetail(
        **_summary(served).model_dump(),
        salt=experiment.effective_salt,
        source=served.source,
        problem=served.problem,
        layer=None
        if layer is None
        else models.Layer(
            name=layer.name,
            salt=layer.effective_salt,
            bucket_start=layer.buckets[0],
            bucket_stop=layer.buckets[1],
        ),
        arms=[
            models.Arm(
                name=r.name,
                weight=weights[r.name],
                holdout=r.holdout,
                bucket_start=r.start,
                bucket_stop=r.stop,
                eligible_contacts=counts.get(r.name, 0),
            )
            for r in experiment.ranges()
        ],
        known_contacts=served.known_contacts,
        snapshot_at=snapshot.built_at.replace(tzinfo=UTC),
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ""
        for piece in error.get("loc", ()):
            where += f"[{piece}]" if isinstance(piece, int) else (f".{piece}" if where else str(piece))
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def create_app(settings: ApiSettings, *, snapshots: SnapshotService | None = None) -> FastAPI:
    """The API application.

    Args:
        settings: Experiments, workspace, keys and limits.
        snapshots: A snapshot service to use (tests); by default one is made, started at
            start-up (building or loading the first snapshot) and stopped at shutdown.

    Raises:
        ConfigError: no usable API keys, or the experiments directory is missing.
    """
    if not settings.experiments_dir.is_dir():
        raise ConfigError(f"experiments directory {settings.experiments_dir} does not exist")
    keyring = KeyRing(load_keys(settings.keys_file, settings.keys))
    service = snapshots or SnapshotService(settings)
    exposure_log = ExposureLog(settings.resolved_state_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if snapshots is None:
            service.start()
        try:
            yield
        finally:
            if snapshots is None:
                service.stop()

    app = FastAPI(
        title="threadlift assignment API",
        version="1",
        summary="Which arm is this contact in? Ask before you send; report what you sent.",
        lifespan=lifespan,
    )
    app.state.keyring = keyring
    app.state.snapshots = service
    app.state.settings = settings
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = BEARER_SCHEME
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}) or None)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, _validation_message(exc))

    @app.exception_handler(ExposureConflictError)
    async def conflict(request: Request, exc: ExposureConflictError) -> JSONResponse:
        return error_response(409, str(exc))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; the server log has the details")

    async def get_assignment(
        request: Request, experiment_id: ExperimentId, contact_id: ContactIdPath
    ) -> Response:
        """The contact's arm, holdout flag, eligibility (with the failing rule) and bucket."""
        return await _lookup(request, experiment_id, contact_id)

    # Added first: a request is matched against the routes in order, and this is the hot one.
    app.router.add_api_route(
        "/v1/experiments/{experiment_id}/assignments/{contact_id}",
        get_assignment,
        methods=["GET"],
        openapi_extra=_SECURED,
        response_model=models.Assignment,
        responses=_errors(401, 403, 404, 409, 422, 503),
        tags=["assignments"],
        route_class_override=LookupRoute,
    )

    @app.get("/healthz", response_model=models.Health, responses={503: {"model": models.Health}}, tags=["health"])
    async def healthz() -> JSONResponse:
        """Whether this worker has a snapshot to serve (200) or not yet (503), and nothing more.

        Unauthenticated, so it names no experiment, file or error: ``GET /v1/status`` (a
        ``read`` key) gives the details.
        """
        ready = service.current is not None
        body = models.Health(ok=ready, status="ok" if ready else "not ready")
        return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)

    @app.get(
        "/v1/status",
        openapi_extra=_SECURED,
        response_model=models.Status,
        responses=_errors(401, 403),
        tags=["health"],
    )
    async def status(key: ReadKey) -> models.Status:
        """The snapshot's time, experiments, builder role, problems and last build error."""
        snapshot = service.current
        return models.Status(
            ok=snapshot is not None,
            snapshot_at=None if snapshot is None else snapshot.built_at.replace(tzinfo=UTC),
            experiments=0 if snapshot is None else len(snapshot.experiments),
            builder=service.is_builder,
            problems=[] if snapshot is None else list(snapshot.problems),
            last_error=service.last_error,
        )

    @app.get(
        "/v1/experiments",
        openapi_extra=_SECURED,
        response_model=models.ExperimentList,
        responses=_errors(401, 403, 503),
        tags=["experiments"],
    )
    async def list_experiments(request: Request, key: ReadKey) -> models.ExperimentList:
        """Every experiment of the experiments directory, as the current snapshot has it."""
        snapshot = _snapshot(request)
        return models.ExperimentList(
            experiments=[_summary(s) for s in snapshot.experiments.values()],
            snapshot_at=snapshot.built_at.replace(tzinfo=UTC),
        )

    @app.get(
        "/v1/experiments/{experiment_id}",
        openapi_extra=_SECURED,
        response_model=models.ExperimentDetail,
        responses=_errors(401, 403, 404, 422, 503),
        tags=["experiments"],
    )
    async def get_experiment(request: Request, key: ReadKey, experiment_id: ExperimentId) -> models.ExperimentDetail:
        """An experiment's design (arms and their bucket ranges) and eligible contacts per arm."""
        snapshot = _snapshot(request)
        served = snapshot.experiments.get(experiment_id)
        if served is None:
            raise ApiError(404, f"no experiment {experiment_id!r}; GET /v1/experiments lists them")
        return _detail(served, snapshot)

    @app.post(
        "/v1/experiments/{experiment_id}/assignments:batch",
        openapi_extra=_SECURED,
        response_model=models.BatchAssignments,
        responses=_errors(400, 401, 403, 404, 409, 413, 422, 503),
        tags=["assignments"],
    )
    async def batch_assignments(
        request: Request, key: ReadKey, experiment_id: ExperimentId, body: models.BatchRequest
    ) -> Response:
        """Up to 10,000 contacts at once: one answer per distinct id, in the order asked."""
        if len(body.contact_ids) > settings.max_batch:
            raise ApiError(413, f"at most {settings.max_batch} contact ids per request (got {len(body.contact_ids)})")
        served = _served(request, experiment_id)
        head = json.dumps(
            {"experiment_id": experiment_id, "snapshot_at": served.snapshot_at}, ensure_ascii=False
        )[:-1]
        answers = ",".join(served.answers(list(dict.fromkeys(body.contact_ids))))
        return Response(f'{head}, "assignments": [{answers}]}}'.encode(), media_type="application/json")

    @app.post(
        "/v1/exposures",
        openapi_extra=_SECURED,
        response_model=models.ExposureAck,
        response_model_exclude_none=True,
        responses=_errors(400, 401, 403, 409, 413, 422, 503),
        tags=["exposures"],
    )
    def post_exposures(request: Request, key: WriteKey, body: models.ExposureBatch) -> models.ExposureAck:
        """Record what the sending system did; acknowledged exposures are on disk (fsynced).

        Idempotent by ``exposure_id``: the same exposure again is a ``duplicate``; the same
        id with different content is 409 and nothing of the request is written. An exposure
        that contradicts the contact's assignment (another arm, a contact not in the
        experiment, a real send to a holdout contact, a counterfactual one for a treatment
        contact) is recorded, since the send happened, and its result names the
        ``mismatch``; the report raises an ``exposure_mismatch`` alert for it.
        """
        if len(body.exposures) > settings.max_exposures:
            raise ApiError(413, f"at most {settings.max_exposures} exposures per request (got {len(body.exposures)})")
        snapshot = _snapshot(request)
        now = datetime.now(UTC).replace(tzinfo=None)
        exposures = []
        mismatches: list[tuple[Mismatch, str] | None] = []
        for index, item in enumerate(body.exposures):
            served = snapshot.experiments.get(item.experiment_id)
            where = f"body.exposures[{index}]"
            if served is None:
                raise ApiError(422, f"{where}.experiment_id: no experiment {item.experiment_id!r}")
            if item.arm is not None and item.arm not in {arm.name for arm in served.experiment.arms}:
                raise ApiError(
                    422,
                    f"{where}.arm: {item.arm!r} is not an arm of {item.experiment_id} "
                    f"({', '.join(arm.name for arm in served.experiment.arms)})",
                )
            # An experiment assigned externally has no arms in the snapshot to check against;
            # the report checks its exposures against the loaded assignments.
            mismatches.append(
                mismatch(served.status_of(item.contact_id), item.arm, item.source)
                if served.state == "ok"
                else None
            )
            exposures.append(
                Exposure(
                    exposure_id=item.exposure_id,
                    experiment_id=item.experiment_id,
                    contact_id=item.contact_id,
                    arm=item.arm,
                    ts=naive_utc(item.ts),
                    source=item.source,
                )
            )
        recorded = exposure_log.record(exposures, received_at=now)
        return models.ExposureAck(
            results=[
                models.ExposureResult(
                    exposure_id=result.exposure_id,
                    status=result.status,
                    mismatch=None if found is None else found[0],
                    message=None if found is None else found[1],
                )
                for result, found in zip(recorded, mismatches, strict=True)
            ]
        )

    return app


def settings_from_env() -> ApiSettings:
    """Settings as :func:`serve` passes them to worker processes, else from ``THREADLIFT_API_*``."""
    text = os.environ.get(SETTINGS_ENV)
    if text:
        return ApiSettings.model_validate_json(text)
    return ApiSettings()  # required fields come from the environment


PARENT_ENV = "THREADLIFT_API_PARENT"
"""The pid of ``threadlift serve``, for its worker processes to die with it."""


def die_with_parent() -> None:
    """Make this worker process exit when ``threadlift serve`` dies, even by ``kill -9``.

    uvicorn's workers are children of the ``serve`` process; an OOM kill of the parent
    would otherwise leave them serving (and holding the port) with nobody to stop them.
    On Linux the kernel sends SIGTERM (uvicorn's graceful stop) when the parent dies
    (``prctl(PR_SET_PDEATHSIG)``); a parent that died before that was set is caught by
    comparing the parent pid with the one ``serve`` recorded.
    """
    parent = os.environ.get(PARENT_ENV)
    if not parent or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0) != 0:
        logger.warning("could not ask to die with the parent (errno %s)", ctypes.get_errno())
    if os.getppid() != int(parent):
        os.kill(os.getpid(), signal.SIGTERM)


def app_from_env() -> FastAPI:
    """The application factory uvicorn's worker processes call (``--factory``)."""
    die_with_parent()
    return create_app(settings_from_env())


def _check_port(host: str, port: int) -> None:
    """Refuse a port another process listens on, before any worker starts."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror}; another server (an earlier "
                "threadlift serve?) holds it: stop it, or choose another --port"
            ) from exc


def serve(
    settings: ApiSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_level: str = "info",
    access_log: bool = True,
) -> None:
    """Run the API with uvicorn (what ``threadlift serve`` calls); returns when it stops.

    The settings are checked here (keys, experiments directory), before any worker starts,
    so a bad setting is one error line, not a crash loop of workers.

    Raises:
        ConfigError: unusable settings.
    """
    import uvicorn

    if not settings.experiments_dir.is_dir():
        raise ConfigError(f"experiments directory {settings.experiments_dir} does not exist")
    load_keys(settings.keys_file, settings.keys)
    _check_port(host, port)
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    os.environ[PARENT_ENV] = str(os.getpid())
    try:
        uvicorn.run(
            "threadlift.api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=access_log,
        )
    except SystemExit as exc:
        if exc.code not in (0, None):
            # uvicorn exits 3 when it cannot start; 3 is threadlift's alert code.
            raise ApiStartError(
                f"the API did not start on {host}:{port} (uvicorn exit {exc.code}); "
                "the log above says why"
            ) from exc
        raise
