"""arith.py: plain arithmetic without ANTLR must read every string exactly as latex2sympy2 does (after doit()), or
refuse it. Differential tests over generated strings, plus the readings that differ between notations."""

import random
import re
from fractions import Fraction

import pytest
import sympy

from app.math.arith import rational_value, simple_expression
from app.math.latex import LatexParseError, latex_to_sympy
from app.math.parse import Expr, Number, _from_sympy, fast_number, parse_answer


def latex2sympy_value(s: str):
    """What parse.py made of `s` before arith.py: latex2sympy2's tree, evaluated by _from_sympy."""
    try:
        return _from_sympy(latex_to_sympy(s))
    except (LatexParseError, TypeError, ValueError, ZeroDivisionError) as exc:
        return exc


NUMBERS = ["0", "1", "2", "3", "7", "10", "12", "45", "100", "007", "9", "32", "2304"]
LETTERS = ["x", "y", "a", "b", "n", "r", "z", "k", "t", "A", "Q", "e", "i", "I", "d"]
OPS = ["+", "-", "\\cdot", "\\times", "*", "/", "\\div", " + ", ":"]


def generate(rng: random.Random, symbolic: bool, depth: int = 0) -> str:
    """A random string of the grammar and of its near misses (which must be refused, not misread)."""
    g = lambda: generate(rng, symbolic, depth + 1)  # noqa: E731
    r = rng.random()
    num, letter = rng.choice(NUMBERS), rng.choice(LETTERS)
    if depth > 3 or r < 0.2:
        return num
    if symbolic and r < 0.45:
        return rng.choice(
            [
                letter,
                num + letter,
                num + letter + "^" + rng.choice(["2", "{3}", "{-1}"]),
                letter + rng.choice(["", "^2", "^{3}"]) + rng.choice(LETTERS),
                num + "\\sqrt{" + rng.choice([num, letter, g()]) + "}",
                "\\sqrt{" + rng.choice([num, letter]) + "}",
                num + "\\pi" + rng.choice(["", " r", "^2", "r^2"]),
                "(" + g() + ")" + letter,
                num + "(" + g() + ")" + rng.choice(["", "^2", "y", "(2)"]),  # a product: a number is no function
                letter + "(" + g() + ")",  # a product when it holds a sum, else a call or refused
                letter + rng.choice(["", "^2", "^{3}"]) + "(" + g() + rng.choice(["+", "-"]) + g() + ")",  # a product
                letter + rng.choice(["", "^2"]) + "(" + rng.choice([num, letter, "-" + num, letter + "^2"]) + ")",
                "(" + g() + ")" + rng.choice(["", "^2"]) + "(" + g() + ")",  # (a+6)(b+2)
                letter + letter + rng.choice(["", letter, "^2", "(" + g() + "+1)"]),  # side by side: lexer decides
                rng.choice(["tr", "gcd", "rank", "xtr", "dx", "ex", "xe", "pi", "x i", "t r", "lcm", "ones"]),
                num + letter + "(" + rng.choice([num, letter]) + ")" + rng.choice(["", "x", "^2", "(x+1)", "+1"]),
                "\\frac{" + g() + "}{" + g() + "}" + rng.choice(["x", "\\sqrt{2}"]),
                letter + "^" + rng.choice(["2", "{3}", "{-2}", "{10}", "0", "10"]),
            ]
        )
    return rng.choice(
        [
            g() + rng.choice(OPS) + g(),
            g() + rng.choice(OPS) + g(),
            "(" + g() + ")",
            "{" + g() + "}",
            "\\frac{" + g() + "}{" + g() + "}",
            num + "^" + rng.choice(["2", "{3}", "{-2}", "{10}", "0", "10", "{65}", "{2007}", "{-300}", "{9999}"]),
            "(" + g() + ")^" + rng.choice(["2", "{3}", "{-1}"]),
            "-" + g(),
            g() + rng.choice(["+", "-", "\\cdot"]) + "-" + g(),
            num + " " + num,
            num + "\\frac{1}{2}",
        ]
    )


