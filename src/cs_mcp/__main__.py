from cs_mcp.cli import main

main()
