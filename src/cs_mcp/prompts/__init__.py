"""MCP prompts: the playbooks (agents and workflows), each telling the model which tools to call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument, UserMessage

from cs_mcp import content

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from cs_mcp.server import AppState


def register_prompts(server: MCPServer, state: AppState, enabled_tools: set[str]) -> list[str]:
    """Register every playbook whose tools are all enabled; return their names."""
    names = []
    for doc in content.load_documents("prompt"):
        if not set(doc.tools) <= enabled_tools:
            continue

        def render(_doc: content.Document = doc, **kwargs: Any) -> list[UserMessage]:
            args = {k: str(v) for k, v in kwargs.items() if v is not None}
            return [UserMessage(content.render(_doc, state.settings, args))]

        server.add_prompt(
            Prompt(
                name=doc.name,
                title=doc.title,
                description=doc.description,
                arguments=[
                    PromptArgument(name=a.name, description=a.description, required=a.required)
                    for a in doc.arguments
                ],
                fn=render,
            )
        )
        names.append(doc.name)
    return names
