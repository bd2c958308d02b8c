"""Doors to the agency's other systems: STIX 2.1 bundles and TAXII 2.1 collections.

What a notice becomes outside Baliza (``stix``) and how a threat-intelligence
platform (MISP, OpenCTI) pulls it (``taxii``). Both are pure: the HTTP side is
``node/http/taxii.py`` and the reading side ``node/services/views/exports.py``.
"""
