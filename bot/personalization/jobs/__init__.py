"""Batch jobs over the whole shop: the segment refresh (RFM, clusters, churn risk, next-best-action) and
recommender training. They write what the live engine reads (`customer_segments`, the model bundle)."""
