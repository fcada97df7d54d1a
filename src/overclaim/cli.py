"""The ``overclaim`` command: thin wrappers that parse options, call the library, render.

Library errors become one-line messages with a non-zero exit, never tracebacks.
Exit codes: 0 success, 1 a check failed, 2 a usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from overclaim import corpus


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="overclaim")
def main() -> None:
    """Find overclaiming in health-treatment marketing, sentence by sentence."""


@main.group(name="corpus")
def corpus_group() -> None:
    """Inspect, validate and grow the labeled sentence corpus."""


def _fail(report: corpus.Report, what: str) -> None:
    for problem in report.problems:
        click.echo(f"error: {problem}", err=True)
    raise click.ClickException(f"{what}: {len(report.problems)} problem(s)")


@corpus_group.command(name="validate")
def corpus_validate() -> None:
    """Check schema, labels, offsets, seed coverage, duplicates and conflicts."""
    try:
        frame = corpus.load()
    except corpus.CorpusError as error:
        raise click.ClickException(str(error)) from None
    report = corpus.validate(frame)
    if not report.ok:
        _fail(report, "corpus is invalid")
    click.echo(f"corpus is valid: {len(frame)} units in {frame['doc'].nunique()} documents")


@corpus_group.command(name="stats")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "md"]), default="table",
              help="Plain table, JSON, or Markdown (used for DATASHEET.md).")
def corpus_stats(fmt: str) -> None:
    """Count units by label, source, treatment, category and kind."""
    try:
        counts = corpus.stats(corpus.load())
    except corpus.CorpusError as error:
        raise click.ClickException(str(error)) from None
    if fmt == "json":
        click.echo(json.dumps(counts, indent=2))
        return
    for section, values in counts.items():
        if fmt == "md":
            click.echo(f"\n| {section} | units |\n|---|---:|")
            for key, value in values.items():
                click.echo(f"| {key} | {value} |")
        else:
            click.echo(f"\n{section}")
            for key, value in values.items():
                click.echo(f"  {key:<28} {value:>6}")


@corpus_group.command(name="template")
@click.argument("documents", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--treatment", required=True, help="Treatment tag for every unit, e.g. prp-hair.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV to write (refuses to overwrite); default: standard output.")
def corpus_template(documents: tuple[Path, ...], treatment: str, output: Path | None) -> None:
    """Cut documents under corpus/documents/ into unlabeled rows to label."""
    try:
        frame = corpus.template(documents, treatment)
    except corpus.CorpusError as error:
        raise click.ClickException(str(error)) from None
    if output is None:
        frame.to_csv(sys.stdout, index=False)
        return
    if output.exists():
        raise click.ClickException(f"{output} exists; not overwriting it")
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output, index=False)
    click.echo(f"wrote {len(frame)} units to {output}")


@corpus_group.command(name="add")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only check the rows; change nothing.")
def corpus_add(files: tuple[Path, ...], dry_run: bool) -> None:
    """Merge labeled rows (from `template` or `suggest`) into corpus/sentences.csv."""
    try:
        report = corpus.add(files, dry_run=dry_run)
    except corpus.CorpusError as error:
        raise click.ClickException(str(error)) from None
    if not report.ok:
        _fail(report, "nothing merged")
    click.echo("rows are valid" + ("" if dry_run else "; merged into the corpus"))
