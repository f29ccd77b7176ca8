"""After a sweep: one summary to each configured webhook, retried, never failing the sweep.

Two payloads: ``json`` (the :class:`SweepSummary` as JSON, for any receiver) and ``slack`` (an
incoming-webhook message: ``text`` plus ``blocks``). Each lists only regressions, new failures
and recoveries, with links to their reports, and the sweep's call-outs (OS or converter
updates). A POST is retried with exponential backoff; a webhook that still fails is logged and
skipped: the sweep's results are in the store whatever a chat service does.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from orchestrator.farmfile import Webhook
from orchestrator.sweep_review import SummaryItem, SweepSummary

log = logging.getLogger(__name__)


def json_payload(summary: SweepSummary) -> dict[str, Any]:
    return {"kind": "pomar.sweep", **summary.model_dump(mode="json")}


def slack_payload(summary: SweepSummary) -> dict[str, Any]:
    head = f"Pomar sweep {summary.sweep_id}: {headline(summary)}"
    sections = [
        ("Regressions", summary.regressions),
        ("New failures", summary.new_failures),
        ("Recoveries", summary.recoveries),
    ]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": _mrkdwn(f"*{head}*")}]
    for title, items in sections:
        if items:
            lines = "\n".join(f"• {_line(i)}" for i in items)
            blocks.append({"type": "section", "text": _mrkdwn(f"*{title}*\n{lines}")})
    if summary.callouts:
        lines = "\n".join(f"• {c}" for c in summary.callouts)
        blocks.append({"type": "context", "elements": [_mrkdwn(lines)]})
    return {"text": head, "blocks": blocks}


def headline(summary: SweepSummary) -> str:
    parts = [
        f"{len(summary.regressions)} regression(s)",
        f"{len(summary.new_failures)} new failure(s)",
        f"{len(summary.recoveries)} recovery(ies)",
    ]
    return f"{', '.join(parts)} in {summary.runs} run(s)"


def _line(item: SummaryItem) -> str:
    link = f"<{item.link}|report>" if item.link.startswith("http") else f"`{item.link}`"
    return f"{item.series}: {item.detail} ({link})"


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def post(
    url: str,
    body: dict[str, Any],
    *,
    attempts: int = 4,
    backoff_s: float = 0.5,
    timeout_s: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST ``body`` as JSON; retried on errors and 5xx/429 with backoff. True if delivered."""
    data = json.dumps(body).encode()
    for attempt in range(attempts):
        request = urllib.request.Request(
            url, data=data, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                if response.status < 300:
                    return True
                why = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            why = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                log.warning("webhook %s refused the summary: %s", url, why)
                return False
        except (urllib.error.URLError, OSError) as exc:
            why = str(getattr(exc, "reason", exc))
        log.warning("webhook %s attempt %d failed: %s", url, attempt + 1, why)
        if attempt + 1 < attempts:
            sleep(backoff_s * 2**attempt)
    return False


def notify(summary: SweepSummary, webhooks: Sequence[Webhook], **post_options: Any) -> int:
    """Send the summary to every webhook; returns how many took it. Never raises."""
    delivered = 0
    for hook in webhooks:
        body = slack_payload(summary) if hook.format == "slack" else json_payload(summary)
        try:
            delivered += post(hook.url, body, **post_options)
        except Exception:  # a notifier must never fail the sweep
            log.exception("webhook %s: unexpected error", hook.url)
    return delivered
