"""Baked badges carry the signed credential, and a verifier gets it back out unchanged."""

import io

import pytest
from PIL import Image

from services.issuer.baking import badge_png, bake_png, bake_svg, unbake_png, unbake_svg

CREDENTIAL = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJkaWQ6d2ViOmV4YW1wbGUifQ.c2lnbmF0dXJl"


def test_a_baked_png_is_still_a_valid_image_and_carries_the_credential():
    baked = bake_png(badge_png("SQL Foundations"), CREDENTIAL)

    assert Image.open(io.BytesIO(baked)).size == (400, 400)
    assert unbake_png(baked) == CREDENTIAL


def test_baking_again_replaces_the_credential_instead_of_adding_one():
    baked = bake_png(bake_png(badge_png("SQL"), "old.credential.jwt"), CREDENTIAL)

    assert unbake_png(baked) == CREDENTIAL
    assert baked.count(b"openbadgecredential") == 1


def test_a_non_png_is_refused():
    with pytest.raises(ValueError, match="not a PNG"):
        bake_png(b"GIF89a...", CREDENTIAL)


def test_a_baked_svg_carries_the_credential_in_an_openbadges_element():
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><title>SQL</title><circle r="4"/></svg>'

    baked = bake_svg(svg, CREDENTIAL)

    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in baked
    assert f"<openbadges:credential>{CREDENTIAL}</openbadges:credential>" in baked
    assert unbake_svg(baked) == CREDENTIAL
    assert unbake_svg(bake_svg(baked, "new.credential.jwt")) == "new.credential.jwt"
