"""The shop's demo page: embeds the chat widget and signs customer ids (see docs/architecture.md)."""
