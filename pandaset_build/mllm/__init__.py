"""PandaBench for multimodal LLMs: prompts, an OpenAI-compatible client, parsing and scoring."""
