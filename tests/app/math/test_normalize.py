"""normalize: notation that never changes the value is removed."""

import pytest

from app.math.normalize import normalize


@pytest.mark.parametrize(
    "raw, expected",
    [
        (r"\dfrac{9}{7}", r"\frac{9}{7}"),
        (r"\tfrac{1}{2}", r"\frac{1}{2}"),
        (r"\cfrac{25}{16}", r"\frac{25}{16}"),
        (r"\frac56", r"\frac{5}{6}"),
        (r"\frac 12", r"\frac{1}{2}"),
        (r"\frac5{6}", r"\frac{5}{6}"),
        (r"\frac{5}6", r"\frac{5}{6}"),
        (r"\frac \pi4", r"\frac{\pi}{4}"),
        (r"\sqrt2", r"\sqrt{2}"),
        (r"\left( 6, -\frac{3}{8} \right)", r"(6,-\frac{3}{8})"),
        (r"\left[ 1, 2 \right)", "[1,2)"),
        (r"\displaystyle \frac{1}{2}", r"\frac{1}{2}"),
        (r"3\,\pi", r"3\pi"),
        (r"3\;\pi", r"3\pi"),
        (r"3\!\pi", r"3\pi"),
        (r"3 \quad \pi", r"3\pi"),
        ("3~cm", "3"),
        # thousands separators
        ("8{,}880", "8880"),
        (r"90{,}900{,}909", "90900909"),
        (r"15,\!000", "15000"),
        (r"12\,345", "12345"),
        ("12,345", "12,345"),  # ambiguous: kept, parse.py keeps both readings
        ("(1,234)", "(1,234)"),  # a tuple, never a thousands separator
        # text, units, money, percent, degrees
        (r"575\text{ students}", "575"),
        (r"440\text{ cm}^2", "440"),
        (r"18\text{ ways.}", "18"),
        (r"8\sqrt{3} \text { square inches}", r"8\sqrt{3}"),
        (r"864 \mbox{ inches}^2", "864"),
        (r"0.25\,\text{ cm}", "0.25"),
        ("5 cm", "5"),
        ("5 meters", "5"),
        ("30 degrees", "30"),
        ("5m", "5m"),  # may be 5 times m
        (r"39^\circ", "39"),
        (r"180^{\circ}", "180"),
        (r"44\%", "44"),
        (r"\$15,\!000", "15000"),
        (r"\$ 139", "139"),
        (r"\text{Monday}", "Monday"),
        (r"\textbf{Monday}", "Monday"),
        (r"\mathrm{June 20}", "June 20"),
        (r"\text{(C)}", "(C)"),
        (r"(\text{E})", "(E)"),
        (r"19 \text{ and }43", "19,43"),
        # leading variable, trailing period, delimiters
        ("x = 5", "5"),
        ("y=2x+3", "2x+3"),
        ("f(x) = x^2", "x^2"),
        ("x^2+y^2=13", "x^2+y^2=13"),
        ("5.", "5"),
        (".5", "0.5"),
        ("$\\frac{1}{2}$", r"\frac{1}{2}"),
        ("\\(x+1\\)", "x+1"),
        ("{5}", "5"),
        (r"\sin x", r"\sin x"),
        (r"1 \le x", r"1\leq x"),
        ("−3", "-3"),
        (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\begin{pmatrix}1\\2\end{pmatrix}"),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_idempotent_on_corpus_sample():
    for s in [r"\frac{1}{2}", r"(1,2]", r"\{1,2\}", "x+1", r"\begin{pmatrix}1\\2\end{pmatrix}"]:
        assert normalize(normalize(s)) == normalize(s)
