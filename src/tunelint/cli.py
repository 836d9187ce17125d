"""Command line. Heavy dependencies (pandas, spaCy, GX, matplotlib) are imported only by the
subcommands and rules that need them, so ``tunelint check`` starts fast in a pre-commit hook.

Exit codes: 0 no errors; 1 errors (or warnings with --strict); 2 usage, config or internal error.
"""
from __future__ import annotations

import os
import sys

import click

from .version import __version__
from .model.errors import UserError
from .words import plural


class UsageFailure(UserError):
    """An error the user can fix: printed as one line, exit code 2."""


def fail(msg: str) -> None:
    """Stop the command with one exit-2 line (for every subcommand module)."""
    raise UsageFailure(msg)


_fail = fail


def _csv(values) -> list[str] | None:
    if not values:
        return None
    out: list[str] = []
    for v in values:
        out += [s.strip() for s in v.split(",") if s.strip()]
    return out


def _discovery_option(ctx, param, value):
    """--exclude/--extend-exclude/--force-exclude are kept in the context for :func:`load`
    (so commands need no parameters for them)."""
    ctx.meta[f"tunelint.{param.name}"] = _csv(value) if param.multiple else value
    return value


def common_options(f):
    opts = [
        click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file (default: closest tunelint.toml or pyproject.toml with [tool.tunelint])."),
        click.option("--isolated", is_flag=True, help="Ignore all configuration files."),
        click.option("--select", multiple=True, help="Rules to enable (codes, prefixes or names; comma-separated). Replaces the configured selection."),
        click.option("--extend-select", multiple=True, help="Rules to enable on top of the selection."),
        click.option("--ignore", multiple=True, help="Rules to disable (codes, prefixes or names)."),
        click.option("--target", help="Token-limit preset from rules/targets.yaml (see `tunelint targets`)."),
        click.option("--max-tokens", type=click.IntRange(min=1), help="Override the target's per-example token limit."),
        click.option("--format", "fmt", help="Force the record format: chat, prompt-completion, prompt-only, kto, stepwise, text, alpaca, sharegpt, dpo, preference, gemini, bedrock, claude, rft."),
        click.option("--exclude", multiple=True, expose_value=False, callback=_discovery_option,
                     help="Paths to skip when walking directories (globs, comma-separated; replaces the default and the configured list)."),
        click.option("--extend-exclude", multiple=True, expose_value=False, callback=_discovery_option,
                     help="Like --exclude, but added to the default and configured list."),
        click.option("--force-exclude/--no-force-exclude", default=None, expose_value=False, callback=_discovery_option,
                     help="Apply the exclusions to files named on the command line too (for pre-commit)."),
        *trainer_view_options(),
    ]
    for o in reversed(opts):
        f = o(f)
    return click.version_option(__version__, "-V", "--version", prog_name="tunelint")(f)


