"""kafka_config: standard client settings from the environment, the same for Tansu and a SASL/SSL cluster."""

import pytest

from streamforge.bus.config import kafka_config
from streamforge.errors import ConfigError


def test_plaintext_defaults_carry_bootstrap_client_id_and_bounded_timeouts(monkeypatch):
    monkeypatch.setenv("STREAMFORGE_KAFKA_BOOTSTRAP", "k1:9092,k2:9092")
    monkeypatch.setenv("STREAMFORGE_KAFKA_TIMEOUT_S", "7")
    config = kafka_config()
    assert config["bootstrap_servers"] == ["k1:9092", "k2:9092"]
    assert config["client_id"] == "streamforge"
    assert config["security_protocol"] == "PLAINTEXT"
    assert config["bootstrap_timeout_ms"] == config["request_timeout_ms"] == 7000
    assert not any(key.startswith(("sasl_", "ssl_")) for key in config)


def test_an_explicit_bootstrap_overrides_the_setting(monkeypatch):
    monkeypatch.setenv("STREAMFORGE_KAFKA_BOOTSTRAP", "k1:9092")
    assert kafka_config("127.0.0.1:1234")["bootstrap_servers"] == ["127.0.0.1:1234"]


def test_sasl_ssl_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("STREAMFORGE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("STREAMFORGE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("STREAMFORGE_KAFKA_SASL_USERNAME", "streamforge")
    monkeypatch.setenv("STREAMFORGE_KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("STREAMFORGE_KAFKA_SSL_CAFILE", "/etc/kafka/ca.crt")
    config = kafka_config()
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_username"] == "streamforge"
    assert config["sasl_plain_password"] == "s3cret"
    assert config["ssl_cafile"] == "/etc/kafka/ca.crt"


def test_sasl_without_credentials_names_the_missing_settings(monkeypatch):
    monkeypatch.setenv("STREAMFORGE_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("STREAMFORGE_KAFKA_SASL_MECHANISM", "PLAIN")
    with pytest.raises(ConfigError, match="STREAMFORGE_KAFKA_SASL_USERNAME, STREAMFORGE_KAFKA_SASL_PASSWORD"):
        kafka_config()


def test_an_unknown_security_protocol_is_refused(monkeypatch):
    monkeypatch.setenv("STREAMFORGE_KAFKA_SECURITY_PROTOCOL", "TLS")
    with pytest.raises(ConfigError, match="SASL_SSL"):
        kafka_config()
