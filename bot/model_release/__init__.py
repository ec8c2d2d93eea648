"""The Rasa model from the data to the customers (`tandem model ...`, docs/models.md): a registry of trained models
with manifests (`registry`), the check before a publish (`check`: `validation`, `train`, `conversations`, the NLU
regression on held-out messages: `heldout`, `regression`), publishing into every running Rasa and rolling back
(`publish`, `instances`), and what the CLI and the console call (`service`). Rasa runs in child processes
(`rasa_process`) or behind its HTTP API (bot.rasa_api): nothing here imports it."""
