"""Offline evaluation of the personalization code: a synthetic shop with known structure, public data sets
(MovieLens, UCI Online Retail) and ranking metrics, used by the bench/ scripts, never by the bot."""
