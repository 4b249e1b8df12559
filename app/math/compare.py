"""verify(gold, prediction): cheapest comparison first.

1. normalized strings equal                                   → method "string"
2. both parse (parse.py) and the structures match:
   numbers exactly (Fractions, no floats)                     → "numeric"
   closed forms / expressions: sympy difference is zero       → "symbolic"
   tuples, sets, intervals, unions, matrices, relations       → "structural" (leaves as above)
   multiple-choice letters, text answers                      → "choice", "text"

Decimal rule ("written precision"): a decimal equals an exact value (integer, fraction, closed form) when the
exact value rounded to the decimal's written places is that decimal, and the decimal carries at least
`min_significant_digits` significant digits (0.333 = 1/3, 0.33 ≠ 1/3 by default, 0.000 ≠ 2^-99). Two
decimals must be equal as numbers (1.50 = 1.5, 187.54 ≠ 187.5). No float tolerance is ever applied to exact
numbers, so 1/2^99 ≠ 1/2^98.

References as datasets write them (reference.py): a whole solution is reduced to its last box, `;`/`or`/`and`
lists become comma lists, named values (`(p,q)=(3,2)`, `AB=4,CD=5`) compare by their values. A chain of
equalities (`x = 5+5+1 = 11`) states its last side when every side is equal.

Per-item options (VerifyConfig, all off by default — strict):
- `percent_as_fraction`: `10\\%` also equals `0.1` (datasets that grade percents as fractions, e.g. GSM8K-style
  word problems re-labelled by graders; MATH keeps `10\\%` = 10);
- `rel_tol`: numeric tolerance between constants (physics/chemistry sets such as SciBench, whose golds are
  rounded measurements);
- `integer_only`: the answer must be written as an integer (AIME: 0-999, `033` = `33`, `33.0` and `\frac{66}{2}`
  are wrong);
- `choices`: the option letters or texts of a multiple-choice item (choices.py).

A false positive teaches the policy to cheat, so every doubt resolves to "not equal".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import sympy
from sympy.core.function import AppliedUndef

from app.math.choices import choice_letter
from app.math.limits import MAX_ANSWER_CHARS
from app.math.normalize import normalize
from app.math.parse import (
    Alternatives,
    Chain,
    Choice,
    Expr,
    Interval,
    Matrix,
    Number,
    Relation,
    Set,
    Text,
    Tuple,
    Union,
    Unparsed,
    Value,
    as_interval,
    parse_answer,
    split_top,
    to_sympy,
)
from app.math.reference import named_values, reference_answer, state_values

MAX_SET_ITEMS = 64


@dataclass(frozen=True, slots=True)
class VerifyConfig:
    """Knobs of the comparison. Frozen and hashable: it is part of the cache key."""

    decimal_rule: Literal["written_precision", "exact"] = "written_precision"
    min_significant_digits: int = 3
    #: predictions longer than this are wrong without a parse (limits.py says why it is what it is)
    max_answer_chars: int = MAX_ANSWER_CHARS
    percent_as_fraction: bool = False
    rel_tol: float = 0.0
    integer_only: bool = False
    choices: tuple[str, ...] = ()


DEFAULT_CONFIG = VerifyConfig()


@dataclass(frozen=True, slots=True)
class Verdict:
    correct: bool
    method: str  # "string" | "numeric" | "symbolic" | "structural" | "choice" | "text" | "none"
    gold_normalized: str | None = None
    pred_normalized: str | None = None
    reason: str | None = None
    status: str = "ok"  # "ok" | "timeout" | "error" (set by the worker pool)


def verify(gold: str | Sequence[str], prediction: str, config: VerifyConfig = DEFAULT_CONFIG) -> Verdict:
    """Is `prediction` (an extracted final answer) equivalent to the gold answer, or to any of a list of them?

    Runs in the calling process without a deadline; the service goes through MathWorkerPool.
    """
    golds = (gold,) if isinstance(gold, str) else tuple(gold)
    if not golds:
        return Verdict(False, "none", None, None, "no gold answer", status="error")
    if len(prediction) > config.max_answer_chars:
        return Verdict(False, "none", None, None, f"prediction longer than {config.max_answer_chars} characters")
    if config.choices:
        return _verify_choice(golds, prediction, config)
    pred_norm = normalize(prediction)
    if config.integer_only:
        return _verify_integer(golds, pred_norm)
    first: Verdict | None = None
    for g in golds:
        v = _verify_one(g, prediction, pred_norm, config)
        if v.correct:
            return v
        first = first or v
    assert first is not None
    return first


def verify_candidates(
    gold: str | Sequence[str], candidates: Sequence[str], config: VerifyConfig = DEFAULT_CONFIG
) -> Verdict:
    """Several different boxed answers: right only when together they are exactly one gold's set of values
    (gold `1,-2`, boxes `-2` and `1`); more candidates than the gold has values stays a hedge (wrong)."""
    golds = (gold,) if isinstance(gold, str) else tuple(gold)
    cands = [normalize(c) for c in candidates]
    if len(cands) < 2 or any(not c or len(c) > config.max_answer_chars for c in cands):
        return Verdict(False, "none", None, None, "hedged: several different boxed answers")
    pv = Set(tuple(parse_answer(state_values(c)) for c in cands))
    if any(isinstance(x, Unparsed) for x in pv.items):
        return Verdict(False, "none", None, ", ".join(cands), "hedged: a boxed answer is not parseable")
    for g in golds:
        gold_norm = state_values(normalize(reference_answer(g)))
        gv = parse_answer(gold_norm)
        # only an unordered gold: boxes have no order, so `(1, 2)` (a point) is never matched by two boxes
        items = gv.items if isinstance(gv, Set) else None
        if items is None and isinstance(gv, Alternatives):
            items = next((r.items for r in gv.readings if isinstance(r, Set)), None)
        if items is None or len(items) != len(pv.items):
            continue
        try:
            if _set_eq(items, pv.items, config):
                return Verdict(True, "structural", gold_norm, ", ".join(cands))
        except _COMPARE_ERRORS:
            continue
    return Verdict(False, "structural", None, ", ".join(cands), "hedged: several different boxed answers")


def _verify_integer(golds: Sequence[str], pred_norm: str) -> Verdict:
    """AIME-style: the answer is an integer written as one (leading zeros allowed)."""
    if not _INTEGER.fullmatch(pred_norm):
        return Verdict(False, "numeric", None, pred_norm, "integer_only: the answer is not written as an integer")
    for g in golds:
        gn = normalize(reference_answer(g))
        if _INTEGER.fullmatch(gn) and int(gn) == int(pred_norm):
            return Verdict(True, "numeric", gn, pred_norm)
    return Verdict(False, "numeric", normalize(golds[0]), pred_norm, "not equivalent")


def _verify_choice(golds: Sequence[str], prediction: str, config: VerifyConfig) -> Verdict:
    pred_letter = choice_letter(prediction, config.choices)
    if pred_letter is None:
        return Verdict(False, "choice", None, prediction[:80], "no single option named")
    for g in golds:
        gl = choice_letter(reference_answer(g), config.choices)
        if gl is not None and gl == pred_letter:
            return Verdict(True, "choice", gl, pred_letter)
    return Verdict(False, "choice", choice_letter(golds[0], config.choices), pred_letter, "not equivalent")


_INTEGER = re.compile(r"-?\d+")
_COMPARE_ERRORS = (
    TypeError,
    ValueError,
    AttributeError,
    ZeroDivisionError,
    NotImplementedError,
    RecursionError,
    IndexError,
    KeyError,
    OverflowError,
    sympy.SympifyError,
    sympy.PolynomialError,
)


def _percent_reading(raw: str, norm: str) -> str | None:
    if "%" not in raw and "percent" not in raw and "pct" not in raw:
        return None
    return "\\frac{" + norm + "}{100}" if norm else None


def _verify_one(gold: str, prediction: str, pred_norm: str, config: VerifyConfig) -> Verdict:
    gold_raw = reference_answer(gold)
    gold_norm = normalize(gold_raw)
    if gold_norm == pred_norm and gold_norm:
        return Verdict(True, "string", gold_norm, pred_norm)
    if not pred_norm:
        return Verdict(False, "none", gold_norm, pred_norm, "empty prediction")
    named = named_values(gold_norm)
    if named is not None:
        return _verify_named(named, gold_norm, pred_norm, config)
    pred_named = named_values(pred_norm)
    if pred_named is not None and gold_norm.startswith("(") and gold_norm.endswith(")"):
        # gold `(1,2)`, prediction `x=1, y=2` (a system's solution): in order, as the gold writes it
        values = split_top(gold_norm[1:-1], ",")
        if len(values) == len(pred_named) and all(
            _compare(g, p, config).correct for g, (_, p) in zip(values, pred_named)
        ):
            return Verdict(True, "structural", gold_norm, pred_norm)
    gold_norm = state_values(gold_norm)
    pred_stated = state_values(pred_norm)
    if gold_norm == pred_stated and gold_norm:
        return Verdict(True, "string", gold_norm, pred_norm)
    verdict = _compare(gold_norm, pred_stated, config)
    if verdict.correct:
        return verdict
    # `y = -\\frac12x+\\frac34` lost its `y =` in normalize; an equation compares with the full relation
    if "=" in gold_raw or "=" in prediction:
        gold_kept = state_values(normalize(gold_raw, keep_lhs=True))
        pred_kept = state_values(normalize(prediction, keep_lhs=True))
        if (gold_kept, pred_kept) != (gold_norm, pred_stated) and (
            isinstance(parse_answer(gold_kept), Relation) or isinstance(parse_answer(pred_kept), Relation)
        ):
            again = _compare(gold_kept, pred_kept, config)
            if again.correct:
                return again
    if config.percent_as_fraction:
        for g, p in (
            (_percent_reading(gold_raw, gold_norm), pred_stated),
            (gold_norm, _percent_reading(prediction, pred_stated)),
        ):
            if g is not None and p is not None:
                again = _compare(g, p, config)
                if again.correct:
                    return again
    return verdict


def _verify_named(named: list[tuple[str, str]], gold_norm: str, pred_norm: str, config: VerifyConfig) -> Verdict:
    """Gold `x=-5,p=\\frac{14}{3}`: a prediction naming the same variables matches name by name; a bare list
    (`-5, \\frac{14}{3}` or `(-5, \\frac{14}{3})`) matches in the gold's order."""
    pred_named = named_values(pred_norm)
    if pred_named is not None:
        by_name = dict(pred_named)
        if len(by_name) != len(pred_named) or set(by_name) != {n for n, _ in named}:
            return Verdict(False, "structural", gold_norm, pred_norm, "names differ from the gold's")
        values = [by_name[n] for n, _ in named]
    else:
        bare = state_values(pred_norm)
        if bare.startswith("(") and bare.endswith(")"):
            bare = bare[1:-1]
        values = split_top(bare, ",")
    if len(values) != len(named):
        return Verdict(False, "structural", gold_norm, pred_norm, f"{len(values)} values for {len(named)} names")
    for (_, g), p in zip(named, values):
        if normalize(g) != normalize(p) and not _compare(g, p, config).correct:
            return Verdict(False, "structural", gold_norm, pred_norm, "not equivalent")
    return Verdict(True, "structural", gold_norm, pred_norm)


