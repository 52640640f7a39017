"""Typed command-line options generated from a run-settings model (`egp.run_settings`).

`egp evolve` and `egp job submit` both take `@run_options(Model)`: one `--name` option per field of the
model, with the field's type, description and default, so the two commands cannot drift apart. The command
receives the options the user gave as one dictionary, `run`; those not given are left out, so the
defaults stay the model's (and a job's may still come from `--set`).
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo

# Short names kept from before the options were generated (`egp evolve --no-meta`).
EXTRA_NAMES: dict[str, str] = {"meta_evolution": "--meta/--no-meta"}
PANEL = "Run settings"

Command = Callable[..., None]


def _optional(annotation: Any) -> Any:
    """The field's type made optional: an option left out is None, so the model's default applies."""
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        return annotation  # already `X | None`
    return annotation | None


def _default_text(field: FieldInfo) -> str | bool:
    """What the help shows as the default: the model's (a None default is explained by the description)."""
    default = field.get_default(call_default_factory=True)
    if default is None:
        return False
    if isinstance(default, bool):
        return "on" if default else "off"
    return str(default)


def option_parameter(name: str, field: FieldInfo) -> inspect.Parameter:
    """The keyword parameter (with its typer.Option) that sets one field of a run-settings model."""
    flag = "--" + name.replace("_", "-")
    names = [f"{flag}/--no-{flag[2:]}"] if field.annotation is bool else [flag]
    if name in EXTRA_NAMES:
        names.append(EXTRA_NAMES[name])
    option = typer.Option(
        *names, help=field.description, show_default=_default_text(field), rich_help_panel=PANEL
    )
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[_optional(field.annotation), option],
    )


def run_options(model: type[BaseModel], exclude: tuple[str, ...] = ()) -> Callable[[Command], Command]:
    """Give a command one typed option per field of `model`; it receives the ones given as `run`."""
    fields = {name: f for name, f in model.model_fields.items() if name not in exclude}

    def decorate(command: Command) -> Command:
        own = inspect.signature(command)
        hints = typing.get_type_hints(command, include_extras=True)
        kept = [p.replace(annotation=hints[p.name]) for p in own.parameters.values() if p.name != "run"]
        added = [option_parameter(name, field) for name, field in fields.items()]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> None:
            values = {name: kwargs.pop(name) for name in fields}
            command(**kwargs, run={k: v for k, v in values.items() if v is not None})

        parameters = kept + added
        wrapper.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
        return wrapper

    return decorate


__all__ = ["run_options"]
