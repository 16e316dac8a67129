"""The `modelci` command line: a thin layer over the library.

Only :func:`main` turns exceptions into exit codes: 0 passed, 1 gate failed, 2 usage or input
error, 3 infrastructure error. No traceback reaches the user unless ``--debug`` (or
``MODELCI_DEBUG=1``), which adds it before the one-line error and changes nothing else.

Global options (``--config``, ``--workdir``, ``-v``, ``--debug``) are accepted before or after
the command's name: :class:`ModelciGroup` adds them to every command it holds.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

import click

from modelci import __version__, secrets
from modelci.app import App
from modelci.commands import COMMANDS
from modelci.errors import EXIT_INFRA, EXIT_INPUT, MissingExtra, ModelciError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _truthy(value: str | None) -> bool:
    """A boolean variable as click reads ``--debug``'s ``MODELCI_DEBUG`` (``1``, ``true``, ...)."""
    return (value or "").strip().lower() in {"1", "true", "t", "yes", "y", "on"}


def _app(ctx: click.Context) -> App:
    return ctx.ensure_object(App)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool | None) -> None:
    if value:
        _app(ctx).debug = True


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool | None) -> None:
    if value:
        _app(ctx).verbose = True


def _set_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        _app(ctx).config_file = value


def _set_workdir(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        _app(ctx).workdir = value


def global_options() -> list[click.Option]:
    """The options every command takes, before or after its name (``modelci --debug compare``
    and ``modelci compare --debug`` are the same): each sets the shared :class:`App`, so a
    command's own parameters never see them. The group reads ``MODELCI_DEBUG`` and
    ``MODELCI_CONFIG``; the copies on the commands only add what is given on the line."""
    return [
        click.Option(
            ["--config", "config_file"],
            type=click.Path(path_type=Path, dir_okay=False),
            expose_value=False,
            callback=_set_config,
            help="Project file (default: ./modelci.yaml when present).",
        ),
        click.Option(
            ["--workdir"],
            type=click.Path(path_type=Path, file_okay=False),
            expose_value=False,
            callback=_set_workdir,
            help="Run folder shared by the steps of one run (default: .modelci).",
        ),
        click.Option(
            ["-v", "--verbose"],
            is_flag=True,
            default=None,
            expose_value=False,
            callback=_set_verbose,
            help="Print every check, not only failing and warning ones.",
        ),
        click.Option(
            ["--debug"],
            is_flag=True,
            default=None,
            expose_value=False,
            callback=_set_debug,
            help="Add the traceback to an error (the exit code stays the same).",
        ),
    ]


def _share_global_options(command: click.Command) -> None:
    """Give ``command`` (and a group's commands) the global options it does not have yet."""
    taken = {opt for param in command.params for opt in param.opts}
    for option in global_options():
        if not taken & set(option.opts):
            command.params.append(option)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _share_global_options(sub)


class ModelciGroup(click.Group):
    """The top-level group: every command added to it (or to a group under it) also takes the
    global options, so they may follow the command's name as users tend to write them."""

    group_class = type  # sub-groups (``modelci config``) are ModelciGroups too

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _share_global_options(cmd)
        super().add_command(cmd, name)


@click.group(cls=ModelciGroup, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="modelci")
@click.option(
    "--debug",
    is_flag=True,
    envvar="MODELCI_DEBUG",
    help="Add the traceback to an error (the exit code stays the same). Also MODELCI_DEBUG=1.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="MODELCI_CONFIG",
    help="Project file (default: ./modelci.yaml when present).",
)
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Run folder shared by the steps of one run (default: .modelci).",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Print every check, not only failing and warning ones."
)
@click.pass_context
def cli(
    ctx: click.Context,
    debug: bool,
    config_file: Path | None,
    workdir: Path | None,
    verbose: bool,
) -> None:
    """Ship machine-learning models through the CI you already run.

    Every step is a gate: exit 0 passed, 1 gate failed, 2 bad input, 3 service unreachable.
    The options above may also follow the command's name (modelci compare --debug).
    """
    app = _app(ctx)
    app.debug = app.debug or debug
    app.verbose = app.verbose or verbose
    app.config_file = config_file or app.config_file
    app.workdir = workdir or app.workdir


for _command in COMMANDS:
    cli.add_command(_command)


@cli.command("schema")
@click.option("--contract", is_flag=True, help="Print the data contract schema instead.")
@click.option("--manifest", is_flag=True, help="Print the run manifest's schema instead.")
@click.option("--markdown", is_flag=True, help="Print a Markdown reference of every setting.")
def schema_cmd(contract: bool, manifest: bool, markdown: bool) -> None:
    """Print the JSON Schema of modelci.yaml (or of a data contract, or of manifest.json)."""
    if markdown:
        from modelci.config_docs import markdown as reference

        click.echo(reference(), nl=False)
        return
    if manifest:
        from modelci.manifest import schema as manifest_schema

        click.echo(json.dumps(manifest_schema(), indent=2))
        return
    if contract:
        from modelci.contract.model import contract_schema

        data: dict[str, Any] = contract_schema()
    else:
        from modelci.config import schema

        data = schema()
    click.echo(json.dumps(data, indent=2))


@cli.group("config")
def config_group() -> None:
    """Check or show the project configuration."""


@config_group.command("check")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def config_check(app: App, file: Path | None) -> None:
    """Validate FILE (default: the project file) and the MODELCI_* environment."""
    from modelci import config as config_mod

    target = file or app.config_file or Path(config_mod.CONFIG_FILE)
    config_mod.check(target)
    config_mod.load(target, env=app.env)
    click.echo(f"{target}: valid")


