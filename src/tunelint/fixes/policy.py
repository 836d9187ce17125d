"""Which diagnostics' fixes may be applied (``[tool.tunelint.fix]``, ``--fixable``,
``--unsafe-fixes``): a policy over rule codes, names and declared applicability; it knows no
rule and no kind."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..config import Config, ConfigError
from ..diagnostic import Diagnostic
from ..model.errors import did_you_mean
from ..rules import selects

FIX_KEYS = {"fixable", "unfixable", "extend-safe-fixes", "extend-unsafe-fixes", "unsafe-fixes", "input-separator"}


@dataclass
class FixPolicy:
    """Which diagnostics' fixes may be applied."""

    unsafe: bool = False
    fixable: list[str] | None = None
    unfixable: list[str] = field(default_factory=list)
    extend_safe: list[str] = field(default_factory=list)
    extend_unsafe: list[str] = field(default_factory=list)
    input_separator: str = "\n\n"
    names: dict[str, str] = field(default_factory=dict)  # code -> rule name
    _cache: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: Config, unsafe: bool = False) -> "FixPolicy":
        raw = dict(cfg.fix or {})
        where = cfg.source or "configuration"
        unknown = set(raw) - FIX_KEYS
        if unknown:
            k = sorted(unknown)[0]
            raise ConfigError(f"{where}: unknown key {k!r} in [tool.tunelint.fix]{did_you_mean(k, FIX_KEYS)}")
        names = {r.code: r.name for r in cfg.rules}

        def sels(key):
            v = raw.get(key, [])
            if isinstance(v, str):
                v = [s.strip() for s in v.split(",") if s.strip()]
            if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
                raise ConfigError(f"{where}: [tool.tunelint.fix] {key} must be a list of rule codes, prefixes or names")
            for s in v:
                if not any(selects(s, c, n) for c, n in names.items()):
                    raise ConfigError(f"{where}: [tool.tunelint.fix] {key} has unknown rule {s!r}{did_you_mean(s, list(names) + list(names.values()))}")
            return v

        sep = raw.get("input-separator", "\n\n")
        if not isinstance(sep, str):
            raise ConfigError(f"{where}: [tool.tunelint.fix] input-separator must be a string")
        return cls(
            unsafe=unsafe or bool(raw.get("unsafe-fixes", False)),
            fixable=sels("fixable") if "fixable" in raw else None,
            unfixable=sels("unfixable"), extend_safe=sels("extend-safe-fixes"),
            extend_unsafe=sels("extend-unsafe-fixes"), input_separator=sep, names=names,
        )

    def applicability(self, d: Diagnostic) -> str | None:
        if d.fix is None:
            return None
        return self.rule_applicability(d.code, self.names.get(d.code, d.name), d.fix.applicability)

    def rule_applicability(self, code: str, name: str, declared: str) -> str:
        """A rule's fix applicability after ``extend-safe-fixes``/``extend-unsafe-fixes``."""
        if any(selects(s, code, name) for s in self.extend_unsafe):
            return "unsafe"
        if any(selects(s, code, name) for s in self.extend_safe):
            return "safe"
        return declared

    def allows(self, d: Diagnostic) -> bool:
        """Whether the fix ``d`` carries may be applied."""
        if d.fix is None:
            return False
        return self.allows_rule(d.code, self.names.get(d.code, d.name), d.fix.applicability)

    def allows_rule(self, code: str, name: str, applicability: str) -> bool:
        """Whether fixes of the rule ``code`` whose declared applicability is ``applicability``
        may be applied (``fixable``/``unfixable``, then safe or ``--unsafe-fixes``)."""
        key = (code, applicability)
        hit = self._cache.get(key)
        if hit is None:
            ok = self.fixable is None or any(selects(s, code, name) for s in self.fixable)
            ok = ok and not any(selects(s, code, name) for s in self.unfixable)
            hit = ok and (self.rule_applicability(code, name, applicability) == "safe" or self.unsafe)
            self._cache[key] = hit
        return hit

    def rejects(self, d: Diagnostic) -> bool:
        """Whether a record-level error that no fix removed sends its record to the rejects
        file: with unsafe fixes on, for every rule the ``fixable``/``unfixable`` selection lets
        the fixer touch (the output of ``fix --unsafe-fixes`` must check without errors)."""
        if not self.unsafe or d.severity != "error":
            return False
        key = (d.code, "reject")
        hit = self._cache.get(key)
        if hit is None:
            name = self.names.get(d.code, d.name)
            hit = self.fixable is None or any(selects(s, d.code, name) for s in self.fixable)
            hit = self._cache[key] = hit and not any(selects(s, d.code, name) for s in self.unfixable)
        return hit
