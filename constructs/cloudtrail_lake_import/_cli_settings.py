"""The command line's global options: where AWS is reached (--profile, --region) and how answers are shown
(--output, --color). Each is accepted before the subcommand or after it, as in the AWS CLI; given in both
places, the later one wins."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
import click
from botocore.config import Config

F = TypeVar("F", bound=Callable[..., Any])
OUTPUTS = ("table", "text", "json")
ATTEMPTS = 11
"""How many times a request is sent before its error is reported: the first, then ten retries (botocore's
standard mode, which backs off and retries throttling, 5xx answers and dropped connections)."""
_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": ATTEMPTS})


def _keep(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None and param.name:
        ctx.find_root().ensure_object(dict)[param.name] = value


def _options() -> list[Callable[[F], F]]:
    # Built afresh for each command: click keeps the option objects it is given.
    return [
        click.option("--profile", expose_value=False, callback=_keep,
                     help="AWS profile to use (default: AWS_PROFILE or the default profile)."),
        click.option("--region", expose_value=False, callback=_keep,
                     help="AWS region of the imports (default: AWS_REGION or the profile's)."),
        click.option("--output", type=click.Choice(OUTPUTS), expose_value=False, callback=_keep,
                     help="table (columns lined up, the default on a terminal), text (tab-separated fields, "
                          "the default when piped) or json."),
        click.option("--color", type=click.Choice(("auto", "on", "off")), expose_value=False, callback=_keep,
                     help="Colour on a terminal (auto, the default), always (on) or never (off). "
                                         "NO_COLOR in the environment means off unless --color on is given."),
    ]


def global_options(command: F) -> F:
    """Give ``command`` the global options, so that they may follow the subcommand too."""
    for option in reversed(_options()):
        command = option(command)
    return command


def client_factory(settings: dict[str, Any]) -> Callable[..., Any]:
    """A function making boto3 clients from the settings as they stand when it is called (a subcommand's
    options are read after the group's callback has run)."""
    def client(service: str, bucket_region: str | None = None) -> Any:
        session: Any = settings.get("session")
        if session is None:
            profile = settings.get("profile")
            if profile:
                session = boto3.Session(profile_name=profile)
            else:
                # The default session, so that what is wired into it (a test double, say) applies here too.
                if boto3.DEFAULT_SESSION is None:
                    boto3.setup_default_session()
                session = boto3.DEFAULT_SESSION or boto3.Session()
            settings["session"] = session
        return session.client(service, region_name=bucket_region or settings.get("region"), config=_RETRIES)
    return client


def output(settings: dict[str, Any], as_json: bool = False) -> str:
    """The output form asked for: ``--json`` is short for ``--output json``; by default a table on a terminal and
    text when piped, so that ``cut`` and ``awk`` read it."""
    if as_json:
        return "json"
    chosen: str | None = settings.get("output")
    return chosen or ("table" if sys.stdout.isatty() else "text")


def color(settings: dict[str, Any]) -> bool | None:
    """click's ``color`` argument: None leaves it to click, which strips colour when not writing to a terminal.
    NO_COLOR (https://no-color.org) is honoured when set to anything but the empty string."""
    chosen = settings.get("color", "auto")
    if chosen == "on":
        return True
    if chosen == "off" or os.environ.get("NO_COLOR"):
        return False
    return None
