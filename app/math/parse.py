r"""Turn a normalized answer string into a structured value (frozen dataclasses).

Numbers stay exact (`fractions.Fraction`) and remember how many decimal places were written; plain numbers
never touch sympy. Everything else that is math goes through `latex.latex_to_sympy` leaf by leaf: tuples,
sets, intervals and unions, matrices and relations are split here at top level, so latex2sympy2 only ever sees
single expressions.

Ambiguous notation keeps every reading (`Alternatives`): `15,600` is the number 15600 or the list {15, 600}
(both appear as MATH golds); `(1, 2)` is a `Tuple` that compare.py also accepts as the open interval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import sympy

from app.math.arith import rational_value, simple_expression
from app.math.latex import IMAGINARY_SYMBOLS, LatexParseError, latex_to_sympy
from app.math.words import has_non_math_words


class Value:
    """Base of the structured values."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Number(Value):
    value: Fraction
    decimals: int | None = None  # places written after the decimal point; None = exact (integer, fraction)

    def to_sympy(self) -> sympy.Rational:
        return sympy.Rational(self.value.numerator, self.value.denominator)


@dataclass(frozen=True, slots=True)
class Expr(Value):
    expr: sympy.Basic


@dataclass(frozen=True, slots=True)
class Tuple(Value):
    items: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Set(Value):
    items: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Interval(Value):
    lo: Value
    hi: Value
    lo_closed: bool
    hi_closed: bool


@dataclass(frozen=True, slots=True)
class Union(Value):
    parts: tuple[Value, ...]  # Interval or finite Set


@dataclass(frozen=True, slots=True)
class Matrix(Value):
    rows: tuple[tuple[Value, ...], ...]


@dataclass(frozen=True, slots=True)
class Relation(Value):
    op: str  # "=", "!=", "<", "<=" (">" and ">=" are flipped)
    lhs: Value
    rhs: Value


@dataclass(frozen=True, slots=True)
class Chain(Value):
    ops: tuple[str, ...]  # all "<"/"<=" (a > b > c is stored reversed)
    items: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Choice(Value):
    letter: str


@dataclass(frozen=True, slots=True)
class Text(Value):
    text: str  # case-folded, white space collapsed


@dataclass(frozen=True, slots=True)
class Alternatives(Value):
    readings: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Unparsed(Value):
    text: str
    reason: str = ""


_OPEN = "([{"
_CLOSE = ")]}"
_INT = re.compile(r"-?\d+")
_DEC = re.compile(r"-?\d*\.\d+")
_FRAC = re.compile(r"(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}")
_SLASH = re.compile(r"(-?\d+)/(\d+)")
# 1200_7, 4210_{7}.0: latex2sympy2 reads a number with a subscript as the number and drops the rest (a base)
_BASE = re.compile(r"(-?\d+)_(?:\d|\{\d+\})(?:\.\d+)?")
# -(15.48): latex2sympy2 reads the decimal inside as an exact rational (no written precision)
_NEGATED_DECIMAL = re.compile(r"-\((\d*\.\d+)\)")
# 2\frac{5}{8}: a mixed number (2 + 5/8), never the product 2 * 5/8
_NUMBERS_SIDE_BY_SIDE = re.compile(r"(?<![_^\w.])\d+\s+\.?\d")  # not `\log_2 8`
_MIXED = re.compile(r"(-?)(\d+)\\frac\{(\d+)\}\{(\d+)\}")
# 2.31 \times 10^{-3}, 2.31e-3: a decimal whose written places move with the exponent
_SCI = re.compile(r"(-?\d+(?:\.\d+)?)(?:(?:\\times|\\cdot|\*)\s?10\^(?:\{(-?\d+)\}|(\d))|[eE]([-+]?\d+))")
_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_CHOICE = re.compile(r"\(([A-Z])\)|([A-Z])")
_TEXTY = re.compile(r"[A-Za-z0-9 ,.'\-]+")
_REL = re.compile(r"\\leq|\\geq|\\neq|\\lt|\\gt|<=|>=|!=|<|>|=")
_REL_NAME = {
    "\\leq": "<=",
    "<=": "<=",
    "\\geq": ">=",
    ">=": ">=",
    "\\neq": "!=",
    "!=": "!=",
    "\\lt": "<",
    "<": "<",
    "\\gt": ">",
    ">": ">",
    "=": "=",
}
_MATRIX = re.compile(r"\\begin\{([pbBvV]?matrix|array|smallmatrix)\}(.*)\\end\{\1\}", re.S)


