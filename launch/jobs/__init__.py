"""Job scripts: every job the project submits is one rendered sbatch script a reader sees whole.

``request`` holds the one resource model (the ``#SBATCH`` lines of every job kind); ``render`` fills the
per-kind templates (``rl.sh.in``: ``ray symmetric-run`` on every node; ``sft.sh.in``: torchrun per node;
``eval.sh.in``: one ``srun`` step per vLLM replica; ``cpu.sh.in``: data, distillation, export).
"""
