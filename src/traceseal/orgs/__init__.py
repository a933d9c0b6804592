"""Organisations (operator, enterprises, distributors, labs, regulators) and their API keys."""
