"""The only module that imports latex2sympy2: switching to a fork (latex2sympy2_extended, …) is a change here.

latex2sympy2 1.9.1 keeps global state: an assignment such as `x=5` stores x → 5 in module globals and changes
how later inputs parse. We never hand it a relation (parse.py splits relations itself) and restore its globals
after every call. Its exceptions (ANTLR errors are raised as bare `Exception`, plus TypeError, …) become
`LatexParseError`.
"""

from __future__ import annotations

from functools import lru_cache

import latex2sympy2 as _l2s
import sympy
from antlr4 import InputStream, Token  # type: ignore[import-untyped]
from gen.PSLexer import PSLexer  # type: ignore[import-untyped]  # latex2sympy2's ANTLR lexer

__all__ = ["IMAGINARY_SYMBOLS", "LatexParseError", "latex_to_sympy", "letters_are_variables"]


class LatexParseError(ValueError):
    """The LaTeX could not be turned into a sympy expression."""


_BASE_VARIANCES = dict(_l2s.variances)
_BASE_VAR = dict(_l2s.var)
IMAGINARY_SYMBOLS = {sympy.Symbol("i"), sympy.Symbol("i", real=True)}


def _restore() -> None:
    _l2s.variances.clear()
    _l2s.variances.update(_BASE_VARIANCES)
    _l2s.var.clear()
    _l2s.var.update(_BASE_VAR)
    _l2s.VARIABLE_VALUES = {}


def latex_to_sympy(text: str) -> sympy.Basic | list:
    """Parse one LaTeX expression. A top-level comma list comes back as a Python list."""
    if "=" in text.replace("\\leq", "").replace("\\geq", "").replace("\\neq", ""):
        raise LatexParseError("relations are split before they reach latex2sympy2")
    try:
        result = _l2s.latex2sympy(text)
    except RecursionError as exc:
        raise LatexParseError("expression nested too deeply") from exc
    except Exception as exc:
        msg = str(exc).strip().splitlines()
        raise LatexParseError(f"cannot parse {text[:80]!r}: {msg[0] if msg else type(exc).__name__}") from exc
    finally:
        _restore()
    if result is None:
        raise LatexParseError(f"cannot parse {text[:80]!r}")
    return result


@lru_cache(maxsize=4096)
def letters_are_variables(text: str) -> bool:
    """Does latex2sympy2's lexer read every letter of `text` as a variable of its own? `3qr` is 3, q, r; `tr` is
    the trace, `dx` a differential, `gcd` a function: arith.py multiplies letters side by side only when it is
    the former (lexing is ~0.05 ms, a parse by latex2sympy2 tens of ms)."""
    lexer = PSLexer(InputStream(text))
    lexer.removeErrorListeners()
    while (tok := lexer.nextToken()).type != Token.EOF:
        if tok.text.isalpha() and (tok.type != PSLexer.LETTER_NO_E or len(tok.text) != 1):
            return False
    return True
