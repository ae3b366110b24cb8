"""Collection and database names as file names that stay where they are put.

MongoDB allows nearly anything in a collection name (`/`, `..`, leading dots, control
characters), and a dump's folder names may not even be UTF-8 (they arrive surrogate-escaped).
Written as they are, such names would climb out of `--out`, hide, break a terminal or fail to
encode. A name that is already plain is kept as it is, so ordinary output reads as before;
otherwise every unsafe character becomes `_`, an overlong name is cut, and a short hash of the
original name is added so two names never share a file, also on case-insensitive filesystems.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable

# control characters, path separators, characters Windows forbids, lone surrogates (non-UTF-8)
UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|\u2028\u2029\ud800-\udfff]')
COMMENT_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
MAX_STEM_BYTES = 180  # + "-" + hash + ".json" stays far below the usual 255-byte name limit


def short_hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def cleaned(name: str) -> str:
    """`name` with every unsafe character replaced, no leading dot, no trailing dot or space
    (Windows drops those), at most MAX_STEM_BYTES of UTF-8."""
    text = UNSAFE.sub("_", name)
    text = re.sub(r"^\.+", lambda dots: "_" * len(dots.group()), text)
    text = re.sub(r"[. ]+$", lambda tail: "_" * len(tail.group()), text) or "_"
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_STEM_BYTES:
        text = encoded[:MAX_STEM_BYTES].decode("utf-8", "ignore")
    return text


def safe_stems(names: Iterable[str]) -> dict[str, str]:
    """A file-name stem for each name: the name itself when it is safe and unique ignoring case,
    else its cleaned form plus `-<hash of the original>`."""
    names = sorted(set(names))
    clean = {name: cleaned(name) for name in names}
    folded = Counter(stem.casefold() for stem in clean.values())
    return {name: stem if stem == name and folded[stem.casefold()] == 1 else f"{stem}-{short_hash(name)}"
            for name, stem in clean.items()}


def script_comment(text: str) -> str:
    """`text` safe inside a `//` comment of a generated script: a line break in a collection
    name would otherwise end the comment and turn the rest of the name into code."""
    return COMMENT_UNSAFE.sub(lambda c: c.group().encode("unicode_escape").decode("ascii"), text)
