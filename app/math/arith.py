r"""Plain arithmetic written in LaTeX, parsed without ANTLR: exact `Fraction`s for integer arithmetic, sympy
expressions for polynomials and simple radicals.

Models write answers such as `3+1`, `-(270)`, `44+18+1`, `\frac{3}{4}\cdot 2`, `2^{10}-1`, `2x+65`,
`48x-2y+58` or `3\sqrt{2}`. latex2sympy2 (an ANTLR parser: milliseconds per call, most of a math worker's time)
reads them as the same expression that these functions build in microseconds:

- `rational_value(s)`: the exact value of integer arithmetic, no sympy at all, so the worker pool's fast path
  decides such pairs in the service process;
- `simple_expression(s)`: the sympy expression of arithmetic over integers, single-letter variables, `\pi` and
  `\sqrt{..}`, which a worker's parse uses before it falls back to latex2sympy2.

Both accept only a grammar whose reading is not in doubt and whose reading is latex2sympy2's (after `doit()`),
and return None for anything else, which then goes the old way (latex2sympy2, under the worker's deadline):

    expr     := [sign] term (('+' | '-') term)*
    term     := product (('\cdot' | '\times' | '*' | '/' | '\div' | ':') product)*   (a ratio a:b is a/b, as
                                                                                  latex2sympy2 reads it)
    product  := power implicit*            (juxtaposition binds tighter than `/`, as in latex2sympy2: 1/2x = 1/(2x))
    implicit := power that starts with a letter, `\pi` or `\sqrt` (never a letter right after a letter), or
                with `(` (symbolic only) after an integer or a parenthesis (`3(a+b)`, `(a+6)(b+2)`), or after a
                letter when the parenthesis holds a sum (`9z(z^2-3z+3)`: latex2sympy2 reads `x(2)`, `x(y)`,
                `x(y^2)` as function calls, whose one argument is an atom, never a sum)
    power    := atom ['^' exponent]         (no `^` after `\frac{..}{..}`, `\sqrt{..}`, a brace group or a call,
                                             no `a^b^c`)
    atom     := integer | letter | '\pi' | '(' expr ')' | '{' expr '}' | '\frac' '{' expr '}' '{' expr '}'
              | '\sqrt' '{' (integer | letter) '}' | letter '(' (integer | letter) ')'   (a call of an undefined
                                                                                    function, `f(2)`, as latex2sympy2)
    exponent := one digit | '{' [sign] integer '}'

No juxtaposed numbers (`2 3` is a list or a typo), nothing juxtaposed before `\frac` (`3\frac{1}{2}` is a mixed
number), no `(` after a letter unless it holds a sum or is a call as above, no decimals (their written precision
matters: parse.py keeps it), no subscripts, no `e`, `I` (constants) or `d` (a differential); `i` is a variable, as
for latex2sympy2 (parse.py turns it into the imaginary unit on both paths); no signs after an operator (`2--3`), no
division by zero, exponents of at most MAX_EXPONENT in the symbolic mode, rationals of bounded size (a power
tower is sympy's problem, under a deadline). tests/app/math/test_arith.py checks these readings against
latex2sympy2's.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import sympy

from app.math.latex import letters_are_variables

#: largest |exponent| of the symbolic mode; integer arithmetic takes larger ones (`3^{2007}`) while the result
#: stays within MAX_BITS (9^{9999} is someone's trap)
MAX_EXPONENT = 64
#: rationals (results and intermediate values) with more bits than this go to sympy instead
MAX_BITS = 4096
#: nesting of parentheses, braces, fractions and roots
MAX_DEPTH = 16

_TOKEN = re.compile(r" *(?:([0-9]+)|(\\frac|\\cdot|\\times|\\div|\\sqrt|\\pi)(?![a-zA-Z])|([-+*/:^(){}])|([a-zA-Z]))")
#: every character a string may hold for rational_value / simple_expression: a cheap filter before tokenizing
_CANDIDATE = re.compile(r"(?:[0-9 +\-*/:^(){}]|\\frac|\\cdot|\\times|\\div)+")
_SYMBOLIC_CANDIDATE = re.compile(r"(?:[0-9a-zA-Z +\-*/:^(){}]|\\frac|\\cdot|\\times|\\div|\\sqrt|\\pi)+")
#: letters latex2sympy2 reads as something else than a variable: e (Euler), I (imaginary), d (differential); `i`
#: is a variable to latex2sympy2 too (parse.py makes it the imaginary unit after either parser)
_NOT_VARIABLES = frozenset("eId")
#: letters kept out of roots and calls (`\sqrt{i}`, `f(i)`, `i(2)`): not needed, so not risked
_NOT_PLAIN = frozenset("eiId")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: tokens that may follow another factor without an operator (`2x`, `3\sqrt{2}`, `2\pi r`)
_IMPLICIT = _LETTERS | {"\\pi", "\\sqrt"}
_DIGITS = frozenset("0123456789")
_OPERATOR = re.compile(r"[-+*/:^(){}]|\\(?:frac|cdot|times|div)")


class _Reject(Exception):
    """Not in the grammar (or too large): the caller falls back to the general parser."""


def _tokens(s: str) -> list[str] | None:
    tokens: list[str] = []
    pos = 0
    end = len(s.rstrip(" "))
    while pos < end:
        m = _TOKEN.match(s, pos)
        if m is None:
            return None
        tokens.append(m.group(m.lastindex or 0))
        pos = m.end()
    return tokens


def rational_value(s: str) -> Fraction | None:
    """The exact value of `s` when it is plain integer arithmetic (see the module doc), else None."""
    if not _CANDIDATE.fullmatch(s) or not _OPERATOR.search(s):
        return None
    parser = _parse(s, symbolic=False)
    if parser is None:
        return None
    assert isinstance(parser.value, Fraction)
    return parser.value


def simple_expression(s: str) -> sympy.Expr | None:
    """The sympy expression of `s` when it is in the grammar of the module doc (variables allowed), else None;
    unevaluated, the tree latex2sympy2 builds (parse.py evaluates both with doit())."""
    if not _SYMBOLIC_CANDIDATE.fullmatch(s):
        return None
    parser = _parse(s, symbolic=True)
    if parser is None or (parser.letters_side_by_side and not letters_are_variables(s)):
        return None
    assert isinstance(parser.value, sympy.Expr)
    return parser.value


def _parse(s: str, *, symbolic: bool) -> _Parser | None:
    """The parser that read all of `s` (its `value`), or None."""
    tokens = _tokens(s)
    if not tokens:
        return None
    try:
        parser = _Parser(tokens, symbolic)
        parser.value = parser.expr(0)
        if parser.i != len(tokens):
            return None
    except (_Reject, ZeroDivisionError):
        return None
    return parser


def _check(v: Any) -> Any:
    if isinstance(v, Fraction) and (v.numerator.bit_length() > MAX_BITS or v.denominator.bit_length() > MAX_BITS):
        raise _Reject("too large")
    return v


# latex2sympy2 builds unevaluated sympy trees and parse.py evaluates them with doit(); the symbolic mode builds
# the same trees in the same order (a flat Add / Mul absorbs a flat operand), so that doit() gives the same
# canonical expression, not only an equal one.
def _add_flat(a: Any, b: Any) -> Any:
    args = [*(a.args if a.is_Add else (a,)), *(b.args if b.is_Add else (b,))]
    return sympy.Add(*args, evaluate=False)


def _mul_flat(a: Any, b: Any) -> Any:
    if isinstance(a, int):
        a = sympy.Integer(a)
    args = [*(a.args if a.is_Mul else (a,)), *(b.args if b.is_Mul else (b,))]
    return sympy.Mul(*args, evaluate=False)


class _Parser:
    """Recursive descent over the tokens; values are Fractions (symbolic=False) or unevaluated sympy trees."""

    __slots__ = ("base", "i", "letters_side_by_side", "symbolic", "tokens", "value")

    def __init__(self, tokens: list[str], symbolic: bool) -> None:
        self.tokens = tokens
        self.symbolic = symbolic
        self.i = 0
        #: the first token of the last power's base ("call" for `f(2)`): what may stand before a `(`
        self.base = ""
        #: `3qr`: the caller asks latex2sympy2's lexer whether it reads q and r as two variables (`tr` is a command)
        self.letters_side_by_side = False
        self.value: Any = None

    def _peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, expected: str) -> None:
        if self._peek() != expected:
            raise _Reject(f"expected {expected}")
        self.i += 1

    # -- the operations of each mode

    def _integer(self, n: int) -> Any:
        return sympy.Integer(n) if self.symbolic else _check(Fraction(n))

    def _neg(self, a: Any) -> Any:
        if not self.symbolic:
            return -a
        return -a if a.func.is_Number else _mul_flat(-1, a)

    def _add(self, a: Any, b: Any, op: str) -> Any:
        if not self.symbolic:
            return _check(a + b if op == "+" else a - b)
        if op == "-":
            b = -b if b.func.is_Number else _mul_flat(-1, b)
        return _add_flat(a, b)

    def _mul(self, a: Any, b: Any) -> Any:
        return _mul_flat(a, b) if self.symbolic else _check(a * b)

    def _div(self, a: Any, b: Any) -> Any:
        if b == 0:
            raise ZeroDivisionError
        if not self.symbolic:
            return _check(a / b)
        return sympy.Mul(a, sympy.Pow(b, -1, evaluate=False), evaluate=False)

    def _pow(self, base: Any, exp: int) -> Any:
        if not self.symbolic:
            if base == 0 and exp < 0:
                raise ZeroDivisionError
            if (
                abs(exp) > MAX_EXPONENT
                and max(base.numerator.bit_length(), base.denominator.bit_length()) * abs(exp) > MAX_BITS
            ):
                raise _Reject("too large")  # bounded before it is computed, not after
            return _check(base**exp)
        if abs(exp) > MAX_EXPONENT:
            raise _Reject("exponent too large")
        return sympy.Pow(base, sympy.Integer(exp), evaluate=False)

    def _group_is_sum(self) -> bool:
        """The parenthesis at the cursor holds a top-level `+` or `-` after its first token (`(z^2-3z+3)`)."""
        depth = 0
        for k in range(self.i, len(self.tokens)):
            tok = self.tokens[k]
            if tok in ("(", "{"):
                depth += 1
            elif tok in (")", "}"):
                depth -= 1
                if depth == 0:
                    return False
            elif depth == 1 and tok in ("+", "-") and self.tokens[k - 1] != "(":
                return True
        return False

    def _product_paren(self) -> bool:
        """May the `(` at the cursor multiply the factor before it? After an integer or a parenthesis always
        (`3(a+b)`, `(a+6)(b+2)`); after a letter only when it holds a sum (`x(y)` is a call to latex2sympy2)."""
        if not self.symbolic:
            return False
        if self.base[:1] in _DIGITS or self.base == "(":
            return True
        return self.base in _LETTERS and self._group_is_sum()

    # -- the grammar

    def expr(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _Reject("nested too deeply")
        sign = self._peek()
        if sign in ("+", "-"):
            self.i += 1
        value = self.term(depth, negate=sign == "-")
        while (op := self._peek()) in ("+", "-"):
            self.i += 1
            value = self._add(value, self.term(depth), op)
        return value

    def term(self, depth: int, negate: bool = False) -> Any:
        # a leading sign belongs to the first product, as latex2sympy2's unary rule reads it: -2x/3 = (-(2x))/3
        value = self.product(depth)
        if negate:
            value = self._neg(value)
        while (op := self._peek()) in ("\\cdot", "\\times", "*", "/", "\\div", ":"):
            self.i += 1
            rhs = self.product(depth)
            value = self._mul(value, rhs) if op in ("\\cdot", "\\times", "*") else self._div(value, rhs)
        return value

    def product(self, depth: int) -> Any:
        factors = [self.power(depth)]
        while (tok := self._peek()) is not None and (tok in _IMPLICIT or (tok == "(" and self._product_paren())):
            # `3(a+b)` is a product (a number is no function), so is `x(a+b)`; `x(2)` is a call (atom())
            if tok in _LETTERS and self.tokens[self.i - 1] in _LETTERS:
                self.letters_side_by_side = True
            factors.append(self.power(depth))
        # latex2sympy2 multiplies juxtaposed factors from the right: 2xy = 2 * (x * y)
        value = factors[-1]
        for factor in reversed(factors[:-1]):
            value = self._mul(factor, value)
        return value

    def power(self, depth: int) -> Any:
        tok = self._peek()
        base = self.atom(depth)
        if self.tokens[self.i - 1] == ")" and tok in _LETTERS:
            tok = "call"  # f(2)
        self.base = tok or ""
        if self._peek() != "^":
            return base
        if tok in ("\\frac", "\\sqrt", "{", "call"):
            raise _Reject("a power of a fraction, a root, a group or a call: its reading is the general parser's")
        self.i += 1
        exp = self._exponent()
        if self._peek() == "^":
            raise _Reject("a power tower")
        return self._pow(base, exp)

    def _exponent(self) -> int:
        tok = self._peek()
        if tok is not None and tok[0] in _DIGITS:
            # `2^10` is 2^1 followed by 0 in LaTeX: only one digit belongs to the exponent
            if len(tok) != 1:
                raise _Reject("several digits after ^ without braces")
            self.i += 1
            return int(tok)
        self._take("{")
        sign = self._peek()
        if sign in ("+", "-"):
            self.i += 1
        tok = self._peek()
        if tok is None or tok[0] not in _DIGITS:
            raise _Reject("an exponent that is not an integer")
        self.i += 1
        self._take("}")
        return -int(tok) if sign == "-" else int(tok)

    def _group(self, depth: int) -> Any:
        self._take("{")
        value = self.expr(depth + 1)
        self._take("}")
        return value

    def atom(self, depth: int) -> Any:
        tok = self._peek()
        if tok is None:
            raise _Reject("unexpected end")
        if tok[0] in _DIGITS:
            self.i += 1
            return self._integer(int(tok))
        if tok in ("(", "{"):
            self.i += 1
            value = self.expr(depth + 1)
            self._take(")" if tok == "(" else "}")
            return value
        if tok == "\\frac":
            self.i += 1
            num = self._group(depth)
            return self._div(num, self._group(depth))
        if not self.symbolic:
            raise _Reject(f"unexpected {tok}")
        if tok in _LETTERS:
            if tok in _NOT_VARIABLES:
                raise _Reject(f"{tok} is a constant or a differential for latex2sympy2")
            self.i += 1
            if self._peek() == "_":
                raise _Reject("a subscript")
            if self._peek() == "(" and not self._group_is_sum():
                return self._call(tok)
            return sympy.Symbol(tok)
        if tok == "\\pi":
            self.i += 1
            return sympy.pi
        if tok == "\\sqrt":
            # of an integer or a variable only: sympy's canonical form of a root of a sum or a fraction depends
            # on the order it was built in, and latex2sympy2 builds it unevaluated first
            self.i += 1
            self._take("{")
            arg = self._peek()
            if arg is None or not (arg[0] in _DIGITS or (arg in _LETTERS and arg not in _NOT_PLAIN)):
                raise _Reject("a root of an expression")
            self.i += 1
            self._take("}")
            root = sympy.Integer(int(arg)) if arg[0] in _DIGITS else sympy.Symbol(arg)
            return sympy.Pow(root, sympy.S.Half, evaluate=False)
        raise _Reject(f"unexpected {tok}")

    def _call(self, name: str) -> Any:
        """`f(2)`, `g(x)`: latex2sympy2 applies an undefined function to a single atom."""
        arg = self.tokens[self.i + 1] if self.i + 2 < len(self.tokens) else None
        if (
            name in _NOT_PLAIN
            or self.tokens[self.i + 2 : self.i + 3] != [")"]
            or arg is None
            or not (arg[0] in _DIGITS or (arg in _LETTERS and arg not in _NOT_PLAIN))
        ):
            raise _Reject("a call of anything but one integer or letter")
        self.i += 3
        value = sympy.Integer(int(arg)) if arg[0] in _DIGITS else sympy.Symbol(arg)
        return sympy.Function(name)(value)


__all__ = ["MAX_EXPONENT", "rational_value", "simple_expression"]
