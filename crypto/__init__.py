"""Baliza cryptography: agency keys, sealing and opening envelopes, trust rules."""
