"""Compliance framework mappings, as YAML data."""
