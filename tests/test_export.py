"""Exporters: exact file contents, multi-turn grouping, keep() reasons, atomic writes, HF round-trip."""

import json
import socket

import pandas as pd
import pytest

from toolkit.export import export_hf, export_jsonl, sharegpt
from toolkit.keep import keep

TWO = pd.DataFrame({
    "chunk_id": ["c1", "c2"],
    "instruction": ["Résume", "Explain"],
    "generic": ["café — 日本語", "naïve 🙂"],
    "text": ["Ünïcode answer", "second"],
})


def pairs_two():
    return sharegpt(TWO, human="{instruction}\n\n{generic}", gpt="{text}", system="Be brief.")


def test_sharegpt_jsonl_exact(tmp_path):
    path = tmp_path / "out" / "train.jsonl"
    summary = export_jsonl(pairs_two(), path)
    assert summary == {"path": str(path), "rows": 2, "format": "sharegpt"}
    assert path.read_text(encoding="utf-8") == (
        '{"id": "c1", "conversations": [{"from": "system", "value": "Be brief."}, '
        '{"from": "human", "value": "Résume\\n\\ncafé — 日本語"}, {"from": "gpt", "value": "Ünïcode answer"}]}\n'
        '{"id": "c2", "conversations": [{"from": "system", "value": "Be brief."}, '
        '{"from": "human", "value": "Explain\\n\\nnaïve 🙂"}, {"from": "gpt", "value": "second"}]}\n'
    )


def test_openai_jsonl_exact_and_unicode_unescaped(tmp_path):
    path = tmp_path / "train.jsonl"
    assert export_jsonl(pairs_two(), path, format="openai")["rows"] == 2
    raw = path.read_bytes()
    assert "日本語".encode() in raw and b"\\u" not in raw
    assert raw.decode() == (
        '{"messages": [{"role": "system", "content": "Be brief."}, '
        '{"role": "user", "content": "Résume\\n\\ncafé — 日本語"}, '
        '{"role": "assistant", "content": "Ünïcode answer"}]}\n'
        '{"messages": [{"role": "system", "content": "Be brief."}, '
        '{"role": "user", "content": "Explain\\n\\nnaïve 🙂"}, {"role": "assistant", "content": "second"}]}\n'
    )


def test_templates_take_dotted_columns_and_callables():
    df = pd.DataFrame({"chunk_id": [7], "generic.raw": ["RAW"], "q": ["Q?"]})
    out = sharegpt(df, human=lambda row: row["q"].lower(), gpt="{generic.raw}!")
    assert out.to_dict("records") == [
        {"id": "7", "conversations": [{"from": "human", "value": "q?"}, {"from": "gpt", "value": "RAW!"}]}
    ]


def test_missing_column_names_column_template_and_columns():
    with pytest.raises(ValueError) as e:
        sharegpt(TWO, human="{instruction} {genric}", gpt="{text}")
    msg = str(e.value)
    assert "'genric'" in msg and "'{instruction} {genric}'" in msg and "'generic'" in msg and "'chunk_id'" in msg


def test_missing_id_column_says_what_to_pass():
    with pytest.raises(ValueError, match="Pass id="):
        sharegpt(TWO, human="{instruction}", gpt="{text}", id="sample")
    with pytest.raises(ValueError, match=r"column 'chunk_id' has missing ids at index \[1\]"):
        sharegpt(TWO.assign(chunk_id=["c1", None]), human="{instruction}", gpt="{text}")


@pytest.mark.parametrize("empty", ["", "   ", None, float("nan")])
def test_empty_value_in_a_turn_names_row_and_turn(empty):
    df = TWO.assign(text=["ok", empty])
    with pytest.raises(ValueError) as e:
        sharegpt(df, human="{instruction}", gpt="{text}")
    assert "chunk_id='c2'" in str(e.value) and "turn 1 (gpt)" in str(e.value) and "'text'" in str(e.value)


def test_callable_returning_empty_or_non_str_is_refused():
    with pytest.raises(ValueError, match=r"chunk_id='c1'.*turn 1 \(gpt\).*empty"):
        sharegpt(TWO, human="{instruction}", gpt=lambda row: " ")
    with pytest.raises(ValueError, match=r"turn 0 \(human\).*float"):
        sharegpt(TWO, human=lambda row: float("nan"), gpt="{text}")


def test_sharegpt_refuses_repeated_ids_and_points_to_multi_turn():
    with pytest.raises(ValueError, match=r"pass multi_turn=True"):
        sharegpt(pd.concat([TWO, TWO]), human="{instruction}", gpt="{text}")


