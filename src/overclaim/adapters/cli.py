"""The ``overclaim`` command: thin wrappers that parse options, call the library, render.

Library errors become one-line messages with a non-zero exit, never tracebacks.
Exit codes (:data:`EXIT_CODES`, shown in ``--help``) are the same for every command.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from overclaim.errors import CorpusError, ModelError
from overclaim.model.profiles import DEFAULT_PROFILE, PROFILES
from overclaim.render import FORMATS
from overclaim.scoring.options import click_options
from overclaim.schema import PAGE_KINDS, VOICES

EXIT_CHECK, EXIT_USAGE, EXIT_PARTIAL, EXIT_TOOL = 1, 2, 3, 4
EXIT_CODES = {
    0: "done",
    EXIT_CHECK: "a check you asked for failed (--fail-above, corpus validate, quality gate)",
    EXIT_USAGE: "usage error (bad option, or an output that would overwrite an input)",
    EXIT_PARTIAL: "some inputs could not be scored (each reported; the rest were scored)",
    EXIT_TOOL: "the tool could not run (missing model or extra, write failure, internal error)",
}
_EXIT_HELP = "\b\nExit codes:\n" + "\n".join(f"  {code}  {what}" for code, what in EXIT_CODES.items())


# The evaluation settings (overclaim.training.evaluate.SETTINGS), named here so --help stays cheap;
# a test checks the two agree.
EVALUATION_SETTINGS = ("grouped-cv", "held-out-treatments", "leave-one-voice-out",
                       "seed-transfer")
MODEL_HELP = ("A model card (NAME.card.json) or its folder; default: $OVERCLAIM_MODEL, else the "
              "shipped model. Only load models you trust.")


class ToolError(click.ClickException):
    """The tool itself could not run: a missing model or extra, a failed write."""

    exit_code = EXIT_TOOL


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=_EXIT_HELP)
@click.version_option(package_name="overclaim")
def main() -> None:
    """Find overclaiming in health-treatment marketing, sentence by sentence."""


def entry() -> None:
    """The console script: ``main``, with an unexpected error as one line and exit 4."""
    try:
        main.main(prog_name="overclaim")
    except Exception as error:  # a bug: say so in one line; the traceback on request
        if os.environ.get("OVERCLAIM_DEBUG"):
            raise
        click.echo(f"error: internal error: {error.__class__.__name__}: {error} (run with "
                   "OVERCLAIM_DEBUG=1 for the traceback, and please report it)", err=True)
        sys.exit(EXIT_TOOL)


def write_output(path: Path, text: str) -> None:
    """Write a report or table atomically; a failure is a one-line error, exit 4."""
    from overclaim import atomic

    try:
        atomic.write_text(path, text)
    except OSError as error:
        raise ToolError(f"cannot write {path}: {error.strerror or error}") from None


@main.group(name="corpus")
def corpus_group() -> None:
    """Inspect, validate and grow the labeled sentence corpus."""


def _fail(report, what: str) -> None:
    """Print every problem of a corpus report, then fail with a count."""
    for problem in report.problems:
        click.echo(f"error: {problem}", err=True)
    raise click.ClickException(f"{what}: {len(report.problems)} problem(s)")


@corpus_group.command(name="validate")
def corpus_validate() -> None:
    """Check schema, labels, offsets, seed coverage, duplicates and conflicts."""
    from overclaim.training import corpus

    try:
        frame = corpus.load()
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    report = corpus.validate(frame)
    if not report.ok:
        _fail(report, "corpus is invalid")
    click.echo(f"corpus is valid: {len(frame)} units in {frame['doc'].nunique()} documents")


@corpus_group.command(name="stats")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "md"]), default="table",
              help="Plain table, JSON, or Markdown.")
@click.option("--update-datasheet", is_flag=True,
              help="Rewrite the generated counts block of corpus/DATASHEET.md.")
def corpus_stats(fmt: str, update_datasheet: bool) -> None:
    """Count units by label, source, treatment, category and kind."""
    from overclaim.training import corpus

    try:
        frame = corpus.load()
        counts = corpus.stats(frame)
        if update_datasheet:
            from overclaim.training import realism

            path = corpus.update_datasheet(
                counts, realism=realism.measure(frame).to_markdown(),
                agreement=realism.agreement_markdown(realism.agreement()))
            click.echo(f"updated the counts and realism figures in {path}", err=True)
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    if fmt == "json":
        click.echo(json.dumps(counts, indent=2))
    elif fmt == "md":
        click.echo(corpus.stats_markdown(counts))
    else:
        for section, values in counts.items():
            click.echo(f"\n{section}")
            for key, value in values.items():
                click.echo(f"  {key:<28} {value:>6}")


@corpus_group.command(name="realism")
@click.option("--reference", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Also compare with a folder of real pages (HTML or text, unlabeled).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def corpus_realism(reference: Path | None, as_json: bool) -> None:
    """How well a style-only classifier tells authored units from real ones, and the
    corpus's figures beside those of real pages (shared/REALISM.md)."""
    from overclaim.training import corpus
    from overclaim.training import realism

    try:
        frame = corpus.load()
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    extra = realism.reference_units(reference) if reference else None
    result = realism.measure(frame, extra)
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.to_markdown())


