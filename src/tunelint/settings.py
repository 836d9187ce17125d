"""``check --show-settings`` / ``--show-files``: what a run would use, without reading any data
(ruff's options of the same names)."""
from __future__ import annotations

import os


def show(cfg, paths: list[str], out, settings: bool = True, files: bool = False) -> None:
    if files:
        show_files(cfg, paths, out)
    if settings:
        if files:
            out.write("\n")
        show_settings(cfg, out)


def show_files(cfg, paths: list[str], out) -> None:
    """The dataset files discovery picks, one per line (with the number of rules that apply
    when per-file-ignores turn some off, and the ignore file that applies to it)."""
    from .reader import iter_input_paths
    from .suppress import ignore_path

    n = len(cfg.enabled)
    for p in iter_input_paths(paths, cfg):
        extra = []
        k = len(cfg.rules_for(p)) if p != "-" else n
        if k != n:
            extra.append(f"{k} of {n} rules (per-file-ignores)")
        side = ignore_path(p)
        if side and os.path.isfile(side):
            extra.append(f"ignore file {side}")
        out.write(p + (f"  ({'; '.join(extra)})" if extra else "") + "\n")


def show_settings(cfg, out) -> None:
    t = cfg.target
    lim = f"{t.max_tokens:,} tokens" if t.max_tokens else "no token limit"
    rows = [
        ("config file", cfg.source or "none (defaults)"),
        ("base directory", os.path.abspath(cfg.base_dir)),
        ("target", f"{t.name} ({t.encoding}, {lim})"),
        ("format", cfg.format or "detected per file"),
        ("strict", "yes" if cfg.strict else "no"),
    ]
    if cfg.per_file_ignores:
        rows.append(("per-file-ignores", "; ".join(f"{k} = {', '.join(v)}" for k, v in cfg.per_file_ignores.items())))
    if cfg.against:
        rows.append(("against", ", ".join(cfg.against)))
    if cfg.fix:
        rows.append(("fix", "; ".join(f"{k} = {v}" for k, v in sorted(cfg.fix.items()))))
    w = max(len(k) for k, _ in rows)
    out.write("Settings\n")
    for k, v in rows:
        out.write(f"  {k:<{w}}  {v}\n")
    out.write(f"\nEnabled rules ({len(cfg.enabled)} of {len(cfg.rules)}):\n")
    for r in sorted(cfg.enabled, key=lambda r: r.code):
        fix = f"  fix: {r.fix['applicability']}" if r.fix else ""
        out.write(f"  {r.code}  {r.name:<32} {r.severity:<7}{fix}\n")
