"""The self-contained HTML report: inline CSS and inline SVG plots, no script, no network."""
from __future__ import annotations

import datetime as _dt
import re
from collections import Counter, defaultdict
from html import escape

from ..rules import FAMILIES
from ..tokens import counted_with as _counted_with

SEV_RANK = {"error": 0, "warning": 1, "info": 2}
SNIPPET = 320

CSS = """
:root{--fg:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--accent:#3b6ea8;--err:#c0392b;--warn:#b7791f;--info:#3b6ea8}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#1f2933;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#cbd2d9;font-size:13px}
main{max-width:1100px;margin:0 auto;padding:18px 28px 48px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:17px;margin:0 0 10px}
h3{font-size:14px;margin:14px 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{flex:1 1 150px;border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:#fbfcfd}
.card b{display:block;font-size:22px}
.card span{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.sev{display:inline-block;border-radius:4px;padding:0 6px;font-size:11px;color:#fff}
.sev.error{background:var(--err)}.sev.warning{background:var(--warn)}.sev.info{background:var(--info)}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{white-space:pre-wrap;word-break:break-word;background:#f8f9fb;border:1px solid var(--line);border-radius:6px;padding:6px 8px;margin:4px 0;max-height:12em;overflow:auto}
details{margin:4px 0}
summary{cursor:pointer}
.note{color:var(--muted);font-size:12px}
.grid{display:flex;flex-wrap:wrap;gap:10px}
.grid figure{flex:1 1 300px;margin:0}
figure{margin:8px 0}
svg.plot{width:100%;height:auto;max-width:760px;display:block}
.grid svg.plot{max-width:100%}
.ok{color:#2f855a}
"""


def _n(x) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:,.2f}"


def _sev(s: str) -> str:
    return f'<span class="sev {escape(s)}">{escape(s)}</span>'


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}%" if b else "–"


def _places(where: list[tuple[str, int]]) -> str:
    """``path: 1, 5, 9`` per file (paths are long; lines are what you look up)."""
    by: dict[str, list[int]] = {}
    for p, ln in where:
        by.setdefault(p, []).append(ln)
    return "<br>".join(f"<code>{escape(p)}</code>: {escape(', '.join(map(str, lns)))}" for p, lns in by.items())


# -- data -------------------------------------------------------------------------------------
def resolve(obj, ptr: str):
    from ..diagnostic import split_pointer

    cur = obj
    for tok in split_pointer(ptr):
        if isinstance(cur, list):
            try:
                cur = cur[int(tok)]
            except (ValueError, IndexError):
                return None
        elif isinstance(cur, dict):
            if tok not in cur:
                return None
            cur = cur[tok]
        else:
            return None
    return cur


def snippets(wanted: dict[str, set[int]], sources: dict[str, str]) -> dict[tuple[str, int], object]:
    """The parsed record (or raw text) at each wanted (path, line): a second streaming read of
    just those lines, so the report never holds the dataset's text."""
    import orjson

    from ..reader import Chunk, Source

    out: dict[tuple[str, int], object] = {}
    for disp, lines in wanted.items():
        real = sources.get(disp)
        if not lines or real is None or real == "-":
            continue
        last = max(lines)
        for item in Source(real):
            if not isinstance(item, Chunk):
                continue
            if item.line in lines:
                try:
                    out[(disp, item.line)] = orjson.loads(item.data)
                except orjson.JSONDecodeError:
                    out[(disp, item.line)] = item.data.decode("utf-8", "replace")
            if item.line >= last:
                break
    return out


def _clip(v, n: int = SNIPPET) -> str:
    import orjson

    if not isinstance(v, str):
        v = orjson.dumps(v, option=orjson.OPT_INDENT_2).decode() if v is not None else ""
    return v if len(v) <= n else v[:n] + f" … ({len(v) - n:,} more characters)"


