"""The agent console: people take over conversations the bot handed off (docs/console.md).

`python -m bot.console` serves it (TANDEM_CONSOLE_HOST / TANDEM_CONSOLE_PORT); `tandem agents ...` manages
who may sign in. It reads and writes handoffs through `bot.handoff.store` and talks to the customer through
Rasa's HTTP API (`bot.rasa_api`), never through the widget.
"""
