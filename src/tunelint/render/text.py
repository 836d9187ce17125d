"""Human output: ``path:line:col: severity: CODE message [pointer]`` lines and a summary.

The severity sits where gcc and clang put it, so editors' and CI's problem matchers for
``file:line:col: error: message`` read the lines as they are. ``--statistics`` prints only
the table (count, code, severity, fixable mark, name), as ruff does.
"""
from __future__ import annotations

from collections import Counter

from ..words import plural
from . import summary

SEV_COLOR = {"error": "31", "warning": "33", "info": "36"}


def _safe(d) -> bool:
    return d.fix is not None and d.fix.applicability == "safe"


def _fix_kinds(opts):
    """d -> "safe" | "unsafe" | None: the fix `--fix` would apply (with --unsafe-fixes for
    "unsafe"), after --fixable/--unfixable and extend-safe/unsafe-fixes (opts["policy"])."""
    policy = opts.get("policy")
    if policy is None:
        return lambda d: d.fix.applicability if d.fix is not None else None
    from dataclasses import replace

    selected = replace(policy, unsafe=True, _cache={})
    return lambda d: policy.applicability(d) if selected.allows(d) else None


def render(result, config, out, opts) -> None:
    color = opts.get("color", False)
    kind_of = _fix_kinds(opts)
    show_fixes = opts.get("show_fixes")

    def c(s: str, code: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if color and s else s

    if opts.get("statistics"):
        statistics(result, out)
        return
    safe = unsafe = 0
    for d in result.diagnostics:
        kind = kind_of(d)
        safe += kind == "safe"
        unsafe += kind == "unsafe"
        mark = " [*]" if kind == "safe" else ""
        where = f" [{d.pointer}]" if d.pointer else ""
        sev = c(d.severity + ":", SEV_COLOR[d.severity] + ";1")
        out.write(f"{c(d.path, '1')}:{d.where}: {sev} {c(d.code, '1')}{mark} {d.message}{c(where, '2')}\n")
        if show_fixes and kind:
            out.write(f"    {c('fix (' + kind + '):', '32')} {d.fix.description}\n")
    if opts.get("quiet"):
        return
    s = summary(result)
    total = s["errors"] + s["warnings"] + s["info"]
    recs = f"{plural(s['records'], 'record')} in {plural(s['files'], 'file')}"
    ctx = context(result, config)
    if total == 0:
        out.write(f"All checks passed: {recs} ({ctx}).\n")
        return
    out.write(f"\nFound {plural(s['errors'], 'error')}, {plural(s['warnings'], 'warning')} and {s['info']:,} info"
              f" in {recs} ({ctx}).\n")
    hidden = opts.get("hidden")
    if hidden:
        out.write(f"{plural(hidden, 'finding')} below --min-severity not shown.\n")
    if safe or unsafe:
        msg = f"[*] {safe:,} fixable with the `--fix` option" if safe else "No safe fixes available"
        if unsafe:
            msg += f" ({unsafe:,} more with `--fix --unsafe-fixes`)"
        out.write(msg + ".\n")


def context(result, config) -> str:
    """``chat; config: pyproject.toml``: the detected format(s) and the config file used."""
    import os

    fmts = Counter(f.format for f in result.files if f.records and f.format != "unknown")
    parts = []
    if fmts:
        parts.append("format" + ("s" if len(fmts) > 1 else "") + ": " + ", ".join(sorted(fmts)))
    src = getattr(config, "source", None) if config is not None else None
    if src:
        rel = os.path.relpath(src)
        parts.append("config: " + (src if rel.startswith("..") else rel))
    else:
        parts.append("no config file")
    return "; ".join(parts)


def statistics(result, out) -> None:
    info = {d.code: (d.name, d.severity, _safe(d)) for d in result.diagnostics}
    counts = Counter(d.code for d in result.diagnostics)
    for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        name, sev, fixable = info[code]
        out.write(f"{n:>7}  {code}  {sev:<7}  {'[*]' if fixable else '   '} {name}\n")