def _document_options(command):
    """--treatment, --voice and --page-kind: what every unit of a new document is tagged with."""
    command = click.option("--page-kind", required=True, type=click.Choice(PAGE_KINDS),
                           help="What the pages are for: selling, weighing evidence, or a mix.")(command)
    command = click.option("--voice", required=True, type=click.Choice(VOICES),
                           help="Who speaks in the documents.")(command)
    return click.option("--treatment", required=True,
                        help="Treatment tag for every unit, e.g. prp-hair.")(command)


@corpus_group.command(name="template")
@click.argument("documents", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_document_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV to write (refuses to overwrite); default: standard output.")
def corpus_template(documents: tuple[Path, ...], treatment: str, voice: str, page_kind: str,
                    output: Path | None) -> None:
    """Cut documents under corpus/documents/ into unlabeled rows to label."""
    from overclaim.training import corpus

    try:
        frame = corpus.template(documents, treatment, voice=voice, page_kind=page_kind)
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    if output is None:
        frame.to_csv(sys.stdout, index=False)
        return
    if output.exists():
        raise click.UsageError(f"{output} exists; not overwriting it")
    write_output(output, frame.to_csv(index=False))
    click.echo(f"wrote {len(frame)} units to {output}")


@corpus_group.command(name="add")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only check the rows; change nothing.")
def corpus_add(files: tuple[Path, ...], dry_run: bool) -> None:
    """Merge labeled rows (from `template` or `suggest`) into corpus/sentences.csv."""
    from overclaim.training import corpus

    try:
        report = corpus.add(files, dry_run=dry_run)
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    if not report.ok:
        _fail(report, "nothing merged")
    click.echo("rows are valid" + ("" if dry_run else "; merged into the corpus"))


@corpus_group.command(name="retire")
@click.argument("documents", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why they leave the corpus (kept in the record).")
@click.option("--dry-run", is_flag=True, help="Only check the documents; change nothing.")
def corpus_retire(documents: tuple[str, ...], reason: str, dry_run: bool) -> None:
    """Take authored documents (paths as in sentences.csv) out of the corpus, with a record."""
    from overclaim.training import corpus

    try:
        report = corpus.retire(documents, reason, dry_run=dry_run)
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    if not report.ok:
        _fail(report, "nothing retired")
    click.echo(f"{len(documents)} documents " + ("can be retired" if dry_run else
               f"retired; recorded in corpus/{corpus.RETIRED_FILE}"))


def _progress(message: str) -> None:
    click.echo(f"... {message}", err=True)


@main.command(name="train")
@click.option("--name", default="overclaim-default", show_default=True, help="Model name.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the model files (default: models/).")
@click.option("--pin", is_flag=True, help="Pin the quality gate's floors to this model's metrics.")
@click.option("--allow-lower", is_flag=True, help="With --pin: allow lowering a floor.")
def train_command(name: str, output: Path | None, pin: bool, allow_lower: bool) -> None:
    """Evaluate held-out, choose thresholds, fit on the corpus, write model + card."""
    from overclaim.training import train

    try:
        result = train.train(name=name, output=output, progress=_progress)
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    card = result.card
    click.echo(f"wrote the model described by {result.card_path}")
    click.echo("held-out: " + ", ".join(f"{k} {v:.3f}" for k, v in card["gate_metrics"].items()))
    click.echo(f"thresholds: flag {card['thresholds']['flag']}, review {card['thresholds']['review']}")
    if pin:
        try:
            train.pin_gate(card, allow_lower=allow_lower)
        except train.GateError as error:
            raise click.ClickException(str(error)) from None
        click.echo("quality gate pinned")
    try:
        problems = train.check_gate(card)
    except train.GateError as error:
        raise click.ClickException(str(error)) from None
    if problems:
        for problem in problems:
            click.echo(f"quality gate: {problem}", err=True)
        raise click.exceptions.Exit(EXIT_CHECK)


@main.command(name="gate")
@click.option("--model", type=click.Path(path_type=Path), help=MODEL_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def gate_command(model: Path | None, as_json: bool) -> None:
    """Re-measure the model held-out (seed transfer) and compare with the pinned floors."""
    from overclaim.training import gate

    try:
        result = gate.check(model, progress=_progress)
    except (CorpusError, ModelError, gate.GateError) as error:
        raise ToolError(str(error)) from None
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.table())
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not result.ok:
        raise click.exceptions.Exit(EXIT_CHECK)


@main.command(name="evaluate")
@click.option("--setting", "settings", multiple=True,
              type=click.Choice(list(EVALUATION_SETTINGS)),
              help="Which evaluations to run (repeatable; default: all).")
@click.option("--folds", default=5, show_default=True, help="Folds for grouped-cv.")
@click.option("--json", "as_json", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every figure to this JSON file.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Folds fitted side by side (processes); figures are the same.")
@click.option("--profile", type=click.Choice(list(PROFILES)), default="fast", show_default=True,
              help="fast: measure the linear model now. accurate: show the comparison of "
                   "fast, encoder alone, accurate and the baselines measured on the same voice "
                   "folds when the accurate profile was built (re-measuring retrains the "
                   "encoder: python -m overclaim.training.accurate, about 30 min).")
def evaluate_command(settings: tuple[str, ...], folds: int, as_json: Path | None,
                     jobs: int, profile: str) -> None:
    """Held-out metrics of the model beside two baselines, measured in the same run."""
    from overclaim.training import corpus

    from overclaim.training import evaluate as ev

    if profile == "accurate":
        _show_accurate_evaluation(as_json)
        return

    try:
        evaluation = ev.evaluate(corpus.load(), settings=settings or ev.SETTINGS, folds=folds,
                                 progress=_progress, n_jobs=jobs)
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    click.echo(ev.format_table(evaluation))
    if as_json:
        write_output(as_json, json.dumps(evaluation.to_dict(), indent=2) + "\n")


def _show_accurate_evaluation(as_json: Path | None) -> None:
    """The accurate card's held-out comparison, with where and when it was measured."""
    from overclaim.model import artifact
    from overclaim.training.train import comparison_lines

    try:
        path = artifact.default_card("accurate")
        card, _ = artifact.read_card(path)
    except ModelError as error:
        raise ToolError(str(error)) from None
    click.echo(f"Measured when {path.name} was built ({card.get('created')}, corpus "
               f"{str(card.get('corpus', {}).get('sha256', ''))[:12]}); to re-measure: "
               "python -m overclaim.training.accurate oof|final|assemble WORKDIR\n")
    click.echo("\n".join(comparison_lines(card["evaluation"])))
    if as_json:
        write_output(as_json, json.dumps(card["evaluation"], indent=2) + "\n")


PROFILE_OPTION = click.option(
    "--profile", type=click.Choice(list(PROFILES)), default=DEFAULT_PROFILE, show_default=True,
    help="accurate: the linear model and the fine-tuned encoder, stacked; fast: the linear "
         "model alone (about 10x cheaper per unit). Ignored with --model CARD.")


def _load_scorer(model: Path | None, options, profile: str = DEFAULT_PROFILE):
    from overclaim.scoring.scorer import Scorer

    try:
        return Scorer.load(model, options, profile)
    except ModelError as error:
        raise ToolError(str(error)) from None


@main.command(name="scan")
@click.argument("inputs", nargs=-1)
@click.option("--urls", "urls_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A file with one URL per line ('#' starts a comment; https:// is assumed "
                   "where no scheme is written).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              default="table", show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report here (refuses to overwrite an input).")
@click.option("--model", type=click.Path(path_type=Path), help=MODEL_HELP)
@click.option("--fail-above", type=click.FloatRange(0, 1),
              help="Exit 1 when any page scores above this.")
@click.option("--crawl", default=0, type=click.IntRange(0, 10000),
              help="Follow same-site links (and the site's sitemap.xml) from each URL, up to N "
                   "pages; a dead link found on the way is a warning, not a failed input.")
@click.option("--delay", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Pause between requests to one host (default: 1 when crawling, else 0).")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Hosts fetched at once (one request at a time per host).")
@click.option("--timeout", default=15.0, show_default=True, help="Seconds per HTTP request.")
@click.option("--ignore-robots", is_flag=True, help="Fetch even where robots.txt disallows.")
@click.option("--top", default=10, show_default=True, help="Passages shown in summaries.")
@click.option("--dedupe-site", is_flag=True,
              help="Count text repeated across pages of one site (menus, banners) once, on its "
                   "first page; marks later copies 'repeated'. Off: pages score independently.")
@click.option("--retries", default=2, show_default=True, type=click.IntRange(0, 10),
              help="Retries (with backoff) of a request that timed out, could not connect or "
                   "got 429/5xx.")
@click.option("--resume", is_flag=True,
              help="A resumable audit (needs -o FILE --format jsonl): each result is appended "
                   "to FILE as it is scored, and a rerun skips what FILE already holds.")
@click.option("--site-summary", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write one row per site (pages, scores, worst passages) to this .csv "
                   "or .html file.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@PROFILE_OPTION
@click_options
def scan_command(inputs, urls_file, fmt, output, model, fail_above, crawl, delay, concurrency,
                 timeout, ignore_robots, top, dedupe_site, retries, resume, site_summary,
                 no_progress, profile, options):
    """Score pages (files, folders, URLs, or - for stdin) and report flagged passages."""
    from overclaim.inputs.sources import plan
    from overclaim.scoring.scan import FetchOptions

    _check_scan_usage(inputs, urls_file, fmt, output, dedupe_site, resume, site_summary)
    scorer = _load_scorer(model, options, profile)
    sources = plan(list(inputs), urls_file)
    warnings: list[str] = []
    fetch = FetchOptions(timeout=timeout, max_bytes=options.max_bytes,
                         respect_robots=not ignore_robots, crawl=crawl, delay=delay,
                         concurrency=concurrency, retries=retries, warn=warnings.append)
    progress = _ScanProgress(no_progress)
    if resume:
        summary = _scan_resumable(sources, scorer, fetch, output, progress, site_summary)
    else:
        summary = _scan_to_report(sources, scorer, fetch, fmt, output, top, dedupe_site,
                                  progress)
        if site_summary:
            _write_site_summary(site_summary, (r.to_dict() for r in summary.records))
    _report_crawl(summary, warnings, crawl)
    if fail_above is not None and summary.highest is not None and summary.highest > fail_above:
        raise click.exceptions.Exit(EXIT_CHECK)
    if summary.failed:
        raise click.exceptions.Exit(EXIT_PARTIAL)


def _check_scan_usage(inputs, urls_file, fmt, output, dedupe_site, resume, site_summary) -> None:
    """Refuse, before any work, what cannot be done or would destroy something given."""
    from overclaim.render.sites import SUMMARY_FORMATS
    from overclaim.scoring.scan import output_conflict

    if not inputs and not urls_file:
        raise click.UsageError("give at least one file, folder, URL, '-' or --urls FILE")
    if resume and (output is None or fmt != "jsonl"):
        raise click.UsageError("--resume appends results to a JSON-lines file: "
                               "add -o FILE --format jsonl")
    if resume and dedupe_site:
        raise click.UsageError("--dedupe-site needs all pages at once; it cannot be resumed")
    if site_summary is not None and site_summary.suffix.lower() not in SUMMARY_FORMATS:
        raise click.UsageError(f"--site-summary must end in one of {', '.join(SUMMARY_FORMATS)}")
    for target, what in ((output, "report"), (site_summary, "site summary")):
        conflict = output_conflict(target, list(inputs), urls_file) if target is not None else None
        if conflict:
            raise click.UsageError(f"{conflict}; refusing to write the {what} there")
    if output is not None and site_summary is not None and Path(output) == Path(site_summary):
        raise click.UsageError("-o and --site-summary name the same file")


class _ScanProgress:
    """A live display on a terminal: inputs done with rate and ETA, pages and errors."""

    def __init__(self, disabled: bool):
        self.disabled = disabled or not sys.stderr.isatty()
        self.bar = None
        self.pages = self.errors = 0

    def start(self, inputs: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=inputs, unit="input", file=sys.stderr,
                        disable=self.disabled or inputs < 2)

    def page(self, record) -> None:
        self.pages += 1
        self.errors += record.error is not None
        if record.error is not None:
            # written above the bar, so errors are seen as they happen
            (self.bar.write if self.bar is not None else click.echo)(
                f"error: {record.source}: {record.error}", file=sys.stderr)
        if self.bar is not None:
            self.bar.set_postfix(pages=self.pages, errors=self.errors, refresh=False)

    def input_done(self, _source: str = "") -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass
class _ScanSummary:
    """What the exit status and the closing line need, whichever way results were kept."""

    pages: int = 0
    failed: int = 0
    highest: float | None = None
    records: list = field(default_factory=list)

    def add(self, error: str | None, score: float | None) -> None:
        self.pages += 1
        self.failed += error is not None
        if error is None and (self.highest is None or score > self.highest):
            self.highest = score


def _scan_to_report(sources, scorer, fetch, fmt, output, top, dedupe_site,
                    progress: _ScanProgress) -> _ScanSummary:
    """Score everything, then render one report (ranked or in input order) and write it."""
    from overclaim.render import render
    from overclaim.scoring import page as page_builder
    from overclaim.scoring.scan import scan

    summary = _ScanSummary()
    progress.start(len(sources))
    try:
        for record in scan(sources, scorer, fetch, done=progress.input_done):
            progress.page(record)
            summary.records.append(record)
    finally:
        progress.close()
    if dedupe_site:
        summary.records = page_builder.dedupe_site(summary.records)
    for record in summary.records:
        summary.add(record.error, record.score)
    text = render(summary.records, fmt, scorer.model_info(), top)
    if output:
        write_output(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
    return summary


def _scan_resumable(sources, scorer, fetch, output: Path, progress: _ScanProgress,
                    site_summary: Path | None) -> _ScanSummary:
    """Append each result to ``output`` as it comes, skipping what an earlier run wrote;
    then read the whole audit back once for the closing counts and the site summary."""
    from overclaim.errors import InputError
    from overclaim.scoring.audit import AuditLog, read_records
    from overclaim.scoring.scan import scan, source_name

    summary = _ScanSummary()
    try:
        with AuditLog(output) as log:
            todo = [s for s in sources if source_name(s) not in log.finished]
            if log.pages_before:
                click.echo(f"resuming {output}: {log.pages_before} page(s) held, "
                           f"{len(sources) - len(todo)} of {len(sources)} input(s) finished",
                           err=True)
            progress.start(len(todo))

            def finish(source: str) -> None:
                log.finish(source)
                progress.input_done()

            try:
                for record in scan(todo, scorer, fetch, held=log.held, done=finish):
                    log.write(record)
                    progress.page(record)
            finally:
                progress.close()
        written = _counted(read_records(output), summary)  # earlier runs included
        if site_summary:
            _write_site_summary(site_summary, written)
        else:
            for _ in written:
                pass
    except OSError as error:
        raise ToolError(f"cannot write {output}: {error.strerror or error}") from None
    except InputError as error:
        raise ToolError(f"cannot resume: {error}") from None
    click.echo(f"wrote {output}", err=True)
    return summary


def _counted(records, summary: _ScanSummary):
    """``records`` (JSON dicts) passed through, each counted into ``summary`` on the way."""
    for record in records:
        summary.add(record.get("error"), record.get("score"))
        yield record


def _write_site_summary(path: Path, records) -> None:
    """The per-site table from result records (JSON dicts), one at a time."""
    from overclaim.render.sites import SUMMARY_FORMATS, render_sites, summarise

    write_output(path, render_sites(summarise(records), SUMMARY_FORMATS[path.suffix.lower()]))
    click.echo(f"wrote {path}", err=True)


def _report_crawl(summary: "_ScanSummary", warnings: list[str], crawl: int) -> None:
    """Each link a crawl skipped as a warning, then a count of pages, failures and warnings."""
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if crawl > 0 or warnings:
        click.echo(f"summary: {summary.pages - summary.failed} page(s) scored, "
                   f"{summary.failed} input(s) failed, {len(warnings)} warning(s) "
                   "(crawled links skipped)", err=True)


@corpus_group.command(name="suspects")
@click.option("--min-confidence", default=0.8, show_default=True, type=click.FloatRange(0, 1),
              help="Least confidence of the disagreeing prediction.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the list as CSV (refuses to overwrite).")
def corpus_suspects(min_confidence: float, output: Path | None) -> None:
    """List units whose held-out prediction confidently disagrees with their label."""
    from overclaim.training import corpus, grow

    try:
        table = grow.suspects(corpus.load(), min_confidence=min_confidence)
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    if output:
        if output.exists():
            raise click.UsageError(f"{output} exists; not overwriting it")
        write_output(output, table.to_csv(index=False))
    for row in table.itertuples(index=False):
        click.echo(f"{row.confidence:.2f}  {row.label:>9} -> {row.predicted:<9}  "
                   f"{row.doc}:{row.start}-{row.end}  {row.text[:90]}")
    click.echo(f"{len(table)} suspect unit(s)", err=True)


@corpus_group.command(name="suggest")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_document_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV to write; a Label Studio import (.labelstudio.json) and labeling "
                   "config (.labelstudio.xml) are written beside it.")
@click.option("--model", type=click.Path(path_type=Path), help=MODEL_HELP)
@PROFILE_OPTION
def corpus_suggest(files: tuple[Path, ...], treatment: str, voice: str, page_kind: str,
                   output: Path, model: Path | None, profile: str) -> None:
    """Cut new documents into units to label, least-sure first, with the model's guess."""
    from overclaim.training import grow

    if output.exists():
        raise click.UsageError(f"{output} exists; not overwriting it")
    scorer = _load_scorer(model, None, profile)
    try:
        rows = grow.suggest(files, scorer, treatment, voice=voice, page_kind=page_kind)
        csv_path, tasks_path = grow.write_suggestions(rows, output, scorer.bundle.name)
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {len(rows)} units to {csv_path} and {tasks_path}; fill in 'label' "
               "(and 'categories' for overclaims), then run: overclaim corpus add "
               f"{csv_path}")


@main.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--model", type=click.Path(path_type=Path), help=MODEL_HELP)
@click.option("--allow-urls", is_flag=True,
              help="Let clients ask the service to fetch public URLs (never private addresses).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(0, 64),
              help="Scoring processes, each loading the model once (0: threads in the server).")
@PROFILE_OPTION
def serve_command(host: str, port: int, model: Path | None, allow_urls: bool, workers: int,
                  profile: str) -> None:
    """Run the HTTP scoring service (POST /v1/score, /v1/score-batch, GET /healthz, /)."""
    try:
        from overclaim.adapters import service
    except ImportError as error:
        raise ToolError(str(error)) from None

    try:
        service.serve(host=host, port=port, allow_urls=allow_urls, model=model, workers=workers,
                      profile=profile)
    except ModelError as error:
        raise ToolError(str(error)) from None


if __name__ == "__main__":  # ``python -m overclaim.adapters.cli``: the console script's twin
    main()
