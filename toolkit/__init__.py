"""Build LLM dataset-generation pipelines as notebooks: run a step on a few samples, inspect, fix, rerun."""

import gc as _gc
import os as _os
import warnings as _warnings

# Before anything imports litellm: without this it tries to download a price map at import and
# prints network warnings into every notebook (its bundled copy is used instead).
_os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# litellm's lazily imported types trip a pydantic notice that says nothing to a toolkit user.
_warnings.filterwarnings("ignore", message=r".*using the `ReadOnly` qualifier", category=UserWarning)

from .agreement import agreement  # noqa: E402
from .batch import batch  # noqa: E402
from .card import card  # noqa: E402
from .chunking import chunk  # noqa: E402
from .closeness import closeness, copy_ratio  # noqa: E402
from .content_kept import content_kept  # noqa: E402
from .coverage import coverage  # noqa: E402
from .decisions import add_decisions, correct, labels, picks, preference_pairs  # noqa: E402
from .dedupe import dedupe  # noqa: E402
from .diversity import diversity, diversity_plot  # noqa: E402
from .drafts import draft  # noqa: E402
from .export import export_hf, export_jsonl, sharegpt  # noqa: E402
from .funnel import drop_reasons, funnel  # noqa: E402
from .grounding import grounding  # noqa: E402
from .judge import Judge, PassFail, Preference, Score  # noqa: E402
from .keep import keep  # noqa: E402
from .llm import LLM  # noqa: E402
from .parsing import ParseError  # noqa: E402
from .plots import overview  # noqa: E402
from .promote import promote  # noqa: E402
from .prompts import Prompt, PromptError, load_prompt  # noqa: E402
from .report import estimate  # noqa: E402
from .review import compare, show  # noqa: E402
from .sentences import sentences  # noqa: E402
from .steps import Step  # noqa: E402
from .stream import stream  # noqa: E402
from .style_gap import style_gap  # noqa: E402
from .texts import TextError, TextWarning, load_texts  # noqa: E402
from .trace import trace  # noqa: E402

# The objects made by these imports live as long as the process: keep them out of every future full
# collection, which would otherwise land inside the first run (≈ 0.25 s with litellm loaded).
_gc.freeze()

# What a notebook uses. The call layer (Cache, CacheMiss, Completion, Usage, Retry, DEFAULT_MODEL,
# BatchError, the transport registry) is `toolkit.llm`.
__all__ = [
    "load_texts", "TextError", "TextWarning", "chunk", "sentences",          # raw text in
    "LLM",                                                                    # calling models
    "Prompt", "PromptError", "load_prompt", "draft", "Step", "ParseError", "estimate", "batch",  # steps
    "stream",                                                                 # corpora > memory
    "show", "compare", "overview", "closeness", "copy_ratio", "trace",        # inspecting
    "labels", "picks", "add_decisions", "correct", "promote",                 # your decisions
    "Judge", "PassFail", "Score", "Preference", "agreement",  # judges, checked against you
    "dedupe", "diversity", "diversity_plot", "funnel", "drop_reasons",  # dataset health
    "style_gap", "content_kept", "grounding", "coverage",                    # signals, no judge paid
    "keep", "sharegpt", "export_jsonl", "export_hf", "card", "preference_pairs",      # the dataset
]