def _depth_scan(s: str):
    """Yield (index, depth_before) for every char of s, treating \\{ \\} as braces and skipping commands."""
    depth = 0
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n:
            nxt = s[i + 1]
            if nxt == "{":
                yield i, depth
                depth += 1
                i += 2
                continue
            if nxt == "}":
                depth -= 1
                yield i, depth
                i += 2
                continue
            yield i, depth
            i += 1
            continue
        if c in _OPEN:
            yield i, depth
            depth += 1
        elif c in _CLOSE:
            depth -= 1
            yield i, depth
        else:
            yield i, depth
        i += 1


def split_top(s: str, sep: str) -> list[str]:
    """Split s at top-level occurrences of the string sep."""
    parts: list[str] = []
    start = 0
    skip_until = -1
    for i, depth in _depth_scan(s):
        if i < skip_until:
            continue
        if depth == 0 and s.startswith(sep, i):
            if sep[0] == "\\" and i + len(sep) < len(s) and s[i + len(sep)].isalpha():
                continue
            parts.append(s[start:i])
            start = i + len(sep)
            skip_until = start
    parts.append(s[start:])
    return [p.strip() for p in parts]


def _top_relations(s: str) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    skip_until = -1
    for i, depth in _depth_scan(s):
        if i < skip_until or depth != 0:
            continue
        m = _REL.match(s, i)
        if m and not (m.group(0).startswith("\\") and m.end() < len(s) and s[m.end()].isalpha()):
            out.append((m.start(), m.end(), _REL_NAME[m.group(0)]))
            skip_until = m.end()
    return out


def _closing_of_first(s: str) -> int:
    """Index where the group opened by s[0] closes (-1 if never)."""
    for i, depth in _depth_scan(s):
        if i > 0 and depth == 0:
            return i
    return -1


@lru_cache(maxsize=50_000)
def parse_answer(s: str) -> Value:
    """Structured value of a normalized answer; `Unparsed` when nothing fits (string comparison only)."""
    if not s:
        return Unparsed(s, "empty")
    try:
        return _parse(s, 0)
    except (LatexParseError, _Fail) as exc:
        return Unparsed(s, str(exc)[:200])
    except (
        TypeError,
        ValueError,
        AttributeError,
        ZeroDivisionError,
        IndexError,
        KeyError,
        NotImplementedError,
        RecursionError,
        sympy.SympifyError,
    ) as exc:
        return Unparsed(s, f"{type(exc).__name__}: {str(exc)[:160]}")


class _Fail(Exception):
    pass


