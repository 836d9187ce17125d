"""Human output: ``path:line:col: CODE message`` lines, optional statistics, a summary."""
from __future__ import annotations

from collections import Counter

from . import summary


def render(result, config, out, opts) -> None:
    color = opts.get("color", False)

    def c(s: str, code: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if color else s

    sev_color = {"error": "31", "warning": "33", "info": "36"}
    for d in result.diagnostics:
        mark = " [*]" if d.fix is not None and d.fix.applicability == "safe" else ""
        where = f" [{d.pointer}]" if d.pointer else ""
        out.write(f"{c(d.path, '1')}:{d.line}:{d.column}: {c(d.code, sev_color[d.severity] + ';1')}{mark} {d.message}{c(where, '2')}\n")
    s = summary(result)
    if opts.get("statistics"):
        names = {d.code: (d.name, d.fix is not None and d.fix.applicability == "safe") for d in result.diagnostics}
        counts = Counter(d.code for d in result.diagnostics)
        if counts:
            out.write("\n")
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            name, fixable = names[code]
            out.write(f"{n:>7}  {code}  {'[*]' if fixable else '   '} {name}\n")
    if opts.get("quiet"):
        return
    total = s["errors"] + s["warnings"] + s["info"]
    recs = f"{s['records']:,} record{'s' if s['records'] != 1 else ''} in {s['files']} file{'s' if s['files'] != 1 else ''}"
    if total == 0:
        out.write(f"All checks passed: {recs}.\n")
        return
    out.write(
        f"\nFound {s['errors']:,} error{'s' if s['errors'] != 1 else ''}, {s['warnings']:,} warning{'s' if s['warnings'] != 1 else ''}"
        f" and {s['info']:,} info in {recs}.\n"
    )
    if s["fixable"]:
        safe = sum(1 for d in result.diagnostics if d.fix is not None and d.fix.applicability == "safe")
        unsafe = s["fixable"] - safe
        msg = f"[*] {safe:,} fixable with `tunelint fix`" if safe else "No safe fixes available"
        if unsafe:
            msg += f" ({unsafe:,} more with `tunelint fix --unsafe-fixes`)"
        out.write(msg + ".\n")
