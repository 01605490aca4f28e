"""Display-width text layout for receipts: a CJK character takes two columns.

Used both for the ESC/POS encoder (where two columns = one 24-dot Chinese glyph next to 12-dot
ASCII glyphs) and for the plain-text preview, so both wrap identically.
"""

from __future__ import annotations

import unicodedata

# Characters a receipt printer can't show as such; '¥' in particular prints as '?' or as a
# backslash on Chinese firmware, so it is sent as the full-width '￥' (GB18030 A3 A4).
SUBSTITUTIONS = {"\u00a5": "\uffe5", "\t": " "}


def normalize_text(text: str) -> str:
    """Apply printer substitutions and drop control characters (except none kept)."""
    out = []
    for ch in text:
        ch = SUBSTITUTIONS.get(ch, ch)
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        out.append(ch)
    return "".join(out)


def char_width(ch: str) -> int:
    """Columns one character takes on the printer: 2 for wide/full-width, else 1."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Columns ``text`` takes."""
    return sum(char_width(ch) for ch in text)


def wrap(text: str, width: int) -> list[str]:
    """Wrap ``text`` to lines of at most ``width`` columns.

    Latin words break at spaces when possible; CJK text breaks between any two characters.
    An empty text gives one empty line.
    """
    width = max(width, 2)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        line_w = 0
        for word in _tokens(paragraph):
            w = text_width(word)
            if line_w + w <= width:
                line += word
                line_w += w
                continue
            if word == " ":
                lines.append(line.rstrip())
                line, line_w = "", 0
                continue
            if w <= width and line:
                lines.append(line.rstrip())
                line, line_w = word, w
                continue
            for ch in word:  # longer than a line (or CJK): break anywhere
                cw = char_width(ch)
                if line_w + cw > width:
                    lines.append(line.rstrip())
                    line, line_w = "", 0
                line += ch
                line_w += cw
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    """Split into spaces, runs of narrow non-space characters, and single wide characters."""
    tokens: list[str] = []
    current = ""
    for ch in text:
        if ch == " " or char_width(ch) == 2:
            if current:
                tokens.append(current)
                current = ""
            tokens.append(ch)
        else:
            current += ch
    if current:
        tokens.append(current)
    return tokens


def pad(text: str, width: int, align: str = "left") -> str:
    """Pad ``text`` (already fitting) to ``width`` columns: left, right or center."""
    gap = max(0, width - text_width(text))
    if align == "right":
        return " " * gap + text
    if align == "center":
        left = gap // 2
        return " " * left + text + " " * (gap - left)
    return text + " " * gap


def truncate(text: str, width: int) -> str:
    """Cut ``text`` to at most ``width`` columns."""
    out, used = "", 0
    for ch in text:
        cw = char_width(ch)
        if used + cw > width:
            break
        out += ch
        used += cw
    return out
