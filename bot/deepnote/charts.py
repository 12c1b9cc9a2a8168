"""Charts to pictures: Vega and Vega-Lite specs rendered to PNG with vl-convert.

vl-convert (by the Vega team) is an optional dependency (`pip install '.[charts]'`); without
it charts are mentioned in the thread reply but not drawn.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)


def render_chart(spec: Mapping[str, Any]) -> bytes | None:
    """The chart as PNG bytes, or None when it cannot be drawn here."""
    try:
        import vl_convert
    except ImportError:
        return None
    schema = str(spec.get("$schema", ""))
    try:
        if "vega-lite" in schema:
            png = vl_convert.vegalite_to_png(dict(spec))
        else:
            png = vl_convert.vega_to_png(dict(spec))
    except Exception as exc:  # a spec vl-convert cannot draw is a chart we only mention
        log.info("chart not drawn", extra={"event": "chart_failed", "reason": str(exc)[:200]})
        return None
    return bytes(png) if png else None
