r"""Issue 12: answers as real models and datasets write them. Each table holds true and false cases side by
side as (gold, completion, expected); the completion goes through extraction and verification like the service
does (app/rewards/math_accuracy.py), so both halves are tested together."""

from __future__ import annotations

import pytest

from app.math import DEFAULT_CONFIG, VerifyConfig, extract_answer, verify
from app.math.choices import choice_letter
from app.math.compare import verify_candidates


def judged(gold: str, completion: str, config: VerifyConfig = DEFAULT_CONFIG) -> bool:
    ext = extract_answer(completion)
    if config.choices:
        answer = ext.answer if ext.answer and choice_letter(ext.answer, config.choices) else None
        answer = answer or choice_letter(completion, config.choices)
        return answer is not None and verify(gold, answer, config).correct
    if ext.answer is None:
        return bool(ext.candidates) and verify_candidates(gold, ext.candidates, config).correct
    return verify(gold, ext.answer, config).correct


FALSE_POSITIVES_OF_THE_ISSUE = [
    ("2", r"\frac{1}{2}", False),
    ("1", "x+1", False),
    ("3", r"\sqrt{3}", False),
    ("3", "Answer: 2x + 3", False),
    ("459", r"918\frac12", False),
    ("459", r"\boxed{918\frac12}", False),
    (r"\frac{1}{432}", r"\boxed{2.314814814815 \times 10^{-3}}", True),
    (r"\frac{1}{432}", r"\boxed{0.002314814814815}", True),
    (r"\frac{1}{432}", r"\boxed{2.3 \times 10^{-3}}", False),  # too few digits, as 0.0023 is
    (r"\frac{1}{432}", r"\boxed{0.0023}", False),
]

NO_DELIMITERS = [
    (r"\frac12", r"\frac{1}{2}", True),
    ("(x+1)^2", "x^2 + 2*x + 1", True),
    ("5", "3+2", True),
    ("6", "3+2", False),
    ("x^2+2x+1", "x^2 + 2*x + 2", False),
    ("17", "I think 3 apples and 17 pears", True),
    ("3", "I think 3 apples and 17 pears", False),
    ("1", "so we get x+1", False),  # a number inside an expression is never the answer
    ("10", r"2^{10}", False),
    ("6", "2 3", False),  # numbers side by side are never a product
    ("120", "2 3 4 5", False),
    ("6", r"2\,3", False),
    ("6", r"2 \times 3", True),
]

MARKERS = [
    ("42", "Some work.\nAnswer: 42", True),
    ("42", "Some work.\nAnswer: 41", False),
    ("2x+3", "Let me see.\nAnswer: 2x + 3", True),
    ("18", "Janet sells 9 eggs at $2 each.\n#### 18", True),
    ("18", "Janet sells 9 eggs at $2 each.\n#### 19", False),
    (r"\frac{3}{4}", "The final answer is $\\frac{3}{4}$. I hope it is correct.", True),
    (r"\frac{3}{4}", "The final answer is $\\frac{4}{3}$. I hope it is correct.", False),
    ("7", "**Final Answer**\n\\[\n\\boxed{7}\n\\]", True),
    ("7", "**Final Answer**\n\\[\n\\boxed{8}\n\\]", False),
    ("9", "so \\boxed{9} is the result. Now let me double check the compu", True),  # truncated after the box
    ("10455", "It costs $10,455 in total, so the answer is 10455.", True),
    ("10455", "It costs $10,455 in total, so the answer is 10454.", False),
    ("x", "Spent $5 and got $x$", True),
]

