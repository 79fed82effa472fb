"""The ``store`` fixture runs each behavioural test against every backend: the embedded store always, ArangoDB when
STREAMFORGE_ARANGO_URL names a real server (each test run gets its own database, dropped afterwards).

``offline_store`` runs a test against both backends without a server: an ArangoDB store pointed at a closed loopback
port. Whatever a test does with it must be decided before the store sends anything (validation), or be the
connection failure itself."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

from streamforge import settings
from streamforge.store.embedded import EmbeddedStore

ARANGO_SKIP = (
    "STREAMFORGE_ARANGO_URL not set: ArangoDB tests need a real server "
    "(e.g. docker run -p 8529:8529 -e ARANGO_NO_AUTH=1 arangodb)"
)


@pytest.fixture(scope="session")
def arango_server() -> dict:
    """Connection arguments of ArangoStore for a fresh database on the configured server (dropped at the end)."""
    if not os.environ.get("STREAMFORGE_ARANGO_URL"):
        pytest.skip(ARANGO_SKIP)
    from arango import ArangoClient

    url, user, password = (settings.get(f"STREAMFORGE_ARANGO_{s}") for s in ("URL", "USER", "PASSWORD"))
    ca_cert = settings.get("STREAMFORGE_ARANGO_CA_CERT")
    database = f"streamforge_test_{uuid.uuid4().hex[:8]}"
    yield {"url": url, "database": database, "user": user, "password": password, "ca_cert": ca_cert}
    system = ArangoClient(hosts=url, verify_override=ca_cert or None).db("_system", username=user, password=password)
    if system.has_database(database):
        system.delete_database(database)


@pytest.fixture(scope="session")
def arango_store(arango_server):
    from streamforge.store.arango import ArangoStore

    return ArangoStore(**arango_server)


@pytest.fixture(params=["embedded", pytest.param("arango", marks=pytest.mark.arango)])
def store(request, tmp_path):
    if request.param == "embedded":
        return EmbeddedStore(tmp_path / "store")
    return request.getfixturevalue("arango_store")


@pytest.fixture(scope="session")
def closed_url() -> Iterator[str]:
    """A loopback URL nothing listens on: its port stays bound, never listening, so connections to it are refused
    and no other process of the test run can take it meanwhile."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}"


@pytest.fixture(params=["embedded", "arango"])
def offline_store(request, tmp_path, closed_url):
    if request.param == "embedded":
        return EmbeddedStore(tmp_path / "store")
    from streamforge.store.arango import ArangoStore

    return ArangoStore(closed_url, "streamforge", "root", "")


@pytest.fixture
def collection() -> str:
    """A fresh collection name per test, so tests sharing one ArangoDB database do not see each other's data."""
    return f"t{uuid.uuid4().hex[:12]}"
