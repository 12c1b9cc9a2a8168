"""Every storage test runs on both engines: a SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import pytest

from tests.pg import ENGINES, both_engines


@pytest.fixture(params=ENGINES, name="engine")
def _engine(request: pytest.FixtureRequest) -> str:
    return both_engines(request)
