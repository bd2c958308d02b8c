"""A targeting list (CSV, XLSX) into alerts: every row's error named, nothing sent unreviewed.

The pure reading first (columns in four languages, a title line, dates as
spreadsheets store them, each refusal at its row and column), then real
nodes: twenty containers from an XLSX become twenty alerts at the partner,
and a list with one bad row publishes nothing.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from node_harness import Cluster, TestNode
from notice_json import alert_notice
from sharing_support import cli, refusal, wait_for
from stdnum import iso6346

from baliza.node.exchange.manifest import MAX_ROWS, Defaults, batch_of, read_table
from baliza.node.exchange.stix_import import draft_alerts
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.notices import notice_from_written_json

GYE, ALG = "ec.polnac.gye", "es.aduanas.alg"
DEFAULTS = Defaults(agency=GYE)
SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def containers(count: int) -> list[str]:
    serials = [f"MSCU{n:06d}" for n in range(100_000, 100_000 + count)]
    return [s + iso6346.calc_check_digit(s) for s in serials]


def xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def targeting_list(count: int) -> bytes:
    """What a risk-analysis tool exports: a title line, then Spanish column names."""
    rows: list[list[Any]] = [["Lista de selectividad, semana 49"], []]
    rows.append(["Contenedor", "Origen", "Destino", "Llegada", "Buque", "Indicadores", "Notas"])
    for number, container in enumerate(containers(count)):
        rows.append(
            [
                container,
                "ECGYE",
                "ESALG",
                (SOON + timedelta(hours=number)).replace(tzinfo=None),
                "9074729",
                "Route, Goods description",
                f"Perfil {number}",
            ]
        )
    return xlsx(rows)


def test_an_xlsx_list_in_spanish_becomes_drafts() -> None:
    batch = batch_of(read_table(targeting_list(20)), DEFAULTS)
    assert (batch.rows, len(batch.drafts), batch.errors) == (20, 20, ())
    first = batch.drafts[0]
    assert first.row == 4  # the number the spreadsheet shows, after title and blank line
    assert first.notice["subject"] == {
        "type": "container",
        "container": containers(1)[0],
        "vessel": {"imo": "9074729"},
    }
    assert first.notice["indicators"] == ["goods_description", "route"]
    assert first.notice["text"] == {"lang": "en", "text": "Perfil 0"}


def test_a_csv_with_semicolons_and_defaults_for_missing_columns() -> None:
    (container,) = containers(1)
    data = f"container;eta;notes\n{container};2026-12-24;\n".encode()
    batch = batch_of(read_table(data), Defaults(agency=GYE, origin="ECGYE", destination="ESALG"))
    (draft,) = batch.drafts
    assert draft.notice["expected_ms"] == "2026-12-24T12:00:00Z"
    assert draft.notice["origin"] == {"locode": "ECGYE"}


def test_every_bad_row_is_named_by_row_column_and_reason() -> None:
    good, other = containers(2)
    when = SOON.strftime("%Y-%m-%d %H:%M")
    data = "\n".join(
        [
            "Container,Origin,Destination,Expected,Indicators,Colour",
            f"{good},ECGYE,ESALG,{when},,red",
            f"{good[:-1]}0,ECGYE,ESALG,{when},,",  # wrong check digit
            f"{other},XXXXX,ESALG,{when},,",  # no such place
            f"{other},ECGYE,ESALG,,,",  # no arrival
            f"{other},ECGYE,ESALG,tomorrow,,",  # not a time
            f"{other},ECGYE,ESALG,{when},hunch,",  # not an indicator
            f"{good},ECGYE,ESALG,{when},,",  # the same container again
        ]
    ).encode()
    batch = batch_of(read_table(data), DEFAULTS)
    assert [d.row for d in batch.drafts] == [2]
    found = [(e.row, e.column, e.reason) for e in batch.errors]
    assert found == [
        (3, "container", "bad_container"),
        (4, "origin", "bad_locode"),
        (5, "expected", "missing_field"),
        (6, "expected", found[3][2]),
        (7, "indicators", "bad_enum"),
        (8, "container", "conflict"),
    ]
    assert found[3][2] in {"bad_format", "wrong_type"}
    assert batch.ignored_columns == ("Colour",)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"PK\x03\x04 not really a workbook", ReasonCode.MALFORMED),
        ("container\nMSCU1234566\n".encode("utf-16"), ReasonCode.MALFORMED),
        (b"origin,destination\nECGYE,ESALG\n", ReasonCode.MISSING_FIELD),
        (
            ("container\n" + "MSCU1234566\n" * (MAX_ROWS + 1)).encode(),
            ReasonCode.TOO_MANY_ITEMS,
        ),
    ],
)
def test_a_file_that_is_no_list_is_refused_whole(data: bytes, reason: ReasonCode) -> None:
    with pytest.raises(InputError) as caught:
        batch_of(read_table(data), DEFAULTS)
    assert caught.value.reason is reason


@pytest.fixture
async def pair(cluster: Cluster, database_engine: str) -> dict[str, TestNode]:
    made = await cluster((GYE, ALG), database_engine)
    return {node.agency: node for node in made}


async def alerts_at(node: TestNode) -> list[str]:
    board = await node.api("analyst").get("/api/v1/alerts", {"limit": "1000"})
    return [item["id"] for item in board["items"] if item["direction"] == "in"]


async def test_twenty_containers_from_xlsx_become_twenty_alerts_at_the_partner(
    pair: dict[str, TestNode], tmp_path: Path
) -> None:
    gye, alg = pair[GYE], pair[ALG]
    path = tmp_path / "semana49.xlsx"
    path.write_bytes(targeting_list(20))
    # Review: nothing is sent.
    assert await cli(gye, "publisher", "import", "alerts", str(path), "--to", ALG) == 0
    assert (await gye.api("analyst").get("/api/v1/notices", {}))["items"] == []
    # Publish the reviewed batch at once.
    assert await cli(gye, "publisher", "import", "alerts", str(path), "--to", ALG, "--publish") == 0

    async def all_there() -> bool:
        return len(await alerts_at(alg)) == 20

    await wait_for(all_there)
    board = await alg.api("analyst").get("/api/v1/alerts", {"state": "open"})
    assert board["total"] == 20


async def test_one_bad_row_publishes_nothing_and_only_publishers_import(
    pair: dict[str, TestNode], tmp_path: Path
) -> None:
    gye = pair[GYE]
    good, _ = containers(2)
    path = tmp_path / "list.csv"
    when = SOON.strftime("%Y-%m-%dT%H:%MZ")
    path.write_text(
        f"container,origin,destination,expected\n{good},ECGYE,ESALG,{when}\n"
        f"{good[:-1]}0,ECGYE,ESALG,{when}\n"
    )
    assert await cli(gye, "publisher", "import", "alerts", str(path), "--to", ALG, "--publish") == 1
    assert (await gye.api("analyst").get("/api/v1/notices", {}))["items"] == []
    # An analyst reads; reading a list into alerts is a publisher's.
    err = await refusal(gye.api("analyst").post_file("/api/v1/imports/alerts", path, "text/csv"))
    assert err.reason is ReasonCode.FORBIDDEN
    # A forged batch with one draft that is no alert publishes nothing either.
    batch = await gye.api().post_file("/api/v1/imports/alerts", path, "text/csv")
    bad = {**batch["drafts"][0]["notice"], "expected_ms": "soon"}
    err = await refusal(
        gye.api().post(
            "/api/v1/imports/alerts/publish",
            {"drafts": [batch["drafts"][0]["notice"], bad], "recipients": [ALG]},
        )
    )
    assert err.path.startswith("drafts[1]")
    assert (await gye.api("analyst").get("/api/v1/notices", {}))["items"] == []


FOREIGN_BUNDLE = {
    "type": "bundle",
    "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
    "objects": [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-12-01T00:00:00.000Z",
            "modified": "2026-12-01T00:00:00.000Z",
            "pattern": "[x-misp-container:value = 'CSQU3054383'] OR [x-misp-tag:value = 'blue']",
            "pattern_type": "stix",
            "valid_from": "2026-12-01T00:00:00Z",
        },
        {
            "type": "report",
            "spec_version": "2.1",
            "id": "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
            "created": "2026-12-01T00:00:00.000Z",
            "modified": "2026-12-01T00:00:00.000Z",
            "name": "Reefer diversion",
            "description": "Bananas re-routed via Panama.",
            "published": "2026-12-01T00:00:00Z",
            "object_refs": ["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"],
        },
    ],
}


def test_a_platforms_pattern_names_a_container_by_its_check_digit() -> None:
    (draft,) = draft_alerts(FOREIGN_BUNDLE, agency=ALG)
    assert draft["subject"] == {"type": "container", "container": "CSQU3054383"}
    assert draft["text"]["text"] == (
        "From a STIX report: Reefer diversion. Bananas re-routed via Panama."
    )
    # A draft is not a notice: where from, where to and when are the officer's to write.
    with pytest.raises(InputError) as caught:
        notice_from_written_json(draft)
    assert caught.value.reason is ReasonCode.MISSING_FIELD


@pytest.mark.parametrize(
    ("bundle", "path"),
    [({"type": "report"}, "type"), ({"type": "bundle", "objects": {}}, "objects"), ([], "type")],
)
def test_what_is_no_bundle_is_refused(bundle: object, path: str) -> None:
    with pytest.raises(InputError) as caught:
        draft_alerts(bundle, agency=ALG)
    assert caught.value.path == path


async def test_an_export_comes_back_as_drafts_an_officer_completes(
    pair: dict[str, TestNode], tmp_path: Path
) -> None:
    gye, alg = pair[GYE], pair[ALG]
    (container,) = containers(1)
    alert = alert_notice(GYE, container, SOON.strftime("%Y-%m-%dT%H:%M:%SZ"))
    sent = await gye.api().post(
        "/api/v1/notices", {"notice": alert, "recipients": [ALG], "handling": {"tlp": "green"}}
    )
    bundle = await gye.api("analyst").get(f"/api/v1/notices/{sent['id']}/stix", {})
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    drafts = tmp_path / "drafts"
    assert await cli(alg, "publisher", "import", "stix", str(path), "-o", str(drafts)) == 0
    draft = json.loads((drafts / "draft-1.json").read_text())
    assert draft["unit"] == {"agency": ALG} and draft["subject"]["container"] == container
    # As it stands it is refused, naming what is missing; completed, it goes.
    assert await cli(alg, "publisher", "publish", str(drafts / "draft-1.json"), "--to", GYE) != 0
    draft |= {
        "origin": {"locode": "ESALG"},
        "destination": {"locode": "NLRTM"},
        "expected_ms": (SOON + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (drafts / "draft-1.json").write_text(json.dumps(draft))
    assert await cli(alg, "publisher", "publish", str(drafts / "draft-1.json"), "--to", GYE) == 0
