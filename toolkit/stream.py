"""Headless runs over corpora larger than memory: the input in shards, Parquet shards out, resumable.

    out = tk.stream("chunks.parquet", [generic, qa], shard_rows=10_000)
    pairs = pd.read_parquet(out)          # the rows qa.run(generic.run(chunks)) would give

The input (a Parquet file or folder, or any iterable of DataFrames) is cut into shards of exactly
`shard_rows` rows; each shard goes through the steps in order, and each step's output for shard i
is written to `<folder>/shards/<step>/part-<i>.parquet` the moment it is done. Only one shard is
in memory at a time. After a crash or an interrupt, the same call skips the shards whose outputs
exist, and the step cache answers the calls of the shard that was cut short; `stream.json` beside
the shards refuses a rerun whose input, shard size or steps changed (the shards would not match).
(A provider's batch API is another thing: batch.py.)
The notebook API stays `Step.run` on a DataFrame; this is for `python -m toolkit run` and scripts.

But: shards run one after another, so the last slow rows of a shard hold up the next one; keep
`shard_rows` large compared with the LLM's concurrency.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from .files import atomic_write
from .llm import loop
from .report import StepRecord
from .steps import Step

Source = str | Path | pd.DataFrame | Iterable[pd.DataFrame]


def stream(source: Source, steps: Step | list[Step], *, shard_rows: int = 10_000,
           folder: str | Path | None = None, total: int | None = None, restart: bool = False,
           **constants) -> Path:
    """Run `steps` over `source` shard by shard; returns the folder of the last step's shards.

    folder:  the run folder for the shards (default: the first step's `llm.folder`).
    total:   input rows, for the progress bar, when `source` is an iterator (Parquet knows it).
    restart: delete the shards of an earlier streamed run into this folder first.
    """
    return loop.run_sync(astream(source, steps, shard_rows=shard_rows, folder=folder, total=total,
                                 restart=restart, **constants))


async def astream(source: Source, steps: Step | list[Step], *, shard_rows: int = 10_000,
                  folder: str | Path | None = None, total: int | None = None, restart: bool = False,
                  **constants) -> Path:
    steps = [steps] if isinstance(steps, Step) else list(steps)
    if not steps:
        raise ValueError("stream() needs at least one Step")
    if len({s.name for s in steps}) != len(steps):
        raise ValueError("two steps of one stream share a name: their shards would overwrite each other")
    if shard_rows < 1:
        raise ValueError(f"shard_rows must be a positive number of rows, got {shard_rows}")
    root = Path(folder or steps[0].llm.folder) / "shards"
    if restart and root.exists():
        shutil.rmtree(root)
    _claim(root, _fingerprint(source, steps, shard_rows, constants))
    records: list[StepRecord | None] = [None] * len(steps)  # each step's, over every shard
    bar = tqdm(total=total if total is not None else _rows_in(source), desc="stream", unit="row")
    try:
        columns: list[pd.DataFrame] = []  # the input's first frame, rowless: an empty input's columns
        for i, part in enumerate(_shards(source, shard_rows, columns)):
            frame = part
            for j, step in enumerate(steps):
                path = root / step.name / f"part-{i:06d}.parquet"
                if path.exists():
                    frame = None  # read only if a later step still needs it
                    continue
                if frame is None:
                    frame = pd.read_parquet(_previous(root, steps, step, i))
                bar.set_postfix(shard=i, step=step.name, refresh=False)
                frame, record = await step.execute(frame, constants, bar=False)
                if records[j] is None:
                    records[j] = StepRecord(**{**vars(record), "streamed": True})
                else:
                    records[j] += record
                _write(frame, path)
            bar.update(len(part))
        if not any((root / steps[-1].name).glob("part-*.parquet")):  # an empty input: empty shards
            frame = columns[0] if columns else _empty(source)
            for step in steps:
                frame, _ = await step.execute(frame, constants, bar=False)
                _write(frame, root / step.name / "part-000000.parquet")
    finally:
        bar.close()
    for step, record in zip(steps, records):
        if record is not None and record.rows:
            record.report(step.llm.folder)
    return root / steps[-1].name


def _shards(source: Source, shard_rows: int, columns: list) -> Iterator[pd.DataFrame]:
    """Exactly `shard_rows` rows per shard (the last may be shorter).

    Fixed boundaries are what make shard i of a rerun the same rows as shard i of the crashed run.
    Rows of a Parquet input are indexed by their position in it; frames keep their own index.
    `columns` gets the first frame without its rows.
    """
    positional = isinstance(source, (str, Path))
    pieces, held, start = [], 0, 0
    for piece in _pieces(source, shard_rows):
        if not columns:
            columns.append(piece.iloc[:0])
        while len(piece):
            take = piece.iloc[: shard_rows - held]
            piece = piece.iloc[len(take):]
            pieces.append(take)
            held += len(take)
            if held == shard_rows:
                yield _join(pieces, start, positional)
                pieces, held, start = [], 0, start + shard_rows
    if held:
        yield _join(pieces, start, positional)


def _join(pieces: list[pd.DataFrame], start: int, positional: bool) -> pd.DataFrame:
    part = pieces[0] if len(pieces) == 1 else pd.concat(pieces)
    return part.set_axis(pd.RangeIndex(start, start + len(part))) if positional else part


def _pieces(source: Source, shard_rows: int) -> Iterator[pd.DataFrame]:
    if isinstance(source, pd.DataFrame):
        yield source
    elif isinstance(source, (str, Path)):
        for record_batch in _dataset(source).to_batches(batch_size=shard_rows):
            yield record_batch.to_pandas()
    else:
        for piece in source:
            if not isinstance(piece, pd.DataFrame):
                raise TypeError(f"stream() reads DataFrames from an iterator, got "
                                f"{type(piece).__name__}")
            yield piece


def _dataset(source: str | Path):
    import pyarrow.dataset as ds

    path = _parquet(source)
    return ds.dataset(path, format="parquet")


def _empty(source: Source) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (str, Path)):
        return _dataset(source).schema.empty_table().to_pandas()
    raise ValueError("stream(): the iterator gave no DataFrame, so there are no columns to run on")


def _parquet(source: str | Path) -> Path:
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such Parquet file or folder")
    return path


def _rows_in(source: Source) -> int | None:
    if isinstance(source, pd.DataFrame):
        return len(source)
    if isinstance(source, (str, Path)):
        return _dataset(source).count_rows()
    return None


def _previous(root: Path, steps: list[Step], step: Step, i: int) -> Path:
    return root / steps[steps.index(step) - 1].name / f"part-{i:06d}.parquet"


def _write(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa

    frame = frame.copy(deep=False)
    frame.attrs = {}  # the summary is in the manifest; pyarrow would store it in every shard
    try:
        with atomic_write(path, "wb") as f:
            frame.to_parquet(f, index=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
        raise ValueError(f"{path}: this output cannot be stored as Parquet ({e}); a column mixes "
                         "types (e.g. a parser that returns a dict for some rows and text for "
                         "others): make the parser return one type per column") from None


def _fingerprint(source: Source, steps: list[Step], shard_rows: int, constants: dict) -> dict:
    """What the shards depend on: the input, the shard size, and each step's prompt and settings."""
    if isinstance(source, (str, Path)):
        path = _parquet(source)
        files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
        what = [[str(f), f.stat().st_size, f.stat().st_mtime_ns] for f in files]
    elif isinstance(source, pd.DataFrame):
        try:
            what = hashlib.sha256(pd.util.hash_pandas_object(source).to_numpy().tobytes()).hexdigest()
        except TypeError:  # cells holding lists or dicts cannot be hashed
            what = f"a DataFrame of {len(source)} rows (content not checked)"
    else:
        what = "an iterator of DataFrames (not checked)"
    return {"input": what, "shard_rows": shard_rows,
            "constants": json.loads(json.dumps(constants, default=str)),
            "steps": [{"name": s.name, "prompt_version": s.prompt.version, "model": s.llm.model,
                       "params": json.loads(json.dumps(s.params, default=str))} for s in steps]}


def _claim(root: Path, fingerprint: dict) -> None:
    """Refuse to mix shards of two different runs in one folder."""
    meta = root / "stream.json"
    if meta.exists():
        before = json.loads(meta.read_text(encoding="utf-8"))
        if before != fingerprint:
            changed = [k for k in fingerprint if before.get(k) != fingerprint[k]]
            raise ValueError(f"{root} holds shards of a different streamed run ({', '.join(changed)} "
                             "changed); pass restart=True to delete them, or folder= a new run folder")
        return
    with atomic_write(meta) as f:
        json.dump(fingerprint, f, indent=1)
