"""Seal codes: key slots, issuance, lifecycle and printer outputs."""
