"""Starting many simulator runs quickly: plain keep-alive HTTP from worker processes.

The simulator serves from the benchmark process; sending from other processes keeps the two
halves of each request off one interpreter lock. Only the standard library is imported here,
so spawned workers start fast.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from urllib.parse import urlsplit


def _create(url: str, api_key: str, notebooks: list[str]) -> list[str]:
    """Start one run of each notebook listed, over one connection; return their run ids."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    ids = []
    try:
        for notebook_id in notebooks:
            body = json.dumps({"notebookId": notebook_id, "detached": True}).encode()
            conn.request("POST", "/v2/runs", body, headers)
            response = conn.getresponse()
            payload = response.read()
            if response.status != 202:
                raise RuntimeError(f"POST /v2/runs answered {response.status}: {payload[:200]!r}")
            ids.append(str(json.loads(payload)["runId"]))
    finally:
        conn.close()
    return ids


def create_runs(url: str, api_key: str, notebooks: list[str], *, workers: int = 2) -> list[str]:
    """Start one run per entry of `notebooks` in the simulator at `url`, in that order."""
    shares = [notebooks[i::workers] for i in range(workers)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_create, url, api_key, share) for share in shares]
        results = [future.result() for future in futures]
    # Put the ids back in the order of `notebooks` (share i holds entries i, i+workers, ...).
    ordered = [""] * len(notebooks)
    for i, ids in enumerate(results):
        ordered[i::workers] = ids
    return ordered