def _compare(gold_norm: str, pred_norm: str, config: VerifyConfig) -> Verdict:
    gv = parse_answer(gold_norm)
    pv = parse_answer(pred_norm)
    if isinstance(gv, Unparsed):
        return Verdict(False, "string", gold_norm, pred_norm, f"gold not parseable ({gv.reason}); strings differ")
    if isinstance(pv, Unparsed):
        return Verdict(False, "string", gold_norm, pred_norm, f"prediction not parseable ({pv.reason})")
    try:
        method = _eq(gv, pv, config)
    except _COMPARE_ERRORS as exc:
        return Verdict(False, "none", gold_norm, pred_norm, f"comparison failed: {type(exc).__name__}: {exc}"[:300])
    if method:
        return Verdict(True, method, gold_norm, pred_norm)
    return Verdict(False, _kind(gv, pv), gold_norm, pred_norm, "not equivalent")


def _kind(a: Value, b: Value) -> str:
    if isinstance(a, Number) and isinstance(b, Number):
        return "numeric"
    if isinstance(a, (Number, Expr)) and isinstance(b, (Number, Expr)):
        return "symbolic"
    return "structural"


# ---------------------------------------------------------------------------------------------- structures


def _eq(a: Value, b: Value, cfg: VerifyConfig) -> str | None:
    """The method that shows a == b, or None."""
    if isinstance(a, Alternatives):
        for r in a.readings:
            m = _eq(r, b, cfg)
            if m:
                return m
        return None
    if isinstance(b, Alternatives):
        for r in b.readings:
            m = _eq(a, r, cfg)
            if m:
                return m
        return None
    if isinstance(a, (Number, Expr)) and isinstance(b, (Number, Expr)):
        return scalar_eq(a, b, cfg)
    if isinstance(a, Choice) and isinstance(b, Choice):
        return "choice" if a.letter == b.letter else None
    if isinstance(a, Text) or isinstance(b, Text):
        ta = a.text if isinstance(a, Text) else (a.letter.casefold() if isinstance(a, Choice) else None)
        tb = b.text if isinstance(b, Text) else (b.letter.casefold() if isinstance(b, Choice) else None)
        return "text" if ta is not None and ta == tb else None
    if isinstance(a, Set) and isinstance(b, Set):
        return "structural" if _set_eq(a.items, b.items, cfg) else None
    if isinstance(a, Set) and len(a.items) == 1 and not isinstance(b, Set):
        return _eq(a.items[0], b, cfg)
    if isinstance(b, Set) and len(b.items) == 1 and not isinstance(a, Set):
        return _eq(a, b.items[0], cfg)
    if isinstance(a, Tuple) and isinstance(b, Tuple):
        return "structural" if _seq_eq(a.items, b.items, cfg) else None
    if isinstance(a, Union) or isinstance(b, Union):
        pa = a.parts if isinstance(a, Union) else (_interval_of(a),)
        pb = b.parts if isinstance(b, Union) else (_interval_of(b),)
        xa = [x for x in pa if x is not None]
        xb = [x for x in pb if x is not None]
        if len(xa) != len(pa) or len(xb) != len(pb):
            return None
        return "structural" if _set_eq(xa, xb, cfg) else None
    if isinstance(a, (Interval, Tuple)) and isinstance(b, (Interval, Tuple)):
        ia, ib = _interval_of(a), _interval_of(b)
        if not isinstance(ia, Interval) or not isinstance(ib, Interval):
            return None
        ok = (
            ia.lo_closed == ib.lo_closed
            and ia.hi_closed == ib.hi_closed
            and _eq(ia.lo, ib.lo, cfg)
            and _eq(ia.hi, ib.hi, cfg)
        )
        return "structural" if ok else None
    if isinstance(a, Matrix) or isinstance(b, Matrix):
        ra, rb = _matrix_rows(a), _matrix_rows(b)
        if ra is None or rb is None:
            return None
        if len(ra) != len(rb) or any(len(x) != len(y) for x, y in zip(ra, rb)):
            return None
        return "structural" if all(_seq_eq(x, y, cfg) for x, y in zip(ra, rb)) else None
    if isinstance(b, Chain) and b.ops and set(b.ops) == {"="} and not isinstance(a, Chain):
        last = _stated_by_chain(b, cfg)
        return _eq(a, last, cfg) if last is not None else None
    if isinstance(a, Chain) and a.ops and set(a.ops) == {"="} and not isinstance(b, Chain):
        last = _stated_by_chain(a, cfg)
        return _eq(last, b, cfg) if last is not None else None
    if isinstance(a, Chain) and isinstance(b, Chain):
        return "structural" if a.ops == b.ops and _seq_eq(a.items, b.items, cfg) else None
    if isinstance(a, Relation) and isinstance(b, Relation):
        return "symbolic" if _relation_eq(a, b) else None
    return None


