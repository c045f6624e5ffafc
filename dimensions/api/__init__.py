"""REST API v1 of the framework: framework versions and their dimensions (reference data)."""
