"""The language registry: a name -> its Language (one module per language in this folder).

Adding a language: a module with a Language subclass, an entry in LANGUAGES and in LanguageName."""

from __future__ import annotations

from typing import Literal

from .base import Build, Language
from .c import C
from .cpp import Cpp
from .go import Go
from .java import Java
from .javascript import JavaScript
from .python import Python
from .rust import Rust

LanguageName = Literal["python", "c", "cpp", "java", "javascript", "go", "rust"]

LANGUAGES: dict[str, Language] = {
    lang.name: lang for lang in (Python(), C(), Cpp(), Java(), JavaScript(), Go(), Rust())
}

__all__ = ["LANGUAGES", "Build", "Language", "LanguageName"]
