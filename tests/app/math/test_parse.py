"""parse_answer: each structure, from normalized strings."""

from fractions import Fraction

import pytest
import sympy

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
    parse_answer,
)


def p(s):
    return parse_answer(normalize(s))


@pytest.mark.parametrize(
    "raw, value",
    [
        ("42", Number(Fraction(42))),
        ("-7", Number(Fraction(-7))),
        ("0.50", Number(Fraction(1, 2), 2)),
        (".5", Number(Fraction(1, 2), 1)),
        (r"\frac{3}{4}", Number(Fraction(3, 4))),
        (r"-\frac{3}{4}", Number(Fraction(-3, 4))),
        ("3/4", Number(Fraction(3, 4))),
        (r"\dfrac{9}{7}", Number(Fraction(9, 7))),
        (r"2^{10}", Number(Fraction(1024))),
        (r"\frac{1}{2^{99}}", Number(Fraction(1, 2**99))),
        ("12{,}345", Number(Fraction(12345))),
        ("(E)", Choice("E")),
        (r"\text{(C)}", Choice("C")),
        ("B", Choice("B")),
        (r"\text{Monday}", Text("monday")),
        (r"\text{June 20}", Text("june 20")),
    ],
)
def test_scalars(raw, value):
    assert p(raw) == value


def test_expressions():
    assert p(r"\sqrt{2}") == Expr(sympy.sqrt(2))
    assert p("3+4i") == Expr(3 + 4 * sympy.I)
    assert p(r"\pi") == Expr(sympy.pi)
    x = sympy.Symbol("x")
    assert p("x^2+1") == Expr(x**2 + 1)
    assert p("2.5x") == Expr(sympy.Rational(5, 2) * x)  # decimals inside expressions become exact


def test_containers():
    one, two = Number(Fraction(1)), Number(Fraction(2))
    assert p("(1,2)") == Tuple((one, two))
    assert p(r"\left( 1, 2 \right)") == Tuple((one, two))
    assert p("[1,2)") == Interval(one, two, True, False)
    assert p("(1,2]") == Interval(one, two, False, True)
    assert p(r"\{1,2\}") == Set((one, two))
    assert p("1, 2") == Set((one, two))
    assert p(r"\emptyset") == Set(())
    assert isinstance(p(r"(-\infty, 1) \cup (2, \infty)"), Union)
    assert p(r"\begin{pmatrix} 1 & 2 \\ 2 & 1 \end{pmatrix}") == Matrix(((one, two), (two, one)))
    assert p(r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}") == Matrix(((one,), (two,)))


def test_plus_minus_expands_to_a_set():
    v = p(r"1 \pm \sqrt{19}")
    assert isinstance(v, Set) and len(v.items) == 2
    v = p(r"\{1\pm\sqrt{5},-2\}")
    assert isinstance(v, Set) and len(v.items) == 3


def test_relations():
    assert isinstance(p("x^2+y^2=13"), Relation)
    assert p("x > 3") == Interval(Number(Fraction(3)), Expr(sympy.oo), False, False)
    assert p(r"1 \le x < 2") == Interval(Number(Fraction(1)), Number(Fraction(2)), True, False)
    assert isinstance(p("f(2) < f(1) < f(4)"), Chain)
    assert p("a > b") == Relation("<", Expr(sympy.Symbol("b")), Expr(sympy.Symbol("a")))


def test_thousands_ambiguity_keeps_both_readings():
    v = p("70,110")
    assert isinstance(v, Alternatives)
    assert Number(Fraction(70110)) in v.readings


def test_unparseable_falls_back():
    assert isinstance(p(r"\frac{"), Unparsed)
    assert isinstance(p("the value is 3 + \\sqrt{x} maybe"), Unparsed)
