"""Dataset files a user hands on get the mode any file they write gets: the umask's, not mkstemp's 0600.

Each case runs in a fresh process whose umask is set before the toolkit is imported (the toolkit
reads it once, at import), writes every kind of dataset file through the public functions, and
then a second process, running as another user, reads them back.
"""

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

WRITE = """
import os, sys
os.umask(int(sys.argv[2], 8))
import toolkit as tk
from tests.test_export import pairs_two
from tests.test_preferences import picked

out = sys.argv[1]
tk.export_jsonl(pairs_two(), f"{out}/sharegpt.jsonl")
tk.export_jsonl(pairs_two(), f"{out}/openai.jsonl", format="openai")
a, b = picked(f"{out}/run")
tk.preference_pairs(a, b, prompt="text", path=f"{out}/dpo.jsonl")
tk.export_hf(pairs_two(), f"{out}/hf")
"""


@pytest.fixture
def shared():
    """A folder another user can enter (pytest's own tmp folders are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="toolkit-modes-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


def written(folder: Path, umask: int) -> dict[str, int]:
    """Write the dataset files under `umask` in a fresh process; {file: permission bits}."""
    out = folder / f"umask{umask:03o}"
    out.mkdir()
    os.chmod(out, 0o755)
    subprocess.run([sys.executable, "-c", WRITE, str(out), f"{umask:o}"], cwd=ROOT, check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    files = [out / "sharegpt.jsonl", out / "openai.jsonl", out / "dpo.jsonl",
             *sorted(p for p in (out / "hf").iterdir() if p.is_file())]
    assert len(files) > 4 and {"README.md", "dataset_info.json"} <= {p.name for p in files}
    return {str(p): stat.S_IMODE(p.stat().st_mode) for p in files}


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_dataset_files_follow_the_umask(shared, umask, mode):
    modes = written(shared, umask)
    assert modes == dict.fromkeys(modes, mode), {p: oct(m) for p, m in modes.items()}


@pytest.mark.skipif(os.geteuid() != 0, reason="reading as another user needs root to switch users")
def test_another_user_can_read_what_was_written_under_umask_022(shared):
    modes = written(shared, 0o022)
    nobody = pwd.getpwnam("nobody")
    read = subprocess.run(  # the system's shell and cat: the venv's Python lives under /root (0700)
        ["/bin/sh", "-c", 'for f; do cat "$f" >/dev/null || exit 1; done; echo read $#', "sh", *modes],
        cwd=shared, user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[], capture_output=True, text=True)
    assert read.returncode == 0 and read.stdout.strip() == f"read {len(modes)}", read.stderr
    first = json.loads(Path(next(iter(modes))).read_text(encoding="utf-8").splitlines()[0])
    assert first["id"] == "c1"
