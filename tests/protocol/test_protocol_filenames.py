"""Attachment file names: the characters refused, and the name a file is saved under.

The table of chapter 10 §5 row by row, and every refused category by an
example that deceives a reader.
"""

from __future__ import annotations

import unicodedata

import pytest

from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.notices.common import MediaType
from baliza.protocol.notices.filenames import (
    EXTENSIONS,
    check_filename,
    saved_filename,
    shown_filename,
)


@pytest.mark.parametrize(
    ("sent", "media_type", "saved"),
    [
        ("informe.html", MediaType.PDF, "informe.pdf"),
        ("foto.svg", MediaType.PNG, "foto.png"),
        ("doors.JPEG", MediaType.JPEG, "doors.JPEG"),
        ("doors.jpg", MediaType.JPEG, "doors.jpg"),
        ("scan.heif", MediaType.HEIC, "scan.heif"),
        ("acta_v1.2", MediaType.PDF, "acta_v1.2.pdf"),
        (".bashrc", MediaType.TEXT, "bashrc.txt"),
        ("...", MediaType.PNG, "attachment.png"),
        ("report", MediaType.CSV, "report.csv"),
        ("informe.pdf.exe", MediaType.PDF, "informe.pdf.pdf"),
        ('a:b?"c".mp4', MediaType.MP4, "a_b__c_.mp4"),
        ("vídeo del contenedor.mov", MediaType.MP4, "vídeo del contenedor.mp4"),
    ],
)
def test_the_saved_name_takes_the_checked_types_extension(
    sent: str, media_type: MediaType, saved: str
) -> None:
    assert saved_filename(sent, media_type) == saved


def test_every_media_type_has_an_extension() -> None:
    assert set(EXTENSIONS) == {m.value for m in MediaType}


@pytest.mark.parametrize(
    "name",
    [
        "acta_\u202efdp.html",  # right-to-left override: shown as "acta_lmth.pdf"
        "acta_\u2067fdp.html\u2069",  # right-to-left isolate
        "acta_\u200ffdp.html",  # right-to-left mark
        "foto\u200d.jpg",  # zero-width joiner
        "foto\u200b.jpg",  # zero-width space
        "\ufefffoto.jpg",  # byte-order mark
        "foto\u2028.jpg",  # line separator
        "foto\ue000.jpg",  # private use
        "foto\x85.jpg",  # a C1 control
    ],
)
def test_names_with_format_bidi_or_control_characters_are_refused(name: str) -> None:
    with pytest.raises(InputError) as refused:
        check_filename(name)
    format_like = unicodedata.category(next(c for c in name if not c.isprintable())) in (
        "Cf",
        "Zl",
        "Zp",
    )
    expected = ReasonCode.FORMAT_CHARACTER if format_like else ReasonCode.BAD_FORMAT
    assert refused.value.reason is expected and refused.value.path == "filename"
    assert "<U+" in shown_filename(name) and shown_filename(name).isprintable()
    # The saved name of one that slipped in (stored before the rule) loses them too.
    assert saved_filename(name, MediaType.JPEG).isprintable()


def test_plain_names_in_any_script_pass() -> None:
    for name in ("informe.pdf", "vídeo del contenedor.mp4", "报告.pdf", "تقرير.pdf", "😀.png"):
        assert check_filename(name) == name
