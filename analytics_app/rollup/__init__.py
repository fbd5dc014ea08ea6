"""The write side of the daily rollups: the boundary and marks protocol (``protocol``),
finished days (``days``), today's live count (``live``) and one run of it all (``run``).

The read side is ``analytics_app.reports``, which never writes.
"""
