"""T kinds: terminology and consistency across a dataset.

``term-variants`` (T001) discovers terms written in several ways where one way dominates.

*Counting* (:class:`tunelint.formcount.FormCounter`, streaming, in batches; this module only
decides which turns it sees): a word tokenizer (``WORD``) runs over each text turn
(inline and fenced code, file names, URLs and identifiers are skipped; turns that look like
code are skipped whole); every word form is counted once per record, and the first
``max-locations`` (line, JSON pointer) places of each form are kept (forms that can be a
minority are rare by definition, so their places are all kept; the report says when a list
was cut). Turns wait in a queue; each ~1 MB batch is tokenized at once by
:func:`~tunelint.formcount.batch_words` (numpy over one ASCII buffer: exactly WORD's matches, each with a 64-bit
hash), unique (word, turn) pairs come from one sort, and word ids, record counts and capped
places live in arrays, so Python only touches words seen for the first time. A small input
(a pre-commit hook's file) takes the per-turn path instead (WORD.findall and a Counter, no
numpy import); a test keeps both paths equal. Spaced compounds ("pre trained", "cyber
security") are counted as one form each: only a turn holding one of ``SPACED_PREFIXES`` is
scanned, by that prefix's compiled pattern. spaCy's tokenizer is not used: it is about ten
times slower than WORD on Alpaca (benchmarks/README.md, design measurements) and splits "pre-trained" into three tokens.

*Deciding* (``finish``, over the vocabulary of unique forms, never over tokens):

1. forms are grouped by a key: lower case, hyphens and spaces removed (``Pre-trained``/
   ``pretrained``/``pre trained``); a spaced spelling is never the dominant one;
2. inflections join their stem's group: the shipped spaCy English lookup table gives the
   lemma of each unique candidate key (keys whose spellings vary, or whose lemma's do), never
   of tokens. ``lemmatizer: spacy`` runs spaCy's lookup lemmatizer (``spacy.blank("en")``,
   table loaded into ``Lookups``, see :mod:`tunelint.lemmas`); the default ``table`` reads the
   same table directly, which is exactly what spaCy's lookup mode does
   (``table.get(text, text)``; a test checks both agree) without spaCy's import (about a second), so a
   small ``tunelint check`` stays free of heavy imports. Unknown words (``APIs``) lose a
   plural ``s`` only when the singular is in the vocabulary;
3. within a group, spellings are compared with the first letter's case ignored (a capital
   at a sentence start is not a variant);
4. a minority spelling is reported only with *evidence*: the same word after normalization
   (hyphen/space/case), never a merely similar word; case-only variants of ordinary English
   words (``US``/``us``, ``Polish``/``polish``) and ALL-CAPS emphasis are ignored; and the
   dominant spelling must have at least ``min-dominant`` records and ``ratio`` times the
   minority's records;
5. close spellings (``fuzzy``): rapidfuzz edit distance 1 between a rare form that is *not*
   an English word and a much more frequent one of the same length class and first letter
   (``Tensorflow``/``Tenserflow``), with stronger dominance (``fuzzy-ratio``).
   Look-alike ordinary words (form/from, than/then, lose/loose) are both English words and
   can never pair.

State is mergeable for ``--jobs``: counters add, occurrence lists concatenate in file order
up to the cap.

``glossary-terms`` (T002) applies declared ``{preferred, variants}`` entries (shipped pack
``rules/glossary.yaml`` plus the user's ``glossary``) with a word-bounded, case-aware
replacement offered as an unsafe fix.

``placeholder-variants`` (T003) and ``template-variants`` (T004) report datasets that mark
"no input" or lay out prompts in several ways.
"""
from __future__ import annotations

import re
from collections import Counter

from ..diagnostic import Edit
from ..formcount import SPACED_HEADS, SPACED_PREFIXES, WORD, FormCounter, prose, word_forms
from .base import DatasetCheck, Finding, FixOffer, Param, TurnCheck, count, kind, number, strings
from .text import match_case, normalize_value

# A turn that looks like source code or markup outside fences: its identifiers (MainScreen,
# userid, mdtabs) are not prose spellings, so term discovery skips the whole turn.
# Its parts: line-start keywords, markup tags, line-start assignments, a line ending in { } ;
_KW = (r"(?:def|class|import|from \w+ import|public|private|function|const|let|var|#include|return|if\s*\(|"
       r"for\s*\(|SELECT|CREATE)\b")
_TAG_RX = r"</?[a-zA-Z][^<>\n]*+>"  # [\w-]* then [^<>\n]* backtracked: quadratic on "<" + 128k letters
_ASSIGN = r"[\w.]++[^\S\n]*+[:=][^\S\n]*+[\w'\"\[{(]"
# Line-anchored parts take blanks other than "\n" ([^\S\n]), not \s: \s ran across every following
# blank line from each line start (quadratic on a run of newlines; benchmarks/README.md, design measurements); a keyword after
# blank lines is still found from its own line's start, so the matches are the same.
CODEISH = re.compile(r"[{};][^\S\n]*$|^[^\S\n]*" + _KW + "|" + _TAG_RX + r"|^[^\S\n]*" + _ASSIGN, re.M)


