"""Binds adapters.triton.serving into PyTriton and runs until SIGTERM / SIGINT."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from adapters.inference.offline import force_offline
from runners.settings import ConfigError, Settings

log = logging.getLogger("confero.inference")


def _infer_fn(models: Any, model: str) -> Callable[[list[Any]], list[dict[str, Any]]]:
    import numpy as np

    from adapters.triton.serving import handle_batch

    def infer(requests: list[Any]) -> list[dict[str, Any]]:
        # Each request may itself carry several rows; flatten, answer, and split back per request.
        rows, sizes = [], []
        for request in requests:
            payload, aux, params = (np.asarray(request[name]).reshape(-1) for name in ("PAYLOAD", "AUX", "PARAMS"))
            sizes.append(len(payload))
            rows += [(bytes(p), bytes(a), bytes(q)) for p, a, q in zip(payload, aux, params, strict=True)]
        answers = handle_batch(models, model, rows)
        out, at = [], 0
        for size in sizes:
            chunk = answers[at:at + size]
            at += size
            out.append({"RESULT": np.array([[r] for r, _ in chunk], dtype=object),
                        "DATA": np.array([[d] for _, d in chunk], dtype=object)})
        return out

    return infer


def main() -> int:
    force_offline()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as error:
        log.error("%s", error)
        return 2
    import numpy as np
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.triton import Triton, TritonConfig

    from adapters.inference.models import ModelSet
    from adapters.triton import wire
    from adapters.triton.serving import SERVED

    models = ModelSet(asr_threads=settings.inference_threads)
    models.warm_up()  # load every weight before reporting ready: the first call must not pay it
    config = TritonConfig(
        http_address=settings.host, http_port=settings.inference_http_port,
        grpc_address=settings.host, grpc_port=settings.inference_grpc_port,
        metrics_address=settings.host, metrics_port=settings.inference_metrics_port,
        exit_timeout_secs=5, log_verbose=0)
    max_batch = settings.inference_max_batch
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    triton = Triton(config=config)
    try:
        for name in SERVED:
            triton.bind(
                # One instance per model: PyTriton's second instance waits only 1 s for the first's
                # handshake socket, and on a loaded machine it missed it and the model failed to load.
                model_name=name, infer_func=_infer_fn(models, name),
                inputs=[Tensor(name=n, dtype=np.bytes_, shape=(1,)) for n in wire.INPUTS],
                outputs=[Tensor(name=n, dtype=np.bytes_, shape=(1,)) for n in wire.OUTPUTS],
                # max_batch 1 leaves the dynamic batcher nothing to merge: batching off, same wire shapes.
                config=ModelConfig(max_batch_size=max_batch, batcher=DynamicBatcher(
                    max_queue_delay_microseconds=settings.inference_batch_delay_us)),
                strict=False)
        triton.run()
        log.info("triton ready: http %s:%d grpc %s:%d, max batch %d", settings.host, settings.inference_http_port,
                 settings.host, settings.inference_grpc_port, max_batch)
        while not stop.wait(1.0):
            if not triton.is_alive():
                log.error("tritonserver exited")
                return 1
        return 0
    finally:
        triton.stop()
        log.info("triton stopped")