def _stated_by_chain(c: Chain, cfg: VerifyConfig) -> Value | None:
    """`x = 5+5+1 = 11` states 11 when every side after a bare name is equal (`x = 3 = 5` states nothing)."""
    items = list(c.items)
    if isinstance(items[0], Expr) and isinstance(items[0].expr, sympy.Symbol):
        items = items[1:]
    last = items[-1]
    if not isinstance(last, (Number, Expr)) or (isinstance(last, Expr) and last.expr.free_symbols):
        return None
    return last if all(_eq(x, last, cfg) for x in items[:-1]) else None


def _interval_of(v: Value) -> Interval | Set | None:
    v = as_interval(v)
    return v if isinstance(v, (Interval, Set)) else None


def _matrix_rows(v: Value) -> tuple[tuple[Value, ...], ...] | None:
    if isinstance(v, Matrix):
        rows = v.rows
        if len(rows) == 1:  # a row vector compares with a tuple or column vector written flat
            return tuple((x,) for x in rows[0])
        return rows
    if isinstance(v, Tuple):
        return tuple((x,) for x in v.items)
    return None


def _seq_eq(xs: Sequence[Value], ys: Sequence[Value], cfg: VerifyConfig) -> bool:
    return len(xs) == len(ys) and all(_eq(x, y, cfg) for x, y in zip(xs, ys))


