"""Issue journeys: resolution workflows as data, run step by step, persisted until the problem is solved.

`types.py` is the contract between the workflow runner (`workflows/`, pure) and the journey store
(`store.py`, SQL): the runner says what happens next, the store writes it down before the bot answers.
"""
