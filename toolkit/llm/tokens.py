"""How many tokens a call uses, before the server has counted them: one rule for every part that
needs to know (the limiter's tokens per minute, a fleet's deployments, the spending cap).

    estimate(messages, params)            ≈ what a call uses: its prompt at 4 characters a token,
                                          plus its answer limit (256 when it names none)
    prompt_tokens(messages, params, at_most=True)
                                          what its prompt cannot pass, whatever the tokenizer

The estimate paces requests (a guess that is a little off only shifts a request in the minute);
the bound is what a spending cap reserves, so the cap holds for any text: a byte-level BPE
tokenizer (GPT, Llama 3, Qwen, SmolLM2) spends at most one token per UTF-8 byte, and a chat
template adds a few tokens per message and, for some models, a default system prompt.

But: the bound is a text bound. An image in a message costs what the provider says, not its bytes.
"""

from __future__ import annotations

import json

CHARS_PER_TOKEN = 4      # English text, most tokenizers: for pacing, not for bounds
DEFAULT_ANSWER = 256     # what an answer with no max_tokens is assumed to take when pacing
TEMPLATE_PER_MESSAGE = 8  # role markers around each message (ChatML takes 5, OpenAI 3-4)
TEMPLATE_PER_CALL = 64   # the reply's opening and a default system prompt (Qwen's, Llama 3.1's dates)


def answer_limit(params: dict) -> int | None:
    """The most answer tokens a call's params allow; None when they name no limit."""
    return params.get("max_tokens") or params.get("max_completion_tokens") or None


def prompt_tokens(messages: list[dict], params: dict | None = None, *, at_most: bool = False) -> int:
    """A prompt's tokens: the estimate, or with `at_most=True` a bound (one per UTF-8 byte, the chat
    template's share, and a JSON schema sent with the call, which providers put in the prompt)."""
    if not at_most:
        return sum(len(_text(m.get("content"))) for m in messages) // CHARS_PER_TOKEN
    schema = (params or {}).get("response_format")
    return (sum(len(_text(m.get("content")).encode()) + TEMPLATE_PER_MESSAGE for m in messages)
            + TEMPLATE_PER_CALL + (len(json.dumps(schema).encode()) if schema else 0))


def estimate(messages: list[dict], params: dict) -> int:
    """What a call counts against a tokens-per-minute limit before its answer is known."""
    return prompt_tokens(messages) + answer_tokens(params)


def answer_tokens(params: dict) -> int:
    """What a call's answer is assumed to take when pacing: its limit, else DEFAULT_ANSWER."""
    return answer_limit(params) or DEFAULT_ANSWER


def _text(content) -> str:
    """A message's text: a string, or the text parts of a multimodal list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)