def duplicate_clusters(diags) -> list[dict]:
    """Clusters of records linked by D findings (a finding links its line to its related lines)."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    codes: dict[tuple[str, int], set[str]] = defaultdict(set)
    for d in diags:
        if not d.code.startswith("D") or not d.related or not d.line:
            continue
        a = (d.path, d.line)
        codes[a].add(d.code)
        for r in d.related:
            ra, rb = find(a), find((d.path, r))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    members: dict[tuple[str, int], list[int]] = defaultdict(list)
    for x in list(parent):
        members[find(x)].append(x[1])
    out = []
    for root, lines in members.items():
        cs = set()
        for ln in lines:
            cs |= codes.get((root[0], ln), set())
        out.append({"path": root[0], "lines": sorted(lines), "codes": sorted(cs)})
    out.sort(key=lambda c: (-len(c["lines"]), c["path"], c["lines"][0]))
    return out


_VARIANT_NOISE = (re.compile(r"; here: '[^']*'"), re.compile(r" \(first \d+ occurrences shown\)"),
                  re.compile(r" \(\d+ variants in this turn\)"))


def term_groups(diags) -> list[dict]:
    """T findings grouped by what they say once the per-occurrence detail is removed."""
    groups: dict[tuple[str, str], dict] = {}
    for d in diags:
        if not d.code.startswith("T"):
            continue
        key = d.message
        for rx in _VARIANT_NOISE:
            key = rx.sub("", key)
        g = groups.setdefault((d.code, key), {"code": d.code, "name": d.name, "message": key, "count": 0, "where": []})
        g["count"] += 1
        if len(g["where"]) < 8:
            g["where"].append((d.path, d.line))
    return sorted(groups.values(), key=lambda g: (-g["count"], g["code"], g["message"]))


def style_outliers(df, col: str, k: float = 3.0):
    """Tukey fences (k x IQR) of a numeric column: (lo, hi, outlier rows sorted by extremity)."""
    import numpy as np

    s = df[col].astype(float)
    s = s[~np.isnan(s)]
    if s.empty:
        return 0.0, 0.0, s
    q1, q3 = float(s.quantile(0.25)), float(s.quantile(0.75))
    iqr = q3 - q1
    lo, hi = q1 - k * iqr, q3 + k * iqr
    if iqr == 0:
        hi = float(s.quantile(0.999))
        lo = float(s.min())
    out = s[(s > hi) | (s < lo)]
    med = float(s.median())
    out = out.reindex((out - med).abs().sort_values(ascending=False).index)
    return lo, hi, out


# -- page ----------------------------------------------------------------------------------------
def render(fc, result, config, opts) -> str:
    from . import plots
    from ..version import __version__

    df = fc.frame()
    diags = result.diagnostics
    n = len(df)
    target = config.target
    epochs = opts.get("epochs", 3)
    prices = opts["prices"]
    prices_are_examples = opts.get("prices_are_examples", True)
    per_code = int(opts.get("examples", 5))
    paths = [s.path for s in result.files]
    out: list[str] = []
    w = out.append
    title = "tunelint report — " + (", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else ""))
    w(f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width,initial-scale=1'>"
      f"<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
      f"<title>{escape(title)}</title><style>{CSS}</style></head><body>")
    now = opts.get("now") or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    w(f"<header><h1>{escape(title)}</h1><p>tunelint {escape(__version__)} · target <b>{escape(target.name)}</b> "
      f"({escape(_counted_with(target))}, limit {escape(f'{target.max_tokens:,}' if target.max_tokens else 'none set')}) · {escape(now)}</p></header><main>")

    # summary ---------------------------------------------------------------------------------
    has_tok = "tokens" in df.columns
    total_tok = int(df["tokens"].sum()) if has_tok and n else 0
    sev = Counter(d.severity for d in diags)
    w("<section id='summary'><h2>Dataset summary</h2><div class='cards'>")
    cards = [(_n(n), "records"), (_n(len(paths)), "files"),
             (", ".join(f"{escape(k)}" for k, _ in Counter(df["format"]).most_common()) if n else "–", "formats")]
    if has_tok:
        cards.append((_n(total_tok), "training tokens per epoch"))
        cards.append((_n(total_tok * epochs), f"tokens for {epochs} epoch(s)"))
    cards.append((f"{sev.get('error', 0):,} / {sev.get('warning', 0):,} / {sev.get('info', 0):,}", "errors / warnings / info"))
    for v, label in cards:
        w(f"<div class='card'><b>{v}</b><span>{escape(label)}</span></div>")
    w("</div>")
    w("<h3>Files</h3><table><tr><th>file</th><th>format</th><th class='n'>records</th><th class='n'>lines</th></tr>")
    for s in result.files:
        w(f"<tr><td><code>{escape(s.path)}</code></td><td>{escape(s.format)}</td><td class='n'>{s.records:,}</td><td class='n'>{s.lines:,}</td></tr>")
    w("</table>")
    if fc.role_turns:
        w("<h3>Roles</h3><table><tr><th>role</th><th class='n'>turns</th>")
        if has_tok:
            w("<th class='n'>tokens</th><th class='n'>share of text tokens</th><th class='n'>mean per turn</th>")
        w("</tr>")
        rt_total = sum(fc.role_tokens.values())
        for role, cnt in fc.role_turns.most_common():
            w(f"<tr><td>{escape(role)}</td><td class='n'>{cnt:,}</td>")
            if has_tok:
                t = fc.role_tokens.get(role, 0)
                w(f"<td class='n'>{t:,}</td><td class='n'>{_pct(t, rt_total)}</td><td class='n'>{t / cnt:,.1f}</td>")
            w("</tr>")
        w("</table>")
        if has_tok:
            w("<p class='note'>Role tokens count each turn's text only; the per-example total above also counts "
              "the chat format's overhead (tokens per message and reply priming, as OpenAI bills them).</p>")
    if has_tok:
        w(f"<h3>Estimated training cost</h3><table><tr><th>model</th><th class='n'>USD per 1M training tokens</th>"
          f"<th class='n'>one epoch</th><th class='n'>{epochs} epoch(s)</th></tr>")
        for model, price in prices.items():
            one = total_tok * price / 1e6
            w(f"<tr><td>{escape(str(model))}</td><td class='n'>{price:,.2f}</td><td class='n'>${one:,.2f}</td><td class='n'>${one * epochs:,.2f}</td></tr>")
        w("</table>")
        if prices_are_examples:
            w("<p class='note'><b>Example prices</b> (OpenAI's published fine-tuning prices in 2025), not kept up to date: "
              "check your provider and pass your own with <code>--price-table prices.toml</code>. "
              f"Token counts use {escape(target.encoding)}; change the number of epochs with <code>--epochs</code>.</p>")
        else:
            w("<p class='note'>Prices from your price table. Token counts use " + escape(target.encoding) + ".</p>")
    w("</section>")

    # token lengths ---------------------------------------------------------------------------
    if has_tok and n:
        import numpy as np

        v = df["tokens"].to_numpy()
        lim = target.max_tokens
        w("<section id='tokens'><h2>Tokens per example</h2>")
        w(f"<figure>{plots.token_histogram(v, lim, target.encoding)}</figure>")
        q = np.percentile(v, [50, 95, 99])
        over = int((v > lim).sum()) if lim else 0
        w("<table><tr><th class='n'>mean</th><th class='n'>median</th><th class='n'>p95</th><th class='n'>p99</th><th class='n'>max</th><th class='n'>over the limit</th></tr>")
        w(f"<tr><td class='n'>{v.mean():,.1f}</td><td class='n'>{q[0]:,.0f}</td><td class='n'>{q[1]:,.0f}</td><td class='n'>{q[2]:,.0f}</td>"
          f"<td class='n'>{int(v.max()):,}</td><td class='n'>{(f'{over:,} ({_pct(over, n)})' if lim else 'no limit set')}</td></tr></table>")
        if not lim:
            w("<p class='note'>No token limit: choose a target (<code>--target gpt-4o</code>, see <code>tunelint targets</code>) or pass <code>--max-tokens</code>.</p>")
        if fc.longest:
            w("<h3>Longest examples</h3><table><tr><th>where</th><th class='n'>tokens</th></tr>")
            for t, p, ln in fc.longest[:5]:
                w(f"<tr><td><code>{escape(p)}:{ln}</code></td><td class='n'>{t:,}</td></tr>")
            w("</table>")
        w("</section>")

    # findings --------------------------------------------------------------------------------
    by_code: dict[str, list] = defaultdict(list)
    for d in diags:
        by_code[d.code].append(d)
    rule_of = {r.code: r for r in config.rules}
    snip: dict = {}
    w("<section id='findings'><h2>Findings</h2>")
    if not diags:
        w("<p class='ok'>No findings with the enabled rules.</p>")
    else:
        fam = Counter()
        for d in diags:
            fam[d.code.rstrip("0123456789")] += 1
        labels = [f"{f} {FAMILIES.get(f, '')}".strip() for f, _ in fam.most_common()]
        w(f"<figure>{plots.hbar(labels, [c for _, c in fam.most_common()], 'findings per family')}</figure>")
        # examples to show: the worst (severity, most related records) first, then by line
        shown: dict[str, list] = {}
        wanted: dict[str, set[int]] = defaultdict(set)
        for code, lst in by_code.items():
            pick = sorted(lst, key=lambda d: (SEV_RANK.get(d.severity, 3), -len(d.related), d.path, d.line))[:per_code]
            shown[code] = pick
            for d in pick:
                if d.line:
                    wanted[d.path].add(d.line)
        clusters = duplicate_clusters(diags)[:10]
        for c in clusters:
            for ln in c["lines"][:2]:
                wanted[c["path"]].add(ln)
        snip = snippets(wanted, fc.sources)
        order = sorted(by_code, key=lambda c: (SEV_RANK.get(by_code[c][0].severity, 3), c[0], -len(by_code[c]), c))
        w("<table><tr><th>code</th><th>rule</th><th>severity</th><th class='n'>findings</th><th class='n'>records</th><th>fixable</th></tr>")
        for code in order:
            lst = by_code[code]
            recs = len({(d.path, d.line) for d in lst})
            fx = sum(1 for d in lst if d.fix is not None)
            w(f"<tr><td><a href='#{escape(code)}'><code>{escape(code)}</code></a></td><td>{escape(lst[0].name)}</td><td>{_sev(lst[0].severity)}</td>"
              f"<td class='n'>{len(lst):,}</td><td class='n'>{recs:,}</td><td>{fx and (str(fx) + ' ' + escape(lst[0].fix.applicability if lst[0].fix else 'yes')) or ''}</td></tr>")
        w("</table>")
        for code in order:
            lst = by_code[code]
            r = rule_of.get(code)
            w(f"<details id='{escape(code)}'><summary><code>{escape(code)}</code> {escape(lst[0].name)} — {len(lst):,} finding(s)"
              f"{(': ' + escape(r.summary)) if r is not None and r.summary else ''}</summary>")
            for d in shown[code]:
                where = f"{d.path}:{d.line}" if d.line else d.path
                w(f"<p><code>{escape(where)}</code>{(' <code>' + escape(d.pointer) + '</code>') if d.pointer else ''} {escape(d.message)}</p>")
                rec = snip.get((d.path, d.line))
                if rec is not None:
                    val = resolve(rec, d.pointer) if d.pointer and not isinstance(rec, str) else rec
                    if val is None:
                        val = rec
                    w(f"<pre>{escape(_clip(val))}</pre>")
            if len(lst) > len(shown[code]):
                w(f"<p class='note'>{len(lst) - len(shown[code]):,} more: <code>tunelint check --select {escape(code)} …</code></p>")
            w("</details>")
    w("</section>")

    # duplicate clusters ----------------------------------------------------------------------
    allc = duplicate_clusters(diags)
    w("<section id='duplicates'><h2>Duplicate clusters</h2>")
    dup_share = float(df["is_duplicate"].mean()) if n else 0.0
    w(f"<p>Exact duplicate records: <b>{int(df['is_duplicate'].sum()) if n else 0:,}</b> ({dup_share * 100:.2f}%); "
      f"records repeating an earlier prompt: <b>{int(df['duplicate_prompt'].sum()) if n else 0:,}</b>.</p>")
    if not allc:
        w("<p class='note'>No clusters reported by the enabled D rules.</p>")
    else:
        sizes = Counter(len(c["lines"]) for c in allc)
        w(f"<p>{len(allc):,} cluster(s) linked by D findings, covering {sum(len(c['lines']) for c in allc):,} records "
          f"(sizes: {escape(', '.join(f'{k}×{v}' for k, v in sorted(sizes.items())))}). Largest:</p>")
        w("<table><tr><th class='n'>size</th><th>rules</th><th>lines</th><th>first two records</th></tr>")
        for c in allc[:10]:
            ls = c["lines"]
            more = f" … (+{len(ls) - 12})" if len(ls) > 12 else ""
            recs = "".join(f"<pre>{escape(_clip(snip.get((c['path'], ln)), 200))}</pre>" for ln in ls[:2] if snip.get((c['path'], ln)) is not None)
            w(f"<tr><td class='n'>{len(ls)}</td><td>{escape(', '.join(c['codes']))}</td><td><code>{escape(c['path'])}</code>: "
              f"{escape(', '.join(map(str, ls[:12])))}{more}</td><td>{recs}</td></tr>")
        w("</table>")
    w("</section>")

    # terms -------------------------------------------------------------------------------------
    tg = term_groups(diags)
    w("<section id='terms'><h2>Term variants</h2>")
    if not tg:
        w("<p class='note'>No terminology findings with the enabled T rules.</p>")
    else:
        w(f"<p>{len(tg):,} group(s). Counts are findings (one per occurrence reported).</p>")
        w("<table><tr><th>code</th><th>what</th><th class='n'>findings</th><th>first places</th></tr>")
        for g in tg[:30]:
            w(f"<tr><td><code>{escape(g['code'])}</code></td><td>{escape(g['message'])}</td><td class='n'>{g['count']:,}</td>"
              f"<td>{_places(g['where'][:4])}</td></tr>")
        w("</table>")
        if len(tg) > 30:
            w(f"<p class='note'>{len(tg) - 30:,} more groups: <code>tunelint check --select T …</code></p>")
    w("</section>")

    # style ----------------------------------------------------------------------------------------
    if "words" in df.columns and n:
        w("<section id='style'><h2>Style profile of the answers</h2>"
          "<p class='note'>Last trained answer of each record. Shaded: outliers beyond 3×IQR from the quartiles.</p><div class='grid'>")
        rows = []
        for col, label in (("words", "words"), ("sentences", "sentences"), ("sentence_len", "words per sentence"), ("upper", "uppercase share of letters")):
            lo, hi, outl = style_outliers(df, col)
            w(f"<figure>{plots.feature_hist(df[col].astype(float).to_numpy(), lo, hi, label)}</figure>")
            for idx in outl.index[:3]:
                rows.append((label, df.at[idx, "path"], int(df.at[idx, "line"]), float(outl[idx]), hi, len(outl)))
        w("</div><div class='grid'>")
        for col in ("opener", "end", "list_style", "person", "script"):
            vc = df[col].astype(str).value_counts()
            top = vc.head(8)
            w(f"<figure>{plots.hbar([str(x) for x in top.index], [int(x) for x in top.values], col.replace('_', ' '))}</figure>")
        w("</div>")
        if rows:
            w("<h3>Most extreme outliers</h3><table><tr><th>feature</th><th>where</th><th class='n'>value</th><th class='n'>fence</th><th class='n'>outliers</th></tr>")
            for label, p, ln, val, hi, cnt in rows:
                w(f"<tr><td>{escape(label)}</td><td><code>{escape(p)}:{ln}</code></td><td class='n'>{val:,.2f}</td><td class='n'>{hi:,.2f}</td><td class='n'>{cnt:,}</td></tr>")
            w("</table>")
        w("</section>")
    w("<p class='note'>Generated by tunelint. Self-contained: no scripts, no external resources.</p></main></body></html>")
    return "".join(out)
