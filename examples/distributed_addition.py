"""Digit addition trained on several processes with torch.distributed, or on one with the same global batch.

    torchrun --nnodes=1 --nproc_per_node=2 examples/distributed_addition.py   # 2 processes on this host
    python examples/distributed_addition.py                                   # 1 process, same results

Every process builds the model and compiles the template once; each epoch is
one seeded shuffle split between the processes (``DistributedSampler``), with
``--global-batch`` examples per step over all processes, gradients averaged
by ``DistributedDataParallel`` (gloo on CPU, NCCL on GPUs). Rank 0 prints and
writes the logs and checkpoints; ``--resume`` continues a run from them. The
test pairs are then answered by ``plait.answer_all``, each process its share.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

import plait
from plait.nn.data import addition_split, load_digits
from plait.nn.networks import DigitNet

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--n-train", type=int, default=2048, help="training examples (pairs of train images)")
    ap.add_argument("--global-batch", type=int, default=32, help="examples per step over all processes")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-dir", default="runs/distributed_addition")
    ap.add_argument("--resume", action="store_true", help="continue from --log-dir's training state")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)  # the network is tiny: one thread per process
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if args.global_batch % world:
        ap.error(f"--global-batch {args.global_batch} is not a multiple of the {world} processes")
    split = load_digits(seed=args.seed)
    train_ex, test_ex = addition_split(split, n_digits=1, n_train=args.n_train, seed=args.seed)
    torch.manual_seed(args.seed)
    model = plait.Model.from_file(HERE / "addition.pl", {"digit_net": DigitNet(image_size=8)})

    def pairs(images: torch.Tensor, ex) -> plait.QueryData:
        return plait.QueryData({"A": plait.Gather(images, ex.a[:, 0]), "B": plait.Gather(images, ex.b[:, 0])}, ex.sums)

    train, test = pairs(split.train_images, train_ex), pairs(split.test_images, test_ex)
    history = plait.fit(
        model,
        "addition(A, B, Z)",
        train,
        test=test,
        epochs=args.epochs,
        batch_size=args.global_batch // world,  # per process
        lr=args.lr,
        seed=args.seed,
        log_dir=args.log_dir,
        resume=args.resume,
        progress=not args.no_progress,
        distributed=plait.DistributedOptions(),  # also as one process: the same order as several
    )
    probs = plait.answer_all(model, "addition(A, B, Z)", test, batch_size=256, progress=not args.no_progress)
    last = dict(history.last)
    if probs is not None:  # rank 0 (or a single process)
        last["answered_accuracy"] = float((probs.argmax(-1) == test_ex.sums).float().mean())
        print(f"processes: {world}, global batch {args.global_batch}, epochs {len(history)}")
        print(f"test sum accuracy: {last['test_accuracy']:.3f}  ({len(test)} test pairs)")
        share = last["answered_accuracy"]
        print(f"answered {len(probs)} test pairs in batches: accuracy of the most likely sum {share:.3f}")
        print(f"weights in {args.log_dir}/checkpoint.safetensors")
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return last


if __name__ == "__main__":
    main()
