"""A signal's flag read as a pass/fail judge: the verdict columns it stands for, and keep()'s gate
refusing an unmeasured flag, as it refuses an uncalibrated judge, until told to trust it."""

import pandas as pd
import pytest

import toolkit as tk
from toolkit.flags import Flag
from toolkit.frame import set_folder
from toolkit.outputs import output_hash


def frame(folder):
    df = pd.DataFrame({"chunk_id": ["c0", "c1", "c2"], "text": ["Paid 5 pounds.", "Paid 5 pounds.", "Paid."],
                       "generic": ["Paid 6 pounds.", "Paid 5 pounds.", None]})
    return tk.content_kept(set_folder(df, folder))


def test_a_flag_stands_for_a_pass_fail_verdict_on_the_present_output(folder):
    out = frame(folder)
    flag = Flag(out, "generic.content_flag")
    assert flag.judged == "generic"
    v = flag.verdicts(out)
    assert v["generic.content_flag"].tolist() == ["fail", "pass", None]
    assert v["generic.content_flag.status"].tolist() == ["ok", "ok", "skipped"]
    assert v["generic.content_flag.reason"].tolist() == ["lost number 5; invented number 6", "", None]
    assert v["generic.content_flag.judged"].tolist() == [output_hash(x) for x in out["generic"]]
    assert "generic.content_flag.status" not in out  # the signal's own frame has no step columns
    assert tk.frame.last_step(out.assign(**{"generic.status": "ok"})) == "generic"


def test_keep_refuses_an_unmeasured_flag_and_drops_on_a_trusted_one(folder):
    out = frame(folder)
    with pytest.raises(ValueError, match="measured on 0 of the 30 decisions"):
        tk.keep(out, steps=[], judge="generic.content_flag")
    kept, dropped = tk.keep(out, steps=[], judge="generic.content_flag", trust_judge=True)
    assert kept["chunk_id"].tolist() == ["c1"]
    assert dropped["dropped_because"].tolist() == [  # as a judge's: a row without a verdict goes too
        "generic.content_flag=fail: lost number 5; invented number 6",
        "generic.content_flag.status=skipped: no verdict"]


def test_a_column_that_is_no_flag_is_refused(folder):
    out = frame(folder)
    with pytest.raises(ValueError, match="not a signal's flag"):
        Flag(out, "generic.kept")
    with pytest.raises(KeyError, match="no column 'answer.grounding_flag'"):
        tk.agreement(out, "answer.grounding_flag")


def test_the_funnel_counts_a_flags_drops_and_the_chunks_that_gave_nothing(folder):
    out = frame(folder)
    chunks = pd.DataFrame({"chunk_id": ["c0", "c1", "c2", "c3"], "source": "a.md", "position": range(4),
                           "text": out["text"].tolist() + ["Never run."]})
    kept, dropped = tk.keep(out, steps=[], judge="generic.content_flag", trust_judge=True)
    f = tk.funnel(out, steps=[], judge="generic.content_flag", trust_judge=True,
                  coverage=tk.coverage(chunks, kept, dropped))
    assert f.kept == len(kept) == 1
    assert f.counts() == {"rows in": 3, "kept": 1, "generic.content_flag: judged fail": 1,
                          "generic.content_flag: no verdict": 1, "coverage: no pair from this chunk": 2}
    assert "2  coverage: no pair from this chunk (chunks, not rows)" in repr(f)
    assert tk.funnel(out, steps=[]).kept == 3  # without the flag nothing drops


def test_the_data_card_reports_what_each_signal_flagged(folder):
    out = frame(folder)  # a frame of the run folder; its manifest has no step lines (none ran)
    assert tk.card(out)["signals"] == {"generic.content_flag": "1 flagged of 2 measured"}
    assert "signals" not in tk.card(out.drop(columns=["generic.content_flag"]))
