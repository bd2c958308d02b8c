"""The protocol's words a person sees as they are (kinds, states, roles, codes).

Templates translate these values as they come (``_(row.kind)``), so no
extractor can find them there; listing them here puts them in the
catalogues. ``tests/node/test_console.py`` checks that every member of each
enum shown by the console is listed.
"""

from __future__ import annotations

from baliza.node.console.i18n import N_

WORDS = (
    # Kinds of notice.
    N_("notice.alert"),
    N_("notice.case"),
    N_("notice.correction"),
    N_("notice.outcome"),
    N_("notice.retraction"),
    N_("notice.seizure"),
    N_("receipt"),
    # Delivery states.
    N_("pending"),
    N_("delivered"),
    N_("refused"),
    # Roles.
    N_("analyst"),
    N_("publisher"),
    N_("admin"),
    # Programmes.
    N_("ccp"),
    N_("aircop"),
    N_("gmcp"),
    N_("jit"),
    N_("other"),
    # Subjects of an alert.
    N_("container"),
    N_("flight"),
    N_("passenger"),
    N_("vessel"),
    # Risk indicators.
    N_("route"),
    N_("shipper"),
    N_("consignee"),
    N_("goods_description"),
    N_("document_anomaly"),
    N_("booking_pattern"),
    N_("payment"),
    N_("travel_pattern"),
    N_("ticket"),
    N_("previous_seizure"),
    N_("intelligence"),
    N_("scanner_image"),
    # Transport modes.
    N_("sea"),
    N_("air"),
    N_("road"),
    N_("rail"),
    N_("post"),
    # Commodity categories.
    N_("cocaine"),
    N_("heroin"),
    N_("cannabis"),
    N_("synthetic"),
    N_("precursor"),
    N_("cigarettes"),
    N_("currency"),
    N_("weapons"),
    N_("wildlife"),
    N_("counterfeit"),
    # Units.
    N_("g"),
    N_("ml"),
    N_("units"),
    N_("sticks"),
    N_("minor"),
    # Traffic Light Protocol labels.
    N_("clear"),
    N_("green"),
    N_("amber"),
    N_("amber+strict"),
    N_("red"),
    # Alert board states and outcome results.
    N_("open"),
    N_("answered"),
    N_("overdue"),
    N_("inspected"),
    N_("negative"),
    N_("seizure"),
    N_("not_arrived"),
    # Shared identifiers (hits).
    N_("awb"),
    N_("case"),
    N_("company"),
    N_("document"),
    N_("person"),
    N_("vehicle"),
    # Concealment methods.
    N_("rip_on_rip_off"),
    N_("legitimate_cargo"),
    N_("structure"),
    N_("vehicle_compartment"),
    N_("luggage"),
    N_("body_carry"),
    N_("ingestion"),
    N_("parcel"),
    N_("none"),
    # What led to a find.
    N_("risk_profile"),
    N_("scanner"),
    N_("canine"),
    N_("physical_search"),
    N_("pre_arrival_alert"),
    N_("random"),
    # Requests to the recipients.
    N_("inspect"),
    N_("confirm_receipt"),
    N_("share_outcome"),
    N_("hold"),
    N_("controlled_delivery"),
    N_("contact_sender"),
    # Roles of persons and companies.
    N_("suspect"),
    N_("courier"),
    N_("driver"),
    N_("crew"),
    N_("sender"),
    N_("recipient"),
    N_("owner"),
    N_("notify"),
    N_("forwarder"),
    N_("carrier"),
    N_("importer"),
    N_("exporter"),
    N_("agent"),
    # Documents.
    N_("passport"),
    N_("id_card"),
    N_("residence_permit"),
    N_("driving_licence"),
    N_("visa"),
    N_("bill_of_lading"),
    N_("air_waybill"),
    N_("invoice"),
    N_("packing_list"),
    N_("customs_declaration"),
    N_("booking"),
    # Case and task states.
    N_("active"),
    N_("closed"),
    N_("done"),
    N_("cancelled"),
    # Offences.
    N_("drug_trafficking"),
    N_("precursor_diversion"),
    N_("money_laundering"),
    N_("tobacco_smuggling"),
    N_("arms_trafficking"),
    N_("wildlife_trafficking"),
    N_("counterfeiting"),
    N_("customs_fraud"),
    N_("organised_crime"),
    N_("corruption"),
    N_("human_smuggling"),
    # Subscription states.
    N_("requested"),
    N_("admitted"),
    N_("paused"),
)