def _parse(s: str, depth: int) -> Value:
    if depth > 8:
        raise _Fail("nested too deeply")
    s = s.strip()
    if not s:
        raise _Fail("empty element")
    if s in ("\\emptyset", "\\{\\}", "\\{ \\}"):
        return Set(())
    m = _CHOICE.fullmatch(s)
    if m:
        return Choice(m.group(1) or m.group(2))
    m = _MATRIX.fullmatch(s)
    if m and "\\begin{" not in m.group(2):  # one matrix; `A + B` of two goes to latex2sympy2 whole
        return _matrix(m)
    if s.startswith("Matrix(") and s.endswith(")"):
        s = s[len("Matrix(") : -1].strip()  # sympy's repr, as models that run code print it
    if s.startswith("[[") and s.endswith("]]"):
        nested = _nested_list_matrix(s, depth)
        if nested is not None:
            return nested
    if has_non_math_words(s):
        if _TEXTY.fullmatch(s):
            return Text(" ".join(s.casefold().replace(",", " , ").split()).replace(" ,", ","))
        raise _Fail("words mixed with math")
    if s.startswith("\\in") and not s[3:4].isalpha():
        s = s[3:].strip()
    # x \in [a, b)
    m = re.match(r"^[a-zA-Z]\s*\\in(?![a-zA-Z])", s)
    if m:
        s = s[m.end() :].strip()

    parts = split_top(s, ",")
    if len(parts) > 1:
        if _THOUSANDS.fullmatch(s):
            return Alternatives((_number(s.replace(",", "")), _set_of(parts, depth)))
        return _set_of(parts, depth)

    parts = split_top(s, "\\cup")
    if len(parts) > 1:
        values = tuple(_parse(p, depth + 1) for p in parts)
        for v in values:
            if not isinstance(v, (Interval, Set, Tuple)):
                raise _Fail("a union of something other than intervals")
        return Union(tuple(as_interval(v) for v in values))

    rels = _top_relations(s)
    if rels:
        return _relation(s, rels, depth)

    if len(split_top(s, "\\pm")) > 1 or len(split_top(s, "\\mp")) > 1:
        plus = s.replace("\\pm", "+", 1).replace("\\mp", "-", 1)
        minus = s.replace("\\pm", "-", 1).replace("\\mp", "+", 1)
        if plus != s and "\\pm" not in plus and "\\mp" not in plus:
            return Set((_parse(plus, depth + 1), _parse(minus, depth + 1)))
        raise _Fail("several \\pm")

    if s.startswith("\\{") and s.endswith("\\}") and _closing_of_first(s) == len(s) - 2:
        inner = s[2:-2].strip()
        if not inner:
            return Set(())
        return _set_of(split_top(inner, ","), depth)
    if s[0] in "([" and s[-1] in ")]" and _closing_of_first(s) == len(s) - 1:
        inner = s[1:-1].strip()
        items = split_top(inner, ",")
        if len(items) >= 2:
            values = tuple(_parse(p, depth + 1) for p in items)
            if len(values) == 2 and not (s[0] == "(" and s[-1] == ")"):
                return Interval(values[0], values[1], s[0] == "[", s[-1] == "]")
            return Tuple(values)
    if s.startswith("\\langle") and s.endswith("\\rangle"):
        items = split_top(s[len("\\langle") : -len("\\rangle")], ",")
        return Tuple(tuple(_parse(p, depth + 1) for p in items))

    return _leaf(s)


def _nested_list_matrix(s: str, depth: int) -> Matrix | None:
    """`[[1,2],[3,4]]`: rows of equal length, each a bracketed list."""
    if _closing_of_first(s) != len(s) - 1:
        return None
    rows = split_top(s[1:-1], ",")
    if not all(r.startswith("[") and r.endswith("]") and _closing_of_first(r) == len(r) - 1 for r in rows):
        return None
    cells = tuple(tuple(_parse(c, depth + 1) for c in split_top(r[1:-1], ",")) for r in rows)
    if not cells or len({len(r) for r in cells}) != 1:
        raise _Fail("ragged matrix")
    return Matrix(cells)


def _matrix(m: re.Match[str], depth: int = 0) -> Matrix:
    body = m.group(2).strip()
    if m.group(1) == "array" and body.startswith("{"):
        body = body[body.index("}") + 1 :]
    rows = [r for r in split_top(body, "\\\\") if r.strip()]
    cells = tuple(tuple(_parse(c, depth + 1) for c in split_top(r, "&")) for r in rows)
    if not cells or len({len(r) for r in cells}) != 1:
        raise _Fail("ragged matrix")
    return Matrix(cells)


def _set_of(parts: list[str], depth: int) -> Set:
    items: list[Value] = []
    for p in parts:
        v = _parse(p, depth + 1)
        if isinstance(v, Set) and ("\\pm" in p or "\\mp" in p):
            items.extend(v.items)  # 1 \pm \sqrt{5}, -2  → three elements
        else:
            items.append(v)
    return Set(tuple(items))


def as_interval(v: Value) -> Value:
    """`(a, b)` also reads as the open interval; any other value is itself."""
    if isinstance(v, Tuple) and len(v.items) == 2:
        return Interval(v.items[0], v.items[1], False, False)
    return v