@pytest.mark.parametrize("seed", range(2))
def test_rational_value_is_latex2sympy2s_value(seed):
    rng = random.Random(seed)
    accepted = 0
    for _ in range(800):
        s = generate(rng, symbolic=False)
        mine = rational_value(s)
        if mine is None:
            continue
        accepted += 1
        assert latex2sympy_value(s) == Number(mine), s
    assert accepted > 100  # the generator reaches the grammar, not only its near misses


@pytest.mark.parametrize("seed", range(2))
def test_simple_expression_builds_latex2sympy2s_tree(seed):
    rng = random.Random(100 + seed)
    accepted = 0
    for _ in range(800):
        s = generate(rng, symbolic=True)
        mine = simple_expression(s)
        if mine is None:
            continue
        accepted += 1
        # the same canonical expression (structural ==), not only an equal value
        assert _from_sympy(mine) == latex2sympy_value(s), s
    assert accepted > 250


@pytest.mark.parametrize(
    ("s", "value"),
    [
        ("3+1", Fraction(4)),
        ("-(270)", Fraction(-270)),
        ("44+18+1", Fraction(63)),
        ("2^{10}-1", Fraction(1023)),
        ("\\frac{3}{4}\\cdot2", Fraction(3, 2)),
        ("8/2/2", Fraction(2)),  # left to right
        ("2-3+4", Fraction(3)),
        ("-2^2", Fraction(-4)),  # the power first
        ("2^{-2}", Fraction(1, 4)),
        ("(1/2)^2", Fraction(1, 4)),
        ("21:65", Fraction(21, 65)),  # a ratio, as latex2sympy2 reads it
    ],
)
def test_rational_values(s, value):
    assert rational_value(s) == value
    assert fast_number(s) == Number(value)


@pytest.mark.parametrize(
    "s",
    [
        "2 3",  # numbers side by side: a list or a typo (parse.py refuses it)
        "3\\frac{1}{2}",  # a mixed number (parse.py's rule)
        "2(3)",  # juxtaposition before a parenthesis
        "2--3",  # a sign after an operator
        "2^10",  # LaTeX: 2^1 followed by 0
        "2^3^2",  # a power tower
        "9^{9999}",  # too large for the fast path
        "\\frac{1}{0}",
        "1/(2-2)",
        "0^{-1}",
        "\\frac{1}{2}^2",  # a power of a fraction
        "0.5+1",  # decimals keep their written precision elsewhere
        "",
        "12",  # a plain integer is fast_number's own case, not arithmetic
        "2x",
        "٣+1",  # digits of other scripts
    ],
)
def test_rational_value_refuses(s):
    assert rational_value(s) is None


@pytest.mark.parametrize(
    "s",
    [
        "tr",  # letters side by side: latex2sympy2 has words (tr, gcd, rank, ...)
        "xtr",
        "2gcd",
        "x^2(3)",  # a call x(3), squared, to latex2sympy2: not x^2 * 3
        "x(y^2)",  # a call too (its argument is an atom)
        "x(2x)",  # a product to latex2sympy2, but no sum inside: not risked
        "x(-2)",
        "f(3)^2",
        "f(3)(2)",
        "i(2)",
        "\\sqrt{i}",
        "x_1",  # a subscript
        "2e",  # Euler's number for latex2sympy2
        "I",
        "dx",  # a differential
        "\\sqrt{x+1}",  # a root of an expression: sympy's form of it depends on the order it was built in
        "\\sqrt[3]{8}",
        "x^{1/2}",
        "\\sin x",
        "x=1",
    ],
)
def test_simple_expression_refuses(s):
    assert simple_expression(s) is None


