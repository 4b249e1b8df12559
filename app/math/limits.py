"""The length bounds of the math engine. One owner each; a bound that follows from another is written as that one.

Extraction, verification, the normalize cache and the worker pool's fast path all bound a final answer's length.
They used to be four literals (2000 in extraction, 1000 in the other three), so an answer of 1,500 characters was
extracted, shipped to a worker and refused there. tests/app/math/test_limits.py holds them together.
"""

from __future__ import annotations

#: The longest final answer that is verified; extraction refuses a longer one with this figure in its reason.
#: No MATH gold comes near it (the longest of the 5,000 is 81 characters; matrices and interval unions included),
#: so a longer "answer" is a derivation written inside the box: refusing it costs no right answer, and parsing it
#: with sympy would only burn the item's deadline.
MAX_ANSWER_CHARS = 1000

#: normalize() caches strings up to this long: every answer that can be verified, since verification normalizes
#: the same prediction and gold several times and golds repeat across a GRPO group; longer strings (a whole
#: solution given as the reference) are rare and pass uncached, which keeps the cache's memory bounded.
NORMALIZE_CACHE_CHARS = MAX_ANSWER_CHARS

#: The service process decides a pair itself (equal normalized strings, two plain numbers) only when the gold and
#: the prediction are both this short: then its normalize() calls hit the cache above, each costs microseconds,
#: and a long gold (a whole solution, nested braces) is normalized in a worker, under the deadline.
FAST_PATH_CHARS = NORMALIZE_CACHE_CHARS

#: After an answer marker ("The answer is", `Answer:`, `####`) extraction reads this much of the text for the
#: answer's line: room for a full-length answer and the words around it, but a bounded scan however long the rest.
MARKER_WINDOW_CHARS = 4 * MAX_ANSWER_CHARS

#: The whole completion is taken as the answer (no box, marker or math span) only when it is this short and has
#: no prose: a short bare answer (`\frac{1}{2}`, `x^2 + 2x + 1`); a longer text is a derivation, not an answer.
MAX_WHOLE_CHARS = 200

__all__ = ["FAST_PATH_CHARS", "MARKER_WINDOW_CHARS", "MAX_ANSWER_CHARS", "MAX_WHOLE_CHARS", "NORMALIZE_CACHE_CHARS"]
