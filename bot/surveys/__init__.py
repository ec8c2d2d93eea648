"""Customer surveys: CSAT, Customer Effort Score and Net Promoter Score, asked when something was solved, capped
so that no customer is surveyed too often (`config/surveys.yml`), and stored with the conversation.

`service` is what the actions call; `policy` decides whether and which survey to ask; `store` keeps the asks and
the CES/NPS answers (`survey_asks`; CSAT's answers stay in `journey_csat`); `answers` reads typed answers.
"""
