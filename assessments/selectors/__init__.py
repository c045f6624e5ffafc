"""Reads of the assessment workflow, one module per side: `entry` (agency operators and
regional coordinators) and `review` (reviewers and administrators)."""
