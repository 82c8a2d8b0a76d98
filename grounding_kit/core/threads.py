"""``single_thread()``: run torch on one CPU thread for small tensor work.

Heads and widget callbacks work on small dense tensors, for which thread start-up and
synchronisation cost more than they save; on a busy machine waking idle threads costs far more
(measured here: 0.7 ms vs 200 ms to embed one caption with the tiny CLIP).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def single_thread() -> Iterator[None]:
    """Set torch to one thread inside the block and restore the previous count after it.

    Where torch is not imported yet there is no torch work to pace, and the block runs as it is:
    a widget that reads cached numpy grids never imports torch for its callbacks.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