def _relation(s: str, rels: list[tuple[int, int, str]], depth: int) -> Value:
    pieces: list[str] = []
    start = 0
    for a, b, _op in rels:
        pieces.append(s[start:a].strip())
        start = b
    pieces.append(s[start:].strip())
    ops = [op for _, _, op in rels]
    if any(not p for p in pieces):
        raise _Fail("relation with an empty side")
    values = [_parse(p, depth + 1) for p in pieces]
    if len(ops) == 1:
        op = ops[0]
        lhs, rhs = values
        if op in ("<", "<=", ">", ">="):
            iv = _one_sided_interval(lhs, op, rhs) or _linear_interval(lhs, op, rhs)
            if iv is not None:
                return iv
        if op in (">", ">="):
            return Relation("<" if op == ">" else "<=", rhs, lhs)
        return Relation(op, lhs, rhs)
    if len(ops) == 2 and all(o in ("<", "<=") for o in ops) and _is_symbol(values[1]):
        return Interval(values[0], values[2], ops[0] == "<=", ops[1] == "<=")
    if len(ops) == 2 and all(o in (">", ">=") for o in ops) and _is_symbol(values[1]):
        return Interval(values[2], values[0], ops[1] == ">=", ops[0] == ">=")
    if all(o == "=" for o in ops):
        return Chain(tuple(ops), tuple(values))  # x = 5+5+1 = 11: compare.py reads the value it states
    if all(o in ("<", "<=") for o in ops):
        return Chain(tuple(ops), tuple(values))
    if all(o in (">", ">=") for o in ops):
        return Chain(tuple("<" if o == ">" else "<=" for o in reversed(ops)), tuple(reversed(values)))
    raise _Fail("mixed relation chain")


def _is_symbol(v: Value) -> bool:
    return isinstance(v, Expr) and isinstance(v.expr, sympy.Symbol)


def _is_constant(v: Value) -> bool:
    return isinstance(v, Number) or (isinstance(v, Expr) and not v.expr.free_symbols)


_INF = Expr(sympy.oo)
_NINF = Expr(-sympy.oo)


def _one_sided_interval(lhs: Value, op: str, rhs: Value) -> Interval | None:
    closed = op in ("<=", ">=")
    if _is_symbol(lhs) and _is_constant(rhs):
        var, c, less = lhs, rhs, op in ("<", "<=")
    elif _is_symbol(rhs) and _is_constant(lhs):
        var, c, less = rhs, lhs, op in (">", ">=")
    else:
        return None
    del var
    return Interval(_NINF, c, False, closed) if less else Interval(c, _INF, closed, False)


def _linear_interval(lhs: Value, op: str, rhs: Value) -> Interval | None:
    """`-x > -1` is `x < 1`: a linear inequality in one variable, solved (the sign of the factor flips it)."""
    if not isinstance(lhs, (Number, Expr)) or not isinstance(rhs, (Number, Expr)):
        return None
    d = to_sympy(lhs) - to_sympy(rhs)
    syms = d.free_symbols
    if len(syms) != 1:
        return None
    (var,) = syms
    poly = sympy.Poly(sympy.expand(d), var) if d.is_polynomial(var) else None
    if poly is None or poly.degree() != 1:
        return None
    a, b = poly.all_coeffs()
    if a.free_symbols or b.free_symbols or not a.is_real or a == 0:
        return None
    root = _from_sympy(-b / a)
    closed = op in ("<=", ">=")
    less = (op in ("<", "<=")) == bool(a > 0)  # d < 0 with a > 0 ⇔ var < root
    return Interval(_NINF, root, False, closed) if less else Interval(root, _INF, closed, False)


def to_sympy(v: Number | Expr) -> sympy.Basic:
    """The sympy value of a scalar (a Number becomes an exact Rational)."""
    return v.to_sympy() if isinstance(v, Number) else v.expr


def _number(s: str) -> Number:
    if "." in s:
        return Number(Fraction(s), len(s) - s.index(".") - 1)
    return Number(Fraction(int(s)))


