"""The live loaders' Prometheus endpoints, read for the health panel (events/s, event age, reconnects, gaps, resyncs).

One endpoint per shard of the loader fleet. The dashboard does not hard-code the loader's metric names: it passes on
every `streamforge*` sample with its labels; a page gets every loader's loader-wide samples and the samples of the
instrument it shows (from the shard that follows it), so its health message stays small however many instruments
the fleet follows. Counters (`*_total`) also get a rate per second from two consecutive scrapes, and a histogram
shows as its mean (publish latency). Buckets are left out: the page has no room for a distribution.
"""

from __future__ import annotations

import asyncio
import re
import time

import httpx

from streamforge.schemas import INSTRUMENT

# name{labels} value [timestamp]
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> list[tuple[str, dict[str, str], float]]:
    """The `streamforge*` samples of a Prometheus text exposition, without histogram buckets and `_created` stamps."""
    samples = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match or not match["name"].startswith("streamforge") or match["name"].endswith(("_bucket", "_created")):
            continue
        try:
            value = float(match["value"])
        except ValueError:
            continue
        samples.append((match["name"], dict(_LABEL.findall(match["labels"] or "")), value))
    return samples


class LoaderMetrics:
    """Scrapes `url` on demand and keeps what the page needs: the samples, counter rates, or why there are none."""

    def __init__(self, url: str):
        self.url = url
        self.latest: dict = {"url": url, "error": "not scraped yet", "samples": []}
        self._previous: tuple[float, dict[tuple, float]] | None = None

    async def scrape(self, client: httpx.AsyncClient) -> dict:
        try:
            response = await client.get(self.url)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self.latest = {"url": self.url, "error": f"not reachable at {self.url} ({exc})", "samples": []}
            self._previous = None
            return self.latest
        self.latest = {"url": self.url, "error": None, "samples": self._summarise(parse(response.text))}
        return self.latest

    def _summarise(self, samples: list[tuple[str, dict[str, str], float]]) -> list[list]:
        """[name, labels, value, rate per second or None]; a histogram's `_sum`/`_count` become one `_mean`, the
        mean since the previous scrape (since the start on the first)."""
        now = time.monotonic()
        totals = {(name, _key(labels)): v for name, labels, v in samples if name.endswith(("_total", "_sum", "_count"))}
        then, before = self._previous or (now, {})
        self._previous = (now, totals)

        def change(key: tuple) -> float | None:
            return totals[key] - before[key] if key in before else None

        summary = []
        for name, labels, value in samples:
            key, base = (name, _key(labels)), name.rsplit("_", 1)[0]
            if name.endswith("_count") and (f"{base}_sum", key[1]) in totals:
                continue  # folded into the `_mean` of its `_sum`
            if name.endswith("_sum") and (count_key := (f"{base}_count", key[1])) in totals:
                recent = change(count_key)
                mean = change(key) / recent if recent else value / totals[count_key] if totals[count_key] else None
                if mean is not None:
                    summary.append([f"{base}_mean", labels, mean, None])
                continue
            delta = change(key) if name.endswith("_total") and now > then else None
            summary.append([name, labels, value, None if delta is None else delta / (now - then)])
        return summary


def _key(labels: dict[str, str]) -> tuple:
    return tuple(sorted(labels.items()))


SHARD = "streamforge_live_shard_instruments"  # {shard="k/n"} instruments: which share a loader follows


class Fleet:
    """Every loader of the fleet, scraped together; `for_instrument` is what one page is sent."""

    def __init__(self, urls: tuple[str, ...]):
        self.loaders = [LoaderMetrics(url) for url in urls]

    async def scrape(self, client: httpx.AsyncClient) -> None:
        await asyncio.gather(*(loader.scrape(client) for loader in self.loaders))

    def for_instrument(self, instrument: str | None) -> list[dict]:
        """Per loader: its URL, shard (from its samples), error, and its samples that name no instrument or
        `instrument`."""
        shown = []
        for loader in self.loaders:
            samples = loader.latest["samples"]
            shard = next((labels.get("shard") for name, labels, *_ in samples if name == SHARD), None)
            mine = [s for s in samples if s[1].get(INSTRUMENT) in (None, instrument)]
            shown.append({"url": loader.url, "shard": shard, "error": loader.latest["error"], "samples": mine})
        return shown
