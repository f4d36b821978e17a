"""The model card resource: cs://models/churn describes the churn model in force."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from cs_mcp.server import AppState


def register_model_resources(server: MCPServer, state: AppState) -> None:
    @server.resource(
        "cs://models/churn",
        name="models/churn",
        title="Churn model card",
        description="How churn-risk-list ranks: method (learned model or leading indicators), "
        "cross-validated ROC-AUC, PR-AUC, Brier, calibration, features, training window, "
        "when it was fitted, and its caveats",
        mime_type="application/json",
    )
    async def churn_model() -> str:
        from cs_mcp.domain.churn_model import churn_model_card

        ws = await state.workspace()
        card = await anyio.to_thread.run_sync(churn_model_card, ws)
        return card.model_dump_json(indent=2)
