"""JUnit XML for CI test-report views (GitLab, Jenkins, Azure, CircleCI).

One ``<testsuite>`` per checked file; one failing ``<testcase>`` per finding (``classname`` is
the file, ``name`` the rule code and location, ``<failure type>`` the severity); a file
without findings gets one passing test case. Text from the data is stripped of characters
that XML 1.0 cannot carry.
"""
from __future__ import annotations

import re
from collections import defaultdict
from xml.sax.saxutils import escape, quoteattr

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(s: str) -> str:
    return _BAD_XML.sub("\ufffd", s)


def _attr(s) -> str:
    return quoteattr(_clean(str(s)), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def render(result, config, out, opts) -> None:
    by_file: dict[str, list] = defaultdict(list)
    for f in result.files:
        by_file[f.path]
    for d in result.diagnostics:
        by_file[d.path].append(d)
    n_diag = len(result.diagnostics)
    tests = sum(max(len(v), 1) for v in by_file.values())
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f'<testsuites name="tunelint" tests="{tests}" failures="{n_diag}" errors="0" time="0">\n')
    records = {f.path: f.records for f in result.files}
    for path, diags in by_file.items():
        out.write(f'  <testsuite name={_attr(path)} tests="{max(len(diags), 1)}" failures="{len(diags)}" errors="0" skipped="0" time="0">\n')
        if path in records:
            out.write(f'    <properties><property name="records" value="{records[path]}"/></properties>\n')
        if not diags:
            out.write(f'    <testcase classname={_attr(path)} name="tunelint" time="0"/>\n')
        for d in diags:
            where = ("file" if d.line < 1 else f"row {d.line}" if d.unit == "row"
                     else f"line {d.line}, column {d.column}")
            name = f"{d.code} {d.name} ({where})"
            msg = d.message + (f" [{d.pointer}]" if d.pointer else "")
            body = f"{d.path}:{d.where}: {d.code} {msg}"
            out.write(f'    <testcase classname={_attr(path)} name={_attr(name)} file={_attr(path)} line="{max(d.line, 1) if d.unit == "line" else 1}" time="0">\n')
            out.write(f'      <failure type={_attr(d.severity)} message={_attr(msg)}>{escape(_clean(body))}</failure>\n')
            out.write("    </testcase>\n")
        out.write("  </testsuite>\n")
    out.write("</testsuites>\n")
