"""Reference implementations of the rules that decide what a label is.

Each module here is written from the docs' statements of one rule, not from the code in
``corpus/``: plain Python over lists and dicts, slow and obvious, sharing no helper with the
package (a shared helper would carry a shared bug). Each has unit tests on hand-worked cases
(``tests/test_reference.py``) and a Hypothesis property test comparing it with the real code.
"""
