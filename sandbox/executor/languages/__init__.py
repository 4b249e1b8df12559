"""The language registry: a name -> its Language (one module per language in this folder).

Adding a language: a module with a Language subclass, an entry in LANGUAGES and in LanguageName."""

from __future__ import annotations

from typing import Literal

from .base import Language
from .cpp import Cpp
from .python import Python

LanguageName = Literal["python", "cpp"]

LANGUAGES: dict[str, Language] = {lang.name: lang for lang in (Python(), Cpp())}

__all__ = ["LANGUAGES", "Language", "LanguageName"]
