"""An offline simulator of Deepnote's public API v2, with sample notebooks.

>>> from bot.offline.simulator import Simulator
>>> with Simulator(api_key="dev-key") as sim:  # doctest: +SKIP
...     print(sim.url)
"""

from bot.offline.simulator.kpi import KPI_NOTEBOOK_ID
from bot.offline.simulator.notebooks import (
    HELLO_NOTEBOOK_ID,
    QUALITY_NOTEBOOK_ID,
    SALES_NOTEBOOK_ID,
    SAMPLES_DIR,
    SimNotebook,
    load_notebooks,
)
from bot.offline.simulator.records import RecordedRequest, SimRun
from bot.offline.simulator.server import Simulator

__all__ = [
    "HELLO_NOTEBOOK_ID",
    "KPI_NOTEBOOK_ID",
    "QUALITY_NOTEBOOK_ID",
    "SALES_NOTEBOOK_ID",
    "SAMPLES_DIR",
    "RecordedRequest",
    "SimNotebook",
    "SimRun",
    "Simulator",
    "load_notebooks",
]
