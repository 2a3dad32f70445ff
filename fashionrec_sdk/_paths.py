"""Where model bundles live: explicit path -> ``FASHIONREC_HOME`` -> the shipped bundle.

Nothing is ever downloaded: a bundle is a local directory or it is an error.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["SHIPPED_BUNDLE", "SHIPPED_VISION_BUNDLE", "resolve_bundle_dir"]

#: The default bundle committed inside the package (what ``pip install`` ships).
SHIPPED_BUNDLE = Path(__file__).resolve().parent / "models" / "default"

#: The vision bundle shipped inside the package (pose, person segmentation, sketches).
SHIPPED_VISION_BUNDLE = Path(__file__).resolve().parent / "models" / "vision"

ENV_HOME = "FASHIONREC_HOME"


def resolve_bundle_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Pick the bundle directory to load.

    1. ``path`` when given (a bundle directory or its ``manifest.json``);
    2. ``$FASHIONREC_HOME/bundle`` when that environment variable is set and the
       directory holds a ``manifest.json``;
    3. the bundle shipped inside the package.
    """
    if path is not None:
        p = Path(path).expanduser()
        return p.parent if p.name == "manifest.json" else p
    home = os.environ.get(ENV_HOME)
    if home:
        candidate = Path(home).expanduser() / "bundle"
        if (candidate / "manifest.json").is_file():
            return candidate
    return SHIPPED_BUNDLE