def fix_options(f):
    """``--fixable/--unfixable/--extend-fixable``: the ``[tool.tunelint.fix]`` keys on the command line."""
    opts = [
        click.option("--fixable", multiple=True, help="Only these rules' fixes may be applied (codes, prefixes or names; comma-separated). Replaces [fix] fixable."),
        click.option("--unfixable", multiple=True, help="Never apply these rules' fixes."),
        click.option("--extend-fixable", multiple=True, help="Rules whose fixes may be applied, on top of --fixable / [fix] fixable."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


#: options naming what the trainer sees (kept in click's context, read by load())
TRAINER_VIEW = ("tokenizer", "chat_template", "max_seq_len", "trainer_config", "mapping")


def _remember(ctx, param, value):
    if value is not None:
        ctx.meta.setdefault("tunelint.trainer_view", {})[param.name] = value
    return value


def trainer_view_options():
    kw = {"expose_value": False, "callback": _remember}
    return [
        click.option("--tokenizer", help="The model's own tokenizer: a local model folder (tokenizer.json + tokenizer_config.json), a tokenizer.json, builtin:qwen2.5, builtin:qwen3 or mistral:FILE. Never downloads. Counts become those of the rendered chat template.", **kw),
        click.option("--chat-template", type=click.Path(dir_okay=False), help="A Jinja chat template file (or a tokenizer_config.json) replacing the tokenizer's own.", **kw),
        click.option("--max-seq-len", type=click.IntRange(min=1), help="The training sequence length (overrides the target's limit and --trainer-config).", **kw),
        click.option("--trainer-config", type=click.Path(dir_okay=False), help="Read the sequence length (and a local model folder) from an Axolotl, LLaMA-Factory or TRL YAML config.", **kw),
        click.option("--mapping", type=click.Path(dir_okay=False), help="Column and role names of the data files: a LLaMA-Factory dataset_info.json or an Axolotl config's datasets: entries (see [tool.tunelint.mapping]).", **kw),
    ]


def _remember_memory(ctx, param, value):
    if value is not None:
        ctx.meta["tunelint.memory"] = value
    return value


#: ``--memory SIZE`` (check, fix): the dataset rules' state budget, kept in click's context, read by load()
memory_option = click.option(
    "--memory", expose_value=False, callback=_remember_memory, metavar="SIZE",
    help="Memory budget for the dataset rules' state, e.g. 512MB or 2GiB (default 1GB, or `memory` in the config; "
         "none: no bound). Past it, hashes, band keys and style columns spill to a temporary directory; findings are the same.")


def apply_fix_options(cfg, fixable, unfixable, extend_fixable) -> None:
    """Merge the command line's fix selections into ``cfg.fix`` (validated when the fix policy is built)."""
    fix = dict(cfg.fix or {})
    if fixable:
        fix["fixable"] = _csv(fixable)
    if extend_fixable and "fixable" in fix:
        base = fix["fixable"]
        fix["fixable"] = list(_csv([base] if isinstance(base, str) else base) or []) + _csv(extend_fixable)
    if unfixable:
        base = fix.get("unfixable", [])
        fix["unfixable"] = list(_csv([base] if isinstance(base, str) else base) or []) + _csv(unfixable)
    cfg.fix = fix


def fix_policy(cfg, unsafe: bool):
    from .config import ConfigError
    from .fixes import FixPolicy

    try:
        return FixPolicy.from_config(cfg, unsafe)
    except ConfigError as e:
        _fail(str(e))


def make_progress(no_progress: bool, phase: str | None = None):
    """A progress bar on stderr when it is a terminal (never on a pipe or file), unless --no-progress."""
    if no_progress or not sys.stderr.isatty():
        return None
    from .progress import Progress

    p = Progress(sys.stderr)
    if phase:
        p.phase(phase)
    return p


def use_color(choice: str, stream) -> bool:
    """--color: always/never, or auto: FORCE_COLOR (non-empty, not 0) forces colour on, NO_COLOR (non-empty)
    turns it off, otherwise colour only on a terminal."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    force = os.environ.get("FORCE_COLOR")
    if force and force != "0":
        return True
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def load(config_path, isolated, select, extend_select, ignore, target, max_tokens, fmt, start="."):
    from .config import ConfigError, load_config

    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    tv = dict(meta.get("tunelint.trainer_view", {}))
    for k in ("chat_template", "trainer_config", "mapping"):
        if tv.get(k) and not os.path.isfile(tv[k]):
            _fail(f"{tv[k]}: no such file (--{k.replace('_', '-')})")
    try:
        return load_config(
            config_path, start, select=_csv(select), extend_select=_csv(extend_select),
            ignore=_csv(ignore), target=target, max_tokens=max_tokens, fmt=fmt, isolated=isolated,
            exclude=meta.get("tunelint.exclude"), extend_exclude=meta.get("tunelint.extend_exclude"),
            force_exclude=meta.get("tunelint.force_exclude"), memory=meta.get("tunelint.memory"), **tv,
        )
    except ConfigError as e:
        _fail(str(e))


def check_paths_exist(paths) -> None:
    """One exit-2 line for the first input path that does not exist."""
    for p in paths:
        if p != "-" and not os.path.exists(p):
            _fail(f"{p}: no such file or directory")


_check_paths_exist = check_paths_exist


class LazyGroup(click.Group):
    """Subcommands living in other modules are imported only when invoked (fast start-up)."""

    lazy = {
        "fix": ("tunelint.fixcmd", "fix"),
        "report": ("tunelint.report", "report"),
    }

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def resolve_command(self, ctx, args):
        name = click.utils.make_str(args[0]) if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            from .rules import did_you_mean

            _fail(f"unknown command {name!r}{did_you_mean(name, self.list_commands(ctx))}; "
                  f"commands: {', '.join(self.list_commands(ctx))}")
        return super().resolve_command(ctx, args)

    def get_command(self, ctx, name):
        if name in self.lazy:
            import importlib

            mod, attr = self.lazy[name]
            try:
                return getattr(importlib.import_module(mod), attr)
            except ImportError:
                return None
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="tunelint")
def cli():
    """Lint and clean LLM fine-tuning datasets."""


SEVERITY_CHOICE = click.Choice(["error", "warning", "info"], case_sensitive=False)


@cli.command()
@click.argument("paths", nargs=-1)
@common_options
@click.option("--output-format", "output_format", default=None, help="text (default), json, sarif, github (default when GITHUB_ACTIONS=true), junit, gitlab. Case-insensitive.")
@click.option("--output-file", "output_file", type=click.Path(dir_okay=False), help="Write the output to this file instead of stdout.")
@click.option("-o", "--output", "outputs", multiple=True, help="Also write FORMAT:FILE (repeatable), e.g. json:findings.json.")
@click.option("--statistics", is_flag=True, help="Print only a table of counts per rule (with severity), no findings.")
@click.option("--min-severity", "min_severity", type=SEVERITY_CHOICE, default="info", show_default=True, help="Report only findings at least this severe; the exit code ignores the rest.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--exit-zero", is_flag=True, help="Always exit 0 unless tunelint itself fails.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, help="Processes for large JSONL files (default 0: one per CPU, up to 8; files under 4 MB always use one). Results are identical for any value.")
@memory_option
@click.option("--engine", type=click.Choice(["local", "ray"], case_sensitive=False), default="local", help="Where the byte ranges of large JSONL files are checked: local processes (default) or Ray Data (needs the ray extra). Results are identical.")
@click.option("--address", "ray_address", default=None, help="With --engine ray: the address of an existing Ray cluster (default: start a local one with --jobs CPUs).")
@click.option("-q", "--quiet", is_flag=True, help="Print diagnostics only, no summary or messages.")
@click.option("--no-progress", is_flag=True, help="No progress bar (it is shown only on a terminal, on stderr).")
@click.option("--color", "color", type=click.Choice(["auto", "always", "never"], case_sensitive=False), default="auto", show_default=True, help="Colour text output (auto: on a terminal; FORCE_COLOR and NO_COLOR are honoured).")
@click.option("--show-settings", is_flag=True, help="Print the resolved settings (config file, selection, enabled rules) and exit.")
@click.option("--show-files", is_flag=True, help="Print the files that would be checked and exit.")
@click.option("--against", "against", multiple=True, type=click.Path(exists=True), help="Validation/test file(s): report their records that duplicate training records (leakage).")
@click.option("--profile", is_flag=True, help="Also print the dataset's style profile (percentiles per feature, category shares); on stderr unless the output format is text.")
@click.option("--fix", "do_fix", is_flag=True, help="Apply safe fixes in place (the pre-commit flow), then report what is left.")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix: also apply unsafe fixes.")
@fix_options
@click.option("--show-fixes", is_flag=True, help="Show each finding's fix under it; with --fix, list what was fixed.")
@click.option("--baseline", "baseline", type=click.Path(dir_okay=False), help="Report only findings not recorded in this baseline file.")
@click.option("--write-baseline", "write_baseline", type=click.Path(dir_okay=False), help="Record current findings as the baseline and exit 0.")
@click.option("--add-ignore", is_flag=True, help="Add every current finding to its file's ignore file (FILE.tunelint-ignore) and exit 0.")
def check(paths, config_path, isolated, select, extend_select, ignore, target, max_tokens, fmt,
          output_format, output_file, outputs, statistics, min_severity, strict, exit_zero, jobs, engine, ray_address,
          quiet, no_progress, color, show_settings, show_files, against, profile, do_fix, unsafe_fixes,
          fixable, unfixable, extend_fixable, show_fixes, baseline, write_baseline, add_ignore):
    """Check dataset files (JSONL, JSON arrays, .gz, Parquet, Arrow, CSV/TSV; directories; - for stdin). No path: the current directory."""
    from .api import check as check_data

    paths = paths or (".",)
    _check_paths_exist(paths)
    # every option is validated before any data is read
    fmt_name = (output_format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" and _has_renderer("github") else "text")).lower()
    _known_format(fmt_name)
    extra = _output_specs(outputs, output_file, write_baseline)
    if baseline:
        from .baseline import BaselineError, read_baseline

        try:
            read_baseline(baseline)
        except BaselineError as e:
            _fail(str(e))
    if unsafe_fixes and not do_fix:
        click.echo("tunelint: warning: --unsafe-fixes has no effect without --fix", err=True)
    if engine == "ray":
        try:
            from .rayengine import import_ray

            import_ray()
        except ImportError as e:
            _fail(str(e))
    elif ray_address:
        _fail("--address needs --engine ray")
    cfg = load(config_path, isolated, select, extend_select, ignore, target, max_tokens, fmt,
               start=paths[0] if paths[0] != "-" else ".")
    cfg.against = list(cfg.against) + [os.path.abspath(a) for a in against]
    apply_fix_options(cfg, fixable, unfixable, extend_fixable)
    policy = fix_policy(cfg, unsafe_fixes)
    if show_settings or show_files:
        from .settings import show

        show(cfg, list(paths), sys.stdout, settings=show_settings, files=show_files)
        sys.exit(0)
    if do_fix:
        from .fixes import fix_in_place_for_check
        from .fsutil import Unwritable

        try:
            fixed = fix_in_place_for_check(list(paths), cfg, unsafe=unsafe_fixes, policy=policy,
                                           progress=make_progress(no_progress, "fixing"))
        except Unwritable as e:
            _fail(str(e))
        if show_fixes:
            _print_fixed(fixed)
    progress = make_progress(no_progress, "profiling" if profile else None)
    if jobs == 0:
        from .forkmap import cpus

        jobs = min(cpus(), 8)
    sinks = []
    if profile:  # the style rows come from the check's own pass (one read of the data)
        from .style_features import StyleRows

        sinks.append(StyleRows(cfg, tokens=True))
    result = check_data(list(paths), cfg, jobs=jobs, progress=progress,  # the Python API
                        sinks=sinks, engine=engine, address=ray_address)
    if progress is not None and not profile:  # with --profile the bar stays up while it is summarized
        progress.close()
    from .suppress import add_ignores, apply_ignores

    if add_ignore:
        if progress is not None:
            progress.close()
        n, files = add_ignores(result)
        click.echo(f"tunelint: added {n:,} finding(s) to {', '.join(files) or 'no ignore file'}", err=True)
        sys.exit(0)
    result = apply_ignores(result, cfg)
    if write_baseline:
        from .baseline import write_baseline as wb

        if progress is not None:
            progress.close()
        n = wb(write_baseline, result)
        click.echo(f"tunelint: wrote {n} finding(s) to baseline {write_baseline}", err=True)
        sys.exit(0)
    if baseline:
        from .baseline import apply_baseline

        result = apply_baseline(baseline, result)
    result, hidden = filter_severity(result, min_severity.lower())
    if profile:
        from .profile import render_rows

        # Machine-readable stdout is exactly one document: the profile goes to stderr then.
        render_rows(sinks[0].turn_rows, sinks[0].rec_rows, cfg,
                    sys.stdout if fmt_name == "text" and not output_file else sys.stderr, progress=progress)
    opts = {"statistics": statistics, "quiet": quiet, "hidden": hidden, "show_fixes": show_fixes,
            "policy": policy}
    if output_file:
        _write_output(fmt_name, output_file, result, cfg, {**opts, "color": color.lower() == "always"})
    else:
        _render(fmt_name, result, cfg, sys.stdout, {**opts, "color": use_color(color.lower(), sys.stdout)})
    for name, fname in extra:
        _write_output(name, fname, result, cfg, {**opts, "color": False})
    sys.exit(exit_code(result, strict or cfg.strict, exit_zero))


def _output_specs(outputs, output_file=None, write_baseline=None) -> list[tuple[str, str]]:
    """Parse and validate every ``-o FORMAT:FILE`` (and --output-file, --write-baseline) before
    anything runs: a typo in a format or a missing directory is one exit-2 line up front, not a
    failure after the check (or after --fix replaced data)."""
    from .fsutil import Unwritable, check_writable

    specs = []
    try:
        for spec in outputs:
            name, sep, fname = spec.partition(":")
            if not sep or not fname:
                _fail(f"-o/--output expects FORMAT:FILE, e.g. json:findings.json, got {spec!r} (use --output-file FILE for the main output)")
            _known_format(name.lower())
            check_writable(fname, f"{name} output")
            specs.append((name.lower(), fname))
        if output_file:
            check_writable(output_file, "output file")
        if write_baseline:
            check_writable(write_baseline, "baseline file")
    except Unwritable as e:
        _fail(str(e))
    return specs
def filter_severity(result, min_severity: str):
    """(result with findings at least ``min_severity``, how many were left out)."""
    from .diagnostic import SEVERITY_RANK

    limit = SEVERITY_RANK[min_severity]
    kept = [d for d in result.diagnostics if SEVERITY_RANK.get(d.severity, 0) <= limit]
    hidden = len(result.diagnostics) - len(kept)
    if hidden:
        result = type(result)(kept, result.files)
    return result, hidden


def _known_format(name: str) -> None:
    from .render import RENDERERS

    if name not in RENDERERS:
        from .rules import did_you_mean

        _fail(f"unknown output format {name!r}{did_you_mean(name, RENDERERS)}; choose from {', '.join(RENDERERS)}")


def _print_fixed(fixed) -> None:
    from collections import Counter

    for r in fixed:
        counts = Counter(r.edits)
        if not counts:
            continue
        click.echo(f"Fixed in {r.path}:", err=True)
        for code, n in sorted(counts.items()):
            click.echo(f"  {n:>5} x {code}", err=True)


def exit_code(result, strict: bool, exit_zero: bool) -> int:
    if exit_zero:
        return 0
    sev = {d.severity for d in result.diagnostics}
    if "error" in sev or (strict and "warning" in sev):
        return 1
    return 0


def _has_renderer(name: str) -> bool:
    from .render import RENDERERS

    return name in RENDERERS


def _render(name, result, cfg, out, opts) -> None:
    from .render import get

    _known_format(name)
    get(name)(result, cfg, out, opts)


def _write_output(name, fname, result, cfg, opts) -> None:
    from .fsutil import atomic_write_text

    with atomic_write_text(fname) as f:
        _render(name, result, cfg, f, opts)


@cli.command("ignore")
@click.argument("location")
@click.argument("codes", nargs=-1, required=True)
@common_options
def ignore_cmd(location, codes, config_path, isolated, select, extend_select, ignore, target, max_tokens, fmt):
    """Suppress findings on one record: LOCATION is FILE:LINE (as printed by check), CODES the rules.

    Entries go to FILE.tunelint-ignore, keyed by the record's content hash, the code and the JSON
    pointer, so they survive inserted and reordered records. An entry that later matches nothing
    is reported as F040 (unused-ignore).
    """
    from .engine import check_paths
    from .suppress import IgnoreFileError, add_entries, ignore_path

    path, line = _file_line(location)
    _check_paths_exist([path])
    if os.path.isdir(path):
        _fail(f"{path} is a directory; give FILE:LINE of one data file")
    want = {c.upper() for c in _csv(codes)}
    cfg = load(config_path, isolated, select, tuple(extend_select) + tuple(sorted(want)), ignore, target,
               max_tokens, fmt, start=path)
    unknown = sorted(c for c in want if cfg.rule(c) is None)
    if unknown:
        from .rules import did_you_mean

        _fail(f"unknown rule {unknown[0]!r}{did_you_mean(unknown[0], [r.code for r in cfg.rules])}; see `tunelint rules`")
    result = check_paths([path], cfg)
    hits = [d for d in result.diagnostics if d.line == line and d.code in want]
    missing = sorted(want - {d.code for d in hits})
    if missing:
        _fail(f"no {', '.join(missing)} finding at {path}:{line}; run `tunelint check {path}` to see the findings")
    try:
        n = add_entries(hits[0].path, hits)
    except IgnoreFileError as e:
        _fail(str(e))
    side = ignore_path(hits[0].path)
    if n:
        click.echo(f"tunelint: added {n} entr{'y' if n == 1 else 'ies'} to {side}", err=True)
    else:
        click.echo(f"tunelint: {', '.join(sorted(want))} at {path}:{line} already in {side}", err=True)


def _file_line(location: str) -> tuple[str, int]:
    """``FILE:LINE`` or ``FILE:LINE:COL`` (a finding line pasted as it was printed)."""
    parts = location.rsplit(":", 2)
    for k in (2, 1):
        if len(parts) > k and all(x.isdigit() for x in parts[-k:]):
            return ":".join(parts[:-k]), int(parts[-k])
    _fail(f"expected FILE:LINE (as printed by `tunelint check`), got {location!r}")


@cli.command("rules")
@common_options
@click.option("--all", "show_all", is_flag=True, help="With --select/--extend-select/--ignore: list every rule anyway (the selection only sets the ✓ marks).")
@click.option("--output-format", type=click.Choice(["text", "json", "markdown"], case_sensitive=False), default="text")
def rules_cmd(config_path, isolated, select, extend_select, ignore, target, max_tokens, fmt, show_all, output_format):
    """List rules (enabled ones are marked ✓). --select/--ignore on the command line list only the rules they match."""
    import shutil

    from .config import rule_matches
    from .docs import list_rules

    cfg = load(config_path, isolated, select, extend_select, ignore, target, max_tokens, fmt)
    only = None
    if (select or extend_select or ignore) and not show_all:
        pos, neg = (_csv(select) or []) + (_csv(extend_select) or []), _csv(ignore) or []
        only = [r for r in cfg.rules if (not pos or any(rule_matches(s, r) for s in pos))
                and not any(rule_matches(s, r) for s in neg)]
    width = shutil.get_terminal_size((100, 24)).columns if sys.stdout.isatty() else None
    click.echo(list_rules(cfg, show_all=True, fmt=output_format.lower(), only=only, width=width), nl=False)


@cli.command()
@click.argument("rule")
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--isolated", is_flag=True)
def explain(rule, config_path, isolated):
    """Show a rule's documentation with its pass/fail/fix examples."""
    from .docs import explain_rule
    from .rules import did_you_mean

    cfg = load(config_path, isolated, (), (), (), None, None, None)
    r = cfg.rule(rule) or cfg.rule(rule.upper())
    if r is None:
        _fail(f"unknown rule {rule!r}{did_you_mean(rule, [x.code for x in cfg.rules] + [x.name for x in cfg.rules])}; see `tunelint rules`")
    click.echo(explain_rule(r, enabled=r in cfg.enabled), nl=False)


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--isolated", is_flag=True)
def targets(config_path, isolated):
    """List token-limit targets (use with --target)."""
    cfg = load(config_path, isolated, (), (), (), None, None, None)
    for t in cfg.targets.values():
        lim = f"{t.max_tokens:,}" if t.max_tokens else "set --max-seq-len"
        if t.tokenizer:
            tok = t.tokenizer
        elif t.own_tokenizer:
            tok = "--tokenizer PATH"
        else:
            tok = t.encoding
        notes = []
        if t.own_tokenizer:
            notes.append(f"bring your own tokenizer.json (--tokenizer): its licence keeps it out of tunelint; approximate ({t.encoding}) until given")
        if t.closed_from:
            notes.append(f"closed to new fine-tuning jobs from {t.closed_from}")
        extra = f" [{'; '.join(notes)}]" if notes else ""
        click.echo(f"{t.name:<18} {lim:>8} tokens  {tok:<48} min {plural(t.min_examples, 'example'):<12} {t.description}{extra}")


def main(argv=None) -> None:
    import gc

    # A check allocates a few short-lived objects per record (parsed JSON, turns) next to
    # long-lived dataset state (term counts, hashes): collecting every 700 allocations, and
    # the old generations every 10 young ones, walks that state far more often than it finds
    # cycles (~4% of a large check's CPU). Restored on return (in-process callers).
    before = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        _main(argv)
    finally:
        gc.set_threshold(*before)


def _main(argv) -> None:
    try:
        cli.main(args=argv, prog_name="tunelint", standalone_mode=False)
    except UsageFailure as e:
        click.echo(f"tunelint: error: {e}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("tunelint: aborted", err=True)
        sys.exit(2)
    except click.ClickException as e:
        e.show()
        sys.exit(2)
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        sys.exit(0)
    except KeyboardInterrupt:
        click.echo("tunelint: interrupted", err=True)
        sys.exit(2)
    except SystemExit:
        raise
    except Exception as e:  # never show a traceback to users
        if os.environ.get("TUNELINT_DEBUG"):
            raise
        from .extras import MissingExtra

        if isinstance(e, (UserError, MissingExtra)):  # MissingExtra names the extra
            click.echo(f"tunelint: error: {e}", err=True)
        else:
            click.echo(f"tunelint: internal error: {type(e).__name__}: {e} (set TUNELINT_DEBUG=1 for a traceback and please report it)", err=True)
        sys.exit(2)
