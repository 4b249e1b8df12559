r"""The length bounds of app/math/limits.py hold together: what extraction accepts, verification does not refuse
for its length; the service process's fast path and the normalize cache cover every answer that can be verified."""

from __future__ import annotations

from app.math import DEFAULT_CONFIG, extract_answer, verify
from app.math.limits import FAST_PATH_CHARS, MAX_ANSWER_CHARS, NORMALIZE_CACHE_CHARS
from app.math.normalize import _normalize_cached, normalize
from app.math.workers import _fast_verdict

LONGEST = "1" * MAX_ANSWER_CHARS
TOO_LONG = "1" * (MAX_ANSWER_CHARS + 1)


def test_extraction_and_verification_share_one_limit() -> None:
    assert DEFAULT_CONFIG.max_answer_chars == MAX_ANSWER_CHARS
    ext = extract_answer(r"so \boxed{" + LONGEST + "}")
    assert ext.answer == LONGEST
    v = verify(LONGEST, ext.answer)
    assert v.correct and v.reason is None

    ext = extract_answer(r"so \boxed{" + TOO_LONG + "}")
    assert ext.answer is None and ext.reason == f"final answer longer than {MAX_ANSWER_CHARS} characters"
    v = verify(TOO_LONG, TOO_LONG)
    assert not v.correct and v.reason == f"prediction longer than {MAX_ANSWER_CHARS} characters"


def test_an_overlong_bare_box_is_refused_not_cut_to_the_limit() -> None:
    ext = extract_answer(r"so \boxed " + TOO_LONG + " is it")
    assert ext.answer is None and "longer than" in (ext.reason or "")
    assert extract_answer(r"so \boxed " + LONGEST + " is it").answer == LONGEST


def test_every_verifiable_answer_is_normalized_from_the_cache() -> None:
    assert MAX_ANSWER_CHARS <= NORMALIZE_CACHE_CHARS
    answer = "2" * MAX_ANSWER_CHARS
    _normalize_cached.cache_clear()
    normalize(answer)
    normalize(answer)
    assert _normalize_cached.cache_info().hits == 1
    normalize("2" * (NORMALIZE_CACHE_CHARS + 1))
    assert _normalize_cached.cache_info().currsize == 1  # longer strings pass uncached


def test_the_fast_path_takes_every_verifiable_answer_and_only_those() -> None:
    assert FAST_PATH_CHARS <= NORMALIZE_CACHE_CHARS  # the service process only normalizes what the cache holds
    fast = _fast_verdict(((LONGEST,), LONGEST, DEFAULT_CONFIG))
    assert fast is not None and fast.correct and fast.method == "string"
    assert _fast_verdict(((TOO_LONG,), TOO_LONG, DEFAULT_CONFIG)) is None  # refused in a worker, with the reason
    assert _fast_verdict((("1" * (FAST_PATH_CHARS + 1),), "1", DEFAULT_CONFIG)) is None  # a long gold: a worker