# CODEISH split into its alternatives, each a pattern that starts with a literal or a character
# set (re then skips ahead to it instead of trying every position: cheaper on prompts that
# all hold a newline; benchmarks/README.md, design measurements): ``^`` (re.M) is the start or a "\n"; ``[{};]\s*$`` is such a character,
# blanks other than "\n", then a "\n" or the end. A test keeps codeish equal to CODEISH.
_START_KW = re.compile(r"[^\S\n]*" + _KW)
_LINE_KW = re.compile(r"\n[^\S\n]*" + _KW)
_CODE_END = re.compile(r"[{};][^\S\n]*(?:\n|\Z)")
_TAG = re.compile(_TAG_RX)
_START_ASSIGN = re.compile(r"[^\S\n]*" + _ASSIGN)
_LINE_ASSIGN = re.compile(r"\n[^\S\n]*" + _ASSIGN)


def codeish(text: str) -> bool:
    """Whether a turn looks like code or markup (``CODEISH`` finds something in its prose); a
    turn with neither a newline nor "<" never counts."""
    if "\n" not in text and "<" not in text:
        return False
    p = prose(text)
    if _START_KW.match(p) or _LINE_KW.search(p):
        return True
    if ("{" in p or "}" in p or ";" in p) and _CODE_END.search(p):
        return True
    if "<" in p and _TAG.search(p):
        return True
    return ("=" in p or ":" in p) and (_START_ASSIGN.match(p) is not None or _LINE_ASSIGN.search(p) is not None)


def _style(form: str, stem_len: int) -> str:
    """The spelling of ``form``'s stem (its first ``stem_len`` characters other than hyphens and
    spaces), with the first letter of each hyphen- or space-separated part lower-cased
    (sentence starts and Title-Case headings are not variants: "Eco-Friendly" is "eco-friendly",
    "Pre trained" is "pre trained")."""
    if "-" not in form and " " not in form:
        return form[:1].lower() + form[1:stem_len]
    out = []
    n = 0
    start = True
    for ch in form:
        if n >= stem_len:
            break
        if ch == "-" or ch == " ":
            start = True
        else:
            if start:
                ch = ch.lower()
                start = False
            n += 1
        out.append(ch)
    return "".join(out).rstrip("- ")


def _top(forms: Counter) -> str:
    """The most common spelling; a tie goes to the greatest string (lower case before a capital),
    not to set iteration order, which changes with the hash seed from run to run."""
    return max(forms.items(), key=lambda kv: (kv[1], kv[0]))[0]


def _inner_cap(form: str) -> bool:
    rest = form[1:]
    return not rest.islower() and any(c.isupper() for c in rest)  # islower(): C, the usual answer


def _camel_ident(form: str) -> bool:
    """camelCase code identifiers (backgroundColor, getElementById), not iPhone/eBay."""
    return bool(_CAMEL.match(form))


_CAMEL = re.compile(r"[a-z]{2,}[A-Z]")


