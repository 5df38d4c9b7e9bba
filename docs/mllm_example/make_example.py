"""Render the hand-check prompts of docs/mllm.md from the quickstart build's first Hard pair.

Run from the repository root after the README's quickstart:
`python docs/mllm_example/make_example.py`. The pair, its regions, labels and scores are those of
`build/quickstart/bench/hard`; the hint is the Distortion Graph eval-panda wrote for that pair.
"""

from __future__ import annotations

import json
from pathlib import Path

from pandaset_build.mllm.bench import load_bench
from pandaset_build.mllm.prompts import Templates, pair_prompt, region_prompts

BUILD = Path("build/quickstart")
OUT = Path(__file__).parent
REGION = 1  # the region shown for the type (a) prompt


def main() -> None:
    pair = load_bench(BUILD / "bench" / "hard", limit=1)[0]
    graph_file = next((BUILD / "eval" / "panda-hard" / "graphs").glob(f"1_{pair.key}_*.json"))
    graph = json.loads(graph_file.read_text())
    templates = Templates.load()
    (OUT / "anchor.png").write_bytes(pair.anchor_image)
    (OUT / "target.png").write_bytes(pair.target_image)
    (OUT / "hint_graph.json").write_text(json.dumps(graph, indent=1) + "\n")
    (OUT / "pair_prompt.txt").write_text(pair_prompt(templates, 0, pair).text)
    (OUT / "pair_prompt_with_hint.txt").write_text(pair_prompt(templates, 0, pair, graph).text)
    region_anchor = region_prompts(templates, 0, pair)[2 * REGION]
    crop, context = region_anchor.images
    (OUT / "region1_anchor_crop.png").write_bytes(crop)
    (OUT / "region1_anchor_context.png").write_bytes(context)
    (OUT / "region_prompt.txt").write_text(region_anchor.text)
    print(f"wrote {OUT} from {pair.tag} ({pair.anchor_version} vs {pair.target_version})")


if __name__ == "__main__":
    main()