def fast_number(s: str) -> Number | None:
    """A plain number (integer, decimal, `\\frac{a}{b}`, `a/b`, mixed, scientific) or plain integer arithmetic
    (`3+1`, `-(270)`, `2^{10}-1`: arith.py) without sympy, else None. `1200_7` and `-(15.48)` are the numbers
    latex2sympy2 makes of them (1200; -387/25 exactly): tests/app/math/test_arith.py compares."""
    if _INT.fullmatch(s):
        return Number(Fraction(int(s)))
    if _DEC.fullmatch(s):
        return _number(s)
    if "\\frac" in s:
        m = _MIXED.fullmatch(s)
        if m:
            whole, num, den = int(m.group(2)), int(m.group(3)), int(m.group(4))
            if den == 0 or num >= den:
                return None  # _leaf refuses it: a whole number before an improper fraction is ambiguous
            v = whole + Fraction(num, den)
            return Number(-v if m.group(1) else v)
    if "10^" in s or "e" in s or "E" in s:
        m = _SCI.fullmatch(s)
        if m:
            exp = int(m.group(2) or m.group(3) or m.group(4))
            if abs(exp) > 400:
                return None
            mant = _number(m.group(1))
            value = mant.value * Fraction(10) ** exp
            places = (mant.decimals or 0) - exp
            # written precision: 2.5e-3 has 4 places; 1.5e3 = 1500 is exact only as far as it is written
            return Number(value, places) if places > 0 else Number(value, None if mant.decimals is None else 0)
    m = _FRAC.fullmatch(s) or None
    if m:
        den = int(m.group(3))
        if den == 0:
            return None
        v = Fraction(int(m.group(2)), den)
        return Number(-v if m.group(1) else v)
    m = _SLASH.fullmatch(s)
    if m:
        den = int(m.group(2))
        return Number(Fraction(int(m.group(1)), den)) if den else None
    if "_" in s:
        m = _BASE.fullmatch(s)
        return Number(Fraction(int(m.group(1)))) if m else None
    if "." in s:
        m = _NEGATED_DECIMAL.fullmatch(s)
        return Number(-Fraction(m.group(1))) if m else None
    exact = rational_value(s)
    return None if exact is None else Number(exact)


def _leaf(s: str) -> Value:
    num = fast_number(s)
    if num is not None:
        return num
    if _MIXED.fullmatch(s):
        raise _Fail("a whole number written before an improper fraction is ambiguous")
    if _NUMBERS_SIDE_BY_SIDE.search(s):
        raise _Fail("numbers side by side (`2 3`) are a list or a typo, never a product")
    if len(s) > 600:
        raise _Fail("expression too long")
    # plain arithmetic, polynomials and simple roots need no ANTLR (arith.py builds latex2sympy2's tree)
    simple = simple_expression(s)
    if simple is not None:
        return _from_sympy(simple)
    result = latex_to_sympy(s)
    if isinstance(result, list):
        raise _Fail("unexpected list")
    if isinstance(result, sympy.MatrixBase):
        return Matrix(tuple(tuple(_from_sympy(result[i, j]) for j in range(result.cols)) for i in range(result.rows)))
    if not isinstance(result, sympy.Basic):
        raise _Fail(f"unexpected {type(result).__name__}")
    if isinstance(result, sympy.core.relational.Relational):
        raise _Fail("relation inside a leaf")
    return _from_sympy(result)


def _from_sympy(expr: sympy.Basic) -> Value:
    expr = _exactify(expr)
    if isinstance(expr, sympy.MatrixBase):  # matrix arithmetic, evaluated by doit()
        if expr.rows * expr.cols > 400:
            raise _Fail("matrix too large")
        return Matrix(tuple(tuple(_from_sympy(expr[i, j]) for j in range(expr.cols)) for i in range(expr.rows)))
    if isinstance(expr, sympy.Rational):
        return Number(Fraction(int(expr.p), int(expr.q)))
    return Expr(expr)


def _exactify(expr: sympy.Basic) -> sympy.Basic:
    """i → I, e → E, Floats → exact Rationals of their written digits, unevaluated objects evaluated."""
    subs = {}
    for sym in expr.free_symbols:
        if sym in IMAGINARY_SYMBOLS:
            subs[sym] = sympy.I
        elif sym.name == "e":
            subs[sym] = sympy.E
    if subs:
        expr = expr.xreplace(subs)
    floats = expr.atoms(sympy.Float)
    if floats:
        expr = expr.xreplace({f: sympy.Rational(str(f)) for f in floats})
    try:
        expr = expr.doit()
    except Exception:
        pass
    return expr