REFERENCES_AS_DATASETS_WRITE_THEM = [
    (r"We compute $1+1$ and get \boxed{2}.", r"\boxed{2}", True),
    (r"We compute $1+1$ and get \boxed{2}.", r"\boxed{1}", False),
    ("(p,q)=(3,2)", r"\boxed{(3,2)}", True),
    ("(p,q)=(3,2)", r"\boxed{(2,3)}", False),
    (r"x = -5,\ p = \frac{14}{3}", r"\boxed{-5, \frac{14}{3}}", True),
    (r"x = -5,\ p = \frac{14}{3}", r"\boxed{-5, \frac{13}{3}}", False),
    ("AB=4,CD=5", r"\boxed{4, 5}", True),
    ("AB=4,CD=5", r"\boxed{4, 6}", False),
    ("S_{MBCN}:S=7:32", r"\boxed{7:32}", True),
    ("S_{MBCN}:S=7:32", r"\boxed{7:31}", False),
    (r"\frac{NO}{BO}=\frac{1}{\sqrt 6}", r"\boxed{\frac{\sqrt{6}}{6}}", True),
    (r"\frac{NO}{BO}=\frac{1}{\sqrt 6}", r"\boxed{\frac{\sqrt{6}}{5}}", False),
    ("2; 3", r"\boxed{2, 3}", True),
    ("2 or 3", r"\boxed{3, 2}", True),
    ("2 or 3", r"\boxed{2}", False),
    (r"1 \text{ and } 2", r"\boxed{1, 2}", True),
    ("x+1=3", r"\boxed{3}", False),  # an equation is not a named value
    ("AB=4,CD=5", r"\boxed{5, 4}", False),  # named values keep the gold's order
    ("x=1,y=2", r"\boxed{y=2, x=1}", True),
    ("x=1,y=2", r"\boxed{y=1, x=2}", False),
    ("AB=4,CD=5", r"\boxed{AB=4, EF=5}", False),
    (r"\boxed{1} and \boxed{-2}", r"\boxed{1, -2}", True),
]

SEVERAL_BOXES = [
    ("1,-2", r"so $\boxed{-2}$ and $\boxed{1}$", True),
    ("1,-2", r"so $\boxed{-2}$ and $\boxed{2}$", False),
    ("1", r"\boxed{1} or maybe \boxed{2}", False),  # more candidates than the gold has: a hedge
    ("1,-2", r"\boxed{1} \boxed{-2} \boxed{3}", False),
    ("(1,2)", r"\boxed{2} and \boxed{1}", False),  # a point has an order: boxes do not
]

RELATIONS = [
    ("11", r"\boxed{x = 5+5+1 = 11}", True),
    ("5", r"\boxed{x = 3 = 5}", False),
    (r"\pi", r"\boxed{\pi \approx 3.14}", True),
    (r"\pi", r"\boxed{3 \approx 3.14}", False),
    ("x<1", r"\boxed{-x > -1}", True),
    ("x<1", r"\boxed{-x < -1}", False),
    ("2x+4y-3=0", r"\boxed{y=-\frac12x+\frac34}", True),
    (r"y=-\frac12x+\frac34", r"\boxed{2x+4y-3=0}", True),
    ("3x-y+13=0", r"\boxed{3x+4y+14=0}", False),
]

STRUCTURES = [
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\boxed{\begin{bmatrix}1&2\\3&4\end{bmatrix}}", True),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\boxed{\begin{bmatrix}1&2\\4&3\end{bmatrix}}", False),
    (r"2\frac58", r"\boxed{\frac{21}{8}}", True),
    (r"2\frac58", r"\boxed{\frac{10}{8}}", False),
    ("1000000", r"\boxed{1,\!000,\!000}", True),
    ("1000000", r"\boxed{1,\!000,\!001}", False),
    ("5", r"\boxed{\textnormal{5}}", True),
    ("(C)", r"\boxed{\text{(C)}}", True),
    ("(C)", r"\boxed{\text{(D)}}", False),
    ("25", r"\boxed{25 \text{ percent}}", True),
    ("25", r"\boxed{25 pct}", True),
    ("26", r"\boxed{25 pct}", False),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\boxed{Matrix([[1, 2], [3, 4]])}", True),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\boxed{[[1, 2], [3, 4]]}", True),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\boxed{[[1, 2], [4, 3]]}", False),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\boxed{\begin{array}{cc}1&2\\3&4\end{array}}", True),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\boxed{\begin{matrix}1&2\\3&4\end{matrix}}", True),
    (
        r"\begin{pmatrix}1&2\\3&4\end{pmatrix}",
        r"\boxed{\begin{pmatrix}1&0\\0&1\end{pmatrix}+\begin{pmatrix}0&2\\3&3\end{pmatrix}}",
        True,
    ),
    (
        r"\begin{pmatrix}1&2\\3&4\end{pmatrix}",
        r"\boxed{\begin{pmatrix}1&0\\0&1\end{pmatrix}+\begin{pmatrix}0&2\\3&4\end{pmatrix}}",
        False,
    ),
    ("x=1,y=2", r"\boxed{\begin{cases}x=1\\y=2\end{cases}}", True),
    ("x=1,y=2", r"\boxed{\begin{cases}x=2\\y=1\end{cases}}", False),
    ("(1,2)", r"\boxed{\begin{cases}x=1\\y=2\end{cases}}", True),
    (r"\frac12", r"\boxed{\sin 30^\circ}", True),
    (r"\frac12", r"\boxed{\sin 60^\circ}", False),
    (r"\frac{\sqrt3}{2}", r"\boxed{\cos(30^{\circ})}", True),
    ("30", r"\boxed{30^\circ}", True),
]

