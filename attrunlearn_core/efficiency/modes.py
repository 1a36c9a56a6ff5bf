"""What the efficiency measurement times, one process per mode so that each peak memory is that mode's own."""

# The method's two modes (local as shipped: its probe picks the schedule, see LocalSchedule; the probe runs in the
# untimed warm-up), local mode with each schedule forced (overlapped stages; sequential stages, the same updates one
# stage after the other) to separate the pipelining gain, end-to-end on one intra-op thread (how well the operators
# alone already use the cores, which bounds what overlapping the stages can add; CPU only) and plain fine-tuning.
MODES = ("fine_tune", "end_to_end", "end_to_end_one_thread", "local_sequential", "local_overlapped", "local")
CPU_ONLY_MODES = ("end_to_end_one_thread",)
