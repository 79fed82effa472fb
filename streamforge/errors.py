"""Errors a user can act on. Each names the thing that was wrong and, where there is one, what to do about it."""

SHOWN_CHARS = 200  # of a bad value quoted in an error: enough to recognise it, never megabytes of it


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """`repr(value)` for an error message, cut to `limit` characters (see `cut`)."""
    return cut(repr(value), limit)


def cut(text: str, limit: int = SHOWN_CHARS) -> str:
    """`text` cut to `limit` characters, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


class StreamForgeError(Exception):
    """Base of every error StreamForge raises on purpose."""


class SchemaError(StreamForgeError):
    """Data does not match its declared record type."""


class ConfigError(StreamForgeError):
    """A setting or argument is invalid."""


class ExchangeError(StreamForgeError):
    """The exchange answered with an error, or could not be reached after retries."""


class ResponseTooLargeError(ExchangeError):
    """An answer from the exchange is longer than its byte limit; asking again would not make it shorter."""


class UnknownSymbolError(ConfigError):
    """The exchange does not list the symbol, or it is not trading."""


class MalformedDataError(StreamForgeError):
    """A row from the exchange (REST page or dump file) could not be parsed; the message names where."""


class ChecksumError(StreamForgeError):
    """A downloaded dump file does not match its published SHA-256."""


class DumpArchiveError(StreamForgeError):
    """A dump archive that passed its checksum but is not one day's CSV: more than one file in it, or more bytes
    than the day can take. Like a checksum mismatch, the day is loaded from REST instead, with this as the reason."""


class BusError(StreamForgeError):
    """Kafka could not be reached, or data expected on a topic is not there."""


class DataGoneError(BusError):
    """Data an upstream materialisation wrote has left its topic; the message names the partition to re-materialise."""


class StoreError(StreamForgeError):
    """The store could not read or write a partition."""


class InsufficientDataError(ConfigError):
    """The data cannot support the graph or the model: a symbol without candles, a window too short for the
    train/validation/test split, or a constant series (zero volatility) whose statistics are undefined."""


class FeatureSetMismatchError(StreamForgeError):
    """A saved model was trained on a feature set that differs from the current code's; the message names the difference."""


class InSampleError(StreamForgeError):
    """A forecast was asked for a day the model was trained, validated or tested on: its score there is not an
    out-of-sample forecast."""
class NotAvailableError(ExchangeError):
    """The exchange does not serve the data asked for (a day before the reach of an endpoint, a dataset a market does
    not have); the message says from when, or where, it is available."""
