"""Shared machinery of the REST API v1: error shape, pagination, schema, authentication."""
