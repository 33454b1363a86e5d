"""tk.card: the data card's facts from the run folder's manifest, for the rows a frame holds."""

import datasets
import pytest

import toolkit as tk


def test_the_card_names_each_steps_prompt_model_and_counts(server, loopback_llm, prompt_file, rows, folder):
    llm = loopback_llm(server)
    path = prompt_file("params: {max_tokens: 40, temperature: 0.3}\nmessages:\n  - user: 'One {text}'\n")
    step = tk.Step("gen", path, llm, validate=lambda out, row: "no" if row["chunk_id"] == "c2" else None)
    step.run(rows(3, source=["a.md", "b.md", "a.md"]))              # the first version, then an edit
    path.write_text("params: {max_tokens: 40, temperature: 0.7}\nmessages:\n  - user: 'Two {text}'\n")
    out = step.run(rows(3, source=["a.md", "b.md", "a.md"]))
    kept, _ = tk.keep(out, steps=["gen"])
    facts = tk.card(kept, pipeline="demo", dropped={"gen: validator": 1})
    assert list(facts) == ["pipeline", "dropped", "model", "steps", "sources"]
    assert facts["model"] == "openai/loopback"
    assert facts["steps"]["gen"]["prompt version"] == step.prompt.version  # the edit's, not the first's
    assert facts["steps"]["gen"]["params"]["temperature"] == 0.7
    assert facts["steps"]["gen"]["rows"] == "2 ok, 0 failed, 0 skipped"
    assert facts["sources"] == ["a.md", "b.md"]
    tk.export_hf(tk.sharegpt(kept, human="{text}", gpt="{gen}"), "hf", card=facts)
    text = (folder / "hf" / "README.md").read_text()
    assert f"prompt version: {step.prompt.version}" in text and "gen: validator: 1" in text
    assert len(datasets.load_from_disk(str(folder / "hf"))) == 2


def test_a_frame_without_a_run_folder_is_refused(rows):
    with pytest.raises(ValueError, match="which run folder"):
        tk.card(rows(2))


def test_the_manifest_has_one_reader_that_knows_every_kind_of_line(tmp_path):
    from toolkit.report import read_manifest, write_manifest

    assert read_manifest(tmp_path) == {"step": [], "filter": [], "other": []}  # no manifest yet
    write_manifest(tmp_path, {"step": "gen", "rows": 2})
    write_manifest(tmp_path, {"filter": "supported", "rows": 2})
    with pytest.raises(ValueError, match="a manifest line holds one of"):
        write_manifest(tmp_path, {"rows": 2})  # a line of no kind is never written
    with open(tmp_path / "manifest.jsonl", "a") as f:
        f.write('{"checkpoint": 1}\n\n')  # a newer toolkit's line: kept apart, not a crash
    found = read_manifest(tmp_path)
    assert [e["step"] for e in found["step"]] == ["gen"] and [e["filter"] for e in found["filter"]] == ["supported"]
    assert found["other"] == [{"checkpoint": 1}]
    with open(tmp_path / "manifest.jsonl", "a") as f:
        f.write('{"step": "cut sh')  # a line cut short
    with pytest.raises(ValueError, match=r"manifest.jsonl, line 5: not a manifest line"):
        read_manifest(tmp_path)
