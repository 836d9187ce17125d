"""The engine's per-file plan of turn checks (FileRun._for_turn): what it may leave out of a turn
without changing a finding."""
from __future__ import annotations

import json

from tunelint.checks import encoding
from tunelint.checks.base import TurnCheck
from tunelint.checks.registry import KIND_MODULES, kind_class
from tunelint.config import load_config
from tunelint.engine import FileRun

ASCII_TEXTS = ["", " ", "plain", "".join(map(chr, range(128))), "\t\n\r x \x00\x7f", "a"]


def _turn_gates():
    for name in KIND_MODULES:
        cls = kind_class(name)
        if issubclass(cls, TurnCheck) and getattr(cls.gate, "non_ascii", False):
            yield name, cls.gate


def test_non_ascii_gates_are_falsy_on_every_ascii_text():
    gates = dict(_turn_gates())
    assert {"invisible-chars", "replacement-char", "mojibake", "not-nfc"} <= set(gates)
    for name, gate in gates.items():
        for text in ASCII_TEXTS:
            assert not gate(text), (name, text)


def test_engine_does_not_call_a_non_ascii_gate_on_ascii_texts(tmp_path, monkeypatch):
    seen = []

    def gate(s):
        seen.append(s)
        return "\ufffd" in s

    gate.non_ascii = True
    monkeypatch.setattr(encoding.ReplacementChar, "gate", staticmethod(gate))
    texts = ["Hello there.", "Caf\u00e9 au lait.", "Bad \ufffd byte."]
    p = tmp_path / "d.jsonl"
    p.write_text("".join(json.dumps({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": t}]},
                                    ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    run = FileRun(str(p), load_config(isolated=True, select=["E010"]))
    diags = run.run()
    assert seen == texts[1:]  # ASCII texts ("Hi", "Hello there.") never reach the gate
    assert [d.line for d in diags if d.code == "E010"] == [3]
