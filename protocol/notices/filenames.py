"""Attachment file names: what a notice may call a file, and the name a person saves it under.

A file name in a notice is the partner's words, shown to people and offered
to their browsers and disks. Two rules keep it from deceiving them:

- It is one plain line: no control characters, and none of Unicode's
  *format* characters (category Cf: the bidirectional overrides, embeddings,
  isolates and marks, zero-width joiners, the byte-order mark…) nor line or
  paragraph separators. With a right-to-left override, ``acta_\u202efdp.html``
  is displayed as "acta_lmth.pdf": a page that looks like a PDF. Such a name
  is refused (``bad_format``), on publication and on receipt.
- The name a file is *saved* under takes its extension from the media type
  the node checked against the content (chapter 10 §1), never from the
  partner: ``informe.html`` holding a PDF is saved as ``informe.pdf``, so
  opening it opens a PDF reader, not a browser.

Pure functions; no I/O.
"""

from __future__ import annotations

import re
import unicodedata

from baliza.protocol.errors import InputError, ReasonCode

# Each media type's extension, and the other spellings of it a name may keep
# (keyed by the type's value: ``MediaType`` is a ``StrEnum`` of these, and
# its module checks every ``Attachment`` name here, so this one imports none).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image/jpeg": ("jpg", "jpeg"),
    "image/png": ("png",),
    "image/webp": ("webp",),
    "image/heic": ("heic", "heif"),
    "application/pdf": ("pdf",),
    "text/plain": ("txt",),
    "text/csv": ("csv",),
    "video/mp4": ("mp4",),
}
# Categories refused in a file name: controls, format characters (bidi
# controls, zero-width characters), line and paragraph separators, private
# use and surrogates. (Unassigned code points are not refused: which are
# unassigned depends on the Unicode version a node runs, and nodes must agree.)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs"})
# What a saved name replaces: characters that some file systems refuse or that
# shells and dialogs read as syntax.
_UNSAFE_ON_DISK = re.compile(r'[<>:"/\\|?*]')
# A last suffix that reads as an extension (letters and digits, with a letter).
_SUFFIX = re.compile(r"(?=[0-9]*[A-Za-z])[A-Za-z0-9]{1,10}")


def check_filename(name: str, path: str = "filename") -> str:
    """Refuse a file name holding control, format or bidi characters.

    Format characters and line or paragraph separators (bidi controls,
    zero-width characters) are ``format_character``, as in every other
    field of a notice (``fields.check_no_format_characters``); controls,
    private-use and surrogate code points ``bad_format``.
    """
    for char in name:
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES:
            raise InputError(
                ReasonCode.FORMAT_CHARACTER
                if category in ("Cf", "Zl", "Zp")
                else ReasonCode.BAD_FORMAT,
                f"must not contain control, format or bidirectional characters (U+{ord(char):04X})",
                path=path,
            )
    return name


def shown_filename(name: str) -> str:
    """``name`` for an error message: each refused character written as ``<U+202E>``."""
    return "".join(
        f"<U+{ord(c):04X}>" if unicodedata.category(c) in _REFUSED_CATEGORIES else c for c in name
    )


def saved_filename(name: str, media_type: str) -> str:
    """The name to save a file under: the partner's stem, the checked type's extension.

    A last suffix that is an extension is replaced (``foto.svg`` as PNG →
    ``foto.png``); one that is already the type's (``doors.JPEG`` as JPEG) is
    kept; a name without one gets it appended. Leading dots (hidden files)
    and characters file systems refuse are dropped or replaced. Never
    raises for a ``MediaType``: a name this cannot use becomes ``attachment.<ext>``.
    """
    allowed = EXTENSIONS[media_type]
    safe = "".join(
        "_" if unicodedata.category(c) in _REFUSED_CATEGORIES else c
        for c in _UNSAFE_ON_DISK.sub("_", name)
    ).strip(" .")
    stem, dot, suffix = safe.rpartition(".")
    if dot and stem and _SUFFIX.fullmatch(suffix):
        if suffix.lower() in allowed:
            return safe
        safe = stem.rstrip(" .")
    return f"{safe or 'attachment'}.{allowed[0]}"
