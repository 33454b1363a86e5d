"""Factual QA on the embedded model: how many chunks give question/answer pairs that parse, with
the notebook's `Q: … / A: …` lines and regex parser (before) vs `schema=` (after), in one run.

    PYTHONPATH=$PWD python benchmarks/bench_structured_qa.py [LIMIT] [FOLDER]

Every chunk is sent (no worth filter), so the share measures the answer format, not the filter.
LIMIT 0 (default) means all chunks. Answers are cached in FOLDER: a rerun prints the same numbers.
"""

import json
import re
import sys
import time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

import toolkit as tk

# the few-shot pairs of both prompts: a pair with one of these questions was copied, not written
EXAMPLE = {"How often should I replace the pre-filter cartridge?",
           "What does code S2 on the display mean?",
           "Which cartridge should I use as a replacement pre-filter?"}


def qa_pairs(answer):
    """The parser of notebooks/factual_qa.ipynb (before the switch), unchanged."""
    pairs = {}
    for q, a in re.findall(r"^Q:\s*(.+)\n\s*A:\s*(.+)$", answer, re.MULTILINE):
        if a.strip().endswith((".", "!", "?")):  # an answer cut off at max_tokens is left out
            pairs.setdefault(q.strip(), a.strip())
    if not pairs:
        raise tk.ParseError("write each pair as two lines, 'Q: <question>' then 'A: <answer>'")
    return [{"question": q, "answer": a} for q, a in pairs.items()]


def one_sentence(answer):
    """The notebook's rule: one sentence ("1.0 bar", "e.g." and "No. 3" do not end it), closed by . ! or ?"""
    if len(tk.sentences(answer)) != 1 or not answer.endswith((".", "!", "?")):
        raise ValueError("answer in one sentence, ending in . ! or ?")
    return answer


class QAPair(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    question: str = Field(max_length=150)
    answer: Annotated[str, Field(min_length=2, max_length=200), AfterValidator(one_sentence)]


def distinct_questions(pairs):
    return list({p.question: p for p in pairs}.values())


def share(out) -> dict:
    rows = out.drop_duplicates("chunk_id")
    ok = rows["questions.status"] == "ok"
    pairs = out[out["questions.status"] == "ok"].drop_duplicates(["chunk_id", "question"])
    new = pairs[~pairs["question"].str.strip().isin(EXAMPLE)]
    return {"chunks": len(rows), "parsed_first_answer": int((ok & (rows["questions.attempts"] == 1)).sum()),
            "parsed": int(ok.sum()), "share": round(ok.mean(), 3), "requests": int(rows["questions.attempts"].sum()),
            "distinct_pairs": len(pairs), "pairs_not_copied_from_example": len(new),
            "chunks_with_a_new_pair": int(new["chunk_id"].nunique()),
            "answers_ending_a_sentence": int(pairs["answer"].str.strip().str.endswith((".", "!", "?")).sum())}


def main(limit: int, folder: str) -> None:
    chunks = tk.chunk(tk.load_texts("data/factual_qa"), max_tokens=250)
    work = chunks.head(limit) if limit else chunks
    llm = tk.LLM(folder=folder)
    steps = {"before": tk.Step("questions", "prompts/factual_qa/questions.yaml", llm, parse=qa_pairs,
                               columns=["question", "answer"], accept_truncated=True),
             "after": tk.Step("questions", "prompts/factual_qa/questions_json.yaml", llm,
                              schema=Annotated[list[QAPair], Field(max_length=3),
                                               AfterValidator(distinct_questions)])}
    report = {}
    for name, step in steps.items():
        start = time.monotonic()
        out = step.run(work)
        report[name] = {**share(out), "seconds": round(time.monotonic() - start, 1)}
        if limit == 0 and len(work) > 8:  # the notebook's default limit, from the same answers
            first8 = out[out["chunk_id"].isin(work["chunk_id"].head(8))]
            report[name]["first_8_chunks"] = share(first8)
    report["ratio_parsed_after_before"] = round(report["after"]["parsed"] / max(report["before"]["parsed"], 1), 2)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 0,
         sys.argv[2] if len(sys.argv) > 2 else "runs/bench_structured_qa")
