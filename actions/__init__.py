"""rasa-sdk custom actions: thin adapters from the dialogue to the services in `bot/`."""
