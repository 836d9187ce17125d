"""English lemmas from the shipped spaCy lookup table (``data/en_lemma_lookup.json.gz``, MIT).

The table is loaded into spaCy's :class:`~spacy.lookups.Lookups` and a blank English pipeline
(``spacy.blank("en")``) gets a ``lemmatizer`` in ``"lookup"`` mode, so no model and no
``spacy-lookups-data`` package is needed. spaCy is imported only when :func:`lemmatize` is
first called (it costs ~0.5-1 s of start-up); callers lemmatize *unique word types*, never
every token. :func:`lemmatize_table` gives the identical mapping from the table alone (spaCy's
lookup mode is a plain ``table.get(text, text)``) for callers that cannot afford the import.

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
    from .extras import require

    spacy = require("spacy", "spacy", 'lemmatizer = "spacy"')
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


# spaCy's English stop words (spacy/lang/en/stop_words.py, MIT), copied so that the lexicon
# does not import spaCy; tests/test_terms.py checks the copy against spaCy's set.
STOP_WORDS = frozenset("""
'd 'll 'm 're 's 've a about above across after afterwards again against all almost alone along
already also although always am among amongst amount an and another any anyhow anyone anything
anyway anywhere are around as at back be became because become becomes becoming been before
beforehand behind being below beside besides between beyond both bottom but by ca call can cannot
could did do does doing done down due during each eight either eleven else elsewhere empty enough
even ever every everyone everything everywhere except few fifteen fifty first five for former
formerly forty four from front full further get give go had has have he hence her here hereafter
hereby herein hereupon hers herself him himself his how however hundred i if in indeed into is it
its itself just keep last latter latterly least less made make many may me meanwhile might mine more
moreover most mostly move much must my myself n't name namely neither never nevertheless next nine
no nobody none noone nor not nothing now nowhere n‘t n’t of off often on once one only onto or other
others otherwise our ours ourselves out over own part per perhaps please put quite rather re really
regarding same say see seem seemed seeming seems serious several she should show side since six
sixty so some somehow someone something sometime sometimes somewhere still such take ten than that
the their them themselves then thence there thereafter thereby therefore therein thereupon these
they third this those though three through throughout thru thus to together too top toward towards
twelve twenty two under unless until up upon us used using various very via was we well were what
whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever whether
which while whither who whoever whole whom whose why will with within without would yet you your
yours yourself yourselves ‘d ‘ll ‘m ‘re ‘s ‘ve ’d ’ll ’m ’re ’s ’ve
""".split())


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """Lower-case English words: the table's forms and lemmas plus spaCy's stop words."""
    t = table()
    words = {k.lower() for k in t}
    words.update(v.lower() for v in t.values())
    words.update(STOP_WORDS)
    return frozenset(words)


def lemmatize_table(words: Iterable[str]) -> dict[str, str]:
    """The same mapping as :func:`lemmatize` without importing spaCy: spaCy's lookup mode is
    ``table.get(text, text)`` (``Lemmatizer.lookup_lemmatize``), so the results are identical."""
    t = table()
    return {w: t.get(w, w) for w in dict.fromkeys(words) if w}