def _shout(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return len(letters) > 1 and all(c.isupper() for c in letters)


def _caps_rest(style: str) -> bool:
    """All letters after the first of each part are capitals (an acronym or ALL-CAPS)."""
    letters = [c for p in style.split("-") for c in p[1:] if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _mixed(style: str) -> bool:
    """A real inner capital: JavaScript, iPhone, WordPress (not Title Case, not ALL-CAPS)."""
    return any(c.isupper() for c in style) and not _caps_rest(style)


# Prefixes that form hyphenated compounds (co-operation, e-mail, non-fiction).
PREFIXES = frozenset("""a anti auto bi bio co counter cross cyber de e eco ex extra hyper inter intra macro mega meta
micro mid mini multi neo non out over para post pre pro pseudo re semi self sub super trans tri ultra un under
up vice well""".split())


def _compound(form: str, known) -> bool:
    """A two-part hyphenated word whose parts are a prefix or a word, then a word."""
    parts = form.lower().split("-")
    return (len(parts) == 2 and (parts[0] in PREFIXES or (len(parts[0]) > 2 and parts[0] in known))
            and len(parts[1]) > 1 and parts[1] in known)


@kind("term-variants")
class TermVariants(DatasetCheck):
    finish_apart = "terms"  # --jobs: finished in a forked process (see parallel._finish)
    warm_imports = ("numpy",)
    defaults = {"turns": [], "min-dominant": count(5, 1), "ratio": number(3, 1), "min-length": count(3, 1),
                "max-locations": count(20, 1), "fuzzy": False, "fuzzy-min-length": count(7, 1),
                "fuzzy-ratio": number(10, 1), "fuzzy-min-dominant": count(20, 1), "ignore": strings(),
                "lemmatizer": Param("table", choices=("table", "spacy")), "min-records": count(200)}

    def begin(self, ctx):
        self.records = 0
        self._kinds = self.turn_kinds()
        self.counter = FormCounter(self.p["max-locations"])  # the counting; this kind decides

    def observe(self, rec, ctx):
        self.records += 1
        kinds = self._kinds
        add = self.counter.add
        for t in rec.turns:
            text = t.text
            if not text or (kinds is not None and t.kind not in kinds) or codeish(text):
                continue
            add(text, self.records, rec.line, t.pointer)
        self.counter.end_record()

    def settle(self) -> None:
        self.counter.flush()

    def merge(self, other):
        self.counter.merge(other.counter)
        self.records += other.records

    # -- deciding ---------------------------------------------------------------
    def groups(self) -> dict[str, dict[str, dict]]:
        """stem key -> style -> {"count": records, "forms": Counter(form -> records)}."""
        from .. import lemmas

        minlen = self.p["min-length"]
        ignore = {w.lower() for w in self.p["ignore"]}
        keys: dict[str, list[str]] = {}
        varied: set[str] = set()  # keys whose spellings vary (a hyphen, a space, an inner capital)
        forms = list(self.counter.counts)
        # forms are ASCII and hold a letter: lower case is "equal to its lower()"
        for form, k in zip(forms, map(str.lower, forms)):
            if form == k:
                vary = False
            elif _camel_ident(form):
                continue
            else:
                vary = _inner_cap(form)
            if "-" in k or " " in k:
                k = k.replace("-", "").replace(" ", "")
                vary = True
            if len(k) >= minlen and k not in ignore:
                fs = keys.get(k)
                if fs is None:
                    keys[k] = [form]
                else:
                    fs.append(form)
                if vary:
                    varied.add(k)
        table = lemmas.table()
        # Inflections matter only when they join a key whose spellings vary. spaCy's lookup
        # lemmatizer runs once over the unique candidate keys (the table is consulted first only
        # to pick them), never over tokens.
        cand = [k for k in keys if k in table and (k in varied or table[k] in varied)]
        if not cand:
            lem = {}
        elif self.p["lemmatizer"] == "spacy":
            lem = lemmas.lemmatize(cand)
        else:
            lem = lemmas.lemmatize_table(cand)
        known = lemmas.known_words()
        stem_of: dict[str, str] = {}  # keys that join another key's group (the others are their own stem)
        for k, s in lem.items():
            if s != k and k.startswith(s) and s in keys:
                stem_of[k] = s
        for k in keys:
            if (len(k) > 4 and k[-1] == "s" and not k.endswith("ss") and k not in stem_of and lem.get(k, k) == k
                    and k not in known and k[:-1] in keys):
                stem_of[k] = k[:-1]
        # a stem written one way only has no variants; ``fuzzy`` compares every stem's total
        everything = self.p["fuzzy"]
        order = keys
        if not everything:  # leave out now the keys that would be alone with one spelling
            joined = set(stem_of).union(stem_of.values())
            order = [k for k, fs in keys.items() if len(fs) > 1 or k in joined]
        members: dict[str, list[str]] = {}  # stem -> its keys, in the order of ``keys``
        for k in order:
            stem = stem_of.get(k, k)
            ks = members.get(stem)
            if ks is None:
                members[stem] = [k]
            else:
                ks.append(k)
        out: dict[str, dict[str, dict]] = {}
        for stem, ks in members.items():
            if not everything and len(ks) == 1:
                fs = keys[ks[0]]
                if len(fs) == 1:
                    continue
                if len(fs) == 2 and fs[0][1:] == fs[1][1:] and fs[0][:1].lower() == fs[1][:1].lower() \
                        and "-" not in fs[0] and " " not in fs[0]:
                    continue  # "The"/"the": one spelling at and after a sentence start (one style)
            if all(" " in f for k in ks for f in keys[k]):
                continue  # only spaced ("post office"): never a dominant, nothing to compare with
            g = out.setdefault(stem, {})
            for k in ks:
                self._add_styles(g, stem, keys[k])
        return out

    def _add_styles(self, g: dict, stem: str, forms: list[str]) -> None:
        counts = self.counter.counts
        for f in forms:
            st = _style(f, len(stem))
            e = g.get(st)
            if e is None:
                e = g[st] = {"count": 0, "forms": Counter()}
            e["count"] += counts[f]
            e["forms"][f] += counts[f]

    def _evidence(self, stem: str, minor: str, dom: str, known, dom_capital: bool) -> str | None:
        """Why ``minor`` is a variant spelling of ``dom`` (the same word once hyphens and case
        are ignored), or None when the difference is not evidence of inconsistency.
        ``dom_capital``: the dominant spelling is usually written with a capital first letter."""
        if _caps_rest(minor) or (_caps_rest(dom) and not _mixed(minor)):
            return None  # ALL-CAPS emphasis, or an acronym against its lower-case spelling (html/HTML)
        if minor.endswith("s") and _caps_rest(minor[:-1] + "X") and _caps_rest(dom):
            return None  # LMs/LMS, NPs/NPS: an acronym's plural, not a spelling of another acronym
        if " " in minor or " " in dom:
            return self._spacing(stem, minor, dom, known)
        if _mixed(minor) and not _mixed(dom) and not dom_capital:
            return None  # restful/RESTful, regex/RegEx: a lower-case word is not a misspelt brand
        if "-" in minor and "-" not in dom and not _compound(minor, known):
            return None  # syllables (ter-rain, ham-bur-ger) or letters (s-word), not a compound
        same_case = minor.replace("-", "") == dom.replace("-", "")
        if minor.lower() == dom.lower():
            if stem in known or not (_mixed(minor) or _mixed(dom)):
                return None  # us/US, polish/Polish; no inner capital either side
            return "case"
        if any(p.isdigit() for p in (minor + "-" + dom).split("-")):
            return None  # num-1/num1, GPT-3/GPT3: arithmetic and versions, not spelling
        if same_case:
            parts = (minor if "-" in minor else dom).lower().split("-")
            if parts[0] == "re" and stem in known:
                return None  # re-sign/resign, re-cover/recover: different words
            return "hyphenation"
        if not (_mixed(minor) or _mixed(dom)):
            return None
        return "hyphenation and case"

    @staticmethod
    def _spacing(stem: str, minor: str, dom: str, known) -> str | None:
        """A spaced minority ("pre trained") against a joined or hyphenated dominant spelling."""
        if " " in dom:  # an open compound ("machine learning") against its hyphenated or joined spelling
            if " " in minor or not _head(dom) or _inner_cap(minor):
                return None  # never a spaced spelling against another; DataFrame, WebApp: identifiers
            minor, dom = dom, minor
        parts = minor.split(" ")
        if dom.split("-") != parts and parts[1] not in known:
            return None  # "e ndless"/"endless": a broken word, unless the dataset hyphenates there (non-existent)
        if parts[0] == "re" and stem in known:
            return None  # re sign/resign, re cover/recover: different words
        if minor.replace(" ", "") == dom.replace("-", ""):
            return "spacing"
        if minor.lower().replace(" ", "") == dom.lower().replace("-", "") and _mixed(dom):
            return "spacing and case"  # e book / eBook
        return None

    def finish(self, ctx):
        self.counter.flush()
        self.counter.fold()
        if self.records < self.p["min-records"]:
            return  # too few records for one spelling to dominate another with any confidence
        self.counter.trim()
        from .. import lemmas

        known = lemmas.known_words()
        mind = self.p["min-dominant"]
        ratio = self.p["ratio"]
        found: list[tuple[str, str, int, int, str]] = []  # minority style, dominant style, counts, why
        groups = self.groups()
        shown: dict[str, str] = {}
        for stem, styles in groups.items():
            if len(styles) < 2:
                continue
            # a spaced prefix is never the dominant spelling (an ordinary phrase: "super easy");
            # a spaced open compound ("health care") may be
            dom, de = max(((st, e) for st, e in styles.items() if " " not in st or _head(st)),
                          key=lambda kv: (kv[1]["count"], kv[0]), default=("", {"count": 0}))
            if de["count"] < mind:
                continue
            split = None  # the largest minority that nearly matches the dominant spelling
            for st, e in styles.items():
                if st == dom:
                    continue
                dsurf = _top(de["forms"])
                why = self._evidence(stem, st, dom, known, dsurf[:1].isupper())
                if not why:
                    continue
                if de["count"] >= ratio * e["count"]:
                    found.append((st, dom, e["count"], de["count"], why, stem))
                elif e["count"] >= mind and (" " not in st or _head(st)) and (split is None or e["count"] > split[2]):
                    split = (st, dom, e["count"], de["count"], why, stem)
            if split is not None:  # two established spellings: one finding for the group, no rewrite
                found.append(split[:4] + ("split " + split[4],) + split[5:])
        written = groups
        if self.p["fuzzy"]:
            # close spellings compare written words: spaced phrases take no part
            written = {stem: {st: e for st, e in styles.items() if " " not in st} for stem, styles in groups.items()}
            written = {stem: styles for stem, styles in written.items() if styles}
            found += self._fuzzy(written, known)
        for minor, dom, cm, cd, why, stem in found:
            yield from self._report(written if why == "close spelling" else groups, minor, dom, cm, cd, why, stem)

    def _report(self, groups, minor, dom, cm, cd, why, stem):
        if why == "close spelling":
            mstem, dstem = stem
            mforms = Counter()
            for e in groups[mstem].values():
                mforms.update(e["forms"])
            dforms = Counter()
            for e in groups[dstem].values():
                dforms.update(e["forms"])
        else:
            mforms = groups[stem][minor]["forms"]
            dforms = groups[stem][dom]["forms"]
        dshow = _top(dforms)
        mshow = _top(mforms)
        occ: list[tuple[int, str, str]] = []
        cut = False
        for f in mforms:
            lst, more = self.counter.places(f)
            occ += [(ln, ptr, f) for ln, ptr in lst]
            cut = cut or more
        occ.sort()
        # the dominant spelling of each word form (cyberattacks for cyber-attacks, cyberattack for
        # cyber-attack): a minority form is fixed only when the dominant style writes that same form
        same: dict[str, str] = {}
        if why != "close spelling":
            for g in sorted(dforms, key=lambda g: (dforms[g], g)):
                same[_joined(g)] = g
        from .. import lemmas

        known = lemmas.known_words()
        split = why.startswith("split ")
        fixes = []
        for ln, ptr, f in occ:
            target = None if split else same.get(_joined(f))
            fixes.append(target and _rewritable(f, target, known) and _spelling_fix(f, target, dforms, ptr) or None)
        args = {"minority": mshow, "dominant": dshow, "minority_count": cm, "dominant_count": cd,
                "kind": why.removeprefix("split ")}
        if not any(fixes):  # nothing to rewrite: one finding for the group, naming its places
            ln, ptr, f = occ[0]
            lines = sorted({o[0] for o in occ})
            where = "" if len(lines) < 2 else f"; lines {', '.join(map(str, lines[:20]))}{', ...' if len(lines) > 20 or cut else ''}"
            why_once = ("neither spelling dominates: choose one" if split
                        else "not rewritten automatically: a standard spelling or a name")
            yield Finding(line=ln, pointer=ptr, span=f, related=tuple(lines[1:]),
                          args={**args, "form": f, "more": f"; {why_once} (reported once){where}"})
            return
        for i, ((ln, ptr, f), fix) in enumerate(zip(occ, fixes)):
            extra = f" (first {len(occ)} occurrences shown)" if cut and i == len(occ) - 1 else ""
            yield Finding(line=ln, pointer=ptr, span=f, fix=fix, args={**args, "form": f, "more": extra})

    def _fuzzy(self, groups, known):
        from rapidfuzz.distance import DamerauLevenshtein

        minlen = self.p["fuzzy-min-length"]
        fratio = self.p["fuzzy-ratio"]
        fmind = self.p["fuzzy-min-dominant"]
        totals = {stem: sum(e["count"] for e in styles.values()) for stem, styles in groups.items()}
        dominants: dict[tuple[str, int], list[str]] = {}
        for stem, n in totals.items():
            if n >= fmind and len(stem) >= minlen and stem.isalpha():
                dominants.setdefault((stem[0], len(stem)), []).append(stem)
        if not dominants:
            return []
        out = []
        top = max(totals.values())
        for stem, n in totals.items():
            if (len(stem) < minlen or not stem.isalpha() or stem in known or n * fratio > top):
                continue
            best = None
            for ln in (len(stem) - 1, len(stem), len(stem) + 1):
                for d in dominants.get((stem[0], ln), ()):
                    if d == stem or totals[d] < fratio * n or d.startswith(stem) or stem.startswith(d):
                        continue
                    if DamerauLevenshtein.distance(stem, d, score_cutoff=1) <= 1:
                        if best is None or totals[d] > totals[best]:
                            best = d
            if best is None:
                continue
            # the minority's most common spelling against the dominant's
            ms = max(groups[stem].items(), key=lambda kv: kv[1]["count"])[0]
            ds = max(groups[best].items(), key=lambda kv: kv[1]["count"])[0]
            out.append((ms, ds, n, totals[best], "close spelling", (stem, best)))
        return out


def _joined(form: str) -> str:
    return form.lower().replace("-", "").replace(" ", "")


def _head(form: str) -> bool:
    """A spaced open compound ("health care"): its first part is one of SPACED_HEADS."""
    return form.split(" ", 1)[0].lower() in SPACED_HEADS


def _rewritable(form: str, target: str, known) -> bool:
    """Whether T001 may rewrite ``form`` as ``target`` without asking: not when ``form`` is
    itself a standard spelling, which only a person can rule out. Standard: two words or a
    prefix and a word joined by a hyphen ("multi-task", "ever-more", "e-mail",
    "machine-learning"), two words apart ("health care"), an English word ("multitask"
    against "multi-task"), and a capitalized word against an acronym, likely a name
    ("Apis mellifera" is not "APIs mellifera")."""
    if " " in form:
        return form.split(" ", 1)[0].lower() in SPACED_PREFIXES  # "pre trained": a prefix is not written apart
    if "-" in form:
        return not _compound(form, known)
    if "-" in target and form.lower() in known:
        return False
    body = target[:-1] if target.endswith("s") else target
    return not (form[:1].isupper() and form[1:].islower() and _caps_rest(body))


def _spelling_fix(form: str, target: str, dforms, pointer: str) -> FixOffer | None:
    """Write ``target`` (a dominant spelling of the same word form) for ``form``, word-bounded; a
    spaced form matches any run of spaces or tabs between its parts. The target is taken as
    written mid-sentence ("pre-trained" even when most records start a sentence with
    "Pre-trained") and a capitalized ``form`` keeps its capital."""
    low = target[:1].lower() + target[1:]
    new = match_case(form, low if low in dforms else target)
    if new == form:
        return None
    if " " in form:
        pat = r"(?<![\w'\u2019-])" + r"[ \t]+".join(map(re.escape, form.split(" "))) + r"(?![\w'\u2019-])"
    else:
        pat = rf"(?<![\w-]){re.escape(form)}(?![\w-])"
    return FixOffer(f"write {new!r} instead of {form!r}", (Edit("sub", pointer, (pat, new)),))


# -- T002 glossary ------------------------------------------------------------------
def _glossary_entries(entries, where="glossary"):
    from ..model.errors import ConfigError

    out = []
    for i, e in enumerate(entries or []):
        if not isinstance(e, dict) or not isinstance(e.get("preferred"), str) or not e.get("preferred").strip():
            raise ConfigError(f"{where} entry {i + 1}: each entry needs 'preferred' (a string) and 'variants' (a list of strings)")
        vs = e.get("variants", [])
        if isinstance(vs, str):
            vs = [vs]
        if not isinstance(vs, list) or not all(isinstance(v, str) and v.strip() for v in vs):
            raise ConfigError(f"{where} entry {e['preferred']!r}: 'variants' must be a list of non-empty strings")
        extra = set(e) - {"preferred", "variants", "doc"}
        if extra:
            raise ConfigError(f"{where} entry {e['preferred']!r}: unknown key(s) {', '.join(sorted(extra))} (expected preferred, variants)")
        out.append((e["preferred"], [v for v in vs if v != e["preferred"]]))
    return out


_CONTEXT = re.compile(r"['\u2019(]|:/")  # where WORD stops but a glossary variant may still match
_NOT_BEFORE = frozenset("/\\.<@#$%&=+~")  # with \w and "-": WORD's (and a variant's) look-behind


def _words_before(text: str) -> list[str]:
    """The words that end right before an apostrophe, "(" or ":/" ("Github" in "Github's"),
    bounded as WORD bounds a word's start: each is the whole run of word characters and
    hyphens before that spot (a shorter tail would follow a word character), and the run must
    not follow one of ``/\\.<@#$%&=+~``."""
    out = []
    for m in _CONTEXT.finditer(text):
        i = j = m.start()
        while j and (text[j - 1].isalnum() or text[j - 1] in "_-"):  # \w (str.isalnum or "_"), "-"
            j -= 1
        if j < i and (not j or text[j - 1] not in _NOT_BEFORE):
            out.append(text[j:i])
    return out


def _variant_pattern(v: str) -> str:
    """A variant matches as written, or with a capital first letter (sentence start); a space
    in it matches any run of spaces or tabs."""
    words = v.strip().split()
    parts = [re.escape(p) for p in words]
    if words[0][:1].islower():
        parts[0] = f"[{words[0][0]}{words[0][0].upper()}]" + re.escape(words[0][1:])
    return r"[ \t]+".join(parts)


def _trigger_gate(words, odd):
    """A cheap superset test for ``_triggered``: does a trigger word start somewhere not after
    a word character or a hyphen (where every word WORD or ``_words_before`` yields starts), or
    does an odd trigger occur at all? Only the shortest triggers are needed (any trigger starts
    with one). Each alternative starts with a literal and checks the boundary after it, so re
    skips ahead by its first-character set instead of trying every position (cheaper than
    tokenizing the turn; benchmarks/README.md, design measurements)."""
    plain = sorted(w for w in words if w not in odd)
    shortest = [w for w in plain if not any(o != w and w.startswith(o) for o in plain)]
    by_first: dict[str, list[str]] = {}
    for w in shortest:
        by_first.setdefault(w[0], []).append(w[1:])
    alts = []
    for c, rests in sorted(by_first.items()):
        rest = "|".join(re.escape(r) for r in sorted(rests, key=len, reverse=True))
        alts.append(re.escape(c) + r"(?<![\w-].)" + (f"(?:{rest})" if rest else ""))
    alts += [re.escape(w) for w in sorted(odd)]
    return re.compile("|".join(alts)).search


@kind("glossary-terms")
class GlossaryTerms(TurnCheck):
    """Flags a declared variant of a glossary term; the unsafe fix writes the preferred form."""

    defaults = {"turns": [], "max-per-turn": count(1, 1)}

    def begin(self, ctx):
        self.entries = _glossary_entries(ctx.config.glossary)
        self.pref_of: dict[str, str] = {}
        alts = []
        for pref, vs in self.entries:
            for v in vs:
                alts.append((_variant_pattern(v), pref, v))
        alts.sort(key=lambda a: -len(a[0]))
        self.alts = [(pat, pref) for pat, pref, _ in alts]
        # cheap prefilter: a turn is scanned only for the variants whose first word it holds
        # (a common trigger such as "You" of "You Tube" must not run every variant over every
        # sentence-initial "You"). "Holds": a word of the turn (``word_forms``), or followed by
        # an apostrophe, a parenthesis or ":/" where WORD stops but a variant may match
        # ("Github's"), or, for a first word WORD cannot produce ("node.js"), a substring.
        of_word: dict[str, list[int]] = {}
        for i, (_, _, v) in enumerate(alts):
            first = v.strip().split()[0]
            w = (WORD.findall(first) or [first])[0]
            for form in dict.fromkeys((w, w[:1].upper() + w[1:])):
                of_word.setdefault(form, []).append(i)
        self.of_word = of_word
        self.trigger = frozenset(of_word)
        self.odd = tuple(w for w in of_word if not WORD.fullmatch(w))
        self.patterns: dict[frozenset, tuple] = {}  # trigger set -> (its variants' pattern, prefs)
        self.gate = _trigger_gate(self.trigger, self.odd) if alts else None

    def _triggered(self, text: str) -> frozenset:
        words = self.trigger.intersection(word_forms(text))
        if "'" in text or "\u2019" in text or "(" in text or ":/" in text:
            extra = [w for w in _words_before(text) if w in self.trigger]
            if extra:
                words = words.union(extra)
        odd = [w for w in self.odd if w in text]
        return words.union(odd) if odd else words

    def _pattern(self, words: frozenset):
        got = self.patterns.get(words)
        if got is None:
            idx = sorted({i for w in words for i in self.of_word[w]})  # in the order of all variants
            body = "|".join(f"({self.alts[i][0]})" for i in idx)
            got = (re.compile(rf"(?<![\w/\\.<@#$%&=+~-])(?:{body})(?![\w/\\@+~-]|\.\w)"),
                   [self.alts[i][1] for i in idx])
            if len(self.patterns) >= 256:
                self.patterns.clear()
            self.patterns[words] = got
        return got

    def check_text(self, t, rec):
        if not self.alts:
            return
        text = t.text
        words = self._triggered(text)
        if not words:
            return
        scan = prose(text)
        rx, prefs = self._pattern(words)
        hits = []
        for m in rx.finditer(scan):  # one pattern, as if every variant were in it
            pref = prefs[m.lastindex - 1]
            got = m.group()
            if got == pref or _shout(got):
                continue
            hits.append((m, pref))
        if not hits:
            return
        # one finding per turn (the first hit); the fix rewrites every hit in the turn
        pieces = []
        last = 0
        for m, pref in hits:
            new = match_case(m.group(), pref) if m.group()[:1].isupper() and pref[:1].islower() else pref
            pieces.append(text[last:m.start()])
            pieces.append(new)
            last = m.end()
        pieces.append(text[last:])
        fixed = "".join(pieces)
        n = 0
        for m, pref in hits:
            yield Finding(pointer=t.pointer, offset=m.start(),
                          args={"match": m.group(), "preferred": pref, "count": len(hits), "offset": m.start(),
                                "count_note": f" ({len(hits)} variants in this turn)" if len(hits) > 1 else ""},
                          fix=FixOffer(f"replace {m.group()!r} with {pref!r}", (Edit("set", t.pointer, fixed),)))
            n += 1
            if n >= self.p["max-per-turn"]:
                break


# -- T003 placeholders ----------------------------------------------------------------
PLACEHOLDERS = ["", "<noinput>", "<no input>", "no input", "noinput", "n/a", "na", "none", "null", "nil",
                "nothing", "empty", "-", "--", ".", "<none>", "<empty>", "no input required", "no input needed",
                "not applicable", "<nooutput>", "no context", "<blank>", "blank"]


class _CountedVariants(DatasetCheck):
    """State shared by the variant counters: ``counts`` (variant -> records) and a bounded
    list of (line, pointer) locations per variant."""


    def merge(self, other):
        self.counts.update(other.counts)
        cap = self.p["max-locations"]
        for k, lst in other.locs.items():
            mine = self.locs.setdefault(k, [])
            mine.extend(lst[: max(0, cap - len(mine))])


@kind("placeholder-variants")
class PlaceholderVariants(_CountedVariants):
    """Counts the distinct raw values used as a 'no input' marker in one field; when a file uses
    two or more, one finding per file (at the first record that uses a minority marker) names
    every marker with its count. Each placeholder record is C002's finding (with its fix), not
    reported again here: one root cause, one finding."""

    defaults = {"turns": ["input"], "values": strings(PLACEHOLDERS), "max-locations": count(1, 1), "min-dominant": count(2, 1)}

    def begin(self, ctx):
        self.norm = {normalize_value(v) if v.strip() else "" for v in self.p["values"]}
        self.counts: Counter = Counter()
        self.locs: dict[str, list[tuple[int, str]]] = {}
        self._kinds = self.turn_kinds()

    def observe(self, rec, ctx):
        for t in rec.turns:
            if t.text is None or (self._kinds is not None and t.kind not in self._kinds):
                continue
            v = t.text
            if len(v) > 40:
                continue
            nv = normalize_value(v) if v.strip() else ""
            if nv not in self.norm or (nv == "" and v.strip() and v.strip() not in self.p["values"]):
                continue
            self.counts[v] += 1
            lst = self.locs.setdefault(v, [])
            if len(lst) < self.p["max-locations"]:
                lst.append((rec.line, t.pointer))

    def finish(self, ctx):
        if len(self.counts) < 2:
            return
        ranked = self.counts.most_common()
        dom, dn = ranked[0]
        if dn < self.p["min-dominant"]:
            return
        first = min((loc for v, _ in ranked[1:] for loc in self.locs.get(v, ())[:1]), default=None)
        if first is None:
            return
        shown = 8
        summary = ", ".join(f"{v!r} ({n})" for v, n in ranked[:shown]) + (f", and {len(ranked) - shown} more" if len(ranked) > shown else "")
        value = next(v for v, _ in ranked[1:] if first in self.locs.get(v, ())[:1])
        yield Finding(line=first[0], pointer=first[1], span=value if isinstance(value, str) and value.strip() else None, args={
            "value": value, "count": self.counts[value], "dominant": dom, "dominant_count": dn, "markers": len(ranked),
            "records": sum(n for _, n in ranked[1:]), "summary": summary, "more": ""})


# -- T004 template variants --------------------------------------------------------------
TEMPLATE_LABELS = ("instruction", "instructions", "input", "response", "output", "question", "answer", "context",
                   "system", "user", "assistant", "human", "gpt", "bot", "q", "a", "prompt", "completion")
_MARKER = re.compile(
    r"^[ \t]*(?P<pre>#{1,6}[ \t]*|\*\*|\[|<\|?|)(?P<label>" + "|".join(sorted(TEMPLATE_LABELS, key=len, reverse=True))
    + r")(?P<post>[ \t]*(?::\**|\*\*:|\]|\|?>))", re.I | re.M)


def template_of(text: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(section labels, their renderings) of a prompt laid out with section markers, e.g.
    ('instruction', 'response') and ('### Instruction:', '### Response:'); None without two markers."""
    if ":" not in text and "]" not in text and ">" not in text:
        return None
    ms = list(_MARKER.finditer(text))
    if len(ms) < 2:
        return None
    labels = tuple(m.group("label").lower() for m in ms)
    shown = tuple(" ".join((m.group("pre") + m.group("label") + m.group("post")).split()) for m in ms)
    return labels, shown


@kind("template-variants")
class TemplateVariants(_CountedVariants):
    """Prompts with the same sections (instruction/input/response...) rendered with different
    markers ("### Instruction:" vs "Instruction:"). Every record using a minority rendering is
    reported with the counts; the records are not rewritten (the fix is a re-export)."""

    defaults = {"turns": ["prompt", "system", "input"], "max-locations": count(20, 1), "min-dominant": count(5, 1), "ratio": number(2, 1)}

    def begin(self, ctx):
        self.counts: Counter = Counter()  # (labels, rendering) -> records
        self.locs: dict[tuple, list[tuple[int, str]]] = {}
        self._kinds = self.turn_kinds()

    def observe(self, rec, ctx):
        for t in rec.turns:
            if not t.text or (self._kinds is not None and t.kind not in self._kinds):
                continue
            tpl = template_of(t.text)
            if tpl is None:
                continue
            self.counts[tpl] += 1
            lst = self.locs.setdefault(tpl, [])
            if len(lst) < self.p["max-locations"]:
                lst.append((rec.line, t.pointer))
            return  # one template per record


    def finish(self, ctx):
        by_labels: dict[tuple, list] = {}
        for (labels, shown), n in self.counts.items():
            by_labels.setdefault(labels, []).append((n, shown))
        for labels, variants in by_labels.items():
            if len(variants) < 2:
                continue
            variants.sort(key=lambda v: (-v[0], v[1]))
            dn, dom = variants[0]
            if dn < self.p["min-dominant"]:
                continue
            for n, shown in variants[1:]:
                if dn < self.p["ratio"] * n:
                    continue
                lst = self.locs.get((labels, shown), [])
                for i, (ln, ptr) in enumerate(lst):
                    more = f" (first {len(lst)} of {n} shown)" if n > len(lst) and i == len(lst) - 1 else ""
                    yield Finding(line=ln, pointer=ptr, args={
                        "template": " / ".join(shown), "count": n, "dominant": " / ".join(dom), "dominant_count": dn,
                        "templates": len(variants), "more": more})
