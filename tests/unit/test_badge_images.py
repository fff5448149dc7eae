"""Badge images without I/O: the generated SVG, and what an uploaded PNG or SVG must be."""

import struct
import zlib
from xml.etree import ElementTree

import pytest

from services.issuer.badge_uploads import ImageTooLarge, png_dimensions, sanitised_svg, validated_image
from services.issuer.badges import badge_svg, name_lines, text_colour
from shared.errors import InvalidInput

SVG = "{http://www.w3.org/2000/svg}"


def png(width=32, height=16, signature=b"\x89PNG\r\n\x1a\n", header_crc=None) -> bytes:
    header = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    crc = zlib.crc32(header) if header_crc is None else header_crc
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return signature + struct.pack(">I", 13) + header + struct.pack(">I", crc) + end


def test_the_generated_badge_is_accessible_deterministic_svg_with_the_name_as_text():
    svg = badge_svg('<b onclick="x">Data & "SQL"</b>', "#1f5f8b", 2, "Intermediate")

    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("aria-labelledby") == "badge-title"
    assert root.find(f"{SVG}title").text == '<b onclick="x">Data & "SQL"</b>, level 2 (Intermediate)'
    assert root.find(f"{SVG}b") is None and all("onclick" not in element.attrib for element in root.iter())
    assert svg == badge_svg('<b onclick="x">Data & "SQL"</b>', "#1f5f8b", 2, "Intermediate")


def test_text_contrasts_with_the_badge_colour_and_long_names_are_cut():
    assert (text_colour("#000000"), text_colour("#ffffff"), text_colour("#f5d000")) == ("#ffffff", "#111111", "#111111")
    lines = name_lines("Advanced statistical modelling for operational forecasting teams")
    assert len(lines) == 3 and lines[-1].endswith("…")


def test_a_png_is_read_from_its_header_and_a_bad_one_says_why():
    assert png_dimensions(png()) == (32, 16)
    for bad, reason in [
        (png(signature=b"GIF89a\0\0"), "PNG signature"),
        (png(header_crc=0), "checksum"),
        (png()[:-12], "IEND"),
        (png(width=5000), "5000"),
    ]:
        with pytest.raises(InvalidInput, match=reason):
            png_dimensions(bad)


def test_an_image_over_256_kib_is_too_large():
    with pytest.raises(ImageTooLarge):
        validated_image("image/png", png() + b"\0" * 256 * 1024)


def test_an_svg_keeps_only_allowed_elements_and_attributes():
    cleaned = sanitised_svg(
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        b'xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" viewBox="0 0 4 4" data-x="1">'
        b'<sodipodi:namedview/><metadata>m</metadata><rect id="r" width="4" height="4" fill="url(#g)"/>'
        b'<use xlink:href="#r"/></svg>'
    )

    root = ElementTree.fromstring(cleaned)
    assert [child.tag for child in root] == [f"{SVG}rect", f"{SVG}use"]
    assert root.attrib == {"viewBox": "0 0 4 4"} and root[1].attrib == {"href": "#r"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>', "<script>"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><g onmouseover="x"/></svg>', "onmouseover"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:x()"/></svg>', "<a>"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><use href="data:image/svg+xml;base64,AAAA"/></svg>', "links outside"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://x.example/a.css);</style></svg>', "<style>"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://x.example/p)"/></svg>', "style="),
        (b'<!DOCTYPE svg [<!ENTITY e SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&e;</svg>', "DOCTYPE"),
        (b"<html><body/></html>", "root element"),
        (b"\x89PNG not svg", "well-formed"),
    ],
)
def test_an_unsafe_or_broken_svg_is_refused_with_its_reason(body, reason):
    with pytest.raises(InvalidInput) as refused:
        sanitised_svg(body)

    assert reason in refused.value.detail
