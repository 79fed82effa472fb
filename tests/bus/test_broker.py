"""LocalBroker: a real Tansu process on loopback that answers Kafka requests as soon as start() returns."""

from kafka import KafkaAdminClient

from streamforge.bus.broker import LocalBroker
from streamforge.bus.config import kafka_config
from streamforge.bus.topics import ensure_topics


def test_restart_keeps_the_port_and_forgets_topics(tmp_path, make_topic):
    with LocalBroker(tmp_path, stop_timeout_s=1) as broker:
        bootstrap = broker.bootstrap
        spec = make_topic(kafka_config(bootstrap))
        broker.restart()
        assert broker.bootstrap == bootstrap and broker.running
        admin = KafkaAdminClient(**kafka_config(bootstrap))
        try:
            assert spec.name not in admin.list_topics()
        finally:
            admin.close()
        assert ensure_topics(kafka_config(bootstrap), (spec,)) == [spec.name]
    assert not broker.running
    assert "ready" in broker.log_path.read_text()


def test_stop_is_idempotent(tmp_path):
    broker = LocalBroker(tmp_path).start()
    broker.stop()
    broker.stop()
    assert not broker.running
