"""Where the work runs: the device, thread counts, worker processes and memory."""
