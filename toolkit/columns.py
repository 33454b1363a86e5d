"""The columns a step adds to a frame, named in one place.

A step called `generic` adds its output `generic` (or the columns a dict answer names) and
`generic.status` (ok / failed / skipped), `.error`, `.attempts`, `.raw`, `.reasoning`,
`.prompt_version`. Viewers, export and plots find the steps of a frame through `steps_in`.

But: the convention is all there is. A user column named `x.status` looks like a step called `x`.
"""

STATUSES = ("ok", "failed", "skipped")
STATUS_FIELDS = ("status", "error", "attempts", "raw", "reasoning", "prompt_version")


def column(step: str, field: str) -> str:
    """The name of one of a step's status columns: column("generic", "status") == "generic.status"."""
    return f"{step}.{field}"


def steps_in(df) -> list[str]:
    """The steps that ran on `df`, in column order (each has a `<step>.status` column)."""
    return [str(c)[: -len(".status")] for c in df.columns if str(c).endswith(".status")]
