"""Kafka client settings from the environment: one code path for the local broker and a SASL/SSL cluster.

Only standard client settings appear here, so whatever runs against Tansu on a laptop runs unchanged against Strimzi;
the environment decides where it points.
"""

from __future__ import annotations

from streamforge import settings
from streamforge.errors import BusError, ConfigError

_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


def timeout_s() -> float:
    """The one bound on every wait for the broker (STREAMFORGE_KAFKA_TIMEOUT_S)."""
    return float(settings.get("STREAMFORGE_KAFKA_TIMEOUT_S"))


def max_message_bytes() -> int:
    return int(settings.get("STREAMFORGE_KAFKA_MAX_MESSAGE_BYTES"))


def kafka_config(bootstrap: str | None = None) -> dict:
    """kafka-python settings shared by producers, consumers and admin clients.

    `bootstrap` overrides STREAMFORGE_KAFKA_BOOTSTRAP (a LocalBroker's address, for instance). Timeouts are bounded by
    STREAMFORGE_KAFKA_TIMEOUT_S so an unreachable broker fails fast instead of after kafka-python's 30-60 s defaults.
    Reconnect back-off is capped at 1 s (the Java client's default; kafka-python's is 30 s): a long-lived producer
    that saw the broker go away must notice it is back before the next send's timeout, not half a minute later.
    """
    protocol = settings.get("STREAMFORGE_KAFKA_SECURITY_PROTOCOL").upper()
    if protocol not in _PROTOCOLS:
        raise ConfigError(f"STREAMFORGE_KAFKA_SECURITY_PROTOCOL={protocol!r}; expected one of {', '.join(_PROTOCOLS)}")
    timeout_ms = int(timeout_s() * 1000)
    config: dict = {
        "bootstrap_servers": (bootstrap or settings.get("STREAMFORGE_KAFKA_BOOTSTRAP")).split(","),
        "client_id": settings.get("STREAMFORGE_KAFKA_CLIENT_ID"),
        "security_protocol": protocol,
        "bootstrap_timeout_ms": timeout_ms,
        "request_timeout_ms": timeout_ms,
        "reconnect_backoff_max_ms": 1000,
    }
    if protocol.startswith("SASL_"):
        sasl = {
            "sasl_mechanism": "STREAMFORGE_KAFKA_SASL_MECHANISM",
            "sasl_plain_username": "STREAMFORGE_KAFKA_SASL_USERNAME",
            "sasl_plain_password": "STREAMFORGE_KAFKA_SASL_PASSWORD",
        }
        missing = [env for env in sasl.values() if not settings.get(env)]
        if missing:
            raise ConfigError(f"STREAMFORGE_KAFKA_SECURITY_PROTOCOL={protocol} needs {', '.join(missing)}")
        config |= {key: settings.get(env) for key, env in sasl.items()}
    if protocol.endswith("SSL") and settings.get("STREAMFORGE_KAFKA_SSL_CAFILE"):
        config["ssl_cafile"] = settings.get("STREAMFORGE_KAFKA_SSL_CAFILE")
    return config


def where(config: dict) -> str:
    """Where a client looks for Kafka, and the setting that says so: what an error about reaching it must name."""
    return f"Kafka at {','.join(config['bootstrap_servers'])} (STREAMFORGE_KAFKA_BOOTSTRAP)"


def unreachable(config: dict, error: Exception) -> BusError:
    return BusError(f"cannot reach {where(config)}: {error}")
