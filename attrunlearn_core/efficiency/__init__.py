"""The efficiency measurement (the paper's Table 2): per model, the latency of one unlearning epoch in end-to-end and
local mode, the speed-up, the peak memory of each, and plain fine-tuning of the same model as the reference.

- modes: what is measured, one process per mode
- settings: the config's `efficiency:` section and the spec one measurement reads
- memory: the peak memory of the timed epochs (CUDA allocator or RSS)
- measure: one mode of one model in a fresh process; `measure_efficiency` is the one entry point, called by the
  workflow's measure_efficiency jobs and, as `python -m attrunlearn_core.efficiency`, by efficiency/gpu_efficiency.py
- table: one row per model from its modes' measurements (EFFICIENCY_SCHEMA)

The models start from fresh weights: latency and memory do not depend on them, so a measurement needs no trained
baseline. Timed epochs follow a few untimed warm-up steps.
"""
