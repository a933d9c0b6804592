"""Operations: readiness (/readyz), Prometheus metrics (/metrics), backups (cli/backup.py)."""
