"""crashdump_lab: a simulated Windows host for the crashdump.windows collection.

The public surface, for tests and tools:

    from crashdump_lab import open_host, crash, execute_batch
    with open_host(state_dir, "lab-win2022") as lab:    # locked; saved on exit
        outcome = crash(lab, "netsh.exe")                # WER LocalDumps semantics
        reply = execute_batch(lab, {"version": 1, "ops": [...]})
"""

from .agent import BatchError, execute_batch
from .defaults import default_state
from .faults import arm as arm_fault
from .processes import start_process
from .seed import apply_overlay, seed_host
from .state import Host, default_state_dir, load_state, open_host, reset_host, save_state
from .transport import ConnectionDropped, TransferError, Transport
from .wer import crash

__all__ = [
    "BatchError", "ConnectionDropped", "Host", "TransferError", "Transport", "apply_overlay", "arm_fault", "crash",
    "default_state", "default_state_dir", "execute_batch", "load_state", "open_host", "reset_host", "save_state",
    "seed_host", "start_process",
]
