"""The one training loop of the core, on HF accelerate.

Single CPU by default; under `accelerate launch` or torchrun the same code runs data
parallel. Seeded, with a progress bar and resumable checkpoints written as safetensors
plus JSON (nothing is pickled). Only parameters with `requires_grad` reach the optimiser,
and normalisation layers whose parameters are all frozen keep their running statistics.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import WzooError

BEST_WEIGHTS = "best_model.safetensors"


@dataclass
class TrainConfig:
    epochs: int = 10
    lr: float = 1e-3
    optimizer: str = "adamw"  # adam | adamw | sgd
    weight_decay: float = 0.0
    schedule: str = "constant"  # constant | cosine (with linear warm-up) | plateau
    warmup_epochs: float = 0.0
    plateau_patience: int = 10  # "plateau": epochs without a better `monitor` before the lr drops
    plateau_factor: float = 0.1  # "plateau": the lr is multiplied by this at each drop
    early_stopping: int | None = None  # stop after this many epochs without a better `monitor`
    batch_size: int | None = 64  # None: each item of the training data is a whole batch already
    drop_last: bool = False  # drop a last, smaller batch (a contrastive step on a few pairs means little)
    grad_clip: float | None = None
    seed: int = 0
    mixed_precision: str = "no"  # no | bf16
    checkpoint_dir: str | None = None
    resume: bool = True
    progress: bool = True
    find_unused_parameters: bool = False  # DDP: models whose forward skips some parameters
    monitor: str | None = None  # metric from `evaluate` that picks the best epoch
    monitor_mode: str = "max"  # max | min
    restore_best: bool = True  # with a monitor: end with the weights of the best epoch


@dataclass
class History:
    """Per-epoch records; `best_epoch` is 1-based (epochs to best)."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: int | None = None  # the last epoch run, when early stopping ended the run
    last_lr: float | None = None  # the optimiser's lr when the run ended (after a last plateau drop)

    def series(self) -> dict[str, list[float]]:
        keys = {k for e in self.epochs for k in e if k != "epoch"}
        return {k: [e.get(k, math.nan) for e in self.epochs] for k in sorted(keys)}


def fit(
    model: nn.Module,
    train_data,
    loss_fn: Callable[[nn.Module, Any], torch.Tensor] | None = None,
    config: TrainConfig | None = None,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    collate_fn=None,
    param_groups: list[dict] | None = None,
    scheduler: Callable | None = None,
) -> History:
    """Train an objective (`zoo_core.objectives`: a model and its loss) on `train_data` (a
    Dataset or DataLoader); or, as before, `model` with `loss_fn(model, batch)`.

    The objective's loss gets the run's `DistContext` (rank, world size, gather with
    gradients). `evaluate(model)` runs after every epoch on every rank and each number is
    averaged over ranks (shard the evaluation data by `DistContext.current().rank` to split
    the work); the numbers go into the history and pick the best epoch with
    `config.monitor`, whose weights the model ends with (`restore_best`). `param_groups`
    overrides the optimiser's groups (e.g. layer-wise lr decay); by default every trainable
    parameter. `scheduler(config, optimizer, steps_per_epoch)` returns a torch LR scheduler
    stepped once per batch (e.g. torch's LinearLR then CosineAnnealingWarmRestarts chained by
    SequentialLR); by default `config.schedule`: constant or cosine with linear warm-up, or
    "plateau" (torch's ReduceLROnPlateau on `config.monitor`, stepped once per epoch).
    `config.early_stopping` ends the run after that many epochs without a better monitor.
    With `config.batch_size=None` (or a DataLoader built with `batch_size=None`) every item is
    a whole batch, shuffled as items and, under many processes, dealt out to the ranks whole:
    the global batch is then one item per process (when the items do not divide evenly among
    the ranks, accelerate repeats the first ones to fill the last step, as for any loader).
    Each epoch record holds the `lr` it trained at (a plateau drop shows from the next epoch).
    """
    from .objectives import as_objective

    objective = as_objective(model, loss_fn)
    objective.prepare()
    with _only_in_use_trainable(objective):
        return _fit(objective, train_data, config, evaluate, collate_fn, param_groups, scheduler)


def _only_in_use_trainable(objective):
    """Freeze, for the run, the trainable parameters the objective's loss never reaches."""
    in_use = objective.modules_in_use()
    if in_use is None:
        return contextlib.nullcontext()
    reached = {id(p) for m in in_use for p in m.parameters()}
    idle = [p for p in objective.parameters() if p.requires_grad and id(p) not in reached]

    @contextlib.contextmanager
    def frozen():
        for p in idle:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in idle:
                p.requires_grad_(True)

    return frozen()


