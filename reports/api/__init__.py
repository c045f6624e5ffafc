"""REST API of the reports app: builds, snapshots (publish, rebuild) and open data."""
