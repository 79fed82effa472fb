"""Talking to a running Dagster webserver over its GraphQL API.

`streamforge train` and `leaderboard` launch exactly what the UI's "Materialize → backfill" launches
(`launchPartitionBackfill`), so they are visible, cancellable and resumable in the UI like any other backfill;
`streamforge backfill` launches runs over partition ranges (`launchMultipleRuns`, as the UI materialises a range),
sized by volume (`streamforge_app.backfill_runs`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from streamforge.errors import StreamForgeError

_LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionKeysNotFoundError { message partitionKeys }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""

_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      id status numPartitions
      error { message }
      assetBackfillData {
        assetBackfillStatuses {
          ... on AssetPartitionsStatusCounts {
            assetKey { path }
            numPartitionsTargeted numPartitionsInProgress numPartitionsMaterialized numPartitionsFailed
          }
        }
      }
    }
    ... on PythonError { message }
    ... on BackfillNotFoundError { message }
  }
}
"""

_LAUNCH_RUNS = """
mutation LaunchRuns($runs: [ExecutionParams!]!) {
  launchMultipleRuns(executionParamsList: $runs) {
    __typename
    ... on LaunchMultipleRunsResult {
      launchMultipleRunsResult {
        __typename
        ... on LaunchRunSuccess { run { runId } }
        ... on RunConfigValidationInvalid { errors { message } }
        ... on Error { message }
      }
    }
    ... on PythonError { message }
  }
}
"""

_REPOSITORIES = """
{ repositoriesOrError { __typename
    ... on RepositoryConnection { nodes { name location { name } jobs { name } } }
    ... on PythonError { message }
} }
"""

_LOCATIONS = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""

FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
SUCCEEDED = {"COMPLETED", "COMPLETED_SUCCESS"}


@dataclass(frozen=True)
class AssetProgress:
    asset: str
    targeted: int
    in_progress: int
    materialized: int
    failed: int


@dataclass(frozen=True)
class BackfillStatus:
    id: str
    status: str
    assets: list[AssetProgress]
    error: str | None
    runs_tag: str = "dagster/backfill"  # the tag its runs carry, the backfill's id its value

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCEEDED and not any(a.failed for a in self.assets)

    @property
    def done_fraction(self) -> float:
        targeted = sum(a.targeted for a in self.assets)
        return (sum(a.materialized + a.failed for a in self.assets) / targeted) if targeted else 0.0


