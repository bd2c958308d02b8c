"""Reading a decoded map field by field, with the path of every error.

Wire types are built from canonical maps through a ``FieldReader``: each
``take_*`` call removes one field and checks its type and limits; ``finish``
refuses whatever is left, because unknown fields are an error in Baliza
(strict schemas: a field a receiver ignores is a field a sender can smuggle).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from baliza.protocol.canonical import Value
from baliza.protocol.errors import BalizaError, InputError, ReasonCode

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


def join(path: str, name: str) -> str:
    """Join a field name onto a path: ``join("a", "b") == "a.b"``."""
    return f"{path}.{name}" if path else name


def as_map(value: Value, path: str) -> dict[str, Value]:
    """Return ``value`` as a map or raise ``InputError`` naming ``path``."""
    if not isinstance(value, dict):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a map", path=path)
    return value


class FieldReader:
    """Consumes the fields of one map; see the module docstring."""

    def __init__(self, value: Value, path: str = "") -> None:
        self._fields = dict(as_map(value, path))
        self.path = path

    def _take(self, name: str, required: bool) -> Value | None:
        if name not in self._fields:
            if required:
                raise InputError(ReasonCode.MISSING_FIELD, "is required", path=self.at(name))
            return None
        return self._fields.pop(name)

    def at(self, name: str) -> str:
        """Path of field ``name`` inside this map."""
        return join(self.path, name)

    def has(self, name: str) -> bool:
        """Whether field ``name`` is present and not yet taken."""
        return name in self._fields

    def integer(self, name: str, *, lo: int, hi: int) -> int:
        """Required integer in ``[lo, hi]``."""
        return check_int(self._take(name, True), self.at(name), lo=lo, hi=hi)

    def opt_integer(self, name: str, *, lo: int, hi: int) -> int | None:
        """Optional integer in ``[lo, hi]``."""
        raw = self._take(name, False)
        return None if raw is None else check_int(raw, self.at(name), lo=lo, hi=hi)

    def boolean(self, name: str) -> bool:
        """Required boolean."""
        raw = self._take(name, True)
        if not isinstance(raw, bool):
            raise InputError(ReasonCode.WRONG_TYPE, "must be a boolean", path=self.at(name))
        return raw

    def text(self, name: str, *, max_len: int, min_len: int = 1, pattern: str = "") -> str:
        """Required string with a length in characters and an optional full-match regex."""
        return check_str(
            self._take(name, True), self.at(name), max_len=max_len, min_len=min_len, pattern=pattern
        )

    def opt_text(
        self, name: str, *, max_len: int, min_len: int = 1, pattern: str = ""
    ) -> str | None:
        """Optional string; see ``str``."""
        raw = self._take(name, False)
        if raw is None:
            return None
        return check_str(raw, self.at(name), max_len=max_len, min_len=min_len, pattern=pattern)

    def blob(self, name: str, *, max_len: int, min_len: int = 0) -> bytes:
        """Required byte string with a length in ``[min_len, max_len]``."""
        return check_bytes(self._take(name, True), self.at(name), max_len=max_len, min_len=min_len)

    def opt_blob(self, name: str, *, max_len: int, min_len: int = 0) -> bytes | None:
        """Optional byte string."""
        raw = self._take(name, False)
        if raw is None:
            return None
        return check_bytes(raw, self.at(name), max_len=max_len, min_len=min_len)

    def choice(self, name: str, kind: type[E]) -> E:
        """Required member of a string enum."""
        return check_enum(self._take(name, True), self.at(name), kind)

    def opt_choice(self, name: str, kind: type[E]) -> E | None:
        """Optional member of a string enum."""
        raw = self._take(name, False)
        return None if raw is None else check_enum(raw, self.at(name), kind)

    def nested(self, name: str, build: Callable[[Value, str], T]) -> T:
        """Required nested object built by ``build(value, path)``."""
        return build(self._take(name, True), self.at(name))  # type: ignore[arg-type]

    def opt_nested(self, name: str, build: Callable[[Value, str], T]) -> T | None:
        """Optional nested object."""
        raw = self._take(name, False)
        return None if raw is None else build(raw, self.at(name))

    def array(
        self,
        name: str,
        build: Callable[[Value, str], T],
        *,
        max_len: int,
        min_len: int = 0,
        required: bool = False,
    ) -> tuple[T, ...]:
        """A list of items built by ``build(item, path)``; absent means empty unless required.

        An empty list is never encoded (it is omitted), so ``min_len`` of a
        present list is at least 1: this keeps one canonical form per value.
        """
        raw = self._take(name, required)
        path = self.at(name)
        if raw is None:
            if min_len > 0:
                raise InputError(ReasonCode.MISSING_FIELD, "is required", path=path)
            return ()
        if not isinstance(raw, list):
            raise InputError(ReasonCode.WRONG_TYPE, "must be an array", path=path)
        if not max(1, min_len) <= len(raw) <= max_len:
            raise InputError(
                ReasonCode.BAD_LENGTH,
                f"must have between {max(1, min_len)} and {max_len} items",
                path=path,
            )
        return tuple(build(item, f"{path}[{i}]") for i, item in enumerate(raw))

    def finish(self) -> None:
        """Refuse any field not taken: Baliza schemas are strict."""
        if self._fields:
            name = sorted(self._fields)[0]
            raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known field", path=self.at(name))


def check_int(raw: Value | None, path: str, *, lo: int, hi: int) -> int:
    """Return ``raw`` if it is an integer (not a bool) in ``[lo, hi]``."""
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InputError(ReasonCode.WRONG_TYPE, "must be an integer", path=path)
    if not lo <= raw <= hi:
        raise InputError(ReasonCode.OUT_OF_RANGE, f"must be between {lo} and {hi}", path=path)
    return raw


def check_str(
    raw: Value | None, path: str, *, max_len: int, min_len: int = 1, pattern: str = ""
) -> str:
    """Return ``raw`` if it is a string of acceptable length matching ``pattern``."""
    if not isinstance(raw, str):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a string", path=path)
    if not min_len <= len(raw) <= max_len:
        raise InputError(
            ReasonCode.BAD_LENGTH, f"must be {min_len} to {max_len} characters", path=path
        )
    if pattern and re.fullmatch(pattern, raw) is None:
        raise InputError(ReasonCode.BAD_FORMAT, f"must match {pattern}", path=path)
    return raw


# C0 and C1 controls; prose keeps tab (U+0009) and line feed (U+000A).
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PROSE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What "no leading or trailing whitespace" means: Python's str.isspace, i.e.
# Unicode White_Space plus the C0 separators U+001C..U+001F.
UTF8_MAX_BYTES_PER_CHARACTER = 4


def check_line(text: str, path: str) -> str:
    """One line: no C0/C1 control character, no leading or trailing whitespace, no Cf.

    Whitespace is what ``str.strip()`` removes (Unicode White_Space and
    U+001C..U+001F), so a name cannot hide behind a no-break space.
    """
    if _LINE_CONTROL.search(text) is not None or text != text.strip():
        raise InputError(
            ReasonCode.BAD_FORMAT,
            "must be one line without control characters or outer spaces",
            path=path,
        )
    return check_no_format_characters(text, path)


def check_prose(text: str, path: str) -> str:
    """Multi-line text: tab and line feed allowed, every other control (NUL, CR…) and Cf not."""
    if _PROSE_CONTROL.search(text) is not None:
        raise InputError(ReasonCode.BAD_FORMAT, "must not contain control characters", path=path)
    return check_no_format_characters(text, path)


# Line and paragraph separators are not Cf, but break a line as invisibly.
_SEPARATORS = frozenset("\u2028\u2029")


def check_no_format_characters(text: str, path: str) -> str:
    """Return ``text`` if it holds no invisible format character; else ``format_character``.

    Format characters (Unicode category Cf) change how text is shown without
    being seen: a right-to-left override makes ``exe.txt`` read ``txt.exe``,
    a zero-width space makes two names that look the same compare different.
    A notice is evidence read by people in other agencies; what they read
    must be what was written, so every free-text field refuses them, as do
    the line and paragraph separators U+2028 and U+2029.
    """
    for position, char in enumerate(text):
        if char in _SEPARATORS or unicodedata.category(char) == "Cf":
            raise InputError(
                ReasonCode.FORMAT_CHARACTER,
                f"holds the invisible character U+{ord(char):04X} at position {position}",
                path=path,
            )
    return text


def check_bytes(raw: Value | None, path: str, *, max_len: int, min_len: int = 0) -> bytes:
    """Return ``raw`` if it is a byte string of acceptable length."""
    if not isinstance(raw, bytes):
        raise InputError(ReasonCode.WRONG_TYPE, "must be bytes", path=path)
    if not min_len <= len(raw) <= max_len:
        raise InputError(ReasonCode.BAD_LENGTH, f"must be {min_len} to {max_len} bytes", path=path)
    return raw


def check_enum(raw: Value | None, path: str, kind: type[E]) -> E:
    """Return the member of ``kind`` whose value is ``raw``."""
    if not isinstance(raw, str):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a string", path=path)
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InputError(ReasonCode.BAD_ENUM, f"must be one of: {allowed}", path=path) from None


def located(err: BalizaError, path: str) -> BalizaError:
    """Give an error raised by a value check the path of the field it was checking."""
    return err if err.path else type(err)(err.reason, err.detail, path=path)


def check_signature_map(sigs: object, *, max_sig: int, path: str = "sigs") -> Mapping[str, bytes]:
    """A signer's signatures by algorithm name, 1 to 4 of them, frozen in name order.

    The shape every signed document's signature entry shares (directory,
    channel membership, tree head): ``bad_length`` outside 1…4, each name a
    short string and each signature 1…``max_sig`` bytes.
    """
    if not isinstance(sigs, Mapping) or not 1 <= len(sigs) <= 4:
        raise InputError(ReasonCode.BAD_LENGTH, "must hold 1 to 4 signatures", path=path)
    for name, sig in sigs.items():
        check_str(name, path, max_len=32)
        check_bytes(sig, f"{path}.{name}", min_len=1, max_len=max_sig)
    return MappingProxyType({n: bytes(sigs[n]) for n in sorted(sigs)})
