"""Background jobs shared by every process that serves one database (jobs.locking)."""
