"""REST API v1 of regions and agencies (reference data)."""