MULTIPLE_CHOICE = [
    ("C", "I think the correct answer is C", True),
    ("C", "I think the correct answer is B", False),
    ("D", "D. it can't be A or B", True),
    ("(D) Alina", "(D) Alina", True),
    ("D", "(C) Boris", False),
    ("C", r"\boxed{C}", True),
    ("C", "the answer is A or C", False),  # two options named: a hedge
    ("C. 12", "the answer is (C)", True),
    ("C", "A. Let me think it over. The answer is C", True),  # the stated answer wins over a leading letter
    ("A", "A. Let me think it over. The answer is C", False),
]

PER_ITEM_OPTIONS = [
    (r"10\%", r"\boxed{0.1}", VerifyConfig(percent_as_fraction=True), True),
    (r"10\%", r"\boxed{0.1}", VerifyConfig(), False),  # MATH: 10% is 10
    ("3.14", r"\boxed{3.1416}", VerifyConfig(rel_tol=0.01), True),
    ("3.14", r"\boxed{3.1416}", VerifyConfig(), False),
    ("33", r"\boxed{033}", VerifyConfig(integer_only=True), True),
    ("33", r"\boxed{33.0}", VerifyConfig(integer_only=True), False),
    ("33", r"\boxed{\frac{66}{2}}", VerifyConfig(integer_only=True), False),
    ("33", r"\boxed{\frac{66}{2}}", VerifyConfig(), True),
]

TABLES = (
    FALSE_POSITIVES_OF_THE_ISSUE
    + NO_DELIMITERS
    + MARKERS
    + REFERENCES_AS_DATASETS_WRITE_THEM
    + SEVERAL_BOXES
    + RELATIONS
    + STRUCTURES
)


@pytest.mark.parametrize("gold, completion, expected", TABLES)
def test_real_formats(gold, completion, expected):
    assert judged(gold, completion) is expected


@pytest.mark.parametrize("gold, completion, expected", MULTIPLE_CHOICE)
def test_multiple_choice(gold, completion, expected):
    assert judged(gold, completion, VerifyConfig(choices=("A", "B", "C", "D"))) is expected


def test_choices_given_as_option_texts():
    config = VerifyConfig(choices=("12", "15", "18", "21"))
    assert judged("B", r"\boxed{15}", config)
    assert not judged("B", r"\boxed{18}", config)
    assert not judged("B", r"\boxed{13}", config)


@pytest.mark.parametrize("gold, completion, config, expected", PER_ITEM_OPTIONS)
def test_per_item_options(gold, completion, config, expected):
    assert judged(gold, completion, config) is expected


def test_every_table_has_true_and_false_cases():
    for table in (NO_DELIMITERS, MARKERS, REFERENCES_AS_DATASETS_WRITE_THEM, SEVERAL_BOXES, RELATIONS, STRUCTURES):
        assert {row[-1] for row in table} == {True, False}
