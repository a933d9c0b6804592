"""People: console accounts, their sessions and second factors, and the audit log."""
