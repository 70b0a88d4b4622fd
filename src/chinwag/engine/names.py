# ruff: noqa: RUF002 (the docstring shows look-alike letters on purpose)
"""Rules for user and room names.

People are called José, Дмитрий and 日本, so a username may hold letters, marks and digits of
any script, plus `_`, `-` and `.`; 1-32 characters once NFKC-normalised (full-width and
styled letters become plain ones). Never controls, format characters (bidi overrides, zero-
width joiners), spaces or symbols: a name must look like what it is.

A name may mix scripts only where no character could pass for one of another (`аlice` with a
Cyrillic `а` is refused: confusable_homoglyphs' data from Unicode's confusables.txt).

Names are unique by their *skeleton* (`user_key`), after UTS #39: the name is case-folded,
then each character is replaced by the plainest character it can be confused with. `Alice`,
`alice`, `аlice` (Cyrillic а), `ａｌｉｃｅ` and `a1ice` share one skeleton: only one of them can
be online, and a guest cannot take one that an account has registered. The skeleton is ours,
not the Unicode one exactly: confusable characters are grouped (a union of every pair the
data lists) and each group is represented by its lowest code point; case is folded first
(so `AIice`, with a capital i, is not folded onto `alice`), and sequences that pass for one
character (`rn` for `m`) are not folded.

Room names stay 1-32 ASCII letters, digits, `_` and `-` (they become IRC channels).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from confusable_homoglyphs import confusables

NAME_MAX = 32
_EXTRA = frozenset("_-.")
_ROOM = re.compile(r"#?([A-Za-z0-9_\-]{1,32})")

NAME_RULE = (
    "Usernames are 1-32 letters or digits (any script), '_', '-' or '.',"
    " without mixing look-alike scripts"
)
ROOM_RULE = "Room names are 1-32 characters: letters, digits, '_' and '-'"


def normalize_name(name: str) -> str:
    """The form a name is shown and stored in: NFKC (full-width `ａ` is `a`)."""
    return unicodedata.normalize("NFKC", name)


def valid_username(name: str) -> bool:
    """Whether a (normalised) name may be claimed."""
    if not 1 <= len(name) <= NAME_MAX or name != normalize_name(name):
        return False
    if unicodedata.category(name[0]).startswith("M"):
        return False  # a combining mark needs something to combine with
    for char in name:
        category = unicodedata.category(char)
        if not (category[0] in "LM" or category == "Nd" or char in _EXTRA):
            return False
    if name.isascii():
        return True
    return not confusables.is_dangerous(name)


@cache
def _groups() -> dict[str, str]:
    """Each confusable character -> the lowest code point of its group (union-find)."""
    data: dict[str, list[dict[str, str]]] = confusables.confusables_data  # loaded at import
    parent: dict[str, str] = {}

    def root(char: str) -> str:
        while parent.get(char, char) != char:
            parent[char] = parent.get(parent[char], parent[char])  # path halving
            char = parent[char]
        return char

    for char, alikes in data.items():
        if len(char) != 1:
            continue
        for alike in alikes:
            other = alike["c"]
            if len(other) != 1:
                continue
            a, b = root(char), root(other)
            if a != b:
                low, high = (a, b) if ord(a) < ord(b) else (b, a)
                parent[high] = low
    return {char: root(char) for char in parent}


@cache
def _ascii_table() -> dict[int, str]:
    groups = _groups()
    return {code: groups.get(chr(code), chr(code)) for code in range(128)}


def prepare() -> None:
    """Build the skeleton tables now (about 70 ms), not in the first join's handler."""
    _ascii_table()


def user_key(name: str) -> str:
    """The skeleton that makes names unique: look-alikes and case differences share one."""
    if name.isascii():
        return name.casefold().translate(_ascii_table())
    groups = _groups()
    decomposed = unicodedata.normalize("NFD", normalize_name(name).casefold())
    return unicodedata.normalize("NFC", "".join(groups.get(char, char) for char in decomposed))


def normalize_room(name: str) -> str | None:
    """The display name of a room ('#dev' -> 'dev'), or None if it is not a valid name."""
    match = _ROOM.fullmatch(name.strip())
    return match.group(1) if match else None


def room_key(name: str) -> str:
    return name.casefold()
