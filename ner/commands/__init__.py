"""One module per ``ner`` sub-command: ``HELP``, ``register(subparsers)`` and ``run(args)``. ``ner.cli``
imports every one to list them, so each imports what it runs inside ``run``: ``ner --help`` and ``ner tag``
stay fast and the backend is chosen before anything imports Keras."""