def test_multi_turn_groups_in_first_appearance_and_row_order(tmp_path):
    qa = pd.DataFrame({
        "chunk_id": ["b", "a", "b", "a", "b"],
        "question": ["b1?", "a1?", "b2?", "a2?", "b3?"],
        "answer": ["B1", "A1", "B2", "A2", "B3"],
        "topic": ["bees", "ants", "ignored", "ignored", "ignored"],
    })
    out = sharegpt(qa, human="{question}", gpt="{answer}", system="About {topic}.", multi_turn=True)
    assert out["id"].tolist() == ["b", "a"]
    assert [[(t["from"], t["value"]) for t in conv] for conv in out["conversations"]] == [
        [("system", "About bees."), ("human", "b1?"), ("gpt", "B1"), ("human", "b2?"), ("gpt", "B2"),
         ("human", "b3?"), ("gpt", "B3")],
        [("system", "About ants."), ("human", "a1?"), ("gpt", "A1"), ("human", "a2?"), ("gpt", "A2")],
    ]
    path = tmp_path / "qa.jsonl"
    export_jsonl(out, path, format="openai")
    second = json.loads(path.read_text(encoding="utf-8").splitlines()[1])
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert second["messages"][3]["content"] == "a2?"


def test_multi_turn_empty_turn_names_group_row_and_turn():
    qa = pd.DataFrame({"chunk_id": ["a", "a"], "question": ["q1", "q2"], "answer": ["A1", ""]}, index=[10, 11])
    with pytest.raises(ValueError, match=r"chunk_id='a' \(index 11\), turn 3 \(gpt\)"):
        sharegpt(qa, human="{question}", gpt="{answer}", multi_turn=True)


def steps_frame():
    return pd.DataFrame({
        "chunk_id": ["ok", "failed", "skipped", "notrun", "bad", "badnonote", "unrev", "good", "both"],
        "generic": ["g"] * 9,
        "generic.status": ["ok", "failed", "skipped", None, "ok", "ok", "ok", "ok", "failed"],
        "generic.error": [None, "Timeout: 30s\nTraceback ...", None, None, None, None, None, None, "boom"],
        "qa.status": ["ok", "skipped", "ok", "ok", "ok", "ok", "ok", "ok", "skipped"],
        "label": ["good", "unreviewed", "unreviewed", None, "bad", "bad", "unreviewed", "good", "bad"],
        "note": ["", "", "", "", "hallucinated date", "", "", "", "wrong"],
    }, index=range(100, 109))


def test_keep_drop_reasons_and_nothing_lost():
    df = steps_frame()
    kept, dropped = keep(df, steps=("generic",))
    assert kept["chunk_id"].tolist() == ["ok", "unrev", "good"]
    assert dict(zip(dropped["chunk_id"], dropped["dropped_because"])) == {
        "failed": "generic.status=failed: Timeout: 30s",
        "skipped": "generic.status=skipped",
        "notrun": "generic.status=not run",
        "bad": "label=bad: hallucinated date",
        "badnonote": "label=bad",
        "both": "generic.status=failed: boom; label=bad: wrong",
    }
    assert sorted([*kept.index, *dropped.index]) == list(df.index)  # original index kept: traceable
    pd.testing.assert_frame_equal(dropped.drop(columns="dropped_because"), df.loc[dropped.index])
    assert kept.columns.tolist() == df.columns.tolist()


def test_keep_several_steps_and_stricter_labels():
    _, dropped = keep(steps_frame(), steps=("generic", "qa"), drop_labels=("bad", "unreviewed"))
    reasons = dict(zip(dropped["chunk_id"], dropped["dropped_because"]))
    assert reasons["failed"] == "generic.status=failed: Timeout: 30s; qa.status=skipped; label=unreviewed"
    assert reasons["unrev"] == "label=unreviewed"
    assert "good" not in reasons and "ok" not in reasons


def test_keep_without_label_column_uses_status_only_and_refuses_unknown_step():
    df = steps_frame().drop(columns=["label", "note"])
    kept, _ = keep(df, steps=("generic",))
    assert kept["chunk_id"].tolist() == ["ok", "bad", "badnonote", "unrev", "good"]
    with pytest.raises(ValueError, match=r"no column generic\.status.*steps present: \['generic', 'qa'\]"):
        keep(df, steps=("generic.status",))