def _set_eq(xs: Sequence[Value], ys: Sequence[Value], cfg: VerifyConfig) -> bool:
    if len(xs) > MAX_SET_ITEMS or len(ys) > MAX_SET_ITEMS:
        return False
    if len(xs) == len(ys):
        # a perfect matching (greedy is exact for an equivalence relation)
        unused = list(ys)
        for x in xs:
            for k, y in enumerate(unused):
                if _eq(x, y, cfg):
                    del unused[k]
                    break
            else:
                return False
        return True
    # different lengths: equal only as sets with repeated elements
    return all(any(_eq(x, y, cfg) for y in ys) for x in xs) and all(any(_eq(x, y, cfg) for x in xs) for y in ys)


# ---------------------------------------------------------------------------------------------- scalars


def _sig_digits(n: Number) -> int:
    assert n.decimals is not None
    q = abs(n.value) * Fraction(10) ** n.decimals
    return len(str(int(q))) if q else 0


def _decimal_matches(d: Number, exact: Fraction | sympy.Basic, cfg: VerifyConfig) -> bool:
    """d (written with d.decimals places) is `exact` rounded to that many places."""
    if cfg.decimal_rule != "written_precision" or _sig_digits(d) < cfg.min_significant_digits:
        return False
    if not isinstance(exact, Fraction):
        if exact.free_symbols:
            return False
        num = sympy.N(exact, 50)
        if not num.is_number or num.has(sympy.I) or not num.is_finite or not num.is_real:
            return False
        exact = Fraction(str(sympy.Float(num, 50)))
    assert d.decimals is not None
    return abs(exact - d.value) * 2 * Fraction(10) ** d.decimals <= 1


