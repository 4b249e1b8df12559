"""Turn validated request items into the internal ScoringItem the rewards read (one parse per completion)."""

from __future__ import annotations

from collections.abc import Sequence

from app.api.schemas import ScoreItem
from app.completion import TagConfig, parse_completion
from app.errors import InvalidRequest
from app.rewards.base import CodeReference, MathReference, ScoringItem, Task


def to_scoring_items(items: Sequence[ScoreItem], tags: TagConfig) -> list[ScoringItem]:
    return [_convert(i, item, tags) for i, item in enumerate(items)]


def _convert(index: int, item: ScoreItem, tags: TagConfig) -> ScoringItem:
    ref = item.reference
    task: Task | None = item.task
    if task is None:
        if ref.answer is not None and ref.tests is not None:
            raise InvalidRequest(f"items.{index}.reference: has both answer and tests; set items.{index}.task")
        task = "math" if ref.answer is not None else "code" if ref.tests is not None else None
    reference: MathReference | CodeReference | None = None
    if task == "math" and ref.answer is not None:
        answers = (ref.answer,) if isinstance(ref.answer, str) else tuple(ref.answer)
        reference = MathReference(answers=answers)
    elif task == "code" and ref.tests is not None:
        limits = ref.limits
        if ref.interactor is not None and ref.checker is not None:
            raise InvalidRequest(f"items.{index}.reference: give an interactor or a checker, not both")
        reference = CodeReference(
            language=ref.language,
            tests=ref.tests,
            cpu_s=limits.cpu_s if limits else None,
            memory_mb=limits.memory_mb if limits else None,
            checker=ref.checker,
            subtasks=ref.subtasks,
            interactor=ref.interactor,
        )
    return ScoringItem(
        index=index,
        id=item.id,
        parsed=parse_completion(item.completion, tags),
        task=task if reference is not None else None,
        reference=reference,
        group=item.group,
        completion_tokens=item.completion_tokens,
        # Per-item reward settings travel in `extra`; each reward validates the ones it reads.
        extra={"target_language": item.target_language} if item.target_language is not None else {},
    )
