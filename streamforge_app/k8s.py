"""`streamforge k8s ...`: regenerate, render and check the Kubernetes deployment without a cluster."""

from __future__ import annotations

from typing import Annotated

import typer
import yaml

app = typer.Typer(help="Kubernetes deployment: generate topics, render overlays, check them.", no_args_is_help=True)


@app.command()
def topics() -> None:
    """Rewrite deployments/k8s/base/kafka-topics.yaml from the code's TOPICS."""
    from streamforge.deploy import topics_manifest

    print(f"wrote {topics_manifest.write()}")


@app.command()
def render(overlay: Annotated[str, typer.Argument(help="dev or prod")]) -> None:
    """Print the manifests of an overlay, as `kubectl apply -k` would apply them."""
    from streamforge.deploy.render import overlay as render_overlay

    print(yaml.safe_dump_all(render_overlay(overlay), sort_keys=False))


@app.command()
def check() -> None:
    """Schema-validate and policy-check every overlay, and the run Job and the long-running pods of the Dagster chart
    as they would run beside the prod overlay; exit 1 on any problem."""
    from streamforge.deploy import OVERLAYS, policy, validate
    from streamforge.deploy.render import overlay as render_overlay
    from streamforge_app import runjob
    from streamforge_assets.run_queue import INSTRUMENT_TAG

    problems: list[str] = []
    rendered = {name: render_overlay(name) for name in OVERLAYS}
    for name, docs in rendered.items():
        problems += validate.all_schema_errors(docs) + [str(v) for v in policy.check(docs, prod=name == "prod")]
    values = runjob.load_values()
    job = runjob.run_job(values, {INSTRUMENT_TAG: "binance.spot.BTCUSDT"})
    problems += validate.schema_errors(job) + [str(v) for v in policy.check([job], prod=True, context=rendered["prod"])]
    problems += [str(v) for v in policy.check(runjob.chart_pods(values), context=rendered["prod"])]
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)")
    raise typer.Exit(1 if problems else 0)


@app.command("run-job")
def run_job(instrument: Annotated[str, typer.Option(help="Instrument tag of the sample run.")] = "binance.spot.BTCUSDT") -> None:
    """Print the Kubernetes Job dagster-k8s builds for a sample run from deployments/helm/values.yaml."""
    from streamforge_app import runjob
    from streamforge_assets.run_queue import INSTRUMENT_TAG

    print(yaml.safe_dump(runjob.run_job(runjob.load_values(), {INSTRUMENT_TAG: instrument}), sort_keys=False))


@app.command()
def instance(namespace: Annotated[str, typer.Option(help="Namespace of the Helm release.")] = "streamforge") -> None:
    """Print the dagster.yaml sections (run queue, run launcher, pools) the chart renders from our values."""
    from streamforge_app import runjob

    print(yaml.safe_dump(runjob.instance_config(runjob.load_values(), namespace), sort_keys=False))
