"""The ``baliza`` command line and the multi-agency demo; above services and HTTP."""
