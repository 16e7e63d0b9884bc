"""Export one figure per notebook into images/ for the README (`make figures`).

The figure is the first PNG output of the first code cell tagged ``readme-figure``, or, if no cell
has that tag, the first PNG output of the notebook. Figures therefore always come from the stored
outputs of a clean notebook run (`make outputs`), never from a separate script.
"""

from __future__ import annotations

import base64
import json
import sys

from lessonlib.dev.notebook_files import REPO as ROOT
from lessonlib.dev.notebook_files import notebook_paths


def first_png(nb: dict) -> bytes | None:
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    tagged = [c for c in code if "readme-figure" in c.get("metadata", {}).get("tags", [])]
    for cell in tagged + code:
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                return base64.b64decode(png if isinstance(png, str) else "".join(png))
    return None


def main() -> int:
    out_dir = ROOT / "images"
    out_dir.mkdir(exist_ok=True)
    missing = []
    for path in notebook_paths():
        png = first_png(json.loads(path.read_text()))
        if png is None:
            missing.append(path.name)
            continue
        target = out_dir / f"{path.stem}.png"
        target.write_bytes(png)
        print(f"{target.relative_to(ROOT)}  ({len(png) // 1024} KiB)")
    if missing:
        print(f"no figure found in: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
