"""Pure cryptographic building blocks: no database, no web, strictly typed."""
