"""What every part of a running node stands on: configuration, clock, keys, trust, live feed.

Imports only ``storage`` (and the pure layers); services, HTTP and CLI build on it.
"""
