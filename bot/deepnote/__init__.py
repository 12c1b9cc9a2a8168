"""Deepnote Public API v2: typed models and an httpx client."""
