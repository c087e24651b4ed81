"""``python -m ner`` runs the command line."""

from ner.cli import run

if __name__ == "__main__":   # not when a spawned worker process imports this module as its main
    run()
