"""How driver and network failures reach the user: one StoreError that names the URL and the setting to check."""

from __future__ import annotations

import functools

import requests
from arango.errno import DATABASE_NOT_FOUND
from arango.exceptions import ArangoError, ArangoServerError
from arango.http import DefaultHTTPClient

from streamforge.errors import StoreError
from streamforge.settings import mask_credentials

class HTTPClient(DefaultHTTPClient):
    """python-arango's HTTP client, remembering why the last connection failed: the driver turns failures into a
    bare "Can't connect to host(s)" after trying every host, and the cause (refused, DNS, TLS) is what a user needs."""

    last_failure: Exception | None = None

    def send_request(self, *args, **kwargs):
        try:
            return super().send_request(*args, **kwargs)
        except requests.ConnectionError as exc:
            self.last_failure = exc
            raise

def store_error(exc: Exception, url: str, doing: str, timeout_s: float, cause: Exception | None = None) -> StoreError:
    """One actionable StoreError for anything the driver or the network raised, naming the URL (its credentials
    masked, in the URL and in the driver's own words) and the setting to check."""
    return StoreError(mask_credentials(str(_store_error(exc, url, doing, timeout_s, cause))))

def _store_error(exc: Exception, url: str, doing: str, timeout_s: float, cause: Exception | None) -> StoreError:
    if isinstance(exc, ConnectionAbortedError) and cause is not None:
        exc = cause
    if isinstance(exc, requests.exceptions.SSLError):
        return StoreError(f"TLS with ArangoDB at {url} failed while {doing}: {exc}; check STREAMFORGE_ARANGO_CA_CERT "
                          "and STREAMFORGE_ARANGO_URL")
    if isinstance(exc, (requests.ConnectionError, ConnectionAbortedError)):
        return StoreError(f"cannot reach ArangoDB at {url} while {doing}: {exc}; check STREAMFORGE_ARANGO_URL and "
                          "that the server is up")
    if isinstance(exc, requests.Timeout):
        return StoreError(f"ArangoDB at {url} did not answer within STREAMFORGE_ARANGO_TIMEOUT_S={timeout_s:g} s while "
                          f"{doing}; check the server's load, or raise STREAMFORGE_ARANGO_TIMEOUT_S")
    if isinstance(exc, OSError):  # requests' other errors, and a CA certificate file that cannot be read
        return StoreError(f"talking to ArangoDB at {url} failed while {doing}: {exc}; check STREAMFORGE_ARANGO_URL and "
                          "STREAMFORGE_ARANGO_CA_CERT")
    if isinstance(exc, ArangoServerError) and exc.http_code in (401, 403):
        return StoreError(f"ArangoDB at {url} refused access while {doing}: {exc}; check STREAMFORGE_ARANGO_USER and "
                          "STREAMFORGE_ARANGO_PASSWORD, and the user's rights on STREAMFORGE_ARANGO_DB")
    if isinstance(exc, ArangoServerError) and exc.error_code == DATABASE_NOT_FOUND:
        return StoreError(f"the database at {url} does not exist and this user may not create it ({doing}): {exc}; "
                          "check STREAMFORGE_ARANGO_DB, or create the database")
    return StoreError(f"ArangoDB at {url} failed while {doing}: {exc}")

def store_errors(doing: str):
    """Turn an ArangoStore method's driver and network errors into StoreError (store_error), so callers handle one
    exception type."""

    def wrap(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):  # self: an ArangoStore, with its url, timeout_s and http (HTTPClient)
            self.http.last_failure = None
            try:
                return method(self, *args, **kwargs)
            except (ArangoError, OSError) as exc:  # requests' errors are OSErrors
                raise store_error(exc, self.url, doing, self.timeout_s, self.http.last_failure) from exc

        return wrapper

    return wrap
