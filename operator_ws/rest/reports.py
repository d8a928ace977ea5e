"""Reports: ``GET /api/v1/reports/summary``, ``/api/v1/reports/breakdown?by=...`` and
``/api/v1/reports/hours``, as JSON or, with ``format=csv``, as CSV (docs/reports.md).
Supervisors and admins only (``reports.require_reports``)."""

from __future__ import annotations

from aiohttp import web

from inbox.domain.errors import InvalidInput
from inbox.usecases import Core
from operator_ws.rest.common import Caller, authed
from reports import (
    ReportQuery,
    ReportService,
    hours_csv,
    parse_group,
    require_reports,
    rows_csv,
)

__all__ = ["ReportRoutes"]

_CSV = "text/csv"


def _wants_csv(request: web.Request) -> bool:
    fmt = request.query.get("format", "json") or "json"
    if fmt not in ("json", "csv"):
        raise InvalidInput("'format' must be json or csv")
    return fmt == "csv"


def _csv_response(body: str, name: str) -> web.Response:
    return web.Response(
        text=body,
        content_type=_CSV,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


class ReportRoutes:
    def __init__(self, core: Core, reports: ReportService) -> None:
        self._core = core
        self._reports = reports

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.get("/api/v1/reports/summary", authed(core, self.summary, scope="reports:read")),
            web.get(
                "/api/v1/reports/breakdown", authed(core, self.breakdown, scope="reports:read")
            ),
            web.get("/api/v1/reports/hours", authed(core, self.hours, scope="reports:read")),
        ]

    @staticmethod
    def _check(caller: Caller) -> None:
        # The one permission check. An API token reaches it only with ``reports:read``
        # (``authed`` checked the scope) and then acts as a supervisor (docs/api.md).
        require_reports(caller.operator)

    async def summary(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        self._check(caller)
        csv_wanted = _wants_csv(request)
        report = await self._reports.summary(None, ReportQuery.of(request.query))
        if csv_wanted:
            return _csv_response(rows_csv([report]), "summary")
        return web.json_response(report)

    async def breakdown(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        self._check(caller)
        csv_wanted = _wants_csv(request)
        by = parse_group(request.query.get("by"))
        report = await self._reports.breakdown(None, ReportQuery.of(request.query), by)
        if csv_wanted:
            return _csv_response(rows_csv(report["rows"], ("group", "name")), f"by-{by}")
        return web.json_response(report)

    async def hours(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        self._check(caller)
        csv_wanted = _wants_csv(request)
        report = await self._reports.hours(None, ReportQuery.of(request.query))
        if csv_wanted:
            return _csv_response(hours_csv(report), "hours")
        return web.json_response(report)
