"""`deepnote-bot simulator`: a real process serving the Deepnote API simulator."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, SAMPLES_DIR
from tests.offline.test_console import ROOT, clean_env


class Served:
    """A running `deepnote-bot simulator` and what it printed on start."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "simulator", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=clean_env(),
            cwd=ROOT,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.banner: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def read_banner(self, timeout: float = 10.0) -> dict[str, str]:
        """Lines up to the key line, and the `NAME=value` settings printed."""
        settings: dict[str, str] = {}
        while "DEEPNOTE_API_KEY" not in settings:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no banner in {timeout} s: {self.banner}") from None
            self.banner.append(line)
            name, sep, value = line.strip().partition("=")
            if sep and name.startswith("DEEPNOTE_"):
                settings[name] = value
        return settings

    def stop(self) -> int:
        """SIGTERM, as a service manager would; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=10)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served()
    yield server
    server.stop()


def test_prints_url_key_and_notebooks_and_serves_the_api(served: Served) -> None:
    settings = served.read_banner()
    url, key = settings["DEEPNOTE_API_URL"], settings["DEEPNOTE_API_KEY"]
    assert url.startswith("http://127.0.0.1:")
    banner = "\n".join(served.banner)
    assert f"API key: {key}" in banner
    assert f"{HELLO_NOTEBOOK_ID}  Hello world  (no inputs)" in banner
    assert f"{SALES_NOTEBOOK_ID}  Sales report  (inputs: " in banner

    with httpx.Client(base_url=url, timeout=5) as http:
        answer = http.get(
            f"/v2/notebooks/{HELLO_NOTEBOOK_ID}", headers={"Authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 200
        assert answer.json()["notebook"]["name"] == "Hello world"
        assert http.get(f"/v2/notebooks/{HELLO_NOTEBOOK_ID}").status_code == 401

    assert served.stop() == 0
    rest = []
    while not served.lines.empty():
        rest.append(served.lines.get_nowait())
    assert "Simulator stopped." in rest


def test_own_notebooks_replace_the_samples(tmp_path: Path) -> None:
    shutil.copy(SAMPLES_DIR / "hello-world.deepnote", tmp_path / "mine.deepnote")
    server = Served("--notebooks", str(tmp_path), "--api-key", "my-key")
    try:
        settings = server.read_banner()
        assert settings["DEEPNOTE_API_KEY"] == "my-key"
        banner = "\n".join(server.banner)
        assert f"1 notebook from {tmp_path}:" in banner
        assert HELLO_NOTEBOOK_ID in banner
        assert SALES_NOTEBOOK_ID not in banner
    finally:
        assert server.stop() == 0


def test_bad_notebooks_folder_exits_2(tmp_path: Path) -> None:
    (tmp_path / "broken.deepnote").write_text("project: [", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "simulator", "--port", "0", "--notebooks", str(tmp_path)],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=ROOT,
        timeout=30,
    )
    assert result.returncode == 2
    assert "broken.deepnote" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
