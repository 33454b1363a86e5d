"""Every decision a person or a judge made on a run's outputs, each tied to the output it judged.

    store.py        the run folder's review store (review.sqlite): an event log of labels, notes,
                    A/B picks, corrections and few-shot promotions, shared by every widget, kernel
                    and reviewer; add_decisions() writes decisions kept as data (JSONL) into it
    added.py        what the store brings in from files: decisions kept as data (JSONL), and the
                    labels.json / picks.json of before the store
    labels.py       labels() as a column, stale where the output changed since it was labelled
    corrections.py  correct(): your text for an output; `<column>.corrected` on a frame
    examples.py     the rows promoted to few-shot examples (tk.promote), left out of what they
                    would grade: a comparison's results and a judge's agreement
    picks.py        picks() as a column, on exactly the pair of outputs picked
    preferences.py  preference_pairs(): the A/B picks and the corrections as DPO pairs

What an output is to a decision (its text, its hash, stale or current) is toolkit/outputs.py. The
review widgets (toolkit/review/) write here and read from here; nothing here imports them, so what
decides what a dataset keeps (judge, agreement, keep, funnel) never reaches into the UI.
"""

from .corrections import correct
from .labels import LABELS, labels
from .picks import picks
from .preferences import preference_pairs
from .store import Store, add_decisions

__all__ = ["LABELS", "Store", "add_decisions", "correct", "labels", "picks", "preference_pairs"]