class DagsterWebserver:
    def __init__(self, url: str, timeout_s: float = 60):
        self.url = url.rstrip("/")
        self._http = httpx.Client(timeout=timeout_s)

    def _query(self, query: str, variables: dict) -> dict:
        try:
            response = self._http.post(f"{self.url}/graphql", json={"query": query, "variables": variables})
        except httpx.HTTPError as exc:
            raise StreamForgeError(
                f"cannot reach the Dagster webserver at {self.url} ({exc}); start it with `make dev`"
            ) from exc
        body = response.json()
        if body.get("errors"):
            raise StreamForgeError(f"Dagster GraphQL error: {body['errors'][0].get('message')}")
        return body["data"]

    def wait_until_loaded(self, timeout_s: float = 180) -> None:
        """Block until every code location has loaded; a location that failed to load raises with its error."""
        deadline = time.monotonic() + timeout_s
        while True:
            workspace = self._query(_LOCATIONS, {})["workspaceOrError"]
            entries = workspace.get("locationEntries") or []
            failed = [e for e in entries if (e["locationOrLoadError"] or {}).get("__typename") == "PythonError"]
            if failed:
                raise StreamForgeError(
                    f"code location {failed[0]['name']} failed to load: {failed[0]['locationOrLoadError']['message']}"
                )
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
            if time.monotonic() > deadline:
                raise StreamForgeError(f"code locations at {self.url} not loaded after {timeout_s:.0f} s")
            time.sleep(0.5)

    @staticmethod
    def _launched(result: dict) -> str:
        if result["__typename"] != "LaunchBackfillSuccess":
            raise StreamForgeError(f"Dagster refused the backfill ({result['__typename']}): {result.get('message')}")
        return result["backfillId"]

    def launch_asset_backfill(self, partitions_by_asset: dict[str, list[str]], title: str, tags: dict[str, str]) -> str:
        """A backfill of different partitions per asset ('arangodb/trades' -> ['2025-01-01|BTCUSDT', ...]), as the
        UI launches one over assets with different partitionings; Dagster runs upstream partitions first."""
        params = {
            "partitionsByAssets": [
                {"assetKey": {"path": asset.split("/")}, "partitions": {"ranges": [{"start": k, "end": k} for k in keys]}}
                for asset, keys in partitions_by_asset.items()
            ],
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
            "title": title,
        }
        return self._launched(self._query(_LAUNCH, {"params": params})["launchPartitionBackfill"])

    def job_selector(self, job: str) -> dict[str, str]:
        """Where the job lives: its code location and repository, as a run's selector names them."""
        result = self._query(_REPOSITORIES, {})["repositoriesOrError"]
        if result["__typename"] != "RepositoryConnection":
            raise StreamForgeError(f"Dagster could not list its repositories: {result.get('message')}")
        for repository in result["nodes"]:
            if job in {j["name"] for j in repository["jobs"]}:
                return {"repositoryLocationName": repository["location"]["name"], "repositoryName": repository["name"],
                        "jobName": job}
        raise StreamForgeError(f"no code location at {self.url} defines the job {job!r}")

    def launch_runs(self, job: str, runs: list[tuple[tuple[str, ...], dict[str, str]]], per_request: int = 20) -> list[str]:
        """Launch one run of `job` per (asset keys, tags), `per_request` to a request; their run ids, in order. A
        launch Dagster refuses stops the rest, naming the runs already launched."""
        selector = self.job_selector(job)
        ids: list[str] = []
        for first in range(0, len(runs), per_request):
            ids += self._launch([
                {"selector": selector | {"assetSelection": [{"path": a.split("/")} for a in assets]},
                 "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}}
                for assets, tags in runs[first:first + per_request]
            ], ids)
        return ids

    def launch_job(self, job: str, run_config: dict) -> str:
        """Launch a run of an op job with its run config, as the Launchpad does; its run id."""
        [run_id] = self._launch([{"selector": self.job_selector(job), "runConfigData": run_config}], [])
        return run_id

    def _launch(self, params: list[dict], earlier: list[str]) -> list[str]:
        result = self._query(_LAUNCH_RUNS, {"runs": params})["launchMultipleRuns"]
        if result["__typename"] != "LaunchMultipleRunsResult":
            raise StreamForgeError(f"Dagster refused the runs: {result.get('message')}")
        ids: list[str] = []
        for answer in result["launchMultipleRunsResult"]:
            if answer["__typename"] != "LaunchRunSuccess":
                why = answer.get("message") or "; ".join(e["message"] for e in answer.get("errors", []))
                launched = earlier + ids
                raise StreamForgeError(f"Dagster refused a run ({answer['__typename']}): {why}; "
                                       f"{len(launched)} runs were launched: {', '.join(launched) or 'none'}")
            ids.append(answer["run"]["runId"])
        return ids

    def backfill_status(self, backfill_id: str) -> BackfillStatus:
        result = self._query(_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if result["__typename"] != "PartitionBackfill":
            raise StreamForgeError(f"backfill {backfill_id}: {result.get('message')}")
        statuses = (result.get("assetBackfillData") or {}).get("assetBackfillStatuses") or []
        assets = [
            AssetProgress(
                "/".join(s["assetKey"]["path"]), s["numPartitionsTargeted"], s["numPartitionsInProgress"],
                s["numPartitionsMaterialized"], s["numPartitionsFailed"],
            )
            for s in statuses
            if "assetKey" in s
        ]
        error = (result.get("error") or {}).get("message")
        return BackfillStatus(result["id"], result["status"], assets, error)
