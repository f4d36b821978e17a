"""The whole portfolio's features and health scores, computed once per workspace and date, then reused."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cs_mcp.domain.scoring import ScoredFrame, score_frame
from cs_mcp.workspace.cache import cached

if TYPE_CHECKING:
    from cs_mcp.workspace.features import FeatureFrame
    from cs_mcp.workspace.loader import Workspace

@dataclass
class PortfolioSnapshot:
    as_of: dt.date
    frame: FeatureFrame
    health: ScoredFrame
    position: dict[str, int]
    """account_id -> row of frame and health"""

    def row(self, account_id: str) -> dict[str, Any]:
        return self.frame.row(self.position[account_id])


def portfolio_snapshot(ws: Workspace, as_of: dt.date | None = None) -> PortfolioSnapshot:
    """Features and health of every account as of a date (default: the workspace's as_of), cached."""
    from cs_mcp.workspace.features import compute_features

    day = as_of or ws.as_of
    settings_key = ws.settings.health.model_dump_json()

    def compute() -> PortfolioSnapshot:
        frame = compute_features(ws, day)
        health = score_frame(frame.columns, ws.settings.health)
        position = {aid: i for i, aid in enumerate(frame["account_id"])}
        return PortfolioSnapshot(day, frame, health, position)

    return cached(ws, ("portfolio", day, settings_key), compute)
