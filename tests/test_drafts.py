"""tk.draft: the working copy of a prompt in the run folder, refreshed from its source unless edited."""

import pytest

import toolkit as tk


@pytest.fixture
def prompts(tmp_path):
    (tmp_path / "prompts").mkdir()
    v1, v2 = tmp_path / "prompts" / "v1.yaml", tmp_path / "prompts" / "v2.yaml"
    v1.write_text("messages:\n  - user: 'First {text}'\n")
    v2.write_text("messages:\n  - user: 'Second {text}'\n")
    return v1, v2, tmp_path / "run"


def test_a_draft_is_made_then_follows_its_source(prompts):
    v1, v2, folder = prompts
    path = tk.draft(v1, folder, name="generic.yaml")
    assert path == folder / "generic.yaml" and path.read_text() == v1.read_text()
    assert tk.load_prompt(path).placeholders == ["text"]
    v1.write_text("messages:\n  - user: 'First, changed {text}'\n")
    assert tk.draft(v1, folder, name="generic.yaml").read_text() == v1.read_text()  # not edited: refreshed
    assert tk.draft(v2, folder, name="generic.yaml").read_text() == v2.read_text()  # another source
    assert tk.draft(v1, folder, name="generic.yaml").read_text() == v1.read_text()  # a rerun starts over


def test_your_edit_is_never_overwritten(prompts):
    v1, v2, folder = prompts
    path = tk.draft(v1, folder)
    path.write_text("messages:\n  - user: 'Mine {text}'\n")
    for source in (v1, v2):
        with pytest.warns(UserWarning, match="has your edits"):
            assert tk.draft(source, folder, name="v1.yaml").read_text() == "messages:\n  - user: 'Mine {text}'\n"
    path.unlink()  # start over
    assert tk.draft(v1, folder).read_text() == v1.read_text()


def test_a_file_already_there_is_kept_unless_it_is_the_source(prompts):
    v1, _, folder = prompts
    folder.mkdir()
    (folder / "v1.yaml").write_text("messages:\n  - user: 'Made by hand {text}'\n")
    with pytest.warns(UserWarning, match="has your edits"):
        assert "by hand" in tk.draft(v1, folder).read_text()


def test_a_missing_source_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no prompt file .*nope.yaml"):
        tk.draft(tmp_path / "nope.yaml", tmp_path)


def test_a_draft_with_promoted_examples_is_kept_quietly_on_a_rerun_and_with_a_warning_for_another_source(prompts):
    """A notebook run again from the top calls tk.draft on the draft it promoted into: no warning, the
    turns kept; any other edit, or another source, still warns."""
    import warnings

    import pandas as pd

    v1, v2, folder = prompts
    path = tk.draft(v1, folder, name="generic.yaml")
    out = pd.DataFrame({"chunk_id": ["c0"], "text": ["x"], "first": ["An answer."], "first.status": ["ok"],
                        "first.prompt_version": [tk.load_prompt(path).version]})
    out.attrs["folder"] = str(folder)
    tk.promote(out, ["c0"], path, column="first")
    promoted = path.read_text()
    assert "An answer." in promoted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tk.draft(v1, folder, name="generic.yaml").read_text() == promoted
    with pytest.warns(UserWarning, match="has your edits"):
        assert tk.draft(v2, folder, name="generic.yaml").read_text() == promoted
    path.write_text(promoted + "# mine\n")
    with pytest.warns(UserWarning, match="has your edits"):
        tk.draft(v1, folder, name="generic.yaml")
