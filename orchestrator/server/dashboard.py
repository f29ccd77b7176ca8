"""The dashboard: server-rendered pages (Jinja2 templates shipped in the package) over the same
:class:`FarmService` as the API. Log in with a token; it is kept in an HTTP-only cookie."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from orchestrator.reports.summary import failure_reasons, latency_text, memory_text
from orchestrator.server import charts
from orchestrator.server.api import Service
from orchestrator.server.auth import COOKIE, NotLoggedIn, page_token
from orchestrator.server.tokens import Scope, Token
from pomar_core.wire import RunResult

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
pages = APIRouter(include_in_schema=False)
Viewer = Annotated[Token, Depends(page_token)]


def not_logged_in(request: Request, _: NotLoggedIn) -> Response:
    target = quote(request.url.path)
    return RedirectResponse(f"/login?next={target}", status_code=303)


def _render(request: Request, name: str, token: Token | None, **context: object) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"token": token, **context})


@pages.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return _render(request, "login.html", None, next=next, error=None)


@pages.post("/login", response_model=None)
def login(
    request: Request,
    service: Service,
    token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    found = service.tokens.verify(token.strip())
    if found is None or not found.allows(Scope.READ):
        return _render(request, "login.html", None, next=next, error="unknown or revoked token")
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, token.strip(), httponly=True, samesite="strict", max_age=7 * 24 * 3600
    )
    return response


@pages.get("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@pages.get("/", response_class=HTMLResponse)
def jobs_page(request: Request, service: Service, token: Viewer, limit: int = 50) -> HTMLResponse:
    jobs = service.jobs(limit=min(max(limit, 1), 500))
    totals: Counter[str] = Counter()
    for job in jobs:
        totals.update(job.counts)
    return _render(request, "jobs.html", token, jobs=jobs, totals=dict(sorted(totals.items())))


def _run_label(r: RunResult) -> str:
    return f"{r.device.marketing_name} · {r.compute_unit.value}"


@pages.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, service: Service, token: Viewer) -> HTMLResponse:
    job = service.job(job_id)
    runs = service.runs(job_id)
    results = [r.result for r in runs if r.result is not None]
    devices = sorted({r.device.udid: r.device.marketing_name for r in results}.items())
    units = sorted({r.spec.compute_unit.value for r in runs})
    matrix = {(r.device.udid, r.compute_unit.value): r for r in results}
    budgets = job.config.budgets
    failures = [(r, failure_reasons(r, budgets)) for r in results]
    latency = charts.bars(
        "latency p50 (ms)",
        [(_run_label(r), r.timings.latency.p50_ms if r.timings.latency else None) for r in results],
        "ms",
    )
    memory = charts.bars(
        "peak memory (MB)",
        [
            (_run_label(r), r.memory.peak_bytes / 2**20 if r.memory.peak_bytes else None)
            for r in results
        ],
        "MB",
    )
    return _render(
        request,
        "job.html",
        token,
        job=job,
        summary=service.summary(job, runs),
        runs=runs,
        devices=devices,
        units=units,
        matrix=matrix,
        failures=[(r, reasons) for r, reasons in failures if reasons],
        latency_svg=latency,
        memory_svg=memory,
        latency_text=latency_text,
        memory_text=memory_text,
    )


@pages.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, service: Service, token: Viewer) -> HTMLResponse:
    return _render(
        request, "devices.html", token, devices=service.device_views(), pools=service.pool_views()
    )


@pages.get("/series", response_class=HTMLResponse)
def series_page(
    request: Request,
    service: Service,
    token: Viewer,
    model: str | None = None,
    product: str | None = None,
    compute_unit: str | None = None,
) -> HTMLResponse:
    if not (model and product and compute_unit):
        return _render(request, "series_index.html", token, keys=service.series_keys())
    series = service.series(model, product, compute_unit)
    points = series.points
    marks = [
        (i, f"iOS {p.os_version}")
        for i, p in enumerate(points)
        if i > 0 and p.os_version != points[i - 1].os_version
    ]
    return _render(
        request,
        "series.html",
        token,
        series=series,
        os_changes=marks,
        latency_svg=charts.lines(
            "latency (ms)",
            {"p50": [p.p50_ms for p in points], "p90": [p.p90_ms for p in points]},
            marks,
            "ms",
        ),
        memory_svg=charts.lines(
            "peak memory (MB)",
            {"peak": [p.peak_bytes / 2**20 if p.peak_bytes else None for p in points]},
            marks,
            "MB",
        ),
        parity_svg=charts.lines(
            "worst relative L2 error", {"rel. L2": [p.parity_error for p in points]}, marks
        ),
    )
