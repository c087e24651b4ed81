"""What ner writes: ``files`` (strict JSON, atomic replacement), ``outputs`` (claiming, locking and swapping
output folders so that nothing a user owns is destroyed), ``console`` (durations printed for people). Standard
library only."""
