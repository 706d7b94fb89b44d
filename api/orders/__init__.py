"""The orders dispatches open (replenishment transfers and buys, repair and scrap orders): listed
and completed through the ledger (``/v1/orders``)."""