@pytest.mark.parametrize(
    ("s", "value"),
    [
        # the slow answers of the latency requests (issue 17): each was a latex2sympy2 parse of 10-80 ms
        ("9z(z^2-3z+3)", "9*z*(z**2 - 3*z + 3)"),
        ("8x(x-1)(x-2)", "8*x*(x - 1)*(x - 2)"),
        ("(46x+28)(x+2)", "(46*x + 28)*(x + 2)"),
        ("5(3-x)(3+x)", "5*(3 - x)*(3 + x)"),
        ("(a+6)(b+2)", "(a + 6)*(b + 2)"),
        ("x^2(y+1)", "x**2*(y + 1)"),
        ("4qr+6q-15r-30", "4*q*r + 6*q - 15*r - 30"),
        ("-6+4i", "-6 + 4*I"),
        ("-129-128\\sqrt{3}i", "-129 - 128*sqrt(3)*I"),
        ("f(3)", "Function('f')(3)"),
        ("2g(x)", "2*Function('g')(x)"),
    ],
)
def test_new_forms(s, value):
    mine = _from_sympy(simple_expression(s))
    assert mine == latex2sympy_value(s)  # the same canonical tree
    assert isinstance(mine, Expr) and sympy.expand(mine.expr - sympy.sympify(value)) == 0  # the reading meant


def generate_number(rng: random.Random) -> str:
    """Numbers with a subscript (bases), negated decimals, large powers, and their near misses."""
    digits = str(rng.randint(0, 99999))
    sub = rng.choice(["7", "{7}", "{16}", "2", "{x}", "x", "{7}3"])
    dec = rng.choice(["15.48", ".35625", "3.0", "0.6", "1.", "12"])
    return rng.choice(
        [
            rng.choice(["", "-"]) + digits + "_" + sub + rng.choice(["", ".0", ".5", "+1", "^2"]),
            "-(" + dec + ")",
            "(" + dec + ")",
            "-(-" + dec + ")",
            "-(" + dec + "+1)",
            rng.choice(["2", "3", "9", "10", "\\frac{1}{2}"]) + "^{" + rng.choice(["65", "100", "2007", "-100"]) + "}",
        ]
    )


@pytest.mark.parametrize("seed", range(2))
def test_fast_number_is_latex2sympy2s_number(seed):
    rng = random.Random(200 + seed)
    accepted = 0
    for _ in range(300):
        s = generate_number(rng)
        mine = fast_number(s)
        if mine is None:
            continue
        accepted += 1
        assert mine == latex2sympy_value(s), s
    assert accepted > 80


def test_juxtaposition_binds_tighter_than_division():
    x = sympy.Symbol("x")
    assert _from_sympy(simple_expression("1/2x")) == Expr(1 / (2 * x))
    assert _from_sympy(simple_expression("3\\sqrt{32}")) == Expr(12 * sympy.sqrt(2))
    assert _from_sympy(simple_expression("\\sqrt{2304}")) == Number(Fraction(48))
    a, b = sympy.symbols("a b")
    assert _from_sympy(simple_expression("32a^2-3(a^2+b^2)")) == Expr(29 * a**2 - 3 * b**2)


@pytest.mark.parametrize(
    "s",
    [
        "48x-2y+58=0",
        "(3+1,2x)",
        "[-\\sqrt{7},\\frac{2}{3}]",
        "x^2+2x+1",
        "24x+y+29",
        "7:32",
        "-x>-5",
        "f(2)<f(1)<f(4)",
        "3, -1+2i, -1-2i",
        "y=3qr+6q",
        "(1200_7, -(15.48), 3^{2007})",
    ],
)
def test_parse_answer_is_unchanged_by_the_fast_parser(monkeypatch, s):
    """Relations, tuples and intervals are split in parse.py; their leaves now skip ANTLR, with the same values."""
    import app.math.parse as parse

    fast = parse_answer(s)
    parse_answer.cache_clear()
    monkeypatch.setattr(parse, "simple_expression", lambda _: None)
    monkeypatch.setattr(parse, "rational_value", lambda _: None)
    monkeypatch.setattr(parse, "_BASE", re.compile("(?!)"))  # never matches: latex2sympy2 reads them
    monkeypatch.setattr(parse, "_NEGATED_DECIMAL", re.compile("(?!)"))
    try:
        assert parse_answer(s) == fast
    finally:
        parse_answer.cache_clear()
