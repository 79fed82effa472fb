"""The live loader: Binance's combined WebSocket stream into Kafka, with exact books and gap-free trade ids.

`connection` keeps the socket alive by Binance's rules, `events` parses each message once into the schema's rows,
`gaps` and `book` turn a lossy stream into an exact one (REST repairs, snapshot + diffs), `publisher` micro-batches
rows into Arrow messages, `deadletter` keeps what could not be parsed, `health` serves metrics, `loader` wires it.
"""
