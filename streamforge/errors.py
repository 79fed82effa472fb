"""Errors a user can act on. Each names the thing that was wrong and, where there is one, what to do about it."""


class StreamForgeError(Exception):
    """Base of every error StreamForge raises on purpose."""


class SchemaError(StreamForgeError):
    """Data does not match its declared record type."""


class ConfigError(StreamForgeError):
    """A setting or argument is invalid."""


class ExchangeError(StreamForgeError):
    """The exchange answered with an error, or could not be reached after retries."""


class UnknownSymbolError(ConfigError):
    """The exchange does not list the symbol, or it is not trading."""


class MalformedDataError(StreamForgeError):
    """A row from the exchange (REST page or dump file) could not be parsed; the message names where."""


class ChecksumError(StreamForgeError):
    """A downloaded dump file does not match its published SHA-256."""


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
