"""The names of the store's pull cursors, shared by every job that moves or reads them."""

from __future__ import annotations

LEAD_CURSOR = "lead"
SWEEP_CURSOR = "lead_sweep"
WRITE_CURSOR = "lead_written"  # when sfsync last wrote: the next pull must read its echoes
