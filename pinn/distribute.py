"""Data-parallel training with TensorFlow's own distribution engine, ``tf.distribute``.

pinn splits the loss's chunkable point sets (a Problem's collocation points) into one piece per
replica; each replica evaluates the sums, counts and gradient of its piece, and these are
all-reduced, so every phase (Adam, L-BFGS-B, any SciPy method) sees the single-device loss and
gradient to round-off. The optimizer's own step runs on the host, once per process, on the same
flat vector everywhere (every evaluation starts from the chief's). See
:class:`~pinn.objective.CompiledObjective` (``strategy=``) and :class:`~pinn.trainer.Trainer`.

- One machine, several GPUs: ``tf.distribute.MirroredStrategy()``.
- Several machines: ``tf.distribute.MultiWorkerMirroredStrategy()`` with ``TF_CONFIG`` set in each
  worker's environment (one process per machine, the same command everywhere); the chief (worker 0)
  writes the checkpoints.
- A CPU-only machine: :func:`strategy_for_devices` splits the CPU into N logical devices (for
  tests and for measuring communication cost; it does not add cores).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from pinn.validation import check_int

__all__ = ["strategy_for_devices", "is_chief"]


def strategy_for_devices(devices: int) -> Any:
    """A ``MirroredStrategy`` over ``devices`` GPUs where there are that many, else over
    ``devices`` logical CPU devices (configured here, so call it before TensorFlow has run
    anything). ``devices == 1`` returns None (no strategy: plain single-device evaluation).

    Raises:
        ValueError: ``devices`` < 1, more GPUs asked for than present while GPUs exist, or the CPU
            can no longer be split because TensorFlow has already started.
    """
    check_int(devices, "devices", minimum=1)
    if devices == 1:
        return None
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        if len(gpus) < devices:
            raise ValueError(f"devices must be at most the {len(gpus)} GPUs present, got {devices}")
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(devices)])
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
    except RuntimeError:
        present = len(tf.config.list_logical_devices("CPU"))
        if present != devices:
            raise ValueError(
                f"devices={devices}: TensorFlow has already started with {present} CPU device(s); "
                "ask for the devices before building models or running anything"
            ) from None
    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(devices)])


def is_chief(strategy: Any) -> bool:
    """Whether this process writes checkpoints and reports: True without a strategy or with a
    single-machine one; with a multi-worker strategy, the ``chief`` task, or worker 0 when the
    cluster has no chief."""
    resolver = getattr(strategy, "cluster_resolver", None) if strategy is not None else None
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    if resolver.task_type == "chief":
        return True
    cluster = resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and int(resolver.task_id) == 0 and "chief" not in cluster
