"""Example notices in the JSON form people write, one per kind (``baliza notice template``).

Shipped as package data so the CLI prints them on any machine; the test
suite publishes each one between real nodes.
"""