def _fit(objective, train_data, config, evaluate, collate_fn, param_groups, make_scheduler=None) -> History:
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, set_seed
    from torch.utils.data import DataLoader

    from .distributed import DistContext

    inner = objective.model
    cfg = config or TrainConfig()
    _check_config(cfg, make_scheduler, evaluate)
    set_seed(cfg.seed)
    ddp = DistributedDataParallelKwargs(find_unused_parameters=cfg.find_unused_parameters)
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, cpu=not torch.cuda.is_available(),
                              kwargs_handlers=[ddp])
    generator = torch.Generator().manual_seed(cfg.seed)
    if isinstance(train_data, DataLoader):
        loader = train_data
        if loader.batch_size is None and loader.batch_sampler is None:
            # accelerate cannot shard a loader without a batch sampler: deal its items out
            loader = _whole_batches(loader.dataset, _item_order(loader), generator, loader.collate_fn,
                                    loader.num_workers)
    else:
        if len(train_data) == 0:
            raise WzooError("training data is empty")
        from .data.dataset import WirelessDataset

        if cfg.batch_size is None:
            loader = _whole_batches(train_data, True, generator, collate_fn)
        elif collate_fn is None and isinstance(train_data, WirelessDataset):
            # whole batches, one gather per field; the same shuffle and sharding as below
            loader = train_data.loader(cfg.batch_size, shuffle=True, generator=generator, drop_last=cfg.drop_last)
        else:
            loader = DataLoader(train_data, batch_size=cfg.batch_size, shuffle=True, generator=generator,
                                collate_fn=collate_fn, drop_last=cfg.drop_last)
        if len(loader) == 0:
            raise WzooError(f"{len(train_data)} training samples make no whole batch of {cfg.batch_size}; "
                            "lower batch_size or set drop_last=False")
    objective.dist = DistContext.current()
    groups = param_groups or [{"params": [p for p in objective.parameters() if p.requires_grad]}]
    if not any(p.requires_grad for g in groups for p in g["params"]):
        raise WzooError("no trainable parameters: everything is frozen")
    optimizer = _optimizer(cfg, groups)
    # accelerate steps a prepared scheduler once per process per step: count global batches
    steps_per_epoch = max(1, len(loader))
    plateau = _plateau(cfg, optimizer)
    # the plateau schedule is stepped once per epoch on a rank-averaged number, so it stays
    # out of accelerate (whose scheduler wrapper steps once per process)
    scheduler = None if plateau else (make_scheduler or _scheduler)(cfg, optimizer, steps_per_epoch)
    if scheduler is None:
        model, optimizer, loader = accelerator.prepare(objective, optimizer, loader)
    else:
        model, optimizer, loader, scheduler = accelerator.prepare(objective, optimizer, loader, scheduler)
    lr_schedule = plateau or scheduler

    history, start, best_state = History(), 0, None
    ckpt = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else None
    if ckpt and cfg.resume:
        # a crash between the two renames of save_checkpoint leaves only the previous one
        for candidate in (ckpt, ckpt.with_name(ckpt.name + ".old")):
            if (candidate / "state.json").exists():
                start, history = load_checkpoint(candidate, accelerator.unwrap_model(model), optimizer, lr_schedule)
                best_state = load_best(candidate)
                break

    from tqdm.auto import tqdm

    # one bar for the whole run, advancing per batch (a bar per epoch sat at 0/N and vanished)
    bar = tqdm(total=cfg.epochs * steps_per_epoch, initial=start * steps_per_epoch, leave=False, unit="batch",
               desc=f"epoch {start + 1}/{cfg.epochs}", disable=not (cfg.progress and accelerator.is_main_process))
    for epoch in range(start, cfg.epochs):
        if _patience_spent(history, cfg):  # also when resuming a run that had stopped
            history.stopped_early = history.epochs[-1]["epoch"]
            break
        generator.manual_seed(cfg.seed + epoch)  # the shuffle of an epoch does not depend on resuming
        model.train()
        _keep_frozen_norms_in_eval(accelerator.unwrap_model(model))
        total, count = 0.0, 0
        bar.set_description(f"epoch {epoch + 1}/{cfg.epochs}")
        for batch in loader:
            with accelerator.autocast():
                loss = model(batch)
            if not torch.isfinite(loss):
                raise WzooError(f"loss became {loss.item()} at epoch {epoch + 1}; lower the lr or check the data")
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            if cfg.grad_clip:
                accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total, count = total + loss.item(), count + 1
            bar.update(1)
            bar.set_postfix(loss=f"{total / count:.4g}", **({cfg.monitor: f"{history.best_value:.4g}"}
                                                         if cfg.monitor and history.best_value is not None else {}))
        record = {"epoch": epoch + 1, "train_loss": accelerator.reduce(
            torch.tensor(total / max(count, 1), device=accelerator.device), "mean").item(),
            "lr": optimizer.param_groups[0]["lr"]}
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                scores = evaluate(inner)
            record.update({k: objective.dist.reduce_mean(v) for k, v in scores.items()})
        history.epochs.append(record)
        if _update_best(history, record, cfg) and cfg.monitor and cfg.restore_best:
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in inner.state_dict().items()}
        if plateau is not None:
            plateau.step(record[cfg.monitor])  # the same averaged number on every rank: same decision
        if ckpt and accelerator.is_main_process:
            save_checkpoint(ckpt, accelerator.unwrap_model(model), optimizer, lr_schedule, epoch + 1, history, cfg,
                            best_state)
        accelerator.wait_for_everyone()
    bar.close()
    history.last_lr = optimizer.param_groups[0]["lr"]
    if best_state is not None and history.best_epoch != history.epochs[-1]["epoch"]:
        inner.load_state_dict(best_state)
    model.eval()
    return history


