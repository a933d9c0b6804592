"""Distributors, their territories, and where each code is meant to be sold."""
