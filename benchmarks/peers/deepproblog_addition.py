"""DeepProbLog 2.1.0 peer for plait's digit-addition benchmark.

Runs INSIDE DeepProbLog's own virtualenv (benchmarks/peers/install_deepproblog.sh) and never
imports plait: it reads the very split plait trains on from an ``.npz``, builds the very
network plait uses from ``--network-file`` (plait's ``src/plait/nn/networks.py``, plain
torch), and trains it with DeepProbLog's own API the way DeepProbLog's MNIST addition example
does: ``Model`` over the program ``MNIST/models/addition.pl`` (``addition/3`` for N=1,
``multi_addition/3`` for N>1), ``ExactEngine`` with AC caching, tensor sources ``train`` /
``test``, queries with substitutions, ``DataLoader``, Adam on the ``Network``, and
``get_confusion_matrix`` for the test sum accuracy. It writes one JSON result.

The training loop is DeepProbLog's ``TrainObject.train`` loop unrolled (same calls:
``model.train()``, ``optimizer.zero_grad()``, ``TrainObject.get_loss`` with the semiring's
``cross_entropy``, ``optimizer.step()``) so each iteration can be timed and the run can stop
at ``--max-seconds``; an epoch that did not finish is reported as measured iterations plus an
extrapolated time per epoch, marked as such.

    benchmarks/out/peers/deepproblog-venv/bin/python benchmarks/peers/deepproblog_addition.py \
        --data split.npz --n-digits 1 --epochs 1 --batch-size 2 --lr 1e-3 --seed 0 \
        --network-file src/plait/nn/networks.py --max-seconds 600 --out result.json
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import platform
import random
import sys
import time
import warnings
from pathlib import Path

DEFAULT_PROGRAM = "/work/shared/conformance/deepproblog/MNIST__models__addition.pl"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help=".npz with the split (see benchmarks/peers/README.md)")
    ap.add_argument("--n-digits", type=int, required=True, help="digits per number (N)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=2, help="queries per batch (DeepProbLog's example: 2)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="where to write the JSON result")
    ap.add_argument(
        "--network-file", required=True, help="python file defining DigitNet(image_size, n_classes, softmax)"
    )
    ap.add_argument(
        "--program", default=DEFAULT_PROGRAM, help="DeepProbLog program with addition/3 and multi_addition/3"
    )
    ap.add_argument(
        "--max-seconds", type=float, default=None,
        help="training-time budget: stop (mid-epoch if need be) once spent, and do not start an epoch "
        "that is predicted to overrun it; unfinished epochs are extrapolated",
    )  # fmt: skip
    ap.add_argument(
        "--max-eval-seconds", type=float, default=None,
        help="budget for the test-sum evaluation (default: --max-seconds, if given); once spent, the "
        "accuracy is over the test prefix evaluated so far (noted in the JSON)",
    )  # fmt: skip
    ap.add_argument(
        "--init-weights", default=None,
        help="optional torch state_dict (.pt) for DigitNet's initial weights, e.g. the very ones plait starts from "
        "(default: torch.manual_seed(--seed) then DigitNet's own init)",
    )  # fmt: skip
    ap.add_argument("--no-shuffle", action="store_true", help="iterate the training queries in order")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--log-every", type=int, default=0, help="print progress every K iterations (0: quiet)")
    return ap.parse_args(argv)


def load_digitnet(path: str):
    spec = importlib.util.spec_from_file_location("peer_networks", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load a python module from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DigitNet


def main(argv=None) -> int:
    args = parse_args(argv)
    wall_start = time.time()
    notes: list[str] = []

    import numpy as np
    import torch

    # DeepProbLog's GraphSemiring.is_zero calls float() on a tensor that requires grad; torch
    # warns at every call. Harmless (only a comparison), so silenced to keep the logs readable.
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True to a scalar")
    # deepproblog.engines warns at import when pyswip (ApproximateEngine) is absent; this
    # peer uses ExactEngine only.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ApproximateEngine is not available")
        from deepproblog.dataset import DataLoader, Dataset
        from deepproblog.engines import ExactEngine
        from deepproblog.evaluate import get_confusion_matrix
        from deepproblog.model import Model
        from deepproblog.network import Network
        from deepproblog.query import Query
        from deepproblog.train import TrainObject
    from problog.logic import Constant, Term, list2term

    random.seed(args.seed)
    np.random.seed(args.seed)  # DeepProbLog's ExactEngine samples with numpy.random.choice
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)

    data = np.load(args.data)
    train_images = torch.from_numpy(np.ascontiguousarray(data["train_images"], dtype=np.float32))
    test_images = torch.from_numpy(np.ascontiguousarray(data["test_images"], dtype=np.float32))
    labels = {
        "train": np.asarray(data["train_labels"], dtype=np.int64),  # never shown to DeepProbLog: it learns from sums
        "test": np.asarray(data["test_labels"], dtype=np.int64),
    }
    test_labels = labels["test"]
    n = args.n_digits
    splits = {}
    for name in ("train", "test"):
        a = np.asarray(data[f"{name}_a"], dtype=np.int64).reshape(-1, n)
        b = np.asarray(data[f"{name}_b"], dtype=np.int64).reshape(-1, n)
        sums = np.asarray(data[f"{name}_sums"], dtype=np.int64).reshape(-1)
        if not (len(a) == len(b) == len(sums)):
            raise SystemExit(f"{name}: a, b and sums differ in length")
        splits[name] = (a, b, sums)
        place = 10 ** np.arange(n - 1, -1, -1)
        implied = (labels[name][a] * place).sum(1) + (labels[name][b] * place).sum(1)
        if len(sums) and not np.array_equal(implied, sums):
            notes.append(f"{name}_sums disagree with {name}_labels on {int((implied != sums).sum())} examples")
    image_size = int(train_images.shape[-1])

    class ImageSource:
        """Tensor source: ``tensor(train(I))`` is image I (``[1, S, S]``), like MNIST_Images."""

        def __init__(self, images: torch.Tensor) -> None:
            self.images = images

        def __getitem__(self, item):
            return self.images[int(item[0])]

    class AdditionDataset(Dataset):
        """DeepProbLog's MNISTOperator.to_query, over our index arrays and sums.

        N=1: ``addition(P0, P1, Sum)``; N>1: ``multi_addition([P0_0..], [P1_0..], Sum)``, with
        ``Pi_j`` substituted by ``tensor(<split>(Index))`` so the cached AC is shared by every
        query with the same sum.
        """

        def __init__(self, split: str) -> None:
            self.split = split
            self.a, self.b, self.sums = splits[split]

        def __len__(self) -> int:
            return len(self.sums)

        def to_query(self, i: int) -> Query:
            subs = {}
            var_names = []
            for k, number in enumerate((self.a[i], self.b[i])):
                inner = []
                for j, index in enumerate(number):
                    t = Term(f"p{k}_{j}")
                    subs[t] = Term("tensor", Term(self.split, Constant(int(index))))
                    inner.append(t)
                var_names.append(inner)
            expected = Constant(int(self.sums[i]))
            if n == 1:
                return Query(Term("addition", var_names[0][0], var_names[1][0], expected), subs)
            return Query(Term("multi_addition", list2term(var_names[0]), list2term(var_names[1]), expected), subs)

    DigitNet = load_digitnet(args.network_file)
    net_module = DigitNet(image_size, n_classes=10, softmax=True)
    if args.init_weights:
        net_module.load_state_dict(torch.load(args.init_weights, map_location="cpu", weights_only=True))
    network = Network(net_module, "mnist_net", batching=True)
    network.optimizer = torch.optim.Adam(net_module.parameters(), lr=args.lr)

    model = Model(args.program, [network])
    model.set_engine(ExactEngine(model), cache=True)
    model.add_tensor_source("train", ImageSource(train_images))
    model.add_tensor_source("test", ImageSource(test_images))

    train_set = AdditionDataset("train")
    test_set = AdditionDataset("test")
    loader = DataLoader(train_set, args.batch_size, shuffle=not args.no_shuffle, seed=args.seed)
    iters_per_epoch = len(loader)

    trainer = TrainObject(model)
    loss_function = model.solver.semiring.cross_entropy
    cache = model.solver.cache

    budget = args.max_seconds
    n_distinct_train_sums = len(set(int(x) for x in splits["train"][2]))
    epoch_seconds: list[float] = []
    epoch_compile: list[float] = []  # AC grounding + SDD compilation inside each completed epoch
    iterations_measured = 0
    partial_epoch_iterations = 0
    compile_seconds = 0.0  # ground + SDD compile of the ACs built while training (cache misses)
    train_seconds = 0.0
    stopped_early = False
    loss_sum, loss_n = 0.0, 0
    train_start = time.perf_counter()
    for epoch in range(args.epochs):
        elapsed = time.perf_counter() - train_start
        if budget is not None and epoch_seconds:
            # the ACs are cached by now, so the next epoch costs about the last one less its compilation
            predicted = epoch_seconds[-1] - epoch_compile[-1]
            if elapsed + predicted > budget:
                stopped_early = True
                notes.append(
                    f"stopped before epoch {epoch + 1}: {elapsed:.1f}s spent + ~{predicted:.1f}s for the next "
                    f"epoch would exceed --max-seconds {budget}"
                )
                break
        model.optimizer.step_epoch()
        epoch_start = time.perf_counter()
        compile_at_epoch_start = compile_seconds
        done = 0
        for batch in loader:
            n_cached_before = len(cache.cache_dict)
            model.train()
            model.optimizer.zero_grad()
            loss = trainer.get_loss(batch, loss_function)
            model.optimizer.step()
            t1 = time.perf_counter()
            if len(cache.cache_dict) > n_cached_before:
                for q in batch:
                    ac = cache.cache_dict.get(q.query)
                    if ac is not None and not getattr(ac, "_peer_counted", False):
                        compile_seconds += (ac.ground_time or 0.0) + ac.compile_time
                        ac._peer_counted = True
            loss_sum += float(loss)
            loss_n += 1
            done += 1
            iterations_measured += 1
            if args.log_every and iterations_measured % args.log_every == 0:
                print(
                    f"epoch {epoch + 1} iter {done}/{iters_per_epoch} {(t1 - epoch_start) / done:.4f}s/iter "
                    f"loss {loss_sum / loss_n:.4f} ACs {len(cache.cache_dict)}",
                    flush=True,
                )
                loss_sum, loss_n = 0.0, 0
            if budget is not None and t1 - train_start > budget and done < iters_per_epoch:
                stopped_early = True
                break
        epoch_time = time.perf_counter() - epoch_start
        train_seconds += epoch_time
        if stopped_early:
            partial_epoch_iterations = done
            notes.append(
                f"stopped in epoch {epoch + 1} after {done}/{iters_per_epoch} iterations "
                f"({epoch_time:.1f}s): --max-seconds {budget} spent"
            )
            break
        epoch_seconds.append(epoch_time)
        epoch_compile.append(compile_seconds - compile_at_epoch_start)
        if args.log_every:
            print(f"epoch {epoch + 1} done in {epoch_time:.2f}s ({epoch_compile[-1]:.2f}s AC compilation)", flush=True)

    def mean(xs):
        return sum(xs) / len(xs) if xs else None

    result: dict = {
        "system": "deepproblog",
        "version": importlib.metadata.version("deepproblog"),
        "n_digits": n,
        "epochs_requested": args.epochs,
        "epochs_completed": len(epoch_seconds),
        "seconds_per_epoch": mean(epoch_seconds),
        "seconds_per_epoch_excluding_ac_compile": mean([e - c for e, c in zip(epoch_seconds, epoch_compile)]),
        "epoch_seconds": epoch_seconds,
        "epoch_ac_compile_seconds": epoch_compile,
        "iterations_per_epoch": iters_per_epoch,
        "iterations_measured": iterations_measured,
        "partial_epoch_iterations": partial_epoch_iterations,
        "train_seconds": train_seconds,
        "seconds_per_iteration": (train_seconds / iterations_measured) if iterations_measured else None,
        "ac_compile_seconds": compile_seconds,
        "acs_compiled": len(cache.cache_dict),
        "distinct_train_sums": n_distinct_train_sums,
        "stopped_early": stopped_early,
    }
    if stopped_early and not epoch_seconds and iterations_measured:
        n_acs = len(cache.cache_dict)
        per_iter_no_compile = max(train_seconds - compile_seconds, 0.0) / iterations_measured
        per_ac = compile_seconds / n_acs if n_acs else 0.0
        steady = per_iter_no_compile * iters_per_epoch
        first = steady + per_ac * n_distinct_train_sums
        result["seconds_per_epoch_extrapolated"] = first
        result["seconds_per_epoch_extrapolated_excluding_ac_compile"] = steady
        notes.append(
            f"EXTRAPOLATED (no epoch completed): from {iterations_measured}/{iters_per_epoch} measured iterations "
            f"({train_seconds:.1f}s, of which {compile_seconds:.1f}s compiled {n_acs} ACs): "
            f"seconds_per_epoch_extrapolated = {per_iter_no_compile:.4f}s/iter x {iters_per_epoch} iterations "
            f"+ {per_ac:.2f}s/AC x {n_distinct_train_sums} distinct training sums = {first:.1f}s (a first epoch); "
            f"excluding AC compilation (later epochs, ACs cached): {steady:.1f}s"
        )
    elif stopped_early:
        result["seconds_per_epoch_extrapolated"] = None

    # ---- test sum accuracy: DeepProbLog's get_confusion_matrix (most probable sum per test
    # query, from the variable-output query's AC), in chunks so --max-eval-seconds can bound it.
    # torch.no_grad() only skips building autograd graphs (same numbers, ~40% faster for N=2).
    eval_budget = args.max_eval_seconds if args.max_eval_seconds is not None else args.max_seconds
    eval_start = time.perf_counter()
    correct = total = 0
    chunk = 10
    eval_cut = False
    for lo in range(0, len(test_set), chunk):
        if eval_budget is not None and time.perf_counter() - eval_start > eval_budget:
            eval_cut = True
            break
        with _Quiet(), torch.no_grad():
            cm = get_confusion_matrix(model, test_set.subset(lo, lo + chunk), verbose=0)
        correct += int(np.trace(cm.matrix))
        total += int(cm.matrix.sum())
    eval_seconds = time.perf_counter() - eval_start
    result["test_sum_accuracy"] = correct / total if total else None
    result["n_test_evaluated"] = total
    result["eval_seconds"] = eval_seconds
    result["eval_method"] = "deepproblog.evaluate.get_confusion_matrix under torch.no_grad(), chunks of 10"
    if eval_cut:
        result["eval_seconds_extrapolated"] = eval_seconds / total * len(test_set)
        notes.append(
            f"test_sum_accuracy is over the first {total} of {len(test_set)} test examples "
            f"(evaluation budget {eval_budget}s spent); eval_seconds_extrapolated is EXTRAPOLATED "
            "to the whole test set"
        )

    # ---- digit accuracy of the trained network on test_images
    net_module.eval()
    with torch.no_grad():
        preds = torch.cat([net_module(test_images[i : i + 1024]).argmax(-1) for i in range(0, len(test_images), 1024)])
    result["digit_accuracy"] = float((preds.numpy() == test_labels).mean()) if len(test_labels) else None

    result.update(
        {
            "n_train": len(train_set),
            "n_test": len(test_set),
            "n_train_images": int(train_images.shape[0]),
            "n_test_images": int(test_images.shape[0]),
            "image_size": image_size,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "seed": args.seed,
            "shuffle": not args.no_shuffle,
            "init_weights": args.init_weights or f"torch.manual_seed({args.seed})",
            "engine": "ExactEngine(cache=True)",
            "program": str(args.program),
            "network_file": str(args.network_file),
            "torch": torch.__version__,
            "problog": importlib.metadata.version("problog"),
            "python": platform.python_version(),
            "torch_threads": torch.get_num_threads(),
            "wall_seconds": time.time() - wall_start,
            "notes": notes,
        }
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in (
        "system", "n_digits", "epochs_completed", "seconds_per_epoch", "iterations_measured",
        "test_sum_accuracy", "digit_accuracy",
    )} | ({"seconds_per_epoch_extrapolated": result["seconds_per_epoch_extrapolated"]} if stopped_early else {})))  # fmt: skip
    return 0


class _Quiet:
    """Silences stdout (ConfusionMatrix.accuracy and the AC cache print as they go)."""

    def __enter__(self):
        import io

        self._saved = sys.stdout
        sys.stdout = io.StringIO()

    def __exit__(self, *exc):
        sys.stdout = self._saved
        return False


if __name__ == "__main__":
    sys.exit(main())