@config_group.command("show")
@click.pass_obj
def config_show(app: App) -> None:
    """Print the effective configuration and where each setting came from."""
    import yaml

    config = app.load_config()
    click.echo(yaml.safe_dump(config.data, sort_keys=False).rstrip())
    if config.sources:
        click.echo("# set by:")
        for key, source in sorted(config.sources.items()):
            click.echo(f"#   {key}: {source}")


#: what to do about the file-system errors a step can meet writing its outputs
_OS_HINTS = {
    errno.EACCES: "; make the folder writable or choose another --workdir / output path",
    errno.EPERM: "; make the folder writable or choose another --workdir / output path",
    errno.EROFS: "; the file system is read-only: choose another --workdir / output path",
    errno.ENOSPC: "; free disk space or choose another --workdir",
    errno.EEXIST: "; a file stands where a folder is needed: move it or choose another path",
    errno.ENOTDIR: "; a file stands where a folder is needed: move it or choose another path",
    errno.EISDIR: "; a folder stands where a file is needed: choose another path",
}


#: the extra that brings each library a step imports (pyproject.toml's optional dependencies)
_EXTRAS = {
    "numpy": "data",
    "scipy": "data",
    "pandas": "data",
    "pyarrow": "data",
    "mlflow": "registry",
    "sklearn": "train",
    "skops": "train",
    "matplotlib": "compare",
    "lz4": "scan",
    "model_signing": "sign",
    "sigstore": "sign",
    "OpenSSL": "sign",
    "cyclonedx": "sbom",
    "packageurl": "sbom",
    "lxml": "sbom",
    "spdx_python_model": "sbom",
}


def missing_extra(exc: ImportError) -> MissingExtra | None:
    """What to install when a library is missing outside a step (a step says so itself,
    from its own extras): the core install (``pip install modelci``) has no ML stack."""
    top = (exc.name or "").partition(".")[0]
    extra = _EXTRAS.get(top)
    return None if extra is None else MissingExtra("this command", (extra,), top)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI in-process and return its exit code (what tests call)."""
    args = sys.argv[1:] if argv is None else list(argv)
    # Credentials (in URIs, token and password variables) never reach stdout or stderr,
    # whoever prints them: modelci, MLflow, or the team's training command.
    secrets.install(os.environ)
    try:
        return _run(args)
    finally:
        secrets.uninstall()


def _run(args: list[str]) -> int:
    # --debug (anywhere on the line) and MODELCI_DEBUG only add the traceback: the exit code
    # is the same with and without them.
    app = App(debug=_truthy(os.environ.get("MODELCI_DEBUG")))
    # MLflow 3 sends usage telemetry by default. A CI step should not report on a team's
    # pipelines to a third party unasked (and on closed networks the attempt costs time),
    # so it is off unless the user set the variable themselves.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        outcome = cli.main(args=args, prog_name="modelci", standalone_mode=False, obj=app)
    except ModelciError as exc:
        _traceback(app, exc)
        click.echo(f"modelci: error: {exc.message}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("modelci: aborted", err=True)
        return 130
    except click.UsageError as exc:
        # click's own three-line usage block would break the one-line rule CI logs rely on.
        command = exc.ctx.command_path if exc.ctx is not None else "modelci"
        message = " ".join(exc.format_message().split())
        click.echo(f"modelci: error: {message} (see '{command} --help')", err=True)
        return EXIT_INPUT
    except click.ClickException as exc:
        click.echo(f"modelci: error: {' '.join(exc.format_message().split())}", err=True)
        return EXIT_INPUT
    except ImportError as exc:
        missing = missing_extra(exc)
        if missing is None:
            raise
        _traceback(app, exc)
        click.echo(f"modelci: error: {missing.message}", err=True)
        return missing.exit_code
    except OSError as exc:
        _traceback(app, exc)
        # Disk full, permission denied on the run folder: say which file, skip the traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        hint = _OS_HINTS.get(exc.errno or 0, "")
        click.echo(f"modelci: error: {where}{exc.strerror or exc}{hint}", err=True)
        return EXIT_INFRA if exc.errno is None else EXIT_INPUT
    # click returns the exit code of --help/--version (ctx.exit) when not standalone.
    return outcome if isinstance(outcome, int) else 0


def _traceback(app: App, exc: BaseException) -> None:
    """With --debug, the traceback goes before the one-line error; nothing else changes."""
    # What the step printed comes first in a log that interleaves stdout and stderr.
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    if app.debug:
        traceback.print_exception(exc, file=sys.stderr)


def main() -> None:
    """Console entry point: the only place that exits the process."""
    # A cancelled CI job gets SIGTERM: unwind as Ctrl-C does, so `finally` blocks and context
    # managers run (train marks its MLflow run KILLED, staging is removed).
    signal.signal(signal.SIGTERM, _terminated)
    # jsonschema imports every optional format library it finds when it is imported; one of
    # them (rfc3987_syntax, which jsonschema[format] brings) compiles 38 grammars then, 2-7 s
    # on every command. modelci checks no formats, so its own process goes without it; the
    # Python API leaves the caller's imports alone.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    try:
        code = run()
    except KeyboardInterrupt:
        code = 130
    # The command is done: every file is written and closed, every store call returned. At
    # exit the interpreter would still walk every object MLflow, scikit-learn and pandas made
    # with its cycle collector, several times, to free memory the process is about to give
    # back (about a second after a train step). Frozen objects are left out of those walks;
    # atexit handlers, thread joins and the flushing of stdout and stderr run as always.
    gc.freeze()
    sys.exit(code)


def _terminated(signum: int, frame: FrameType | None) -> None:
    # Once: a second SIGTERM must not cut the clean-up short (SIGKILL still can).
    signal.signal(signum, signal.SIG_IGN)
    raise KeyboardInterrupt
