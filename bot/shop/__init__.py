"""Shop services used by the actions: catalog lookup, orders, customers, and the demo data generator.

Every public function takes a SQLAlchemy session and returns frozen dataclasses (never ORM objects), so
callers never hold on to a session or lazily load data after it closed.
"""
