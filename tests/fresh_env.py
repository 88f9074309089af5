"""A fresh environment for what a user installs: the wheel built from the checkout, and a virtualenv beside it.

Building the wheel and installing its dependencies from the registry would take minutes and the network; the
dependencies come from this environment's site-packages instead, through a folder of links to everything there
but this package (whose editable install would otherwise satisfy ``pip install cdk-cloudtrail-lake-import``).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "cdk_cloudtrail_lake_import"


def build_wheel(out: Path) -> Path:
    """The project's wheel, built into ``out``."""
    # setuptools builds in the checkout's build/ and egg-info: one build at a time across the suite's workers.
    with (ROOT / "build").with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
                       check=True, capture_output=True, timeout=600)
    (built,) = out.glob(f"{DISTRIBUTION}-*.whl")
    return built


def user_environment(path: Path, wheels: Path) -> dict[str, str]:
    """A virtualenv at ``path`` without this package, and the environment a shell in it needs: its bin first on
    PATH, and pip answering ``pip install cdk-cloudtrail-lake-import`` from ``wheels`` alone."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True, timeout=300)
    python = path / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    links = path / "dependencies"
    links.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if DISTRIBUTION not in entry.name and entry.suffix != ".pth":
            (links / entry.name).symlink_to(entry)
    # A plain path in a .pth file: the folder's own .pth files are not processed.
    (site / "dependencies.pth").write_text(f"{links}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CDK_OUTDIR", "VIRTUAL_ENV")}
    env.update(PATH=f"{path / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(path),
               PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env
