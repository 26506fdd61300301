"""The `edgemef` command: one click group whose subcommands load lazily.

Lazy loading keeps `edgemef --help` and `edgemef fuse` fast and torch-free: a training or
export command imports torch only when it runs.
"""
from __future__ import annotations

import importlib
import click

from edgemef.errors import EdgemefError

# name -> (module, attribute, one-line help). Explicit: no discovery by file name.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "fuse": ("edgemef.cli.fuse", "fuse_cmd", "Fuse 2-3 exposure brackets into one image."),
    "eval": ("edgemef.cli.eval", "eval_cmd", "Fuse folders of brackets with each method and score them (MEF-SSIM, Q^AB/F...)."),
    "demo": ("edgemef.cli.demo", "demo_cmd", "Fuse the bundled sample brackets with every method."),
    "export": ("edgemef.cli.export", "export_cmd", "Export a trained network (ONNX, OpenVINO, TensorRT, ORT mobile; fp32/fp16/int8) with a parity check."),
    "synth": ("edgemef.cli.synth", "synth_cmd", "Render synthetic bracket sets (under/over, EV0, fused label, radiance)."),
    "train": ("edgemef.cli.train", "train_cmd", "Train a fusion network on synthetic brackets (needs torch)."),
    "bench": ("edgemef.cli.bench", "bench_cmd", "Benchmark every export target, PyTorch, Mertens and enfuse: latency, compute bound, MEF-SSIM."),
}


class UserError(click.ClickException):
    """An :class:`EdgemefError` as click shows it: one line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"edgemef: error: {self.format_message()}", err=True, file=file)


def option_given(name: str, ctx: click.Context | None = None) -> bool:
    """Whether the user set the option ``name`` (command line or environment), not its default."""
    from click.core import ParameterSource

    ctx = ctx or click.get_current_context()
    return ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)


def one_line_usage(e: click.UsageError) -> UserError:
    """click's usage error (bad value, unknown option, missing option...) as one line that points
    at the command's --help, instead of click's usage block."""
    ctx = e.ctx or click.get_current_context(silent=True)
    where = ctx.command_path if ctx is not None else "edgemef"
    return UserError(f"{e.format_message().rstrip('.')} (see '{where} --help')")


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is used, and turns
    :class:`EdgemefError`, click's usage errors and a missing optional dependency into a one-line
    error."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as e:
            raise one_line_usage(e) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as e:
            raise one_line_usage(e) from None
        except KeyboardInterrupt:  # Ctrl-C: the shell's 130, not click's "Aborted!" and 1
            click.echo("edgemef: interrupted", err=True)
            ctx.exit(130)
        except EdgemefError as e:
            raise UserError(str(e)) from None
        except ModuleNotFoundError as e:
            hint = {"torch": "train", "onnx": "train", "openvino": "openvino", "tensorrt": "tensorrt"}
            extra = hint.get((e.name or "").split(".")[0])
            if extra is None:
                raise
            raise UserError(f"this command needs '{e.name}': pip install 'edgemef[{extra}]'") from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edgemef")
def cli():
    """edgemef: multi-exposure image fusion on edge hardware.

    Fuse under- and over-exposed photos into one well-exposed image with classical fusion or
    trained networks, export the networks for edge runtimes, and benchmark them.
    """


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="edgemef")
