"""The per-Python table (``pythons.sh``): each ``workers.json`` given, the first the baseline."""

import json
import sys
from pathlib import Path

from bench import python_markdown

if __name__ == "__main__":
    by_python = {}
    for path in sys.argv[1:]:
        results = json.loads(Path(path).read_text())
        by_python[results["machine"]["python"].rsplit(".", 1)[0]] = results
    sys.stdout.write(python_markdown(by_python))
