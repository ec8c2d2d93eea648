"""Customers' data rights: a copy of everything held about a customer, erasure across every store, and the
retention of conversations (docs/privacy.md). `service` is what the CLI and, later, the chat call."""
