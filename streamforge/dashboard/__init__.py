"""The live dashboard: a web page that follows the live Kafka topics through one server process.

Browsers never talk to Kafka: one server consumes the live topics once and fans compact JSON out to every page, so a
hundred open tabs cost one consumer, and the page needs no Kafka credentials.

- config.py: what the dashboard reads and how it pushes, from the settings
- rows.py: Arrow frames from Kafka -> the few JSON-ready rows the page draws (vectorised, in the Kafka thread)
- views.py: per-instrument state (candles, tape, book, event times), bounded, with what changed since the last push
- feed.py: the Kafka consumer thread (assign, look-back, decode, lag)
- history.py: the chart's last hours, from the venue's klines, once per instrument
- loader_metrics.py: the live loader's Prometheus endpoint, read for the health panel
- hub.py: browser clients, coalesced pushes, dropping for slow clients
- app.py: the Starlette app (`/`, `/healthz`, `/ws`, static files) and how to run it
- web/: the page; its chart library comes from npm (package-lock.json) and is served from node_modules, no CDN
"""
