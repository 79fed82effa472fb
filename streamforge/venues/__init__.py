"""Venues: one folder per exchange, holding everything specific to it.

A venue's folder translates its wire formats (REST pages, dump files, WebSocket messages) into the catalog's records
at the edge, keeps its own procedures (rate limits, the order-book synchronisation, connection rules) and serves its
wire format from the simulator's market (`<venue>/simulator`). The rest of StreamForge sees only records keyed by
instrument id (`streamforge.instruments`); it learns which venue a record came from by the instrument's name alone.
"""
