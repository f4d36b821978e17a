"""The evidence resources: cs://models/churn (the churn models and tiers) and cs://models/health (does the
health score predict churn here)."""

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
        description="How churn-risk-list ranks: which probability ranks (lost at or before the next renewal, by "
        "default) and the 90-day one beside it, each model's method, cross-validated ROC-AUC, PR-AUC, Brier, "
        "calibration, features (context features apart), training window, caveats, and how many accounts each "
        "tier holds",
        mime_type="application/json",
    )
    async def churn_model() -> str:
        from cs_mcp.domain.model_cards import churn_models

        ws = await state.workspace()
        card = await anyio.to_thread.run_sync(churn_models, ws)
        return card.model_dump_json(indent=2)

    @server.resource(
        "cs://models/health",
        name="models/health",
        title="Health validation",
        description="Does the health score predict churn on this workspace: churn within 12 months after past "
        "cut-offs by the band each account had then, with counts and ROC-AUC",
        mime_type="application/json",
    )
    async def health_validation() -> str:
        from cs_mcp.domain.model_cards import health_validation

        ws = await state.workspace()
        result = await anyio.to_thread.run_sync(health_validation, ws)
        return result.model_dump_json(indent=2)
