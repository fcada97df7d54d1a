"""Scoring options: the one definition the library, the command line and the service share.

Each field of :class:`ScoringOptions` carries an :class:`OptionSpec` (help text, range or
choices, the CLI flag). The CLI builds its ``scan`` flags with :func:`click_options` and
the service its request model with :func:`pydantic_model`, both from these specs, so a
new option is added here and nowhere else. Options are validated on construction, in
every surface alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Mapping

from overclaim.errors import OptionError
from overclaim.limits import MAX_INPUT_BYTES
from overclaim.schema import CATEGORIES

DETAILS = ("full", "compact")


@dataclass(frozen=True)
class OptionSpec:
    """How an option is documented and checked: a number range, or choices."""

    help: str
    flag: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None


def _option(default: Any, spec: OptionSpec, factory: Callable | None = None) -> Any:
    if factory is not None:
        return field(default_factory=factory, metadata={"spec": spec})
    return field(default=default, metadata={"spec": spec})


@dataclass(frozen=True)
class ScoringOptions:
    """Options of one scoring call; unset thresholds come from the model card.

    Raises :class:`~overclaim.errors.OptionError` (a ``ValueError``) for a value out of its
    range or an unknown category.
    """

    flag_threshold: float | None = _option(None, OptionSpec(
        "Flag units whose overclaim probability reaches this (default: the model card's).",
        "--threshold", 0.0, 1.0))
    review_threshold: float | None = _option(None, OptionSpec(
        "Mark units for review from this probability up (default: the model card's).",
        "--review-threshold", 0.0, 1.0))
    categories: tuple[str, ...] | None = _option(None, OptionSpec(
        "Report and flag only these categories (repeatable; default: all). Filters, never "
        "relabels.", "--category", choices=CATEGORIES))
    category_thresholds: Mapping[str, float] = _option(None, OptionSpec(
        "Also flag a unit when its score for CATEGORY, P(overclaim) x P(category | "
        "overclaim), reaches P (CAT=P, repeatable).", "--category-threshold", 0.0, 1.0,
        CATEGORIES), factory=dict)
    max_bytes: int = _option(MAX_INPUT_BYTES, OptionSpec(
        "Size cap per input, in bytes.", "--max-bytes", 1, None))
    contributions: int = _option(5, OptionSpec(
        "Word and cue contributions listed per unit (0 for none).", "--contributions", 0, 50))
    detail: str = _option("full", OptionSpec(
        "'full': every unit with cues and contributions; 'compact': only the moderation "
        "fields (score, flagged, categories, spans, passages).", "--detail", choices=DETAILS))

    def __post_init__(self) -> None:
        if self.categories is not None:
            object.__setattr__(self, "categories", tuple(self.categories))
        object.__setattr__(self, "category_thresholds", dict(self.category_thresholds or {}))
        for item in fields(self):
            _check(item.name, getattr(self, item.name), item.metadata["spec"])

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["categories"] = list(self.categories) if self.categories else None
        return values

    @classmethod
    def specs(cls) -> dict[str, OptionSpec]:
        """Each option's name and spec, in definition order."""
        return {item.name: item.metadata["spec"] for item in fields(cls)}


def _check(name: str, value: Any, spec: OptionSpec) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for key, number in value.items():
            _check_choice(name, key, spec)
            _check_range(f"{name}[{key}]", number, spec)
    elif isinstance(value, tuple):
        for item in value:
            _check_choice(name, item, spec)
    elif isinstance(value, str):
        _check_choice(name, value, spec)
    else:
        _check_range(name, value, spec)


def _check_choice(name: str, value: Any, spec: OptionSpec) -> None:
    if spec.choices is not None and value not in spec.choices:
        raise OptionError(f"{name}: {value!r} is not one of {', '.join(spec.choices)}")


def _check_range(name: str, value: Any, spec: OptionSpec) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OptionError(f"{name}: expected a number, got {value!r}")
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        bounds = f"[{spec.low}, {spec.high if spec.high is not None else 'inf'}]"
        raise OptionError(f"{name}: {value} is outside {bounds}")


def from_mapping(values: Mapping[str, Any], base: ScoringOptions | None = None) -> ScoringOptions:
    """Options from plain data (a request body, a config), over ``base``; None means unset."""
    known = ScoringOptions.specs()
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise OptionError(f"unknown option(s): {', '.join(unknown)}")
    current = (base or ScoringOptions()).to_dict()
    current.update({k: v for k, v in values.items() if v is not None})
    return ScoringOptions(**current)


# --- the other surfaces, built from the specs --------------------------------------------


def click_options(command: Callable) -> Callable:
    """Decorate a click command with one flag per option; the command receives them as a
    ``ScoringOptions`` in its ``options`` argument."""
    import functools

    import click

    names = list(ScoringOptions.specs())

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        given = {name: kwargs.pop(name) for name in names}
        try:
            kwargs["options"] = ScoringOptions(**_from_cli(given))
        except OptionError as error:
            raise click.UsageError(str(error)) from None
        return command(*args, **kwargs)

    for name, spec in reversed(list(ScoringOptions.specs().items())):
        wrapper = _click_option(name, spec)(wrapper)
    return wrapper


def _click_option(name: str, spec: OptionSpec) -> Callable:
    import click

    default = ScoringOptions.__dataclass_fields__[name].default
    if name == "category_thresholds":
        return click.option(spec.flag, name, multiple=True, metavar="CAT=P", help=spec.help)
    if name == "categories":
        return click.option(spec.flag, name, multiple=True, type=click.Choice(spec.choices),
                            help=spec.help)
    if spec.choices:
        return click.option(spec.flag, name, default=default, show_default=True,
                            type=click.Choice(spec.choices), help=spec.help)
    kind = click.IntRange if isinstance(default, int) else click.FloatRange
    return click.option(spec.flag, name, default=None if default is None else default,
                        show_default=default is not None,
                        type=kind(spec.low, spec.high), help=spec.help)


def _from_cli(given: dict[str, Any]) -> dict[str, Any]:
    values = dict(given)
    values["categories"] = tuple(given["categories"]) or None
    values["category_thresholds"] = dict(_pair(v) for v in given["category_thresholds"])
    return values


def _pair(value: str) -> tuple[str, float]:
    name, _, number = value.partition("=")
    try:
        return name, float(number)
    except ValueError:
        raise OptionError(f"category_thresholds: {value!r} is not CATEGORY=NUMBER") from None


def pydantic_model():
    """The service's request ``Options`` model: every field optional (unset keeps the
    server's default), ranges and choices as in the specs, unknown fields refused."""
    from typing import Annotated, Literal, Optional

    from pydantic import ConfigDict, Field, create_model

    model_fields: dict[str, Any] = {}
    for name, spec in ScoringOptions.specs().items():
        choice = Literal[spec.choices] if spec.choices else None  # type: ignore[valid-type]
        if name == "categories":
            kind: Any = list[choice]  # type: ignore[valid-type]
            limits = {}
        elif name == "category_thresholds":
            kind = dict[choice, Annotated[float, Field(ge=spec.low, le=spec.high)]]  # type: ignore
            limits = {}
        elif spec.choices:
            kind, limits = choice, {}
        else:
            kind = int if isinstance(ScoringOptions.__dataclass_fields__[name].default, int) \
                else float
            limits = {k: v for k, v in (("ge", spec.low), ("le", spec.high)) if v is not None}
        model_fields[name] = (Optional[kind], Field(None, description=spec.help, **limits))
    return create_model("Options", __config__=ConfigDict(extra="forbid"), **model_fields)
