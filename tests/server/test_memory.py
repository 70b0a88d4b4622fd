import platform

import pytest

from chinwag.server.memory import release_free_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_free_memory_goes_back_to_the_os_on_glibc() -> None:
    buffers = [bytes(64 * 1024) for _ in range(200)]  # heap, not mmap: under the threshold
    del buffers
    assert release_free_memory() is True
