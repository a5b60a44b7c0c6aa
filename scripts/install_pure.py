"""Install oa-supervisor without a Rust toolchain: dependencies, a .pth file and the console script.

Used by the Makefile when `cargo` is missing (`--runtime`: without the dev extras, for `make run`).
The package then runs on the pure-Python twin of the native hot path (`OA_JSONL_BACKEND=python` is
implied) and says so at start.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(meta["dependencies"])
    if "--runtime" not in sys.argv[1:]:
        deps += list(meta["optional-dependencies"]["dev"])
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", *deps])
    site = Path(sysconfig.get_paths()["purelib"])
    (site / "oa_supervisor_src.pth").write_text(str(ROOT) + "\n")
    script = Path(sys.executable).parent / "oa-supervisor"
    script.write_text(f"#!{sys.executable}\nfrom oa_actors.cli import main\nraise SystemExit(main())\n")
    script.chmod(0o755)
    print("installed oa-supervisor (pure-Python twin; no native extension)")


if __name__ == "__main__":
    main()
