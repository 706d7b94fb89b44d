"""Planner bookings of the stock pipeline: transfer arrivals, buy receipts, repair sends, repair
returns and scraps, each as ledger movements (``/v1/pipeline``)."""
