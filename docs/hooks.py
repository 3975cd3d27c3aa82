"""MkDocs hook: show the Sphinx roles of corpus's docstrings as plain code.

The docstrings name objects the Sphinx way (:class:`Store`, :func:`ingest`), which is also how
``help()`` shows them; on the site the role prefix is noise, so ``:class:<code>Store</code>``
becomes ``<code>Store</code>``. Listed under ``hooks:`` in mkdocs.yml (and excluded from the
pages); nothing else in the build is changed.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):(?=<code>)")


def on_page_content(html: str, **kwargs: Any) -> str:
    return ROLE.sub("", html)
