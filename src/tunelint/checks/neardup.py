"""D kinds for *near* duplicates, near-conflicts and train/eval leakage (D003-D007): thin rules
over one shared analysis per file (:class:`tunelint.nearstate.NearDupState`; see that module for
how records are hashed, stored and compared). The first rule instance to ``begin`` owns the
analysis and feeds it records; each rule turns the verified pairs into its own findings."""
from __future__ import annotations

import os

from ..diagnostic import Edit
from ..nearstate import NearDupState, UnionFind, conflict, pct
from .base import DatasetCheck, Finding, FixOffer, count, kind, share


class _NearBase(DatasetCheck):
    finish_apart = "near-duplicates"  # --jobs: finished in a forked process while the parent finishes the others
    warm_imports = ("numpy", "rapidfuzz.fuzz")
    defaults = {"threshold": share(0.9, "similarity (MinHash Jaccard estimate) from which two texts count as near-duplicates")}

    def begin(self, ctx):
        # one analysis per set of formats the rules apply to (the owner sees those records only)
        st = ctx.shared(("neardup", frozenset(self.rule.formats or ())), lambda: self._new_state(ctx))
        st.rules[self.kind_name] = self
        self.state = st
        self.passive = st.owner is not self  # the engine need not call observe

    def _new_state(self, ctx) -> "NearDupState":
        st = NearDupState(self)
        active = ctx.active_kinds(default=("exact-duplicate", "conflicting-answers"))
        st.d001 = "exact-duplicate" in active  # exact copies are D001's unless it is off
        st.train.d002 = "conflicting-answers" in active
        st.against = tuple(ctx.config.against or ())
        # where record offsets point (checked against the bytes read before texts are dropped)
        st.train.path = os.path.abspath(ctx.path)
        return st

    def observe(self, rec, ctx):
        st = self.state
        if st.owner is self:
            st.train.add(rec)

    def settle(self) -> None:
        if self.state.owner is self:
            self.state.train.flush()

    def merge(self, other):
        if self.state.owner is self:
            self.state.train.extend(other.state.train)
        # share the merged state (rule instances of one part reference one state object)
        for c in self.state.rules.values():
            c.state = self.state

    def export_keys(self):
        """The owner's LSH band keys (``NearDupState.band_table``), when they may be grouped elsewhere."""
        if self.state.owner is not self:
            return []
        t = self.state.band_table()
        return [] if t is None else [t]

    def adopt_groups(self, name, result):
        self.state.adopt_candidates(result)

    def edges(self, verified, tr, get):  # -> the (i, j, ps, as) pairs this rule links
        raise NotImplementedError

    def long_prompts(self, v, get) -> bool:
        mn = self.p.get("min-prompt-chars", 0)
        return not mn or (len(" ".join(get(v.i).parts)) >= mn and len(" ".join(get(v.j).parts)) >= mn)

    def changed_on_disk(self, stores, names):
        """Findings (from the rule that owns the analysis only) for files whose records no longer
        read back as they were when hashed: those records were compared with nothing."""
        if self.state.owner is not self:
            return
        for s, name in zip(stores, names):
            if s.gone:
                yield Finding(line=1, path=None if s is stores[0] else name,
                              message=f"{len(s.gone)} record(s) changed on disk during the check; near-duplicate "
                                      f"comparisons with them were skipped (run the check again)")

    def finish(self, ctx):
        stores, names, offs, src, verified, getters, ncand = self.state.analyze(ctx)
        yield from self.changed_on_disk(stores, names)
        tr = stores[0]
        n = len(tr)
        mine = self.edges([v for v in verified if v.j < n], tr, getters[0])
        if not mine:
            return
        uf = UnionFind()
        best: dict[int, tuple] = {}
        for e in mine:
            uf.union(e[0], e[1])
        size: dict[int, int] = {}
        members = set()
        for e in mine:
            members.add(e[0])
            members.add(e[1])
        for m in members:
            r = uf.find(m)
            size[r] = size.get(r, 0) + 1
        for e in mine:
            i, j = e[0], e[1]
            for m, other in ((j, i), (i, j)):
                r = uf.find(m)
                if m == r:
                    continue
                # prefer a link to the representative, then to an earlier record, then the closest
                score = (other == r, other < m, e[2] + e[3])
                cur = best.get(m)
                if cur is None or score > cur[0]:
                    best[m] = (score, other, e[2], e[3])
        lines = tr.lines
        for m in sorted(best, key=lambda k: lines[k]):
            _, other, ps, as_ = best[m]
            r = uf.find(m)
            yield self.finding(m, other, r, size[r], ps, as_, lines)

    def finding(self, m, other, rep, size, ps, as_, lines):
        args = {"match": lines[other], "rep": lines[rep], "size": size,
                "prompt": pct(ps), "answer": pct(as_),
                "cluster": "" if other == rep else f"; cluster of {size} records led by line {lines[rep]}"}
        if other == rep:
            args["cluster"] = f"; cluster of {size} records" if size > 2 else ""
        return Finding(line=lines[m], args=args, related=tuple(sorted({lines[other], lines[rep]})),
                       fix=FixOffer(f"drop this record (keep line {lines[rep]})", (Edit("drop"),)))


@kind("near-duplicate")
class NearDuplicate(_NearBase):
    """Prompt and answer both nearly identical (not an exact duplicate, not the same exact prompt)."""

    def edges(self, verified, tr, get):
        t = self.p["threshold"]
        rk, pk = tr.rkeys, tr.pkeys
        ak = tr.akeys
        # same D002 prompt and different answers: D002 reports it; same canonical record: D001
        d001 = self.state.d001
        return [v for v in verified if v.ps >= t and v.as_ >= t and v.prompt_ok and not (d001 and rk[v.i] == rk[v.j])
                and (pk[v.i] != pk[v.j] or ak[v.i] == ak[v.j])]


