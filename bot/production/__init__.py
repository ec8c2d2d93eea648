"""The production profile on one machine: own PostgreSQL, Redis and RabbitMQ, two Rasa and two action servers, nginx.

`tandem up --production` runs it (`profile.up_production`); docs/deploy.md maps each piece onto containers.
"""
