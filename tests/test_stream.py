"""Streamed runs: the same rows as Step.run, shards per input shard and step, resume after a crash."""

import json

import pandas as pd
import pytest

import toolkit as tk
from tests.loopback import LoopbackServer

PAIRS = '[{"question": "Q1 {x}", "answer": "A1"}, {"question": "Q2 {x}", "answer": "A2"}]'
QA_PROMPT = """messages:
  - user: "Questions about: {text}"
"""
CHECK_PROMPT = """messages:
  - user: "Check: {question}"
"""


def reply(body):
    """Echo, except for the question step, which answers two pairs per chunk."""
    last = body["messages"][-1]["content"]
    if last.startswith("Questions about: "):
        return PAIRS.replace("{x}", last.removeprefix("Questions about: "))
    return "echo: " + last


def pipeline(llm, prompt_file):
    qa = tk.Step("qa", prompt_file(QA_PROMPT, "qa.yaml"), llm, parse="json")
    check = tk.Step("check", prompt_file(CHECK_PROMPT, "check.yaml"), llm)
    return qa, check


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns) and a.index.tolist() == b.index.tolist()
    pd.testing.assert_frame_equal(a.astype(object).where(a.notna(), None),
                                  b.astype(object).where(b.notna(), None), check_dtype=False)


def test_a_streamed_parquet_run_gives_the_rows_of_run(tmp_path, folder, loopback_llm, prompt_file, rows):
    df = rows(23, "chunk", n=list(range(23)))
    df.to_parquet(tmp_path / "chunks.parquet", row_group_size=7)
    with LoopbackServer(latency=0, reply=reply) as srv:
        qa, check = pipeline(loopback_llm(srv), prompt_file)
        ran = check.run(qa.run(df))
        out = tk.stream(tmp_path / "chunks.parquet", [qa, check], shard_rows=5)
        assert srv.count == 23 + 46  # the stream was answered from the cache the runs filled
    assert out == folder / "shards" / "check"
    assert sorted(p.name for p in out.iterdir()) == [f"part-{i:06d}.parquet" for i in range(5)]
    assert len(pd.read_parquet(folder / "shards" / "qa" / "part-000004.parquet")) == 3 * 2
    same(pd.read_parquet(out), ran)
    manifest = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    assert [(m["step"], m["rows"], m.get("streamed")) for m in manifest[-2:]] == [("qa", 23, True),
                                                                                 ("check", 46, True)]


def test_a_crashed_stream_resumes_from_its_shards_and_the_cache(folder, loopback_llm, prompt_file, rows):
    df = rows(20, "chunk", n=list(range(20)))

    def crashing(stop):
        for start in range(0, 20, 3):  # pieces of 3 rows, re-cut into shards of 4
            if start >= stop:
                raise RuntimeError("the machine went down")
            yield df.iloc[start:start + 3]

    with LoopbackServer(latency=0, reply=reply) as srv:
        qa, check = pipeline(loopback_llm(srv), prompt_file)
        with pytest.raises(RuntimeError, match="went down"):
            tk.stream(crashing(stop=12), [qa, check], shard_rows=4)
        done = sorted(p.name for p in (folder / "shards" / "check").iterdir())
        assert done == ["part-000000.parquet", "part-000001.parquet", "part-000002.parquet"]
        first = srv.count
        assert first == 12 + 24
        out = tk.stream(crashing(stop=99), [qa, check], shard_rows=4)
        assert srv.count - first == 8 + 16  # only the two shards without outputs
        qa2, check2 = pipeline(loopback_llm(srv), prompt_file)
        ran = check2.run(qa2.run(df))
        assert srv.count - first == 8 + 16  # run finds every call in the cache
    same(pd.read_parquet(out), ran)


def test_a_changed_step_refuses_the_old_shards_until_restart(loopback_llm, prompt_file, rows):
    with LoopbackServer(latency=0) as srv:
        llm = loopback_llm(srv)
        tk.stream(rows(5), tk.Step("s", prompt_file(), llm), shard_rows=2)
        changed = tk.Step("s", prompt_file(), llm, temperature=0.5)
        with pytest.raises(ValueError, match=r"shards of a different streamed run \(steps changed\).*restart=True"):
            tk.stream(rows(5), changed, shard_rows=2)
        out = tk.stream(rows(5), changed, shard_rows=2, restart=True)
    assert pd.read_parquet(out)["s"].tolist() == [f"echo: row {i}" for i in range(5)]


def test_an_empty_input_gives_empty_shards_with_every_column(tmp_path, loopback_llm, prompt_file, rows):
    rows(0).to_parquet(tmp_path / "empty.parquet")
    with LoopbackServer(latency=0) as srv:
        out = tk.stream(tmp_path / "empty.parquet", tk.Step("s", prompt_file(), loopback_llm(srv)))
    got = pd.read_parquet(out)
    assert got.empty and list(got.columns)[:4] == ["chunk_id", "text", "s", "s.status"]


def test_an_iterator_of_empty_frames_gives_empty_shards_with_their_columns(tmp_path, loopback_llm, prompt_file, rows):
    with LoopbackServer(latency=0) as srv:
        out = tk.stream(iter([rows(0), rows(0)]), tk.Step("s", prompt_file(), loopback_llm(srv)))
        assert srv.count == 0
    got = pd.read_parquet(out)
    assert got.empty and list(got.columns)[:4] == ["chunk_id", "text", "s", "s.status"]


def test_a_streamed_fleet_run_adds_up_its_shards_in_one_manifest_line(folder, loopback_llm, prompt_file, rows):
    """One record per step over every shard: live usage (what was sent), per-row spend (cached
    rows included) and each deployment's calls summed, as the servers counted them."""
    with LoopbackServer(latency=0, reply=reply) as a, LoopbackServer(latency=0, reply=reply) as b:
        llm = loopback_llm([a, b])
        qa, _ = pipeline(llm, prompt_file)
        qa.run(rows(4, "chunk"))  # 4 of the 10 rows cached before the stream starts
        before = {a.url: a.count, b.url: b.count}
        tk.stream(rows(10, "chunk"), [qa], shard_rows=3)
        line = json.loads((folder / "manifest.jsonl").read_text().splitlines()[-1])
        assert line["streamed"] and line["rows"] == 10 and line["ok"] == 10
        assert line["usage"]["calls"] == 6 and line["usage"]["cache_hits"] == 4
        assert {d: u["calls"] for d, u in line["usage"]["deployments"].items()} == {
            a.url: a.count - before[a.url], b.url: b.count - before[b.url]}
        assert line["per_row"]["calls"] == 1.0  # cached rows count at what they cost when made
