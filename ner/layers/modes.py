"""Process-wide execution modes of layers (how they compute, never what): read when a function is traced."""

import contextlib
from collections.abc import Iterator, Sequence


class Mode:
    """One named choice among ``choices`` (the first is the default), e.g. the CRF's time scan."""

    def __init__(self, what: str, choices: Sequence[str]):
        self.what, self.choices, self.value = what, tuple(choices), choices[0]

    def set(self, value: str) -> None:
        """Use ``value`` from now on; an unknown one raises ValueError naming the choices."""
        if value not in self.choices:
            raise ValueError(f"{self.what} must be one of {', '.join(self.choices)}, not {value!r}")
        self.value = value

    @contextlib.contextmanager
    def using(self, value: str) -> Iterator[None]:
        """``set(value)`` for the duration of a ``with`` block, then the previous value again."""
        previous = self.value
        self.set(value)
        try:
            yield
        finally:
            self.value = previous
