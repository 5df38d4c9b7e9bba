"""`eval_mllm`: ask a chat model about every bench pair, over N runs, and score the answers."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pandaset_build.errors import InputNotFound, UsageError
from pandaset_build.json_types import JsonObject
from pandaset_build.pairsets import PairRecord, load_pairs
from pandaset_build.panda.graph import DistortionGraph
from pandaset_build.store.atomic import write_bytes_atomic, write_json_atomic

from .client import ChatClient, ClientConfig, Messages, Reply, ResponseCache
from .hints import region_hints
from .parse import (
    RegionAnswer,
    pair_entries,
    parse_pair_answer,
    parse_region_answer,
    region_fields,
)
from .prompts import Prompt, PromptType, Templates, find_hint, prompts_for
from .results import PairResult, aggregate, print_row, run_metrics

RESULTS = "results.json"
PAIR_MAX_TOKENS = 8192  # section C.3: the output limit of the type (b) requests
Job = tuple[Prompt, str, Callable[[], Messages]]
REQUESTS = {
    "pair": "one request per pair: image A (anchor), then image B (target)",
    "region": (
        "one request per region and image (section C.2, a separate forward pass per region): "
        "the region's crop, then the full image dimmed outside the region with its box in red; "
        "the anchor and the target image are asked separately, two requests per region and pair"
    ),
}


def load_hints(hint_dir: Path, pairs: list[PairRecord]) -> list[DistortionGraph]:
    """The graph of every pair; refuses to start when some pair has none."""
    found = [find_hint(hint_dir, pair) for pair in pairs]
    missing = [pair.key for pair, path in zip(pairs, found, strict=True) if path is None]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise InputNotFound(
            f"{hint_dir}: no graph `<n>_<tag>_<anchor>_<target>_<exp>.json` for {shown}"
        )
    return [json.loads(path.read_text()) for path in found if path is not None]


def pair_folder(out: Path, n: int, pair: PairRecord) -> Path:
    return out / "rendered" / f"{n + 1:04d}_{pair.key}"


def save_rendered(folder: Path, prompt: Prompt) -> None:
    """The prompt text (and system prompt), for type (a) the crop and context images."""
    write_bytes_atomic(folder / f"{prompt.name}.txt", prompt.text.encode())
    if prompt.system:
        write_bytes_atomic(folder / f"{prompt.name}_system.txt", prompt.system.encode())
    if prompt.region is not None:
        crop, context = prompt.images
        write_bytes_atomic(folder / f"{prompt.name}_crop.png", crop)
        write_bytes_atomic(folder / f"{prompt.name}_context.png", context)


def apply_reply(
    result: PairResult, prompt: Prompt, reply: Reply, regions: int, first_index: int = 0
) -> None:
    """Record a reply's cost and fold its parsed answer into the pair's region answers."""
    result.requests += 1
    result.seconds += reply.seconds
    result.tokens.update(reply.usage)
    result.retries += reply.retries
    result.raw[prompt.name] = reply.content
    if reply.error is not None:
        result.failed_requests += 1
        result.errors.append(reply.error)
        return
    if prompt.region is None:
        if not pair_entries(reply.content):
            result.unparseable += 1
        result.answers = parse_pair_answer(reply.content, regions, first_index)
    else:
        if region_fields(reply.content, prompt.side) is None:
            result.unparseable += 1
        distortion, severity = parse_region_answer(reply.content, prompt.side)
        result.answers[prompt.region].distortion[prompt.side] = distortion
        result.answers[prompt.region].severity[prompt.side] = severity


def pair_record(
    n: int, pair: PairRecord, result: PairResult, protocol: JsonObject | None = None
) -> JsonObject:
    """One line of `predictions.jsonl`: truth and parsed prediction per region, costs, and the
    protocol (prompt set, template hashes, model settings) that produced it."""
    regions = [
        {
            "index": r.index,
            "name": r.name,
            "truth": r.fields(),
            "pred": a.fields(),
        }
        for r, a in zip(pair.regions, result.answers, strict=True)
    ]
    return {
        "n": n + 1,
        "tag": pair.tag,
        "anchor_version": pair.anchor_version,
        "target_version": pair.target_version,
        "regions": regions,
        "requests": result.requests,
        "failed_requests": result.failed_requests,
        "unparseable_answers": result.unparseable,
        "errors": result.errors,
        "answers": result.raw,
        "tokens": dict(result.tokens),
        "seconds": result.seconds,
        "protocol": protocol,
    }


def _jsonable(value: Any) -> Any:
    """NaN as null, recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def request_jobs(
    client: ChatClient,
    texts: Templates,
    prompt_type: PromptType,
    pairs: list[PairRecord],
    graphs: list[DistortionGraph | None],
    run: int,
    out: Path,
) -> Iterator[Job]:
    """Prompts rendered lazily, pair by pair, with their cache keys (run `r` is namespace `runr`);
    the first run saves what it renders under `out/rendered`."""
    for n, pair in enumerate(pairs):
        for prompt in prompts_for(texts, prompt_type, n, pair, graphs[n]):
            if run == 0:
                save_rendered(pair_folder(out, n, pair), prompt)
            key = client.key(prompt.text, prompt.images, f"run{run}", prompt.system)
            yield prompt, key, prompt.messages


