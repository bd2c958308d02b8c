"""The demo's case, as the JSON an officer's client would send to ``POST /api/v1/notices``.

A container of bananas leaves Guayaquil for Algeciras via Cartagena; the
Ecuadorian port unit warns both ports before arrival; Algeciras finds the
cocaine, reports the seizure back to origin and transit, and answers the
alert. Separately, the Tocumen airport task force stops a courier bound for
Madrid and shares the seizure with the Madrid-Barajas unit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CONTAINER = "MSCU1234566"  # ISO 6346, check digit 6
VESSEL_IMO = "9074729"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class Step:
    """One notice of the scenario."""

    key: str
    title: str
    sender: str
    recipients: tuple[str, ...]
    build: Callable[[dict[str, str], int], dict[str, Any]]
    handling: tuple[str, tuple[str, ...]] = ("amber", ("h0",))
    attach: str = ""  # file name of an image the sender attaches (demo_photo.py)

    def body(self, published: dict[str, str]) -> dict[str, Any]:
        """The request body, given the ids of notices already published."""
        now = time.time_ns() // 1_000_000
        tlp, codes = self.handling
        handling: dict[str, Any] = {"tlp": tlp}
        if codes:
            handling["codes"] = list(codes)
        return {
            "notice": self.build(published, now),
            "recipients": list(self.recipients),
            "handling": handling,
        }


def _alert(published: dict[str, str], now: int) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "notice.alert",
        "programme": "ccp",
        "unit": {"agency": "ec.polnac.gye", "name": "Unidad de Control Portuario Guayaquil"},
        "origin": {"locode": "ECGYE"},
        "destination": {"locode": "ESALG"},
        "subject": {"type": "container", "container": CONTAINER},
        "expected_ms": now + 16 * DAY_MS,
        "indicators": ["route", "shipper"],
        "nominal": {
            "companies": [
                {"role": "shipper", "name": "Exportadora Bananera del Sur S.A.", "country": "EC"},
                {"role": "consignee", "name": "Frutas Estrecho S.L.", "country": "ES"},
            ]
        },
        "text": {
            "lang": "es",
            "text": "Contenedor refrigerado de banano, exportador creado hace tres meses; "
            "transbordo en Cartagena. Se solicita inspección a la llegada.",
        },
        "evaluation": {"scheme": "4x4", "source": "B", "information": 2},
        "requests": [{"action": "inspect"}, {"action": "share_outcome"}],
    }


def _seizure_alg(published: dict[str, str], now: int) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "notice.seizure",
        "programme": "ccp",
        "unit": {"agency": "es.aduanas.alg", "name": "Vigilancia Aduanera Algeciras"},
        "seized_ms": now - HOUR_MS,
        "location": {"locode": "ESALG"},
        "transport": "sea",
        "commodities": [
            {
                "category": "cocaine",
                "quantity": "412 kg",
                "description": "Cocaine hydrochloride bricks, 'Rolex' logo",
                "packaging": "372 bricks in 12 holdalls behind the banana boxes",
            }
        ],
        "concealment": "rip_on_rip_off",
        "detection": "pre_arrival_alert",
        "conveyance": {
            "container": CONTAINER,
            "seals": ["EC778812"],
            "vessel": {"imo": VESSEL_IMO, "name": "MSC Demo", "flag": "PA"},
        },
        "route": {
            "loading": {"locode": "ECGYE"},
            "transit": [{"locode": "COCTG"}],
            "discharge": {"locode": "ESALG"},
        },
        "nominal": {
            "companies": [
                {"role": "shipper", "name": "Exportadora Bananera del Sur S.A.", "country": "EC"},
                {"role": "consignee", "name": "Frutas Estrecho S.L.", "country": "ES"},
            ]
        },
        "case_ref": "ES-ALG-2026/118",
        "text": {
            "lang": "es",
            "text": "Aprehensión tras alerta previa de Guayaquil; sellos sustituidos.",
        },
        "evaluation": {"scheme": "4x4", "source": "A", "information": 1},
        "requests": [{"action": "share_outcome"}],
    }


def _outcome(published: dict[str, str], now: int) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "notice.outcome",
        "alert": published["alert"],
        "result": "seizure",
        "at_ms": now - HOUR_MS,
        "seizure": published["seizure_alg"],
        "text": {
            "lang": "en",
            "text": "Inspected on arrival: 412 kg of cocaine, see the seizure notice.",
        },
    }


def _courier(published: dict[str, str], now: int) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "notice.seizure",
        "programme": "aircop",
        "unit": {"agency": "pa.senan.pty", "name": "JAITF Tocumen"},
        "seized_ms": now - 2 * HOUR_MS,
        "location": {"airport": "PTY"},
        "transport": "air",
        "commodities": [
            {
                "category": "cocaine",
                "quantity": {"amount": 1_150, "unit": "g"},
                "description": "87 capsules",
                "packaging": "latex capsules, swallowed",
            }
        ],
        "concealment": "ingestion",
        "detection": "risk_profile",
        "conveyance": {"flight": "IB6346"},
        "route": {"loading": {"airport": "PTY"}, "destination": {"airport": "MAD"}},
        "nominal": {
            "persons": [
                {
                    "role": "courier",
                    "family_name": "Ruiz Ortega",
                    "given_names": "Marta",
                    "nationality": "VE",
                    "birth_date": "1998-02-03",
                    "documents": [{"type": "passport", "number": "V4481230", "country": "VE"}],
                }
            ]
        },
        "text": {
            "lang": "es",
            "text": "Pasajera en tránsito hacia Madrid; billete comprado en efectivo; "
            "se solicita verificar contactos a la llegada prevista.",
        },
        "requests": [{"action": "share_outcome"}],
    }


STEPS = [
    Step(
        "alert",
        "pre-arrival alert: container " + CONTAINER + " to Algeciras via Cartagena",
        "ec.polnac.gye",
        ("co.polfa.ctg", "es.aduanas.alg"),
        _alert,
    ),
    Step(
        "seizure_alg",
        "seizure at Algeciras: 412 kg cocaine in " + CONTAINER,
        "es.aduanas.alg",
        ("co.polfa.ctg", "ec.polnac.gye"),
        _seizure_alg,
        attach="xray-" + CONTAINER + ".png",
    ),
    Step(
        "outcome",
        "outcome of the alert: seizure (links both notices), to all it was addressed to",
        "es.aduanas.alg",
        ("co.polfa.ctg", "ec.polnac.gye"),
        _outcome,
    ),
    Step(
        "courier",
        "courier seizure at Tocumen, flight IB6346 to Madrid",
        "pa.senan.pty",
        ("es.gc.mad",),
        _courier,
        ("red", ("h0", "h2")),
    ),
]
