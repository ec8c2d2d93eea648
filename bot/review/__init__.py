"""The CX team's review of what the bot misunderstood (issue 18): the NLU inbox of redacted customer messages,
annotations with their audit trail, and accepted examples written into Rasa's training data (docs/architecture.md)."""
