"""A person's locale (a BCP 47 language tag) and time zone (an IANA name): checked and written one way.

Both are optional: empty means unknown, and whoever formats for the person (notifications) uses
its defaults. Tags are stored with hyphens in BCP 47's conventional case (`en_gb` -> `en-GB`),
since some IdPs send POSIX-style underscores; a tag must be one Babel has locale data for.
"""

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

MAX_LOCALE_LENGTH = 35  # the longest tag RFC 5646 section 4.4.1 asks implementations to keep
MAX_TIME_ZONE_LENGTH = 64
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
TIME_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$")


def canonical_locale(tag: str | None) -> str | None:
    """A language tag with hyphens in BCP 47's conventional case (zh_hant_tw -> zh-Hant-TW); None if empty."""
    if not tag or not tag.strip():
        return None
    first, *rest = tag.strip().replace("_", "-").split("-")
    subtags, in_extension = [first.lower()], False
    for subtag in rest:
        in_extension = in_extension or len(subtag) == 1  # after a singleton (-u-, -x-) everything is lower case
        if not in_extension and len(subtag) == 2:
            subtags.append(subtag.upper())  # region
        elif not in_extension and len(subtag) == 4 and subtag.isalpha():
            subtags.append(subtag.title())  # script
        else:
            subtags.append(subtag.lower())
    return "-".join(subtags)


def canonical_time_zone(name: str | None) -> str | None:
    """A time zone name without surrounding spaces; None if empty."""
    return (name.strip() or None) if name else None


def locale_problem(tag: str) -> str | None:
    """What is wrong with a non-empty locale, or None if it is a language tag Babel knows."""
    tag = canonical_locale(tag) or ""
    if len(tag) > MAX_LOCALE_LENGTH or not LANGUAGE_TAG.match(tag):
        return f"not a language tag like en-GB or fr (at most {MAX_LOCALE_LENGTH} characters)"
    try:
        Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return f"unknown locale {tag!r}"
    return None


def time_zone_problem(name: str) -> str | None:
    """What is wrong with a non-empty time zone, or None if it is an IANA name this system knows."""
    name = canonical_time_zone(name) or ""
    if len(name) > MAX_TIME_ZONE_LENGTH or not TIME_ZONE_NAME.match(name):
        return "not an IANA time zone name like Europe/Berlin"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones, e.g. "Europe"
        return f"unknown time zone {name!r}"
    return None


# Per directory column: what is wrong with a non-empty value, and its stored form.
PROBLEMS = {"locale": locale_problem, "time_zone": time_zone_problem}
CANONICAL = {"locale": canonical_locale, "time_zone": canonical_time_zone}
