"""``inbox serve`` as a module, so that ``python -m cProfile -m bench.serve_inbox`` can
profile the real server exactly as the ``inbox`` script runs it."""

from __future__ import annotations

import sys

from server.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
