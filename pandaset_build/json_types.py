"""Names for JSON documents that are handled whole (never passed between stages as records)."""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]  # a parsed JSON file or HTTP body: annotation files, answers, results
