"""SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer).

* ``tool.driver.rules`` lists every enabled rule (plus any rule a result refers to) with id,
  name, short and full description, help (text and markdown) and ``helpUri``.
  ASSUMPTION: rule docs live at ``docs/rules.md`` in the tunelint repository with one anchor
  per lower-cased rule code (``DOCS_URL``).
* results carry ``ruleId``/``ruleIndex``, ``level`` (error->error, warning->warning,
  info->note), the message (with the JSON pointer), a location relative to the current
  directory under ``uriBaseId`` ``%SRCROOT%`` with ``region`` (startLine, startColumn;
  file-level findings point at line 1), and ``partialFingerprints`` derived from the record's
  content hash (not its line), so moving a record does not reopen an alert.
"""
from __future__ import annotations

import os
from urllib.parse import quote

import orjson

from ..version import __version__
from ..baseline import fingerprints
from ..locate import relative_path

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/tunelint/tunelint"
DOCS_URL = INFO_URI + "/blob/main/docs/rules.md#{anchor}"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT_KEY = "tunelint/v1"
#: GitHub code scanning rejects a run with more results than this (a hard limit; it displays
#: the top 5,000). Beyond it the most severe results are kept and the rest counted.
MAX_RESULTS = 25_000
_RANK = {"error": 0, "warning": 1, "info": 2}
BASE_ID = "%SRCROOT%"


def help_uri(code: str) -> str:
    return DOCS_URL.format(anchor=code.lower())


def _first_paragraph(text: str) -> str:
    text = (text or "").strip()
    return text.split("\n\n", 1)[0].replace("\n", " ").strip()


def rule_descriptor(rule, families: dict[str, str]) -> dict:
    summary = (rule.summary or rule.name).strip()
    full = _first_paragraph(rule.doc) or summary
    help_md = f"**{rule.code} {rule.name}**: {summary}"
    if rule.doc:
        help_md += "\n\n" + rule.doc.strip()
    if rule.fix:
        help_md += f"\n\nFix ({rule.fix.get('applicability', 'safe')}): {rule.fix.get('description', '')}".rstrip(": ")
    help_md += f"\n\nRun `tunelint explain {rule.code}` for examples."
    tags = ["tunelint", families.get(rule.family, "custom")]
    if rule.fix:
        tags.append("fixable")
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": full},
        "help": {"text": help_md.replace("**", "").replace("`", ""), "markdown": help_md},
        "helpUri": help_uri(rule.code),
        "defaultConfiguration": {"level": LEVELS.get(rule.severity, "warning")},
        "properties": {"tags": tags, "precision": "very-high"},
    }


def artifact_uri(path: str) -> tuple[str, bool]:
    """(uri, relative?) for a diagnostic path."""
    rel = relative_path(path)
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        return "file://" + quote(rel if rel.startswith("/") else "/" + rel), False
    return quote(rel), True


def build(result, config) -> dict:
    from ..rules import FAMILIES

    by_code = {r.code: r for r in config.rules}
    codes = {r.code for r in config.enabled} | {d.code for d in result.diagnostics}
    rules = [by_code[c] for c in sorted(codes) if c in by_code]
    index = {r.code: i for i, r in enumerate(rules)}
    descriptors = [rule_descriptor(r, FAMILIES) for r in rules]
    for c in sorted(codes - set(by_code)):  # a result from a rule the config no longer knows
        index[c] = len(descriptors)
        name = next(d.name for d in result.diagnostics if d.code == c)
        descriptors.append({"id": c, "name": name, "shortDescription": {"text": name},
                            "fullDescription": {"text": name}, "helpUri": help_uri(c)})
    results = []
    pairs = list(zip(result.diagnostics, fingerprints(result.diagnostics)))
    omitted = 0
    if len(pairs) > MAX_RESULTS:
        keep = sorted(range(len(pairs)), key=lambda i: (_RANK.get(pairs[i][0].severity, 1), i))[:MAX_RESULTS]
        omitted = len(pairs) - MAX_RESULTS
        pairs = [pairs[i] for i in sorted(keep)]
    for d, fp in pairs:
        uri, relative = artifact_uri(d.path)
        loc = {"uri": uri, "uriBaseId": BASE_ID} if relative else {"uri": uri}
        msg = d.message + (f" [{d.pointer}]" if d.pointer else "")
        region = {"startLine": max(d.line, 1), "startColumn": max(d.column, 1)}
        if d.unit == "row":  # a table (Parquet, Arrow, CSV): the row is a logical location
            msg = f"row {d.line}: {msg}" if d.line >= 1 else msg
            region = {"startLine": 1}
        res = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": LEVELS.get(d.severity, "warning"),
            "message": {"text": msg},
            "locations": [{"physicalLocation": {
                "artifactLocation": loc,
                "region": region,
            }}],
            "partialFingerprints": {FINGERPRINT_KEY: fp},
        }
        if d.unit == "row" and d.line >= 1:
            res["locations"][0]["logicalLocations"] = [
                {"name": f"row {d.line}", "fullyQualifiedName": f"row {d.line}{d.pointer}", "kind": "element"}]
        if d.related and d.unit == "row":
            res["relatedLocations"] = [
                {"id": i, "physicalLocation": {"artifactLocation": loc, "region": {"startLine": 1}},
                 "message": {"text": f"related record at row {ln}"}}
                for i, ln in enumerate(d.related, 1) if ln >= 1
            ]
        elif d.related:
            res["relatedLocations"] = [
                {"id": i, "physicalLocation": {"artifactLocation": loc, "region": {"startLine": ln}},
                 "message": {"text": f"related record at line {ln}"}}
                for i, ln in enumerate(d.related, 1) if ln >= 1
            ]
        props = {"pointer": d.pointer, "fixable": d.fix is not None}
        if d.unit == "row":
            props["row"] = d.line
        if d.fix is not None:
            props["fix"] = {"applicability": d.fix.applicability, "description": d.fix.description}
        if d.record_hash:
            props["recordHash"] = d.record_hash
        res["properties"] = props
        results.append(res)
    srcroot = os.path.abspath(os.curdir).replace(os.sep, "/")
    run_props = {}
    if omitted:
        run_props["properties"] = {"omittedResults": omitted, "omittedReason": (
            f"GitHub code scanning accepts at most {MAX_RESULTS:,} results per run; "
            "the most severe were kept")}
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "tunelint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFO_URI,
                "rules": descriptors,
            }},
            "originalUriBaseIds": {BASE_ID: {"uri": "file://" + quote(srcroot.rstrip("/") + "/")}},
            "columnKind": "unicodeCodePoints",
            "results": results,
            **run_props,
        }],
    }


def render(result, config, out, opts) -> None:
    doc = build(result, config)
    omitted = doc["runs"][0].get("properties", {}).get("omittedResults")
    if omitted:
        import sys

        print(f"tunelint: SARIF keeps {MAX_RESULTS:,} of {len(result.diagnostics):,} results (GitHub code "
              f"scanning's limit per run), most severe first; {omitted:,} left out", file=sys.stderr)
    out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
