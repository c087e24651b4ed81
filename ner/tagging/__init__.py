"""Tagging inputs of any size: files streamed in shards (``shards``), rendered as ``ner tag`` prints them
(``render``), tagged by this process, worker processes or Ray, resumable (``run``)."""
