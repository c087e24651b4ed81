"""``python -m ner`` runs the command line."""

import sys

from ner.cli import main

sys.exit(main())
