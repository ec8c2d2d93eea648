"""Handing a conversation to a person and back: routing, priority, the handoff store, the relay of messages.

The actions start a handoff (`service.start_handoff`), the socket channel relays the customer's messages
while a person has the conversation (`relay`), and the agent console (`bot.console`) claims, answers and
hands back through the same store and Rasa's HTTP API (`bot.rasa_api`).
"""
