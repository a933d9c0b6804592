"""Per-code risk: diversion and clone signals, their score, and the alerts they raise."""
