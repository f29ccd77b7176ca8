"""The dashboard in headless Chromium (Debian's, driven by Playwright): log in with a token,
open a job, read its verdict matrix, failed rules and plots, follow links to the HTML report,
the devices page and a series' trend, all checked on the DOM."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from orchestrator.server.app import create_app
from orchestrator.server.tokens import Scope
from orchestrator.stores.sql import SqlJobStore
from tests.conftest import need_service
from tests.integration.conftest import free_port
from tests.orchestrator.server.conftest import make_service
from tests.orchestrator.server.seed import seed_finished_job

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class LiveServer:
    """uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture
def site(pg_url: str, broker: str, tmp_path: Path) -> Iterator[tuple[LiveServer, SqlJobStore, str]]:
    store = SqlJobStore(pg_url)
    service = make_service(store, broker, tmp_path, upload_limit=1 << 20)
    token, _ = service.tokens.create("dashboard-viewer", (Scope.READ,))
    with LiveServer(create_app(service)) as server:
        yield server, store, token
    store.close()


@pytest.fixture
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        need_service("chromium", "apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def test_log_in_open_a_job_see_the_matrix_and_follow_links(
    site: tuple[LiveServer, SqlJobStore, str], browser: object, tmp_path: Path
) -> None:
    server, store, token = site
    model = f"dash-{time.monotonic_ns()}.mlpackage"
    seed_finished_job(store, "dash-old", runs=2, model=model, os_version="17.4")
    job_id = seed_finished_job(store, "dash", runs=4, model=model, os_version="18.0")
    page = browser.new_page()  # type: ignore[attr-defined]

    page.goto(f"{server.url}/jobs/{job_id}")
    assert page.url.startswith(f"{server.url}/login")
    page.fill("#token", "pomar_000000000000_wrong")
    page.click("#login")
    assert "unknown or revoked" in page.inner_text("#login-error")
    page.fill("#token", token)
    page.click("#login")
    page.wait_for_url(f"{server.url}/jobs/{job_id}")

    cells = page.locator("#matrix td.cell")
    assert cells.count() == 4
    by_unit = {cells.nth(i).get_attribute("data-unit"): cells.nth(i).inner_text() for i in range(4)}
    assert by_unit == {
        "cpu": "passed",
        "ane": "parity_failed",
        "gpu": "passed",
        "all": "parity_failed",
    }
    assert page.locator("#matrix td.parity_failed").count() == 2
    reasons = page.locator("#failures li.reason").all_inner_texts()
    assert any("triage fp16_overflow" in r for r in reasons)
    assert page.locator("#latency-plot svg rect.bar").count() == 4
    assert page.locator("#memory-plot svg rect.bar").count() == 4
    shot = tmp_path / "job.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    page.click("#html-report")
    page.wait_for_load_state()
    assert page.title().startswith("Pomar report")
    assert "parity_failed" in page.content()
    page.go_back()

    page.click("#runs a:text('history') >> nth=0")
    page.wait_for_url("**/series?**")
    assert page.locator("#nights tr").count() >= 3  # header + both nights on that unit
    assert "iOS 18.0" in page.inner_text("#os-changes")
    assert page.locator("#trend-latency svg polyline").count() == 2  # p50 and p90
    assert page.locator("#trend-latency svg line.os-change").count() == 1

    page.click("header a:text('Devices')")
    page.wait_for_url(f"{server.url}/devices")
    row = page.locator("#devices tr", has_text="seed-phone-1")
    assert "lost" in row.inner_text()

    page.click("header a:text('Jobs')")
    counts = page.locator("#status-counts span")
    statuses = {counts.nth(i).get_attribute("data-status") for i in range(counts.count())}
    assert {"passed", "parity_failed"} <= statuses
    assert page.locator(f"#jobs a.job-link:text('{job_id}')").count() == 1
