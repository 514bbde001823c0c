"""transforms.common.heap: the pages of texts let go are given back to the system."""

from __future__ import annotations

import sys

import psutil
import pytest

from transforms.common.heap import release_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_the_pages_of_texts_let_go_are_given_back():
    me = psutil.Process()
    release_freed_memory()
    # texts of 64 KB live in glibc's heap (over Python's 512 bytes, under glibc's mmap threshold); every
    # other one is kept, so the freed ones are holes in the heap, which glibc keeps resident by itself
    texts = [bytes([n % 251]) * 65_536 for n in range(400)]
    kept = texts[::2]
    freed = 200 * 65_536
    del texts
    resident = me.memory_info().rss
    assert release_freed_memory()
    assert resident - me.memory_info().rss > freed // 2  # most of the 12.5 MB let go; none without the trim
    assert len(kept) == 200
