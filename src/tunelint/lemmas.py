"""English lemmas from the shipped spaCy lookup table (``data/en_lemma_lookup.json.gz``, MIT).

The table is loaded into spaCy's :class:`~spacy.lookups.Lookups` and a blank English pipeline
(``spacy.blank("en")``) gets a ``lemmatizer`` in ``"lookup"`` mode, so no model and no
``spacy-lookups-data`` package is needed. spaCy is imported only when :func:`lemmatize` is
first called (it costs ~0.6 s); callers lemmatize *unique word types*, never every token.

:func:`known_words` is the lexicon used as "ordinary English" evidence: every word form and
lemma of the table plus spaCy's English stop words (closed-class words such as *than*,
*then*, *its*, *their* are not in a lemma table).
"""
from __future__ import annotations

import gzip
import json
from functools import lru_cache
from importlib import resources
from typing import Iterable


@lru_cache(maxsize=1)
def table() -> dict[str, str]:
    """The lookup table: inflected form -> lemma (case-sensitive keys, as spaCy's)."""
    ref = resources.files("tunelint") / "data" / "en_lemma_lookup.json.gz"
    with ref.open("rb") as f:
        return json.loads(gzip.decompress(f.read()))


@lru_cache(maxsize=1)
def _nlp():
    import spacy
    from spacy.lookups import Lookups

    nlp = spacy.blank("en")
    lookups = Lookups()
    lookups.add_table("lemma_lookup", table())
    lem = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    lem.initialize(lookups=lookups)
    return nlp


def lemmatize(words: Iterable[str]) -> dict[str, str]:
    """Map each word (one token each, e.g. a vocabulary of unique types) to its lemma.

    Runs spaCy's lookup lemmatizer once over a single Doc built from the words (no tokenizer
    pass, so a word is never split); words the table does not know map to themselves.
    """
    words = [w for w in dict.fromkeys(words) if w and not any(c.isspace() for c in w)]
    if not words:
        return {}
    from spacy.tokens import Doc

    nlp = _nlp()
    doc = nlp.get_pipe("lemmatizer")(Doc(nlp.vocab, words=words))
    return {t.text: (t.lemma_ or t.text) for t in doc}


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """Lower-case English words: the table's forms and lemmas plus spaCy's stop words."""
    t = table()
    words = {k.lower() for k in t}
    words.update(v.lower() for v in t.values())
    try:
        from spacy.lang.en.stop_words import STOP_WORDS

        words.update(w.lower() for w in STOP_WORDS)
    except ImportError:  # pragma: no cover - spaCy is a dependency
        pass
    return frozenset(words)
