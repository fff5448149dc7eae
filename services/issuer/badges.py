"""The generated badge image: an accessible SVG drawn from an achievement's name, level and colour.

Deterministic (the same inputs give the same bytes), so a version's image never needs storing.
Every piece of text goes through XML escaping: a name is data, never markup.
"""

import textwrap
from xml.sax.saxutils import escape, quoteattr

SIZE = 256
LINE_WIDTH = 16  # characters per line of the name, at the font size below
MAX_LINES = 3
DARK_TEXT, LIGHT_TEXT = "#111111", "#ffffff"


def _relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""
    channels = [int(colour[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(first: str, second: str) -> float:
    lighter, darker = sorted((_relative_luminance(first), _relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_colour(background: str) -> str:
    """Dark or light text, whichever contrasts more with the background (WCAG contrast ratio)."""
    return max((LIGHT_TEXT, DARK_TEXT), key=lambda candidate: _contrast(candidate, background))


def name_lines(name: str) -> list[str]:
    """The name wrapped to fit the badge, cut with an ellipsis past MAX_LINES."""
    lines = textwrap.wrap(" ".join(name.split()), LINE_WIDTH, break_long_words=True) or [""]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1][: LINE_WIDTH - 1].rstrip() + "…"
    return lines


def badge_svg(name: str, colour: str, level: int | None = None, level_name: str | None = None) -> str:
    """The SVG document of a badge: a coloured disc with the name and, if set, the level."""
    ink = text_colour(colour)
    label = name if level is None else f"{name}, level {level}" + (f" ({level_name})" if level_name else "")
    lines = name_lines(name)
    line_height = 24
    first_line_y = 128 - (len(lines) - 1) * line_height / 2 - (10 if level is not None else 0)
    name_text = "".join(
        f'<tspan x="128" y="{first_line_y + index * line_height:g}">{escape(line)}</tspan>' for index, line in enumerate(lines)
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}" '
        'role="img" aria-labelledby="badge-title">',
        f'<title id="badge-title">{escape(label)}</title>',
        f"<circle cx=\"128\" cy=\"128\" r=\"124\" fill={quoteattr(colour)}/>",
        f'<circle cx="128" cy="128" r="112" fill="none" stroke={quoteattr(ink)} stroke-width="3" stroke-opacity="0.6"/>',
        f'<text text-anchor="middle" dominant-baseline="middle" font-family="sans-serif" font-size="20" '
        f'font-weight="bold" fill={quoteattr(ink)}>{name_text}</text>',
    ]
    if level is not None:
        caption = f"Level {level}" + (f" · {level_name}" if level_name else "")
        level_y = first_line_y + len(lines) * line_height + 14
        parts.append(
            f'<text x="128" y="{level_y:g}" text-anchor="middle" dominant-baseline="middle" font-family="sans-serif" '
            f'font-size="15" fill={quoteattr(ink)}>{escape(caption)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
