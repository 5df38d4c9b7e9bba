"""Render the hand-check prompts of docs/mllm.md from the quickstart build's first Hard pair.

Run from the repository root after the README's quickstart:
`python docs/mllm_example/make_example.py [BUILD]` (default `build/quickstart`). The pair, its
regions, labels and scores are those of `BUILD/bench/hard`; the hint is the Distortion Graph
eval-panda wrote for that pair (`BUILD/eval/panda-hard/graphs`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pandaset_build.mllm.prompts import Prompt, Templates, pair_prompt, region_prompts
from pandaset_build.pairsets import load_pairs

OUT = Path(__file__).parent
REGION = 1  # the region shown for the type (a) prompts


def request_text(prompt: Prompt) -> str:
    """The system message (if any), then the user text, as sent."""
    if not prompt.system:
        return prompt.text
    return f"[system]\n{prompt.system}\n\n[user]\n{prompt.text}\n"


def main() -> None:
    build = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build/quickstart")
    pair = load_pairs(build / "bench" / "hard", 1)[0]
    graph_file = next((build / "eval" / "panda-hard" / "graphs").glob(f"1_{pair.key}_*.json"))
    graph = json.loads(graph_file.read_text())
    (OUT / "anchor.png").write_bytes(pair.anchor_image)
    (OUT / "target.png").write_bytes(pair.target_image)
    (OUT / "hint_graph.json").write_text(json.dumps(graph, indent=1) + "\n")
    for prompt_set, suffix in (("paper", ""), ("extended", "_extended")):
        templates = Templates.load(prompt_set=prompt_set)
        pair_text = request_text(pair_prompt(templates, 0, pair))
        (OUT / f"pair_prompt{suffix}.txt").write_text(pair_text)
        hinted = request_text(pair_prompt(templates, 0, pair, graph))
        (OUT / f"pair_prompt{suffix}_with_hint.txt").write_text(hinted)
        region_anchor = region_prompts(templates, 0, pair)[2 * REGION]
        crop, context = region_anchor.images
        (OUT / f"region{REGION}_anchor_crop.png").write_bytes(crop)  # the same in both sets
        (OUT / f"region{REGION}_anchor_context{suffix}.png").write_bytes(context)
        (OUT / f"region_prompt{suffix}.txt").write_text(request_text(region_anchor))
    print(f"wrote {OUT} from {pair.tag} ({pair.anchor_version} vs {pair.target_version})")


if __name__ == "__main__":
    main()
