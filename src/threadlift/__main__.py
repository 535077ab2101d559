"""``python -m threadlift``: the same command line as ``threadlift``."""

from threadlift.cli import main

main()
