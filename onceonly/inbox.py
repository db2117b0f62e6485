"""The inbox: what may be read from it, and where anything derived from it may be written.

File names and the hidden sheets of returned workbooks come from outside. Nothing taken from
them may lead a path out of the data folder or onto a file that is already there: inbox entries
are accepted only as plain regular files with ordinary names, and every path built from outside
text goes through `child_path`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("onceonly.inbox")

MAX_NAME_LENGTH = 200
_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


class UnsafePathError(ValueError):
    """A name from outside would have led a path out of its folder."""


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    name_shown: str  # printable, truncated form of the name, safe for a log line
    reason: str


def _shown(name: str) -> str:
    printable = "".join(ch if ch.isprintable() else "?" for ch in name)
    return printable[:60] + ("…" if len(printable) > 60 else "")


def why_not_acceptable(path: Path) -> str | None:
    """The reason an inbox entry is not read, or None when it is an acceptable file."""
    name = path.name
    if path.is_symlink():
        return "it is a symbolic link; copy the file itself into the inbox"
    if not path.is_file():
        return "it is not a regular file"
    if name.startswith((".", "~$")):
        return "it is a hidden or temporary file"
    if len(name) > MAX_NAME_LENGTH:
        return f"its name is longer than {MAX_NAME_LENGTH} characters"
    if _UNSAFE_IN_NAME.search(name) or unicodedata.normalize("NFKC", name) in ("", ".", ".."):
        return "its name contains control or path characters"
    return None


def inbox_files(inbox: Path) -> tuple[list[Path], list[SkippedEntry]]:
    """Plain files in the inbox, sorted by name, and the entries skipped with their reason."""
    if not inbox.exists():
        return [], []
    accepted, skipped = [], []
    for path in sorted(inbox.iterdir()):
        reason = why_not_acceptable(path)
        if reason is None:
            accepted.append(path)
        else:
            skipped.append(SkippedEntry(_shown(path.name), reason))
    return accepted, skipped


def safe_name(text: str, fallback: str = "unnamed") -> str:
    """One path component made from outside text: no separators, controls or leading dots."""
    cleaned = _UNSAFE_IN_NAME.sub("_", unicodedata.normalize("NFKC", text)).strip(" .")
    return (cleaned or fallback)[:MAX_NAME_LENGTH]


def child_path(base: Path, *parts: str) -> Path:
    """A path under `base` built from outside text; raises if it would lead anywhere else."""
    candidate = base.joinpath(*(safe_name(p) for p in parts))
    resolved_base = base.resolve()
    resolved = candidate.resolve()
    if resolved != resolved_base and resolved_base not in resolved.parents:
        raise UnsafePathError(
            f"A path built from an incoming name would leave {base}; the name was refused."
        )
    return candidate
