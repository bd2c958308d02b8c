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
)
