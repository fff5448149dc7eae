"""Uploaded badge images: a PNG checked by its bytes, or an SVG rebuilt from an allow-list.

A badge image is shown wherever a credential travels, so an SVG that could run a script,
embed foreign content or fetch anything from elsewhere is refused with its reasons, and what
is stored is a re-serialisation of the allowed elements and attributes only (editor metadata
and unknown attributes are dropped).
"""

import re
import struct
import zlib
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from shared.errors import DomainError, InvalidInput

PNG, SVG = "image/png", "image/svg+xml"
MEDIA_TYPES = (PNG, SVG)
MAX_BYTES = 256 * 1024
MAX_PIXELS_PER_SIDE = 2048
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NS, XLINK_NS = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"

ELEMENTS = frozenset(
    "svg g defs title desc path rect circle ellipse line polyline polygon text tspan linearGradient "
    "radialGradient stop clipPath mask use symbol style".split()
)
REFUSED_ELEMENTS = frozenset({"script", "foreignObject", "iframe", "embed", "object", "image", "feImage", "a"})
ATTRIBUTES = frozenset(
    "id class style x y x1 y1 x2 y2 cx cy r rx ry fx fy d points width height viewBox preserveAspectRatio "
    "transform fill fill-opacity fill-rule stroke stroke-width stroke-opacity stroke-linecap stroke-linejoin "
    "stroke-dasharray stroke-dashoffset stroke-miterlimit opacity clip-path clip-rule clipPathUnits mask "
    "maskUnits offset stop-color stop-opacity gradientUnits gradientTransform spreadMethod font-family "
    "font-size font-weight font-style text-anchor dominant-baseline letter-spacing dx dy visibility display "
    "role aria-label aria-labelledby aria-hidden version href".split()
)
EXTERNAL_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)


class ImageTooLarge(DomainError):
    status = 413
    title = "Content too large"


def check_size(length: int | None) -> None:
    """Refuse an image body longer than MAX_BYTES, before or after reading it."""
    if length is not None and length > MAX_BYTES:
        raise ImageTooLarge(f"a badge image may be at most {MAX_BYTES // 1024} KiB; this one is {length} bytes")


def validated_image(media_type: str, body: bytes) -> bytes:
    """The bytes to store for an uploaded badge image, or InvalidInput/ImageTooLarge saying what is wrong."""
    check_size(len(body))
    if not body:
        raise InvalidInput("the image is empty", errors={"image": ["empty body"]})
    if media_type == PNG:
        png_dimensions(body)
        return body
    return sanitised_svg(body)


def png_dimensions(body: bytes) -> tuple[int, int]:
    """Width and height from a PNG's signature and IHDR chunk (CRC checked), or InvalidInput."""
    problems = []
    if not body.startswith(PNG_SIGNATURE):
        problems.append("not a PNG: the file does not start with the PNG signature")
    elif len(body) < 33 or body[12:16] != b"IHDR" or struct.unpack(">I", body[8:12])[0] != 13:
        problems.append("not a PNG: the IHDR header chunk is missing")
    elif zlib.crc32(body[12:29]) != struct.unpack(">I", body[29:33])[0]:
        problems.append("damaged PNG: the IHDR checksum does not match")
    elif chunk_problem := _chunk_problem(body):
        problems.append(chunk_problem)
    else:
        width, height = struct.unpack(">II", body[16:24])
        if not (1 <= width <= MAX_PIXELS_PER_SIDE and 1 <= height <= MAX_PIXELS_PER_SIDE):
            limit = f"{MAX_PIXELS_PER_SIDE}×{MAX_PIXELS_PER_SIDE}"
            problems.append(f"a badge image may be at most {limit} pixels; this one is {width}×{height}")
        else:
            return width, height
    raise InvalidInput(problems[0], errors={"image": problems})


def _chunk_problem(body: bytes) -> str | None:
    """Why the chunks after the signature do not run whole to an IEND ending the file, if they do not
    (baking the credential in walks them: a length pointing past the end would break it there)."""
    position = len(PNG_SIGNATURE)
    while position + 12 <= len(body):
        length, kind = struct.unpack(">I4s", body[position : position + 8])
        end = position + 12 + length
        if end > len(body):
            return f"damaged PNG: the chunk at byte {position} runs past the end of the file"
        if kind == b"IEND":
            return None if end == len(body) else "damaged PNG: there are bytes after the IEND chunk"
        position = end
    return "truncated PNG: the IEND chunk is missing"


def _local(name: str) -> tuple[str | None, str]:
    """(namespace, local name) of an ElementTree tag or attribute name."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return None, name


def _attribute_problems(tag: str, name: str, value: str) -> list[str]:
    """Why an attribute makes the SVG unsafe, if it does."""
    namespace, local = _local(name)
    if local.lower().startswith("on"):
        return [f"<{tag}> has an event handler attribute {local}="]
    if local == "href" and namespace in (None, XLINK_NS) and not value.strip().startswith("#"):
        return [f"<{tag}> links outside the image ({local}={value[:80]!r}); only '#id' references are allowed"]
    if EXTERNAL_URL.search(value) or "@import" in value.lower() or "javascript:" in value.lower():
        return [f"<{tag}> {local}= refers to something outside the image"]
    return []


def _clean(source: Element, target: Element | None, problems: list[str]) -> Element | None:
    """Copy an allowed element, its allowed attributes and children; record unsafe content."""
    namespace, tag = _local(source.tag)
    if tag in REFUSED_ELEMENTS:
        problems.append(f"<{tag}> is not allowed in a badge image")
        return None
    if namespace != SVG_NS or tag not in ELEMENTS:
        return None  # editor metadata and the like: dropped
    if tag == "style" and source.text and (EXTERNAL_URL.search(source.text) or "@import" in source.text.lower()):
        problems.append("<style> refers to something outside the image")
    attributes = {}
    for name, value in source.attrib.items():
        problems.extend(_attribute_problems(tag, name, value))
        attribute_namespace, local = _local(name)
        if local in ATTRIBUTES and attribute_namespace in (None, XLINK_NS if local == "href" else None):
            attributes[local] = value
    # Unqualified names, the namespace declared on the root: ElementTree's default_namespace
    # refuses unqualified attribute names.
    element = Element(tag, {"xmlns": SVG_NS} | attributes) if target is None else SubElement(target, tag, attributes)
    element.text, element.tail = source.text, source.tail
    for child in source:
        if _clean(child, element, problems) is None and child.tail:
            element.text = (element.text or "") + child.tail  # keep the text that followed a dropped child
    return element


def sanitised_svg(body: bytes) -> bytes:
    """The SVG rebuilt from allowed elements and attributes, or InvalidInput listing what is unsafe."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        refusal = "DOCTYPE and entity declarations are not allowed in a badge image"
        raise InvalidInput(refusal, errors={"image": [refusal]}) from None
    except (ParseError, ValueError) as error:
        raise InvalidInput(f"not a well-formed SVG: {error}", errors={"image": [f"unparseable: {error}"]}) from None
    if _local(root.tag) != (SVG_NS, "svg"):
        raise InvalidInput("not an SVG: the root element must be <svg> in the SVG namespace", errors={"image": ["root is not <svg>"]})
    problems: list[str] = []
    cleaned = _clean(root, None, problems)
    if problems:
        unique_problems = list(dict.fromkeys(problems))
        raise InvalidInput("the SVG has unsafe content: " + "; ".join(unique_problems), errors={"image": unique_problems})
    return tostring(cleaned, encoding="unicode").encode()
