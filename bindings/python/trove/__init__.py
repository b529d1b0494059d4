"""trove: an on-device knowledge base (index, retrieve, answer with sources).

The API is UniFFI's generated module `trove.trove` (bindings/python/trove/trove.py,
do not edit), which loads libtrove.so from this folder.
"""

from .trove import *  # noqa: F401,F403
from .trove import __all__  # noqa: F401
