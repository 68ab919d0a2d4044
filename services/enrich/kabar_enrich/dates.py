"""Publication dates from page metadata or from the text, stored in UTC.

Indonesian outlets print the date near the top ("Kamis, 19 Oktober 2023 - 16:08:00 WIB")
or in the reporting line ("dilansir AFP, Sabtu (12/7/2025)"). A date is taken only when it
comes with a weekday (that is how publication dates are written, unlike event dates in
the prose) and the weekday agrees with the calendar. Zones: WIB = UTC+7, WITA = UTC+8,
WIT = UTC+9; a date without a zone is read in the configured default zone (WIB). No match
means no date: absent rather than guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

import htmldate

ZONES: dict[str, tzinfo] = {
    "WIB": timezone(timedelta(hours=7)), "WITA": timezone(timedelta(hours=8)), "WIT": timezone(timedelta(hours=9)),
    "UTC": UTC, "GMT": UTC,
}
DEFAULT_ZONE = ZONES["WIB"]
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)

_WEEKDAYS = {  # Monday = 0, as datetime.weekday()
    "senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "jum'at": 4, "sabtu": 5, "minggu": 6, "ahad": 6,
    "isnin": 0, "khamis": 3, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
}
_MONTHS = {
    "januari": 1, "februari": 2, "pebruari": 2, "maret": 3, "mac": 3, "april": 4, "mei": 5, "juni": 6, "jun": 6,
    "juli": 7, "julai": 7, "agustus": 8, "ogos": 8, "september": 9, "oktober": 10, "november": 11,
    "nopember": 11, "desember": 12, "disember": 12, "january": 1, "february": 2, "march": 3, "may": 5,
    "june": 6, "july": 7, "august": 8, "october": 10, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jul": 7, "agu": 8, "agt": 8, "aug": 8, "sep": 9, "sept": 9,
    "okt": 10, "oct": 10, "nov": 11, "des": 12, "dec": 12,
}
_WEEKDAY = "(?P<weekday>" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + ")"
_MONTH = "(?P<month_name>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_TIME = r"(?:\s*[-–,|/]?\s*(?:pukul\s*)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?" \
        r"\s*(?P<zone>WIB|WITA|WIT|UTC|GMT)?)?"
_WEEKDAY_ONLY = re.compile(r"\b" + _WEEKDAY + r"\b", re.IGNORECASE)
_PATTERNS = [
    # Sabtu (12/7/2025)  ·  Senin (13/3/ 2017)  ·  Sabtu, 12/07/2025 10:00 WIB
    re.compile(_WEEKDAY + r"\s*[,(]\s*(?P<day>\d{1,2})\s*/\s*(?P<month>\d{1,2})\s*/\s*(?P<year>\d{4})\s*\)?" + _TIME,
               re.IGNORECASE),
    # Kamis, 19 Oktober 2023 - 16:08:00 WIB  ·  Saturday, 12 July 2025
    re.compile(_WEEKDAY + r"\s*,?\s*(?P<day>\d{1,2})\s+" + _MONTH + r"\s+(?P<year>\d{4})" + _TIME, re.IGNORECASE),
    # Saturday, July 12, 2025
    re.compile(_WEEKDAY + r"\s*,?\s*" + _MONTH + r"\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})" + _TIME, re.IGNORECASE),
]


def date_from_text(
    text: str, default_zone: tzinfo = DEFAULT_ZONE, not_after: datetime | None = None
) -> datetime | None:
    """The first weekday-confirmed date in the text, as an aware UTC datetime."""
    latest = (not_after or datetime.now(UTC)) + timedelta(days=1)
    # Every pattern starts with a weekday: find those first (one cheap scan), then try the
    # full patterns only there.
    for weekday in _WEEKDAY_ONLY.finditer(text):
        for pattern in _PATTERNS:
            match = pattern.match(text, weekday.start())
            parsed = _parse(match, default_zone) if match else None
            if parsed is not None and EARLIEST <= parsed <= latest:
                return parsed
    return None


def date_from_html(html: str, default_zone: tzinfo = DEFAULT_ZONE) -> datetime | None:
    """The publication date in a page's metadata (htmldate), without guessing from the body."""
    found = htmldate.find_date(html, extensive_search=False, original_date=True,
                               outputformat="%Y-%m-%dT%H:%M:%S%z")
    if not found:
        return None
    parsed = datetime.fromisoformat(found)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_zone)
    return parsed.astimezone(UTC)


def _parse(match: re.Match[str], default_zone: tzinfo) -> datetime | None:
    fields = match.groupdict()
    month = int(fields["month"]) if fields.get("month") else _MONTHS[fields["month_name"].lower()]
    try:
        day = date(int(fields["year"]), month, int(fields["day"]))
        clock = time(int(fields["hour"] or 0), int(fields["minute"] or 0), int(fields["second"] or 0))
    except ValueError:
        return None
    if day.weekday() != _WEEKDAYS[fields["weekday"].lower()]:
        return None  # "Sabtu (13/7/2025)" is not a Saturday: a misreading, not a date
    zone = ZONES[fields["zone"].upper()] if fields.get("zone") else default_zone
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)
