"""Not built yet: its tools are added to TOOLS when they land."""

TOOLS: list = []
