"""Every registered forecaster: importing this package registers the models.

Add a module here and its import below, and the protocol, the leaderboard asset and the model cards take it up; the
leaderboard's default line-up is `streamforge.models.lineup.LINEUP`. `forecaster_class` imports this package the first
time a forecaster is asked for by name.
"""

from streamforge.models.zoo import gat, gnnhar, har, harx, mlp, persistence, relational, sage, temporal  # noqa: F401 (registration)
