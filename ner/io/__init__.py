"""Files ner writes: ``files`` (strict JSON, atomic replacement), ``outputs`` (claiming, locking and swapping
output folders so that nothing a user owns is destroyed),
``console`` (durations as people read them). Standard library only."""
