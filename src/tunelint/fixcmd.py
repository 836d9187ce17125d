"""``tunelint fix``: write a fixed copy of a dataset (see :mod:`tunelint.fixer` for the design).

Exit codes: 0 the output was written and no error-severity problem is left that fix could not
repair; 1 such errors remain in the output (or a file could not be processed at all: Git LFS
pointer, binary, unreadable gzip), so a pipeline notices; 2 usage or configuration error.
"""
from __future__ import annotations

import os
import sys

import click

from .cli import UsageFailure, apply_fix_options, common_options, fix_options, fix_policy, load, make_progress, memory_option


@click.command("fix")
@click.argument("paths", nargs=-1, required=True)
@common_options
@click.option("-o", "--output", "output", help="Write the fixed dataset here ('-' for stdout). A JSON array "
              "stays an array unless OUTPUT ends in .jsonl; .gz in gives .gz out.")
@click.option("--in-place", is_flag=True, help="Overwrite the input files (atomically). Never the default.")
@click.option("--rejects", "rejects", type=click.Path(dir_okay=False), help="Where dropped records go, verbatim "
              "with line, codes and reason (default: OUTPUT's name + .rejects.jsonl, written when something is dropped).")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that change content or drop records.")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of the changes (writes nothing unless -o/--in-place is given).")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--changes", "changes", type=click.Path(dir_okay=False), help="Write one JSONL entry per edit (line, code, op, pointer, before, after).")
@click.option("--to", "to", type=click.Choice(["chat", "prompt-completion"]), help="Convert records to OpenAI chat messages (or to prompt/completion where lossless).")
@fix_options
@memory_option
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
@click.option("--no-progress", is_flag=True, help="No progress bar (it is shown only on a terminal, on stderr).")
def fix(paths, config_path, isolated, select, extend_select, ignore, target, max_tokens, fmt,
        output, in_place, rejects, unsafe_fixes, show_diff, dry_run, changes, to, fixable, unfixable,
        extend_fixable, quiet, no_progress):
    """Fix dataset files: safe fixes by default, --unsafe-fixes for the rest.

    Every input record ends up in the output or in the rejects file; records are never
    reordered and records no fix touches are written byte for byte.
    """
    from .fixes import FixError, Fixer
    from .reader import iter_input_paths

    for p in paths:
        if p != "-" and not os.path.exists(p):
            raise UsageFailure(f"{p}: no such file or directory")
    if "-" in paths:
        raise UsageFailure("fix reads files, not stdin (it streams the input twice); save stdin to a file first")
    if in_place and output:
        raise UsageFailure("use either -o/--output or --in-place, not both")
    if show_diff and output == "-":
        raise UsageFailure("--diff and -o - both write to stdout; choose one")
    if show_diff and any(p.lower().endswith((".parquet", ".arrow")) for p in paths):
        raise UsageFailure("--diff shows text; Parquet and Arrow are binary: use --changes FILE for the edits")
    if show_diff and not (output or in_place):
        dry_run = True
    if not (output or in_place or dry_run):
        raise UsageFailure("say where to write: -o OUTPUT, or --in-place to overwrite the input (or --dry-run/--diff to preview)")
    cfg = load(config_path, isolated, select, extend_select, ignore, target, max_tokens, fmt, start=paths[0])
    from .discover import NoDatasetFiles

    try:
        files = list(iter_input_paths(list(paths), cfg))
    except NoDatasetFiles as e:
        raise UsageFailure(str(e)) from None
    if not files:
        raise UsageFailure("nothing to fix: every file named was skipped")
    if len(files) > 1 and (output or rejects):
        raise UsageFailure("-o/--output and --rejects take one input file; use --in-place for several")
    if output and output != "-" and os.path.isdir(output):
        raise UsageFailure(f"{output} is a directory; give a file name")
    if output and output != "-" and os.path.exists(output) and os.path.samefile(output, files[0]):
        raise UsageFailure("the output is the input file; use --in-place to overwrite it")
    from .fixes import preflight
    from .fsutil import Unwritable

    try:
        preflight(files, output, rejects, changes, in_place, dry_run)
    except Unwritable as e:
        raise UsageFailure(str(e)) from None
    apply_fix_options(cfg, fixable, unfixable, extend_fixable)
    policy = fix_policy(cfg, unsafe_fixes)
    container = None
    if output and output != "-":
        name = output[:-3] if output.endswith(".gz") else output
        if name.endswith((".jsonl", ".ndjson")):
            container = "jsonl"
        elif name.endswith(".json"):
            container = "json"
        else:
            from .tables import table_mode

            container = table_mode(name)
    fixer = Fixer(cfg, policy, to=to)
    fixer.progress = progress = make_progress(no_progress, "fixing")
    diff_out = sys.stdout.buffer if show_diff else None
    ch = None
    if changes:
        from .fsutil import atomic_write

        ch_cm = atomic_write(changes)
        ch = ch_cm.__enter__()
    status = 0
    try:
        for p in files:
            try:
                r = fixer.fix_file(p, output, rejects=rejects, changes=ch, container=container, dry_run=dry_run,
                                   diff=diff_out, in_place=in_place, display=p)
            except FixError as e:
                if progress is not None:
                    progress.close()
                click.echo(f"tunelint: {p}: {e}", err=True)
                status = 2  # this file could not be fixed at all (one line naming it; nothing replaced)
                continue
            if progress is not None:
                progress.close()
            if r.skipped:
                status = max(status, 1)
            elif r.remaining_errors:
                status = max(status, 1)
            if not quiet:
                verb = "would write" if dry_run else ("rewrote" if in_place and r.changed else "unchanged" if in_place else "wrote")
                dest = p if in_place else (output or "")
                msg = r.summary()
                if not r.skipped:
                    msg += f" [{verb}{' ' + dest if dest and verb != 'unchanged' else ''}]"
                click.echo(f"tunelint fix: {msg}", err=True)
    finally:
        if ch is not None:
            ch_cm.__exit__(*sys.exc_info())
    sys.exit(status)
