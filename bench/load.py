"""`python -m bench.load`: Slack's side of the acknowledgement scenarios, in its own process.

Sending 50 requests at once from 50 threads of the benchmark process measured the benchmark
more than the bot: against a server that answers instantly, httpx clients on 50 threads that
share one interpreter (with the fakes) took 50 ms at the median and 100 ms at worst for a
burst. Here one asyncio loop in a process of its own sends requests that the benchmark
process built and signed beforehand (the raw bytes of each HTTP request), so a burst leaves
within a millisecond and each answer is timed when it arrives.

Protocol, one JSON object per line. In, on stdin:
`{"host": h, "port": p, "requests": [base64 bytes, ...], "mode": "burst" | "reuse", "gap": s}`;
out, on stdout, for each line in: `{"results": [{"status": int, "ms": float} | {"error": str}]}`.
"burst" sends every request at once, each on a new connection; "reuse" sends them one after
the other on one kept-alive connection, `gap` seconds apart. End of stdin ends the process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import sys
import time
from typing import Any

TIMEOUT = 10.0


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """Send one request and read its whole answer; return the status code."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A new TCP connection to a numeric address (no name lookup, which asyncio would run
    on a small thread pool: a burst of 50 connections would queue there, in this process)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock)


async def _one(host: str, port: int, request: bytes) -> dict[str, Any]:
    """A new connection, one request, its answer: the time from connecting to the last byte."""
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(_connect(host, port), TIMEOUT)
        try:
            status = await asyncio.wait_for(_exchange(reader, writer, request), TIMEOUT)
        finally:
            writer.close()
        return {"status": status, "ms": (time.perf_counter() - started) * 1000}
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
        return {"error": type(exc).__name__}


async def _burst(host: str, port: int, requests: list[bytes]) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(_one(host, port, r) for r in requests)))


async def _reuse(host: str, port: int, requests: list[bytes], gap: float) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    reader, writer = await _connect(host, port)
    try:
        for request in requests:
            started = time.perf_counter()
            try:
                status = await asyncio.wait_for(_exchange(reader, writer, request), TIMEOUT)
                results.append({"status": status, "ms": (time.perf_counter() - started) * 1000})
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as e:
                results.append({"error": type(e).__name__})
            await asyncio.sleep(gap)
    finally:
        writer.close()
    return results


def main() -> int:
    """Serve load requests from stdin until it closes (one event loop for all of them)."""
    with asyncio.Runner() as runner:
        for line in sys.stdin:
            if not line.strip():
                continue
            job = json.loads(line)
            requests = [base64.b64decode(r) for r in job["requests"]]
            host, port = job["host"], int(job["port"])
            if job.get("mode") == "reuse":
                gap = float(job.get("gap", 1.0))
                results = runner.run(_reuse(host, port, requests, gap))
            else:
                results = runner.run(_burst(host, port, requests))
            print(json.dumps({"results": results}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