def _within_tolerance(a: Number | Expr, b: Number | Expr, rel_tol: float) -> bool:
    xa, xb = to_sympy(a), to_sympy(b)
    if xa.free_symbols or xb.free_symbols:
        return False
    va, vb = sympy.N(xa, 30), sympy.N(xb, 30)
    if not (va.is_real and vb.is_real and va.is_finite and vb.is_finite):
        return False
    return bool(abs(va - vb) <= rel_tol * max(abs(va), abs(vb)))


def scalar_eq(a: Number | Expr, b: Number | Expr, cfg: VerifyConfig) -> str | None:
    """The method that shows two scalars equal ("numeric" / "symbolic"), or None; the worker pool's fast path
    calls it on two plain Numbers, which costs Fraction arithmetic only."""
    method = _scalar_eq_strict(a, b, cfg)
    if method is None and cfg.rel_tol > 0 and _within_tolerance(a, b, cfg.rel_tol):
        return "numeric"
    return method


def _scalar_eq_strict(a: Number | Expr, b: Number | Expr, cfg: VerifyConfig) -> str | None:
    if isinstance(a, Number) and isinstance(b, Number):
        if a.value == b.value:
            return "numeric"
        if (a.decimals is None) == (b.decimals is None):
            return None  # exact vs exact, or decimal vs decimal: values must be equal
        d, x = (a, b) if a.decimals is not None else (b, a)
        return "numeric" if _decimal_matches(d, x.value, cfg) else None
    if isinstance(a, Number) and a.decimals is not None:
        return "numeric" if _decimal_matches(a, to_sympy(b), cfg) else None
    if isinstance(b, Number) and b.decimals is not None:
        return "numeric" if _decimal_matches(b, to_sympy(a), cfg) else None
    return "symbolic" if _sym_equal(to_sympy(a), to_sympy(b)) else None


_POINTS = [sympy.Rational(37, 100), sympy.Rational(129, 100), sympy.Rational(-271, 100), sympy.Rational(53, 10)]