@kind("near-duplicate-prompt")
class NearDuplicatePrompt(_NearBase):
    """Nearly the same prompt (same numbers); answers below the threshold that are not a
    near-conflict (D006): still alike (>= agree), or too long to call a disagreement."""

    defaults = {"threshold": share(0.9, "similarity (MinHash Jaccard estimate) from which two texts count as near-duplicates"), "agree": share(0.5), "min-prompt-chars": count(10), "max-answer-chars": count(120)}

    def edges(self, verified, tr, get):
        t = self.p["threshold"]
        pk, pref = tr.pkeys, tr.pref
        return [v for v in verified if v.ps >= t and v.as_ < t and v.prompt_ok and pk[v.i] != pk[v.j]
                and not (pref[v.i] or pref[v.j]) and self.long_prompts(v, get) and not conflict(self.p, v, get)]


@kind("near-conflict")
class NearConflict(_NearBase):
    """Nearly the same prompt (same numbers), short answers that disagree (similarity < agree)."""

    defaults = {"threshold": share(0.9, "similarity (MinHash Jaccard estimate) from which two texts count as near-duplicates"), "agree": share(0.5), "min-prompt-chars": count(10), "max-answer-chars": count(120)}

    def edges(self, verified, tr, get):
        t = self.p["threshold"]
        pk, pref = tr.pkeys, tr.pref
        return [v for v in verified if v.ps >= t and v.prompt_ok and pk[v.i] != pk[v.j]
                and not (pref[v.i] or pref[v.j]) and conflict(self.p, v, get) and self.long_prompts(v, get)]

    def finding(self, m, other, rep, size, ps, as_, lines):
        f = super().finding(m, other, rep, size, ps, as_, lines)
        f.fix = FixOffer(f"drop this conflicting record (keep line {lines[rep]})", (Edit("drop"),))
        return f


@kind("near-duplicate-answer")
class NearDuplicateAnswer(_NearBase):
    """Nearly the same answer to prompts that are not near-identical."""

    defaults = {"threshold": share(0.9, "similarity (MinHash Jaccard estimate) from which two texts count as near-duplicates"), "min-answer-chars": count(40)}

    def edges(self, verified, tr, get):
        t, mn = self.p["threshold"], self.p["min-answer-chars"]
        out = []
        for v in verified:
            if v.as_ >= t and v.ps < t and v.answer_ok:
                if len(get(v.i).answer) >= mn and len(get(v.j).answer) >= mn:
                    out.append(v)
        return out


@kind("near-leakage")
class NearLeakage(_NearBase):
    """A record of an --against (validation/test) file that duplicates or nearly duplicates a
    training record: both prompt and answer >= threshold, or (``prompt-only``) the prompt alone."""

    defaults = {"threshold": share(0.9, "similarity (MinHash Jaccard estimate) from which two texts count as near-duplicates"), "prompt-only": True, "min-prompt-chars": count(20)}

    def finish(self, ctx):
        stores, names, offs, src, verified, getters, ncand = self.state.analyze(ctx)
        yield from self.changed_on_disk(stores, names)
        if len(stores) < 2:
            return
        tr = stores[0]
        t = self.p["threshold"]
        for s in range(1, len(stores)):
            err = getattr(stores[s], "error", None)
            if err and not len(stores[s]):
                yield Finding(line=1, path=names[s], message=f"cannot check this --against file for leakage: {err}")
        # exact copies, found by hash (complete even for texts without words)
        first: dict[int, int] = {}
        for i, k in enumerate(tr.rkeys):
            first.setdefault(k, i)
        best: dict[tuple[int, int], tuple] = {}
        for s in range(1, len(stores)):
            for li, k in enumerate(stores[s].rkeys):
                i = first.get(k)
                if i is not None:
                    best[(s, li)] = ((3.0,), i, 1.0, 1.0, True)
        n = len(tr)
        for i, j, ps, as_, prompt_ok, _ in verified:
            if i >= n or j < n:
                continue  # not a train/against pair
            s = int(src[j])
            lj = j - int(offs[s])
            if (s, lj) in best and best[(s, lj)][-1]:  # an exact copy already
                continue
            if not prompt_ok:
                continue  # the prompts hold different numbers: another question
            both = ps >= t and as_ >= t
            ponly = self.p["prompt-only"] and ps >= t and len(" ".join(getters[s](lj).parts)) >= self.p["min-prompt-chars"]
            if not (both or ponly):
                continue
            score = (1.0 + ps + as_ if both else ps + as_,)
            cur = best.get((s, lj))
            if cur is None or score > cur[0]:
                best[(s, lj)] = (score, i, ps, as_, False)
        for (s, lj), (_, i, ps, as_, exact) in sorted(best.items()):
            line = stores[s].lines[lj]
            if exact:
                how = "an exact duplicate of"
            elif ps >= t and as_ >= t:
                how = f"a near-duplicate (prompt {pct(ps)}, answer {pct(as_)} similar) of"
            else:
                how = f"the same question (prompt {pct(ps)} similar; answer only {pct(as_)}) as"
            yield Finding(line=line, path=names[s],
                          message=f"leaks into training data: {how} {names[0]} line {tr.lines[i]}",
                          args={"train": names[0], "train_line": tr.lines[i]}, related=(tr.lines[i],))