def _check_config(cfg: TrainConfig, make_scheduler, evaluate=None) -> None:
    if cfg.epochs < 1:
        raise WzooError("epochs must be at least 1")
    if cfg.batch_size is not None and cfg.batch_size < 1:
        raise WzooError(f"batch_size must be at least 1 (or None for data of whole batches), got {cfg.batch_size}")
    if cfg.schedule not in ("constant", "cosine", "plateau"):
        raise WzooError(f"schedule must be 'constant', 'cosine' or 'plateau', got {cfg.schedule!r}")
    if (cfg.schedule == "plateau" or cfg.early_stopping) and not cfg.monitor:
        raise WzooError("schedule='plateau' and early_stopping follow config.monitor: name a metric that "
                        "`evaluate` returns (e.g. monitor='val_loss', monitor_mode='min')")
    if cfg.monitor and evaluate is None:
        raise WzooError(f"config.monitor={cfg.monitor!r} needs an `evaluate(model)` that returns it; pass "
                        "evaluate= to fit")
    if cfg.schedule == "plateau":
        if make_scheduler is not None:
            raise WzooError("schedule='plateau' and a scheduler factory exclude each other; pass one")
        if cfg.warmup_epochs:
            raise WzooError("schedule='plateau' has no warm-up; set warmup_epochs=0")
        if not 0 < cfg.plateau_factor < 1 or cfg.plateau_patience < 0:
            raise WzooError(f"plateau_factor must be in (0, 1) and plateau_patience >= 0, got "
                            f"{cfg.plateau_factor} and {cfg.plateau_patience}")
    if cfg.early_stopping is not None and cfg.early_stopping < 1:
        raise WzooError(f"early_stopping must be at least 1 epoch (or None), got {cfg.early_stopping}")


def _plateau(cfg: TrainConfig, optimizer):
    """torch's ReduceLROnPlateau on the monitor; any improvement counts (threshold 0), as for
    picking the best epoch."""
    if cfg.schedule != "plateau":
        return None
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=cfg.monitor_mode, factor=cfg.plateau_factor,
                                                      patience=cfg.plateau_patience, threshold=0.0)


def _patience_spent(history: History, cfg: TrainConfig) -> bool:
    return bool(cfg.early_stopping and history.epochs and history.best_epoch is not None
                and history.epochs[-1]["epoch"] - history.best_epoch >= cfg.early_stopping)


def _item_order(loader) -> bool:
    """Whether a whole-batch loader shuffles its items; any other sampler (a subset, weights)
    is refused rather than replaced by all items in order."""
    from torch.utils.data import RandomSampler, SequentialSampler

    sampler = loader.sampler
    if isinstance(sampler, RandomSampler) and not sampler.replacement and sampler.num_samples == len(loader.dataset):
        return True
    if isinstance(sampler, SequentialSampler):
        return False
    raise WzooError(f"a loader of whole batches (batch_size=None) trains every item, in order or shuffled; its "
                    f"{type(sampler).__name__} is not supported: pass the items you want (e.g. a Subset)")


def _whole_batches(items, shuffle: bool, generator, convert=None, num_workers: int = 0):
    """A loader over items that are batches already, one item per step (and per rank)."""
    from torch.utils.data import DataLoader

    return DataLoader(items, batch_size=1, shuffle=shuffle, generator=generator, num_workers=num_workers,
                      collate_fn=_Unwrap(convert))


