"""`python -m bot.console`: serve the agent console (host and port from TANDEM_CONSOLE_HOST / _PORT)."""

from bot.console.app import main

main()