def _numeric_differs(d: sympy.Basic) -> bool:
    """True when d is clearly non-zero at some sample point (a cheap reject before simplify)."""
    syms = sorted(d.free_symbols, key=lambda s: s.name)
    if len(syms) > 6 or d.atoms(AppliedUndef):
        return False  # (f(2) has no value at any point: complex() would fail at each, ~4 ms per point)
    for k in range(3):
        subs = {s: _POINTS[(k + j) % len(_POINTS)] + j * sympy.Rational(1, 7) for j, s in enumerate(syms)}
        try:
            v = complex(sympy.N(d.xreplace(subs), 20))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            continue
        if v != v or abs(v) == float("inf"):  # nan / inf: this point says nothing
            continue
        if abs(v) > 1e-8:
            return True
    return False


def _sym_equal(a: sympy.Basic, b: sympy.Basic) -> bool:
    if a == b:
        return True
    if a.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan) or b.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        return False  # infinities were equal above or not at all
    d = a - b
    if d == 0:
        return True
    if d.is_Rational:  # both exact rationals and different (1/2^99 vs 1/2^98 lands here)
        return False
    if _numeric_differs(d):
        return False
    if sympy.expand(d) == 0:
        return True
    if _independent_polynomial(d):
        return False  # a non-zero polynomial in independent unknowns: simplify cannot make it 0 (tens of ms)
    if sympy.simplify(d) == 0:
        return True
    if not d.free_symbols:
        # closed-form constants that simplify cannot prove equal: 50 significant digits must agree
        scale = max(abs(sympy.N(a, 60)), abs(sympy.N(b, 60)), 1)
        diff = abs(sympy.N(d, 60))
        return bool(diff.is_number and diff <= scale * sympy.Float("1e-50", 60))
    return False


def _independent_polynomial(d: sympy.Basic) -> bool:
    """d is a polynomial with rational coefficients in variables and calls of undefined functions at rational
    points (`f(2) - f(3)`, `x*f(1)`): unknowns with no relation between them, so a d that does not expand to 0
    is not 0 (what simplify, and then the 50-digit evaluation, would conclude)."""
    gens: list[sympy.Basic] = list(d.free_symbols)
    for call in d.atoms(AppliedUndef):
        if not all(arg.is_Rational for arg in call.args):
            return False
        gens.append(call)
    if not gens or len(gens) > 8:
        return False
    try:
        poly = sympy.Poly(d, *gens)
    except sympy.PolynomialError:
        return False
    return (poly.domain.is_ZZ or poly.domain.is_QQ) and not poly.is_zero


def _relation_eq(a: Relation, b: Relation) -> bool:
    if a.op != b.op:
        return False
    if not all(isinstance(v, (Number, Expr)) for v in (a.lhs, a.rhs, b.lhs, b.rhs)):
        return False
    da = to_sympy(a.lhs) - to_sympy(a.rhs)  # type: ignore[arg-type]
    db = to_sympy(b.lhs) - to_sympy(b.rhs)  # type: ignore[arg-type]
    c = _polynomial_ratio(da, db)
    if c is not None:
        # both sides are polynomials with rational coefficients: exact algebra decides, without simplify
        return c != 0 and (a.op in ("=", "!=") or c > 0)
    if _sym_equal(da, db):
        return True
    if a.op in ("=", "!=") and _sym_equal(da, -db):
        return True
    if db == 0:
        return False
    ratio = sympy.simplify(da / db)
    if ratio.free_symbols or not ratio.is_number or ratio == 0 or not ratio.is_finite:
        return False
    if a.op in ("=", "!="):
        return True
    return bool(ratio.is_positive)  # scaling an inequality by a negative number flips it


def _polynomial_ratio(da: sympy.Basic, db: sympy.Basic) -> sympy.Rational | None:
    """When da and db are non-zero polynomials with rational coefficients (`2x-2y+6`, `x+y+3`): the constant c
    with da = c * db, or 0 when there is none (exact polynomial arithmetic: what simplify(da / db) would find,
    in microseconds instead of tens of milliseconds). None when either is anything else: then simplify decides."""
    gens = sorted(da.free_symbols | db.free_symbols, key=lambda s: s.name)
    if not gens or len(gens) > 8:
        return None
    try:
        pa, pb = sympy.Poly(da, *gens), sympy.Poly(db, *gens)
    except sympy.PolynomialError:
        return None
    if not all(p.domain.is_ZZ or p.domain.is_QQ for p in (pa, pb)) or pa.is_zero or pb.is_zero:
        return None
    pa, pb = pa.to_field(), pb.to_field()
    c = pa.LC() / pb.LC()
    return sympy.Rational(c) if pa == pb.mul_ground(c) else sympy.Integer(0)
