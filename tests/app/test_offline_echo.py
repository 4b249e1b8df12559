"""Issue 11 item 1 at the offline door: `arbiter score` copies every input line into its output, and a line whose
text holds a lone surrogate (a valid JSON escape) must neither stop the run nor make the output invalid UTF-8."""

from __future__ import annotations

import json
from pathlib import Path

from app.completion import TagConfig
from app.offline import OfflineJob, score_file
from app.rewards.format import FormatReward
from app.rewards.pipeline import Pipeline


async def test_lone_surrogates_are_written_back_as_the_escapes_they_came_as(tmp_path: Path) -> None:
    completion = "<think>\nx\udc00\n</think>\n<answer>\n\ud800\n</answer>"
    lines = [{"id": "a", "completion": completion, "note": "\udfff"}, {"id": "b", "completion": "plain"}]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="ascii")
    job = OfflineJob(input=source, output=tmp_path / "out.jsonl", batch_size=8, progress=False, rewards={"format": {}})
    summary = await score_file(job, Pipeline({"format": FormatReward(TagConfig())}), TagConfig())
    assert summary.complete and summary.scored_now == 2
    text = job.output.read_bytes().decode("utf-8")  # strict: valid UTF-8 throughout
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["completion"] == completion and first["note"] == "\udfff"
    assert first["arbiter"]["components"]["format"] == 1.0
    assert second["id"] == "b"
