"""``pomar export JOB|RUN PATH`` and ``pomar import PATH``: repro bundles between stores."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.repro import export_bundle, import_bundle
from orchestrator.stores import open_store
from pomar_core.artifact_stores import open_artifacts
from pomar_core.settings import Settings


@click.command("export")
@click.argument("ident", metavar="JOB|RUN")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def export(settings: Settings, ident: str, path: Path) -> int:
    """Write a job (or one run) with its model, inputs, reference and outputs to PATH."""
    store = open_store(settings.resolved_store_url)
    manifest = export_bundle(store, open_artifacts(settings), ident, path)
    size = sum(manifest.artifacts.values())
    click.echo(
        f"wrote {path}: job {manifest.job.job_id}, {len(manifest.runs)} run(s), "
        f"{len(manifest.artifacts)} artifact(s), {size / 1e6:.1f} MB"
    )
    return 0


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def import_(settings: Settings, path: Path) -> int:
    """Load a repro bundle into this store; `pomar check --from-bundle PATH` reruns it."""
    store = open_store(settings.resolved_store_url)
    manifest, runs = import_bundle(path, store, open_artifacts(settings))
    job = manifest.job.job_id
    click.echo(f"imported job {job} with {runs} finished run(s): `pomar results {job}`")
    return 0
