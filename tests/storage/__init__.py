"""Stores, on real SQLite files."""