class _Unwrap:
    """collate_fn of one whole-batch item: the item itself (through `convert` when given)."""

    def __init__(self, convert=None):
        self.convert = convert

    def __call__(self, items: list):
        return items[0] if self.convert is None else self.convert(items[0])


def _optimizer(cfg: TrainConfig, groups):
    kinds = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    if cfg.optimizer not in kinds:
        raise WzooError(f"optimizer must be one of {', '.join(kinds)}, got {cfg.optimizer!r}")
    # foreach: one fused update over all tensors instead of a Python loop per tensor (torch
    # picks it only on CUDA by default); 1.3-1.4x faster steps on CPU, the same weights
    return kinds[cfg.optimizer](groups, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)


def _scheduler(cfg: TrainConfig, optimizer, steps_per_epoch: int):
    """Linear warm-up, then constant or cosine to zero (per step)."""
    total = cfg.epochs * steps_per_epoch
    warm = int(cfg.warmup_epochs * steps_per_epoch)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        if cfg.schedule == "constant":
            return 1.0
        progress = (step - warm) / max(1, total - warm)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _update_best(history: History, record: dict, cfg: TrainConfig) -> bool:
    """Record the epoch if it is the best so far; returns whether it is."""
    key = cfg.monitor or "train_loss"
    mode = cfg.monitor_mode if cfg.monitor else "min"
    value = record.get(key)
    if value is None:
        raise WzooError(f"monitor {key!r} is not among the evaluated metrics {sorted(record)}")
    better = history.best_value is None or (value > history.best_value if mode == "max" else value < history.best_value)
    if better:
        history.best_epoch, history.best_value = record["epoch"], value
    return better


def _keep_frozen_norms_in_eval(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            params = list(module.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                module.eval()


# ----------------------------------------------------------------- checkpoints
def save_checkpoint(folder: Path, model, optimizer, scheduler, epoch: int, history: History, cfg: TrainConfig,
                    best_state: dict | None = None) -> None:
    """model + optimiser tensors in safetensors, the rest in JSON, and the best epoch's model
    weights (so a resumed run still ends with them). Written to a side folder and swapped in
    by two renames; `fit` falls back to the `.old` folder if a crash falls between them."""
    from safetensors.torch import save_file

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}, str(tmp / "model.safetensors"))
    opt_state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, slots in opt_state["state"].items():
        for name, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{name}"] = value.detach().contiguous()
            else:
                scalars[f"{idx}.{name}"] = value
    tensors["rng.torch"] = torch.get_rng_state()
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    if best_state is not None:
        save_file({k: v.contiguous() for k, v in best_state.items()}, str(tmp / BEST_WEIGHTS))
    state = {
        "epoch": epoch,
        "param_groups": opt_state["param_groups"],
        "optimizer_scalars": scalars,
        "scheduler": {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"},
        "history": asdict(history),
        "config": asdict(cfg),
    }
    (tmp / "state.json").write_text(json.dumps(state, indent=1))
    old = folder.with_name(folder.name + ".old")
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(folder: Path, model, optimizer, scheduler) -> tuple[int, History]:
    from safetensors.torch import load_file

    state = json.loads((folder / "state.json").read_text())
    model.load_state_dict(load_file(str(folder / "model.safetensors")), strict=True)
    tensors = load_file(str(folder / "optimizer.safetensors"))
    torch.set_rng_state(tensors.pop("rng.torch"))
    slots: dict[int, dict[str, Any]] = {}
    for key, value in list(tensors.items()) + list(state["optimizer_scalars"].items()):
        idx, name = key.split(".", 1)
        slots.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": slots, "param_groups": state["param_groups"]})
    sched = scheduler.state_dict()
    sched.update(state["scheduler"])
    scheduler.load_state_dict(sched)
    return state["epoch"], History(**state["history"])


def load_best(folder: Path) -> dict | None:
    """The best epoch's weights a checkpoint kept (of the model `fit` trains), if any."""
    from safetensors.torch import load_file

    path = folder / BEST_WEIGHTS
    return load_file(str(path)) if path.exists() else None


@contextlib.contextmanager
def threads(n: int | None):
    """Run a block with torch using `n` threads (None or 0: unchanged), then restore the count."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def batches(tensors: Iterable[torch.Tensor], batch_size: int):
    """Slices of aligned tensors, for evaluation loops without a DataLoader."""
    tensors = list(tensors)
    n = len(tensors[0])
    for i in range(0, n, batch_size):
        yield [t[i:i + batch_size] for t in tensors]
