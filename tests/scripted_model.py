"""A loopback model that knows the notebooks' prompts: it answers every step right, or every row wrong.

    with ScriptedModel(RIGHT) as srv:      # or ScriptedModel(WRONG)
        ... python -m toolkit run notebooks/X.ipynb -p model openai/loopback -p api_base srv.url

A step is recognised by a marker in its system message (RIGHT's keys). A notebook that gains a
step gets its answer by one more entry: marker -> function(request body) -> answer text. A request
that no marker matches is answered "unknown prompt" (a failed row, never a crash), and counted in
`unknown`, so a test can tell a new step apart from a wrong answer.
"""

from __future__ import annotations

import json
import re

from tests.loopback import LoopbackServer, _text

REWRITE = "Rewrite this passage in plain, generic prose:"


def passage(body: dict, marker: str) -> str:
    """The text after `marker` in the last user message holding it (feedback turns come after it)."""
    for m in reversed(body["messages"]):
        text = _text(m.get("content"))
        if m["role"] == "user" and marker in text:
            return text.split(marker, 1)[1].strip()
    return ""


def rewrite(body: dict) -> str:
    """A faithful rewrite at the passage's length: its sentences, each with its words reversed (so
    no more than a few words in a row match the original), as long as the passage itself."""
    return " ".join(" ".join(reversed(s.split())) for s in re.split(r"(?<=[.!?])\s+", passage(body, REWRITE)))


def qa_pairs(body: dict) -> str:
    """Three pairs whose answers hold decimals, units and abbreviations."""
    return json.dumps({"items": [
        {"question": "What feed pressure does the unit need?",
         "answer": "The feed pressure must be between 1.0 and 4.0 bar."},
        {"question": "How much water does it make when the water is cold?",
         "answer": "At 10 °C, the K3 produces about 12.6 L/h in AUTO mode."},
        {"question": "Which valve opens first?", "answer": "Valve No. 3 opens first, e.g. before a rinse."}]})


RIGHT = {
    "You rewrite passages into plain": rewrite,
    "You write bookends for an excerpt": lambda body: "OPENING: It began that morning.\nCLOSING: That was all.",
    "You judge passages from a product manual": lambda body: "YES - it states specifications.",
    "You write questions a customer might ask": qa_pairs,
    "You write one question a customer might ask": lambda body: json.dumps(json.loads(qa_pairs(body))["items"][0]),
    "You check answers against a passage": lambda body: "SUPPORTED - the passage says so.",
    "You sum up a passage in one": lambda body: "This section tells the owner how to use the unit safely.",
    # the judges (prompts/*/judge_*.yaml): answers in their verdict schemas
    "You check whether an answer is supported": lambda body: '{"reason": "The passage says so.", "verdict": "pass"}',
    "You grade how well an answer is supported": lambda body: '{"reason": "All in the passage.", "score": 5}',
    # v1 and v2 rewrite a passage alike here (rewrite() ignores the prompt), so either order is a tie
    "You compare two rewrites of the same passage": lambda body: '{"reason": "They say the same.", "better": "tie"}',
    # the candidates of factual_qa's "ask" step are alike here too
    "You compare two question/answer pairs": lambda body: '{"reason": "They say the same.", "better": "tie"}',
}
WRONG = dict.fromkeys(RIGHT, lambda body: "zq zq zq zq zq zq zq zq")


class ScriptedModel(LoopbackServer):
    """LoopbackServer whose reply is looked up by the step's system-message marker."""

    def __init__(self, answers: dict, latency: float = 0):
        super().__init__(latency=latency, reply=self._answer)
        self.answers, self.unknown = answers, 0

    def _answer(self, body: dict) -> str:
        system = " ".join(_text(m.get("content")) for m in body["messages"] if m["role"] == "system")
        for marker, answer in self.answers.items():
            if marker in system:
                return answer(body)
        self.unknown += 1
        return "unknown prompt"