def one_run(
    client: ChatClient,
    pairs: list[PairRecord],
    jobs: Iterator[Job],
    first_index: int = 0,
) -> list[PairResult]:
    """Send (or read from the cache) every request of one run and parse the replies."""
    results = [PairResult([RegionAnswer() for _ in p.regions]) for p in pairs]
    for prompt, reply in client.complete_all(jobs):
        count = len(pairs[prompt.pair].regions)
        apply_reply(results[prompt.pair], prompt, reply, count, first_index)
    return results


def protocol_record(
    texts: Templates,
    prompt_type: PromptType,
    model: str,
    api_base: str,
    params: JsonObject,
    hint_dir: Path | None,
) -> JsonObject:
    """What produced a result: prompt set, every template's source and sha256, the request
    layout, the hint folder, the model and its request parameters."""
    return {
        "prompts": texts.prompt_set,
        "templates": {
            name: {"source": texts.origins[name], "sha256": digest}
            for name, digest in texts.hashes().items()
        },
        "prompt_type": prompt_type,
        "system_message": bool(texts.texts[f"{prompt_type}_system"]),
        "regions_numbered_from": texts.first_index,
        "requests": REQUESTS[prompt_type],
        "hint_dir": str(hint_dir) if hint_dir is not None else None,
        "model": model,
        "api_base": api_base,
        "params": params,
    }


def request_params(
    prompt_type: PromptType,
    run: int,
    temperature: float | None,
    max_tokens: int | None,
    max_tokens_field: str,
    seed: int | None,
) -> JsonObject:
    """Request body fields of one run; `max_tokens` None is the protocol's limit (8192 for
    type (b), none for type (a)), 0 sends no limit."""
    limit = max_tokens if max_tokens is not None else PAIR_MAX_TOKENS * (prompt_type == "pair")
    params: JsonObject = {}
    if temperature is not None:
        params["temperature"] = temperature
    if limit:
        params[max_tokens_field] = limit
    if seed is not None:
        params["seed"] = seed + run
    return params


def eval_mllm(
    bench: Path,
    model: str,
    api_base: str,
    out: Path,
    prompt_type: PromptType = "pair",
    hint_dir: Path | None = None,
    runs: int = 3,
    concurrency: int = 4,
    timeout: float = 120.0,
    max_retries: int = 4,
    templates: Path | None = None,
    limit: int | None = None,
    *,
    prompts: str = "paper",
    api_key_env: str = "OPENAI_API_KEY",
    temperature: float | None = None,
    max_tokens: int | None = None,
    max_tokens_field: str = "max_tokens",
    seed: int | None = 0,
    backoff: float = 1.0,
    quiet: bool = False,
) -> JsonObject:
    """Evaluate a chat model on a bench split; writes `out/results.json` and returns it."""
    if prompt_type not in ("pair", "region"):
        raise UsageError(f"prompt_type must be 'pair' or 'region', not {prompt_type!r}")
    if max_tokens_field not in ("max_tokens", "max_completion_tokens"):
        raise UsageError(
            f"max_tokens_field {max_tokens_field!r}: use max_tokens or max_completion_tokens"
        )
    out = Path(out)
    texts = Templates.load(templates, prompts)
    pairs = load_pairs(Path(bench), limit)
    graphs: list[DistortionGraph | None] = (
        list(load_hints(Path(hint_dir), pairs)) if hint_dir is not None else [None] * len(pairs)
    )
    if texts.paper:  # a graph that does not fit its pair stops the run before any request
        for pair, graph in zip(pairs, graphs, strict=True):
            if graph is not None:
                region_hints(pair, graph)
    cache = ResponseCache(out / "cache")
    run_results, sent, protocols = [], [], []
    for run in range(runs):
        params = request_params(prompt_type, run, temperature, max_tokens, max_tokens_field, seed)
        protocol = protocol_record(texts, prompt_type, model, api_base, params, hint_dir)
        protocols.append(protocol)
        config = ClientConfig(
            api_base=api_base,
            model=model,
            api_key=os.environ.get(api_key_env) or None,
            timeout=timeout,
            max_retries=max_retries,
            concurrency=concurrency,
            backoff=backoff,
            jitter_seed=run,
            params=params,
        )
        with ChatClient(config, cache) as client:
            jobs = request_jobs(client, texts, prompt_type, pairs, graphs, run, out)
            results = one_run(client, pairs, jobs, texts.first_index)
            sent.append(client.sent)
        lines = [
            json.dumps(pair_record(n, p, r, protocol))
            for n, (p, r) in enumerate(zip(pairs, results, strict=True))
        ]
        write_bytes_atomic(
            out / f"run{run}" / "predictions.jsonl", ("\n".join(lines) + "\n").encode()
        )
        run_results.append(run_metrics(pairs, results, prompt_type == "pair"))
    summary = aggregate(run_results)
    report = _jsonable(
        {
            "model": model,
            "api_base": api_base,
            "bench": str(bench),
            "prompt_type": prompt_type,
            "prompts": texts.prompt_set,
            "hint_dir": str(hint_dir) if hint_dir is not None else None,
            "templates": str(templates) if templates is not None else None,
            "pairs": len(pairs),
            "params": {
                "temperature": temperature,
                "max_tokens": max_tokens,
                "max_tokens_field": max_tokens_field,
                "seed": seed,
            },
            "protocol": protocols[0] if protocols else None,
            "run_params": [p["params"] for p in protocols],
            "sent_requests": sent,
            "runs": run_results,
            "summary": summary,
        }
    )
    write_json_atomic(out / RESULTS, report)
    if not quiet:
        print_row(summary, model, runs)
    return report
