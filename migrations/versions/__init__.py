"""Migration versions."""
