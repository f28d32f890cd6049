"""Training: fit the network on the training split, stop early on the validation split,
report on the test split once, export to ONNX, save.

The loop is deliberately plain (``train_one_epoch``, ``evaluate``, ``fit``, ``run``): AdamW,
a learning rate warmed up then decayed along a cosine, batch by batch; label smoothing;
early stopping on the validation loss, and the weights of the best epoch kept. Each epoch
ends with two checkpoints in ``train.checkpoints_dir``: ``last.pt`` (resume an interrupted
run with ``--resume``) and ``best.pt``. Each epoch's random numbers (shuffling,
augmentation) are drawn from a seed derived from (``train.seed``, epoch, process), so a
resumed run continues exactly as an uninterrupted one would have.

Launched by ``torchrun`` (``WORLD_SIZE`` > 1), every process trains on its own shard of
the training split with DistributedDataParallel; only the first process logs, writes
checkpoints and saves the model.

Change the schedule or the loss here; the network is in ``model.py``, the augmentations in
``transforms.py``, the numbers in ``configs/pipeline.yaml``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler, Subset
from tqdm import tqdm

from . import artefacts, export, model
from .artefacts import Metadata, Preprocessing
from .config import Settings
from .data import Item, Splits, data_hash, load_splits, open_image
from .model_dir import model_version, template_version
from .monitoring import reference
from .transforms import MEAN, STD, augmentation, preprocess

logger = logging.getLogger(__name__)

LAST, BEST = "last.pt", "best.pt"
CACHE_BYTES = 512 * 2**20
PARITY_IMAGES = 256
FORMAT = torch.channels_last
"""Each pixel's channels stored side by side: convolutions run about 1.5x faster on CPUs
this way (measured here: 173 vs 254 ms per training batch of 64 for the CNN at 32 px)."""


@dataclass(frozen=True)
class TrainingResult:
    """The saved model, and what experiment tracking records about the run that made it."""

    metadata: Metadata
    directory: Path
    params: dict[str, Any]
    scores: dict[str, float]


class ImageDataset(Dataset[tuple[torch.Tensor, int]]):
    """Images read from disk as they are needed; the decoded images are kept in memory up
    to ``CACHE_BYTES``, so a small dataset is decoded once, not once per epoch (a third of
    an epoch's work on the sample), and a large one still fits."""

    def __init__(
        self, items: list[Item], size: int, augment: Callable[[Image.Image], Image.Image] | None
    ) -> None:
        self.items, self.size, self.augment = items, size, augment
        self.cache: dict[int, Image.Image] = {}
        self.cached_bytes = 0

    def __len__(self) -> int:
        return len(self.items)

    def image(self, index: int) -> Image.Image:
        image = self.cache.get(index)
        if image is None:
            image = open_image(self.items[index].path)
            size = image.width * image.height * 3
            if self.cached_bytes + size <= CACHE_BYTES:
                self.cache[index] = image
                self.cached_bytes += size
        return image

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.image(index)
        if self.augment is not None:
            image = self.augment(image)  # a new image: the cached one stays as decoded
        # The same preprocessing as evaluation and the service: one function, no skew.
        return torch.from_numpy(preprocess(image, self.size)), self.items[index].label


@dataclass(frozen=True)
class Cluster:
    """The processes training together: one, or those ``torchrun`` started."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    local_world_size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_environment(cls) -> Cluster:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        return cls(
            rank=int(os.environ.get("RANK", "0")),
            local_rank=int(os.environ.get("LOCAL_RANK", "0")),
            world_size=world,
            local_world_size=int(os.environ.get("LOCAL_WORLD_SIZE", str(world))),
        )


def pick_device(cluster: Cluster) -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", cluster.local_rank % torch.cuda.device_count())
    if torch.backends.mps.is_available() and cluster.world_size == 1:
        return torch.device("mps")
    return torch.device("cpu")


def use_cores(cluster: Cluster, workers: int) -> int:
    """Compute threads: this process's share of the cores, less one per DataLoader worker
    and one for everything else on the machine; an explicit OMP_NUM_THREADS wins.

    Compute threads wait for each other at every layer, so a single busy core slows them
    all: on two cores shared with other work, a training run took 174 s with two threads
    and 65 s with one; with the machine nearly idle, two were 1.3x faster."""
    if "OMP_NUM_THREADS" not in os.environ:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        share = (cores or os.cpu_count() or 1) // cluster.local_world_size
        spare = 1 if share > 1 else 0
        torch.set_num_threads(max(1, share - workers - spare))
    return torch.get_num_threads()


def bfloat16_is_fast(device: torch.device) -> bool:
    """Whether to train in mixed precision: where the hardware computes bfloat16 natively
    (recent GPUs; CPUs with AVX512-BF16 or AMX: 88 instead of 206 ms per batch of 64 here).
    Elsewhere bfloat16 is emulated and slower, so training stays in float32. Weights,
    validation, export and serving are float32 either way."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    # A private helper (no public one exists); without it, float32 is the safe answer.
    native = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return device.type == "cpu" and native is not None and bool(native())


def seed_everything(*keys: int) -> None:
    """Seed Python, NumPy and PyTorch from ``keys`` (seed, epoch, process)."""
    seed = int(np.random.SeedSequence(list(keys)).generate_state(1)[0])
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  # the global generator user code and libraries draw from
    torch.manual_seed(seed)


@contextmanager
def process_group(cluster: Cluster, device: torch.device) -> Iterator[None]:
    """Join the other processes for DistributedDataParallel (gloo on CPU, nccl on GPUs)."""
    if cluster.world_size == 1 or dist.is_initialized():
        yield
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def warmup_cosine(
    optimiser: torch.optim.Optimizer, steps: int, warmup: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """The learning rate per batch: a linear warm-up over ``warmup`` steps (large early
    updates of a fresh network with batch norm diverge), then a cosine decay to zero at
    ``steps``."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        done = min(1.0, (step - warmup) / max(1, steps - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * done))

    return torch.optim.lr_scheduler.LambdaLR(optimiser, factor)


def train_one_epoch(
    network: nn.Module,
    loader: DataLoader[tuple[torch.Tensor, int]],
    optimiser: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
    progress: tqdm[Any],
    limit: int | None = None,
) -> float:
    """One pass over this process's shard of the training split; the mean loss."""
    mixed = bfloat16_is_fast(device)
    total, count = 0.0, 0
    for number, (images, labels) in enumerate(loader):
        if limit is not None and number >= limit:
            break
        images, labels = images.to(device, memory_format=FORMAT), labels.to(device)
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mixed):
            logits = network(images)
        # Label smoothing: no reward for ever more certain logits on images already right.
        loss = nn.functional.cross_entropy(logits.float(), labels, label_smoothing=0.1)
        torch.autograd.backward(loss)
        optimiser.step()
        scheduler.step()
        total += loss.item() * len(labels)
        count += len(labels)
        progress.update(1)
        progress.set_postfix(loss=f"{total / count:.3f}")
    return total / max(count, 1)


@torch.inference_mode()
def evaluate(
    network: nn.Module,
    loader: DataLoader[tuple[torch.Tensor, int]],
    device: torch.device,
    cluster: Cluster,
    limit: int | None = None,
) -> tuple[float, float]:
    """Loss and accuracy over every process's shard together (the same on each process)."""
    network.eval()
    sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss, correct, images
    for number, (images, labels) in enumerate(loader):
        if limit is not None and number >= limit:
            break
        images, labels = images.to(device, memory_format=FORMAT), labels.to(device)
        logits = network(images)
        sums[0] += nn.functional.cross_entropy(logits, labels, reduction="sum")
        sums[1] += (logits.argmax(1) == labels).sum()
        sums[2] += len(labels)
    if cluster.world_size > 1:
        dist.all_reduce(sums)
    loss, correct, images_seen = sums.tolist()
    return loss / max(images_seen, 1), correct / max(images_seen, 1)


@torch.inference_mode()
def predict(
    network: nn.Module, items: list[Item], size: int, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities for ``items`` (in order) and their labels."""
    network.eval()
    loader = DataLoader(ImageDataset(items, size, None), batch_size=128)
    probabilities = [
        torch.softmax(network(x.to(device, memory_format=FORMAT)), 1).cpu().numpy()
        for x, _ in loader
    ]
    return np.concatenate(probabilities), np.array([item.label for item in items])


def scores(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 (the mean of each class's F1, over the classes present)."""
    f1 = []
    for label in np.union1d(labels, predicted):
        true_positive = np.sum((predicted == label) & (labels == label))
        f1.append(2 * true_positive / (np.sum(predicted == label) + np.sum(labels == label)))
    return {"accuracy": float(np.mean(predicted == labels)), "f1_macro": float(np.mean(f1))}


def loaders(
    splits: Splits, settings: Settings, cluster: Cluster, device: torch.device
) -> tuple[DataLoader[tuple[torch.Tensor, int]], DataLoader[tuple[torch.Tensor, int]]]:
    """Training batches (each process its own shuffled shard) and validation batches."""
    size, config = settings.data.image_size, settings.train
    train_set = ImageDataset(splits.train, size, augmentation(size) if config.augment else None)
    # A last batch of one image would break batch norm (one value per channel, after
    # ResNet's last pooling): drop it then, and only then (another image each epoch).
    lone_last = len(splits.train) // cluster.world_size % config.batch_size == 1
    sampler: DistributedSampler[Any] | RandomSampler = (
        DistributedSampler(
            train_set, cluster.world_size, cluster.rank, seed=config.seed, drop_last=True
        )
        if cluster.world_size > 1
        else RandomSampler(train_set)
    )
    common: dict[str, Any] = {
        "num_workers": config.num_workers,
        "pin_memory": device.type == "cuda",
        "persistent_workers": False,
    }
    train_loader = DataLoader(
        train_set, config.batch_size, sampler=sampler, drop_last=lone_last, **common
    )
    # Validation is sharded too (no padding, unlike DistributedSampler), and summed.
    shard = Subset(
        ImageDataset(splits.val, size, None),
        range(cluster.rank, len(splits.val), cluster.world_size),
    )
    val_loader = DataLoader(shard, config.batch_size * 2, **common)
    return train_loader, val_loader


@dataclass
class Progress:
    """Where the run stands after an epoch: what ``last.pt`` holds besides the states."""

    epoch: int = 0
    best_loss: float = float("inf")
    best_accuracy: float = 0.0
    best_epoch: int = 0
    stale: int = 0
    """Epochs since the validation loss last improved."""


def identity(settings: Settings, classes: list[str]) -> dict[str, Any]:
    """What a checkpoint must match to be resumed by these settings."""
    config = settings.train
    return {
        "backbone": config.backbone,
        "weights": config.weights,
        "classes": classes,
        "image_size": settings.data.image_size,
        "seed": config.seed,
        "batch_size": config.batch_size,
    }


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``path`` whole or not at all: a run killed mid-write keeps the previous one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    torch.save(state, partial)
    os.replace(partial, path)


def load_checkpoint(path: Path, expected: dict[str, Any]) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"--resume: {path} not found; train without --resume first")
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("identity") != expected:
        raise ValueError(
            f"--resume: {path} was written by another setup ({state.get('identity')}); "
            f"these settings give {expected}. Train without --resume, or restore the settings"
        )
    return state


@dataclass(frozen=True)
class Fitted:
    network: nn.Module
    """The weights of the best epoch (lowest validation loss)."""
    splits: Splits
    progress: Progress


def with_overrides(settings: Settings, epochs: int | None, seed: int | None) -> Settings:
    """``settings`` with the command line's ``--epochs`` and ``--seed``, checked."""
    changes = {
        key: value for key, value in (("epochs", epochs), ("seed", seed)) if value is not None
    }
    config = type(settings.train).model_validate({**settings.train.model_dump(), **changes})
    return settings.model_copy(update={"train": config})


def fit(
    settings: Settings,
    *,
    resume: bool = False,
    dry_run: bool = False,
    cluster: Cluster | None = None,
    device: torch.device | None = None,
) -> Fitted:
    """The training loop: epochs until ``train.epochs`` or early stopping, checkpoints after
    each (first process only); a dry run stops after one batch of training and validation."""
    cluster = cluster or Cluster()
    device = device or torch.device("cpu")
    config = settings.train
    say = logger.info if cluster.main else (lambda *args: None)
    splits = load_splits(settings)
    if not splits.train or not splits.val or not splits.test:
        raise ValueError("training needs images in each of the train, val and test splits")
    say(
        "%d classes; %d train, %d val, %d test images; %s on %s (%s, %d thread(s), %d "
        "process(es))", len(splits.classes), len(splits.train), len(splits.val),
        len(splits.test), config.backbone, device,
        "bfloat16" if bfloat16_is_fast(device) else "float32", torch.get_num_threads(),
        cluster.world_size,
    )  # fmt: skip
    seed_everything(config.seed)
    network = model.build(config.backbone, len(splits.classes), config.weights)
    network = network.to(device).to(memory_format=FORMAT)
    optimiser = torch.optim.AdamW(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    train_loader, val_loader = loaders(splits, settings, cluster, device)
    steps = len(train_loader)
    scheduler = warmup_cosine(optimiser, config.epochs * steps, warmup=min(steps, 100))
    progress, expected = Progress(), identity(settings, splits.classes)
    best = {key: value.detach().clone() for key, value in network.state_dict().items()}
    checkpoints = config.checkpoints_dir
    if resume:
        state = load_checkpoint(checkpoints / LAST, expected)
        network.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        progress = Progress(**state["progress"])
        best = load_checkpoint(checkpoints / BEST, expected)["model"]
        say("resuming after epoch %d from %s", progress.epoch, checkpoints / LAST)
    # Transfer learning trains the new head alone first (model.freeze_backbone says why).
    freeze_until = config.freeze_epochs if config.weights is not None else 0
    limit = 1 if dry_run else None
    wrapped: nn.Module = network
    frozen: bool | None = None
    first_epoch, loop_started = progress.epoch, time.perf_counter()
    while progress.epoch < config.epochs and progress.stale < config.patience:
        epoch = progress.epoch + 1
        if frozen != (epoch <= freeze_until):
            frozen = epoch <= freeze_until
            model.freeze_backbone(network, frozen)
            # DDP registers the parameters that train when it is built: build it again.
            wrapped = network if cluster.world_size == 1 else DistributedDataParallel(network)
        seed_everything(config.seed, epoch, cluster.rank)
        if isinstance(train_loader.sampler, DistributedSampler):
            train_loader.sampler.set_epoch(epoch)
        epoch_started = time.perf_counter()
        model.train_mode(network)
        bar = tqdm(
            total=limit or len(train_loader), desc=f"epoch {epoch}/{config.epochs}",
            leave=False, disable=not (cluster.main and sys.stderr.isatty()),
        )  # fmt: skip
        with bar:
            train_loss = train_one_epoch(
                wrapped, train_loader, optimiser, scheduler, device, bar, limit
            )
        # The bare network: the processes' copies are equal, and DDP's forward would expect
        # every process to run as many batches as the others.
        val_loss, val_accuracy = evaluate(network, val_loader, device, cluster, limit)
        improved = val_loss < progress.best_loss
        if improved:
            best = {key: value.detach().clone() for key, value in network.state_dict().items()}
            progress = Progress(epoch, val_loss, val_accuracy, epoch, stale=0)
        else:
            progress = replace(progress, epoch=epoch, stale=progress.stale + 1)
        say(
            "epoch %d/%d: train loss %.4f, val loss %.4f, val accuracy %.4f%s (%.1f s)",
            epoch, config.epochs, train_loss, val_loss, val_accuracy,
            " (best)" if improved else "", time.perf_counter() - epoch_started,
        )  # fmt: skip
        if dry_run:
            break
        if cluster.main:
            state = {
                "identity": expected,
                "model": network.state_dict(),
                "optimiser": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "progress": asdict(progress),
            }
            save_checkpoint(checkpoints / LAST, state)
            if improved:
                save_checkpoint(checkpoints / BEST, state)
    if progress.stale >= config.patience:
        say("early stop: no better validation loss for %d epochs", config.patience)
    seconds = time.perf_counter() - loop_started
    say(
        "%d epoch(s) in %.1f s: %.2f epochs/s",
        progress.epoch - first_epoch, seconds, (progress.epoch - first_epoch) / max(seconds, 1e-9),
    )  # fmt: skip
    network.load_state_dict(best)
    return Fitted(network, splits, progress)


def run(
    settings: Settings,
    *,
    epochs: int | None = None,
    seed: int | None = None,
    dry_run: bool = False,
    resume: bool = False,
) -> TrainingResult | None:
    """Train, score on test, export and save the model (the first process saves; every
    process returns its result). A dry run checks the whole path on one batch, export
    included, saves nothing and returns None."""
    started = time.perf_counter()
    settings = with_overrides(settings, epochs, seed)
    cluster = Cluster.from_environment()
    device = pick_device(cluster)
    use_cores(cluster, settings.train.num_workers)
    with process_group(cluster, device):
        fitted = fit(settings, resume=resume, dry_run=dry_run, cluster=cluster, device=device)
        result = finish(settings, fitted, device, started, dry_run) if cluster.main else None
        if cluster.world_size > 1:
            shared = [result]  # the saved model's result, for every process
            dist.broadcast_object_list(shared, src=0)
            result = shared[0]
    return result


def finish(
    settings: Settings, fitted: Fitted, device: torch.device, started: float, dry_run: bool
) -> TrainingResult | None:
    """Score the best epoch's network on test, export it, check the export, save it (a dry
    run checks it all on one batch and saves nothing)."""
    size, config = settings.data.image_size, settings.train
    network, splits, progress = fitted.network, fitted.splits, fitted.progress
    test = splits.test[: config.batch_size] if dry_run else splits.test
    probabilities, labels = predict(network, test, size, device)
    test_metrics = scores(labels, probabilities.argmax(1))
    # Real test images, a few hundred at most: enough to catch an export that differs.
    images = np.stack([preprocess(open_image(item.path), size) for item in test[:PARITY_IMAGES]])
    trained_at = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as folder:
        exported = Path(folder)
        export.to_onnx(network, size, exported / artefacts.ONNX_FILE)
        # Checked before anything is saved: an export that fails parity is never shipped.
        parity = export.parity(network, exported / artefacts.ONNX_FILE, images)
        logger.info(
            "best epoch %d of %d; test %s; ONNX parity %.2g",
            progress.best_epoch, progress.epoch,
            ", ".join(f"{key} {value:.4f}" for key, value in test_metrics.items()),
            parity.max_abs_diff,
        )  # fmt: skip
        if dry_run:
            logger.info("dry run: the loop, the export and its check work; nothing saved")
            return None
        speed = export.throughput(network, exported / artefacts.ONNX_FILE, images)
        hashed = data_hash(splits)
        weights = {key: value.cpu().contiguous() for key, value in network.state_dict().items()}
        torch.save(weights, exported / artefacts.WEIGHTS_FILE)
        metadata = Metadata(
            model_version=model_version(trained_at, hashed),
            trained_at=trained_at,
            variant="vision",
            task="image-classification",
            primary_metric="accuracy",
            test_metrics=test_metrics,
            data_hash=hashed,
            template_version=template_version(),
            classes=splits.classes,
            backbone=config.backbone,
            preprocessing=Preprocessing(image_size=size, mean=MEAN, std=STD),
            parity=parity,
            throughput=speed,
            epochs=progress.epoch,
            train_seconds=round(time.perf_counter() - started, 1),
            weights=model.weight_count(network),
        )
        directory = artefacts.save(
            settings.paths.models_dir,
            metadata,
            reference(splits, predict(network, splits.val, size, device)[0].astype(np.float64)),
            lambda staging: [
                shutil.copyfile(exported / name, staging / name)
                for name in (artefacts.ONNX_FILE, artefacts.WEIGHTS_FILE)
            ],
        )
    logger.info("saved model %s in %s", metadata.model_version, directory)
    return TrainingResult(
        metadata=metadata,
        directory=directory,
        params={
            "backbone": config.backbone,
            "weights": config.weights or "none",
            "image_size": size,
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "learning_rate": config.learning_rate,
            "weight_decay": config.weight_decay,
            "freeze_epochs": config.freeze_epochs,
            "patience": config.patience,
            "augment": config.augment,
            "seed": config.seed,
        },
        scores={
            "val_loss": progress.best_loss,
            "val_accuracy": progress.best_accuracy,
            "best_epoch": float(progress.best_epoch),
            "epochs_trained": float(progress.epoch),
        },
    )
