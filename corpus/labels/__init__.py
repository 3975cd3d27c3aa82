"""The rules that decide what a label is, each defined once, below every stage that uses it.

Pure functions over stored label rows; sampling (:mod:`corpus.rounds`), agreement
(:mod:`corpus.iaa`), adjudication and releases all call these, never a copy:

* :mod:`corpus.labels.votes`: which of an annotator's annotations of a document votes.
* :mod:`corpus.labels.gold`: effective gold across rounds (precedence).
* :mod:`corpus.labels.spans`: span gold of one document (runs a majority marked, boundaries,
  span stance) and the plurality vote a stance is decided by.
* :mod:`corpus.labels.mapping`: the label map from a row's schema version to the current one,
  applied once.

Each rule has a reference twin in ``tests/reference/`` and a property test comparing them.
"""
