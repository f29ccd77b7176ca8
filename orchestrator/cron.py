"""Cron expressions, read in a time zone: what beat and the farm file both parse."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from celery.schedules import crontab

from pomar_core.errors import UsageError


def parse_cron(text: str, timezone: str = "UTC") -> crontab:
    """A five-field cron expression (minute hour day-of-month month day-of-week), read in
    ``timezone`` (an IANA name)."""
    fields = text.split()
    if len(fields) != 5:
        raise UsageError(
            f"bad cron expression '{text}': it needs 5 fields, not {len(fields)}",
            hint="e.g. '0 2 * * *' for every night at 02:00 UTC",
        )
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        schedule = crontab(minute, hour, day_of_week, day_of_month, month_of_year)
    except (ValueError, IndexError) as exc:
        raise UsageError(f"bad cron expression '{text}': {exc}", hint="e.g. '0 2 * * *'") from None
    if timezone != "UTC":
        schedule.tz = ZoneInfo(timezone)  # a cached property: the fields match local time
    return schedule
