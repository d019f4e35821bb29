"""Core overheads, each measured side by side with its baseline and printed as a ratio.

1. `wzoo list` as a whole process against `python -c "import torch"`.
2. `from_pretrained` from a local folder, and from the Hub cache (pushed to a loopback Hub
   first, then loaded with local_files_only), against `create_model` with random weights.

Run: .venv/bin/python benchmarks/bench_core.py [--repeats N]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def wall(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default=None, help="registered model (default: the largest installed)")
    args = parser.parse_args()

    torch_s = wall([sys.executable, "-c", "import torch"], args.repeats)
    list_s = wall([str(BIN / "wzoo"), "list"], args.repeats)
    print(f"wzoo list: {list_s * 1e3:7.0f} ms   import torch: {torch_s * 1e3:7.0f} ms   "
          f"ratio list/torch = {list_s / torch_s:.2f}")

    # a loopback Hub for the cache measurement; huggingface_hub reads these at import
    import os

    from zoo_core.testing.hub_server import LoopbackHub

    hub = LoopbackHub().start()
    hf_home = tempfile.mkdtemp(prefix="wzoo-bench-hf-")
    os.environ.update(HF_ENDPOINT=hub.url, HF_HOME=hf_home, HF_HUB_DISABLE_XET="1", HF_TOKEN="bench",
                      NO_PROXY="127.0.0.1,localhost", HF_HUB_DISABLE_PROGRESS_BARS="1")

    import torch

    import zoo_core

    name = args.model
    if name is None:
        from zoo_core.plugins import registry

        sizes = {}
        for spec in registry().items("model"):
            try:
                model = zoo_core.create_model(spec.name)
            except Exception:  # a model that needs an optional extra
                continue
            sizes[spec.name] = sum(p.numel() for p in model.parameters())
        name = max(sizes, key=sizes.get)
    torch.manual_seed(0)
    model = zoo_core.create_model(name)
    params = sum(p.numel() for p in model.parameters())
    ref = "bench/model"
    model.push_to_hub(ref)
    zoo_core.from_pretrained(f"hf-hub:{ref}")  # fill the cache
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        create_s = timed(lambda: zoo_core.create_model(name), args.repeats)
        folder_s = timed(lambda: zoo_core.from_pretrained(tmp), args.repeats)
        cache_s = timed(lambda: zoo_core.from_pretrained(f"hf-hub:{ref}", local_files_only=True), args.repeats)
    hub.stop()
    print(f"{name} ({params / 1e6:.1f} M params): create_model {create_s * 1e3:.0f} ms   "
          f"from_pretrained(folder) {folder_s * 1e3:.0f} ms   from_pretrained(cache) {cache_s * 1e3:.0f} ms")
    print(f"ratio folder/create = {folder_s / create_s:.2f}   ratio cache/create = {cache_s / create_s:.2f}")


if __name__ == "__main__":
    main()
