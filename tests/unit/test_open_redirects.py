"""Where a sign-in may send a person afterwards: a path of this site, whatever `next` says.

Each target is checked as a browser reads a Location header: tabs and newlines dropped, a
backslash taken for a slash, the result resolved against the page's URL.
"""

from urllib.parse import unquote, urljoin, urlsplit

import pytest

from shared.sso import safe_next

SITE = "https://skills.example.com/pathways/auth/callback"
OFF_SITE = [
    "https://evil.example",
    "http://evil.example/approvals",
    "HTTPS://evil.example",
    "//evil.example",
    "///evil.example",
    "//evil.example/%2F..",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "http:evil.example",
    "http:/evil.example",
    "https:/\\evil.example",
    "/ok\r\nLocation: https://evil.example",  # a header of its own, were it let through
    "/\x00/evil.example",
    "/\u2028/evil.example",
]
# What a query string gives once decoded, from encoded (and double-encoded) attacks.
ENCODED = ["%2F%2Fevil.example", "%2f%5cevil.example", "%5C%5Cevil.example", "javascript%3Aalert(1)",
           "%252F%252Fevil.example", "/%0d%0a/evil.example", "%09//evil.example", "https%3A%2F%2Fevil.example"]


def where_a_browser_goes(location: str) -> tuple[str, str]:
    """The scheme and host a browser would go to for this Location, from SITE (WHATWG URL parsing, roughly)."""
    cleaned = "".join(character for character in location if character not in "\t\r\n").strip("\x00 ").replace("\\", "/")
    target = urlsplit(urljoin(SITE, cleaned))
    return target.scheme, target.netloc


@pytest.mark.parametrize("target", ["/approvals", "/?tab=team", "/pathways/data-analyst", "/catalog/sql%2F101/edit", "/%2F%2Fevil.example"])
def test_a_path_of_this_site_is_kept(target):
    assert safe_next(target) == target
    assert where_a_browser_goes("/pathways" + target) == ("https", "skills.example.com")


@pytest.mark.parametrize("target", OFF_SITE + [unquote(encoded) for encoded in ENCODED])
def test_anything_else_becomes_the_start_page(target):
    kept = safe_next(target)

    assert where_a_browser_goes("/pathways" + kept) == ("https", "skills.example.com")
    assert kept == "/" or kept.startswith("/") and kept.isprintable() and "\\" not in kept


@pytest.mark.parametrize("target", OFF_SITE)
def test_every_known_attack_is_refused_outright(target):
    assert safe_next(target) == "/"


def test_the_browser_model_of_this_test_does_see_the_attacks():
    assert where_a_browser_goes("/\\evil.example") == ("https", "evil.example")
    assert where_a_browser_goes("/\t/evil.example") == ("https", "evil.example")
