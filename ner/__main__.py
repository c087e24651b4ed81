"""``python -m ner`` runs the command line."""

from ner.cli import run

run()
