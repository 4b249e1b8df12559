"""The slime adapter as slime calls it: `--custom-rm-path` per sample and with `--group-rm`, and `remote_rm`'s
`{prompt, response, label}` POST to the service, through a reproduction of slime's reward hub (slime_rm_hub.py:
slime cannot be installed here), against a live Arbiter."""

from __future__ import annotations

import json

import pytest
from slime_rm_hub import Args, Sample, reward_value, score_group  # type: ignore[import-not-found]

from arbiter_client.adapters import slime

RIGHT = "<think>6 times 7</think><answer>42</answer>"
WRONG = "<think>guess</think><answer>41</answer>"
PROMPT = [{"role": "user", "content": "What is 6 * 7?"}]
# A code label whose tests cannot be judged (empty): the row is unjudged, not wrong.
BROKEN = json.dumps({"inputs": [], "outputs": []})


def group() -> list[Sample]:
    return [Sample(PROMPT, RIGHT, "42"), Sample(PROMPT, WRONG, "42"), Sample(PROMPT, RIGHT, BROKEN)]


@pytest.fixture
def fresh_slime(arbiter_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slime, "_clients", {})
    monkeypatch.setattr(slime, "_batchers", {})
    monkeypatch.setenv("ARBITER_URL", arbiter_url)


@pytest.mark.usefixtures("fresh_slime")
async def test_custom_rm_path_per_sample_batches_the_concurrent_calls() -> None:
    args = Args(custom_rm_path="arbiter_client.adapters.slime.arbiter_rm", reward_key="reward")
    scored = await score_group(args, group())
    assert [reward_value(args, s) for s in scored] == [2.0, 1.0, 0.0]
    assert [s.reward["judged"] for s in scored] == [True, True, False]
    assert scored[2].reward["accuracy"] == 0.0 and scored[2].reward["format"] == 0.0
    # slime scored three samples at once: one request.
    (batcher,) = slime._batchers.values()
    assert batcher.batches_sent == 1


@pytest.mark.usefixtures("fresh_slime")
async def test_custom_rm_path_with_group_rm() -> None:
    args = Args(custom_rm_path="arbiter_client.adapters.slime.arbiter_group_rm", group_rm=True, reward_key="accuracy")
    scored = await score_group(args, group())
    assert [reward_value(args, s) for s in scored] == [1.0, 0.0, 0.0]
    assert [s.reward["status"] for s in scored][:2] == ["ok", "ok"]
    assert scored[2].reward["judged"] is False


async def test_remote_rm_posts_prompt_response_label_to_the_service(arbiter_url: str) -> None:
    args = Args(rm_type="remote_rm", rm_url=f"{arbiter_url}/slime/reward", reward_key="reward")
    scored = await score_group(args, group()[:2])
    assert [reward_value(args, s) for s in scored] == [2.0, 1.0]
    assert scored[0].reward["components"] == {"format": 1.0, "accuracy": 1.0}
