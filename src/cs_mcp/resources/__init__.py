"""MCP resources (skills, templates, config, data quality, account profiles) and argument completion."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import anyio
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.server.mcpserver.resources import FunctionResource
from mcp.types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from cs_mcp import content

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from cs_mcp.server import AppState

MAX_COMPLETIONS = 50


def register_resources(server: MCPServer, state: AppState) -> None:
    for kind, prefix in (("skill", "skills"), ("template", "templates")):
        for doc in content.load_documents(kind):
            server.add_resource(
                FunctionResource(
                    uri=f"cs://{prefix}/{doc.name}",
                    name=f"{prefix}/{doc.name}",
                    title=doc.title,
                    description=doc.description,
                    mime_type="text/markdown",
                    fn=(lambda d=doc: content.render(d, state.settings)),
                )
            )

    @server.resource("cs://config/active", name="config/active", title="Configuration in force",
                     description="Weights, bands, thresholds and targets the tools use now",
                     mime_type="application/json")
    def active_config() -> str:
        return json.dumps(state.settings.public_dict(), indent=2, default=str)

    @server.resource("cs://data/quality", name="data/quality", title="Data quality report",
                     description="What the data load found: rows read, loaded and rejected per table, and why",
                     mime_type="application/json")
    async def data_quality() -> str:
        ws = await state.workspace()  # notices changed files, so a failed reload is reported here too
        return ws.quality.compact(10).model_dump_json(indent=2)

    @server.resource("cs://accounts/{account_id}", name="accounts", title="Account profile",
                     description="An account's record, custom attributes, CSM, rows per table, standing, renewal",
                     mime_type="application/json")
    async def account(account_id: str) -> str:
        from cs_mcp.domain.profile import account_profile

        ws = await state.workspace()
        try:
            profile = await anyio.to_thread.run_sync(account_profile, ws, account_id)
        except KeyError:
            raise ResourceNotFoundError(
                f"No account with id '{account_id}'. Use the find-accounts tool to look ids up."
            ) from None
        return json.dumps(profile, indent=2, default=str)


def _complete_values(state: AppState, kind: str, prefix: str) -> Completion:
    from cs_mcp.workspace.queries.accounts import completions

    ws = state.loaded or state.open_workspace()
    values = completions(ws, kind, prefix.lower()) if kind in ("account", "segment", "csm") else []
    return Completion(values=values[:MAX_COMPLETIONS], total=len(values), has_more=len(values) > MAX_COMPLETIONS)


def register_completion(server: MCPServer, state: AppState) -> None:
    """Prompt arguments and account ids complete from the data (cheap to register: reads nothing yet)."""

    @server.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        kind = None
        if isinstance(ref, PromptReference):
            doc = next((d for d in content.load_documents("prompt") if d.name == ref.name), None)
            kind = next((a.complete for a in doc.arguments if a.name == argument.name), None) if doc else None
        elif ref.uri == "cs://accounts/{account_id}" and argument.name == "account_id":
            kind = "account"
        if kind is None:
            return None
        return await anyio.to_thread.run_sync(_complete_values, state, kind, argument.value)