def test_failed_export_leaves_old_file_untouched_and_no_temp(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("OLD\n", encoding="utf-8")
    pairs = pairs_two()
    pairs.at[1, "conversations"] = [{"from": "human", "value": "q"}, {"from": "gpt", "value": ""}]
    with pytest.raises(ValueError, match=r"row id='c2', turn 1"):
        export_jsonl(pairs, path)  # row c1 is written to the temp file before c2 fails
    assert path.read_text(encoding="utf-8") == "OLD\n"
    assert [p.name for p in tmp_path.iterdir()] == ["train.jsonl"]
    fresh = tmp_path / "fresh.jsonl"
    with pytest.raises(ValueError):
        export_jsonl(pairs, fresh, format="openai")
    assert [p.name for p in tmp_path.iterdir()] == ["train.jsonl"]


def test_export_jsonl_refuses_unknown_format_and_foreign_frames(tmp_path):
    with pytest.raises(ValueError, match="'sharegpt' or 'openai'"):
        export_jsonl(pairs_two(), tmp_path / "x.jsonl", format="alpaca")
    with pytest.raises(ValueError, match=r"no column 'id': expected a frame from sharegpt\(\)"):
        export_jsonl(TWO, tmp_path / "x.jsonl")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_hf_round_trip_and_data_card(tmp_path, no_network):
    import datasets

    qa = pd.DataFrame({"chunk_id": ["b", "a", "b"], "q": ["b1?", "a1 日本?", "b2?"], "a": ["B1", "A1", "B2"]})
    pairs = sharegpt(qa, human="{q}", gpt="{a}", system="Sys", multi_turn=True)
    card = {
        "model": "smollm2-135m",
        "prompt versions": {"generic": "v3", "qa": "v1"},
        "sources": ["data/a.txt", "data/b.pdf"],
        "dropped": pd.Series({"generic.status=failed: timeout": 2, "label=bad": 1}),
    }
    ds = export_hf(pairs, tmp_path / "ds", card=card)
    back = datasets.load_from_disk(str(tmp_path / "ds"))
    assert back.to_list() == ds.to_list() == pairs.to_dict("records")
    assert back.features["conversations"] == datasets.List({"from": datasets.Value("string"),
                                                             "value": datasets.Value("string")})
    assert (tmp_path / "ds" / "README.md").read_text(encoding="utf-8") == (
        "# Dataset card\n\nLoad with `datasets.load_from_disk(<this folder>)`.\n\n## Counts\n\n"
        "- rows: 2 (one conversation each)\n"
        "- multi-turn conversations: 1\n"
        "- turns: 8 (system 2, human 3, gpt 3)\n"
        "\n## Provenance\n\n"
        "- model: smollm2-135m\n"
        "- prompt versions:\n  - generic: v3\n  - qa: v1\n"
        "- sources:\n  - data/a.txt\n  - data/b.pdf\n"
        "- dropped:\n  - generic.status=failed: timeout: 2\n  - label=bad: 1\n"
    )
    # A frame read back from the dataset (numpy arrays of dicts) exports like the original.
    export_jsonl(back.to_pandas(), tmp_path / "again.jsonl")
    export_jsonl(pairs, tmp_path / "orig.jsonl")
    again = (tmp_path / "again.jsonl").read_text(encoding="utf-8")
    assert again == (tmp_path / "orig.jsonl").read_text(encoding="utf-8")


def test_hf_refuses_empty_turn_before_writing(tmp_path, no_network):
    pairs = pairs_two()
    pairs.at[0, "conversations"] = [{"from": "human", "value": float("nan")}]
    with pytest.raises(ValueError, match=r"row id='c1', turn 0"):
        export_hf(pairs, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_an_empty_set_still_exports_with_its_card(tmp_path, no_network):
    """Every row dropped is a result too: the files exist and the card says 0."""
    import datasets

    empty = sharegpt(pd.DataFrame({"chunk_id": [], "q": [], "a": []}), human="{q}", gpt="{a}")
    assert export_jsonl(empty, tmp_path / "e.jsonl")["rows"] == 0
    assert (tmp_path / "e.jsonl").read_text() == ""
    export_hf(empty, tmp_path / "ds", card={"dropped": {"check=UNSUPPORTED": 6}})
    assert len(datasets.load_from_disk(str(tmp_path / "ds"))) == 0
    assert "- rows: 0 (one conversation each)" in (tmp_path / "ds" / "README.md").read_text()


def test_keep_gives_the_same_dtypes_when_every_row_is_kept():
    df = steps_frame()
    everything_ok = df.assign(**{"generic.status": "ok"}).drop(columns=["label", "note"])
    kept_all, none_dropped = keep(everything_ok, steps=("generic",))
    _, some_dropped = keep(df, steps=("generic",))
    assert len(none_dropped) == 0 and len(kept_all) == len(df)
    assert none_dropped["dropped_because"].dtype == some_dropped["dropped_because"].dtype
    assert none_dropped["dropped_because"].str.split(":").str[0].value_counts().to_dict() == {}
    assert kept_all.dtypes.to_dict() == everything_ok.dtypes.to_dict()


def test_labels_gives_string_columns_for_zero_rows(tmp_path):
    df = pd.DataFrame({"chunk_id": ["a", "b"], "text": ["x", "y"]})
    df.attrs["folder"] = str(tmp_path)
    from toolkit import labels

    many, none = labels(df), labels(df.head(0))
    assert none[["label", "note"]].dtypes.to_dict() == many[["label", "note"]].dtypes.to_dict()
