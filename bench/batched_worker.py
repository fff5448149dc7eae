"""Run a service worker with bench/batched_consumer.py's consumer: `python bench/batched_worker.py services.issuer.worker`."""

import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import shared.worker  # noqa: E402
from bench.batched_consumer import BatchedEventConsumer  # noqa: E402

shared.worker.EventConsumer = BatchedEventConsumer  # run_worker looks the class up when it starts
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
