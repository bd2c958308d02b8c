"""The process's own figures, with the names Prometheus client libraries use.

An alert on memory growth, descriptor exhaustion or a restart loop should
read the same on a Baliza node as on anything else the operator scrapes, so
the names and units are those of the standard ``process_*`` metrics. Linux's
``/proc`` answers most of them; where it is absent (another system) those
lines are left out rather than invented.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

# Taken when the node's code is loaded, which is when its process starts.
STARTED_S = time.time()


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessStats:
    """One reading of the process: CPU seconds, memory, descriptors, start time."""

    cpu_seconds: float
    start_time_seconds: float
    resident_memory_bytes: int | None
    virtual_memory_bytes: int | None
    open_fds: int | None
    max_fds: int


def read_process_stats() -> ProcessStats:
    """Read the figures now (a few small reads of ``/proc/self``)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    resident = virtual = None
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = statm.read().split()
        page = os.sysconf("SC_PAGE_SIZE")
        virtual, resident = int(pages[0]) * page, int(pages[1]) * page
    except OSError:
        pass
    try:
        open_fds: int | None = len(os.listdir("/proc/self/fd"))
    except OSError:
        open_fds = None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return ProcessStats(
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        start_time_seconds=STARTED_S,
        resident_memory_bytes=resident,
        virtual_memory_bytes=virtual,
        open_fds=open_fds,
        max_fds=soft,
    )
