"""The ``store`` fixture runs each behavioural test against every backend: the embedded store always, ArangoDB when
STREAMFORGE_ARANGO_URL names a real server (each test run gets its own database, dropped afterwards)."""

from __future__ import annotations

import os
import uuid

import pytest

from streamforge import settings
from streamforge.store.embedded import EmbeddedStore

ARANGO_SKIP = (
    "STREAMFORGE_ARANGO_URL not set: ArangoDB tests need a real server "
    "(e.g. docker run -p 8529:8529 -e ARANGO_NO_AUTH=1 arangodb)"
)


@pytest.fixture(scope="session")
def arango_store():
    if not os.environ.get("STREAMFORGE_ARANGO_URL"):
        pytest.skip(ARANGO_SKIP)
    from arango import ArangoClient

    from streamforge.store.arango import ArangoStore

    url, user, password = (settings.get(f"STREAMFORGE_ARANGO_{s}") for s in ("URL", "USER", "PASSWORD"))
    ca_cert = settings.get("STREAMFORGE_ARANGO_CA_CERT") or None
    database = f"streamforge_test_{uuid.uuid4().hex[:8]}"
    yield ArangoStore(url, database, user, password, ca_cert or "")
    ArangoClient(hosts=url, verify_override=ca_cert).db("_system", username=user, password=password).delete_database(database)


@pytest.fixture(params=["embedded", pytest.param("arango", marks=pytest.mark.arango)])
def store(request, tmp_path):
    if request.param == "embedded":
        return EmbeddedStore(tmp_path / "store")
    return request.getfixturevalue("arango_store")


@pytest.fixture
def collection() -> str:
    """A fresh collection name per test, so tests sharing one ArangoDB database do not see each other's data."""
    return f"t{uuid.uuid4().hex[:12]}"
