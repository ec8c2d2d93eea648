"""Rasa's own reading of the files CX users edit in the console (a domain folder, a test stories file), each run as a
child process (`python -m bot.rasa_checks.<name>`, one JSON line out) by bot.review, which never imports Rasa."""
