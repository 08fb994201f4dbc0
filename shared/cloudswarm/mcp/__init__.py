"""The MCP adapter: external tools on remote MCP servers, through the official SDK."""
