"""Baked badges: the image a person shares carries the signed credential inside it (OB 3.0 §5.3).

PNG: an `iTXt` chunk with the keyword `openbadgecredential` and the VC-JWT as its text.
SVG: an `<openbadges:credential>` element with the VC-JWT as its text content.
"""

import io
import struct
import zlib
from xml.etree import ElementTree

from defusedxml.ElementTree import fromstring
from PIL import Image, ImageDraw, ImageFont

KEYWORD = b"openbadgecredential"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
OPENBADGES_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"


def _chunks(png: bytes):
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG image")
    position = len(PNG_SIGNATURE)
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        yield kind, png[position + 8 : position + 8 + length], png[position : position + 12 + length]
        position += 12 + length


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bake_png(png: bytes, credential: str) -> bytes:
    """The PNG with the credential in an iTXt chunk (any earlier credential replaced)."""
    text = KEYWORD + b"\0" + b"\0\0" + b"\0" + b"\0" + credential.encode()  # uncompressed, no language, no translation
    baked = bytearray(PNG_SIGNATURE)
    for kind, data, raw in _chunks(png):
        if kind == b"iTXt" and data.startswith(KEYWORD + b"\0"):
            continue
        if kind == b"IEND":
            baked += _chunk(b"iTXt", text)
        baked += raw
    return bytes(baked)


def unbake_png(png: bytes) -> str | None:
    """The credential baked into a PNG, if any (what a verifier's upload does)."""
    for kind, data, _raw in _chunks(png):
        if kind == b"iTXt" and data.startswith(KEYWORD + b"\0"):
            keyword_end = data.index(b"\0")
            language_end = data.index(b"\0", keyword_end + 3)
            translated_end = data.index(b"\0", language_end + 1)
            return data[translated_end + 1 :].decode()
    return None


def bake_svg(svg: str, credential: str) -> str:
    """The SVG with an openbadges:credential element carrying the credential."""
    ElementTree.register_namespace("", SVG_NAMESPACE)
    ElementTree.register_namespace("openbadges", OPENBADGES_NAMESPACE)
    root = fromstring(svg)
    for old in root.findall(f"{{{OPENBADGES_NAMESPACE}}}credential"):
        root.remove(old)
    element = ElementTree.Element(f"{{{OPENBADGES_NAMESPACE}}}credential")
    element.text = credential
    root.insert(0, element)
    return ElementTree.tostring(root, encoding="unicode")


def unbake_svg(svg: str) -> str | None:
    element = fromstring(svg).find(f"{{{OPENBADGES_NAMESPACE}}}credential")
    return element.text if element is not None else None


def badge_png(name: str, colour: str = "#1f5fbf", size: int = 400) -> bytes:
    """A round badge with the credential's initials, for credentials whose image is an SVG."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, size - 8, size - 8), fill=colour, outline="#ffffff", width=12)
    initials = "".join(word[0] for word in name.split()[:3]).upper() or "?"
    font = ImageFont.load_default(size=size // 4)
    draw.text((size / 2, size / 2), initials, fill="#ffffff", font=font, anchor="mm")
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()
