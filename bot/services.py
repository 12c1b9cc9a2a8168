"""The services a handler may use, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Config
from bot.deepnote.catalog import NotebookCatalog
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.notebook_cache import NotebookCache
from bot.runs.service import RunService
from bot.schedules.service import ScheduleService
from bot.schedules.watches import WatchService
from bot.slack.gateway import SlackGateway
from bot.web.foreground import Background
from storage.aliases import AliasStore, NotebookNames
from storage.audit import AuditStore
from storage.db import Database
from storage.events import SeenEvents
from storage.runs import RunStore


@dataclass(frozen=True)
class Services:
    """Everything the handlers act through."""

    config: Config
    clock: Clock
    db: Database
    store: RunStore
    deepnote: DeepnoteClient
    slack: SlackGateway
    runs: RunService
    schedules: ScheduleService
    aliases: AliasStore
    notebook_names: NotebookNames
    catalog: NotebookCatalog
    notebooks: NotebookCache
    events: SeenEvents
    audit: AuditStore
    background: Background
    watches: WatchService
