"""The five families of neuro-symbolic architectures, measured: writes docs/families.md's scorecard and radar charts.

    python benchmarks/families.py             # the full run (see the doc for its time on 2 CPU cores)
    python benchmarks/families.py --quick     # about a minute: tiny data, one seed, into a temporary folder

Every family (``plait.families``) and a pure-neural baseline run on three
tasks built from offline data: digit addition (N = 1), all-different boards of
three digits (valid or not), and coarse-and-fine classification (the digits'
shape super-classes, or Fashion-MNIST's super-classes where it is installed).
Each criterion has a stated protocol (in the doc the run writes); every number
in the scorecard comes from this run. Seeds are fixed; the task accuracy is
repeated over ``--seeds`` (mean and spread); one torch thread throughout.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from families_tasks import (  # noqa: E402
    ADDITION,
    ADDITION_FAMILIES,
    BOARD_FAMILIES,
    BOARD_NOT_RUN,
    CF_FAMILIES,
    CF_NOT_RUN,
    DIGIT_SUPER,
    FASHION_SUPER,
    MULTIPLICATION,
    SCALING_FAMILIES,
    Trained,
    all_different,
    ece,
    scaling_probe,
)

import plait.families as fam  # noqa: E402
from plait.nn.data import load_digits, load_fashion_mnist  # noqa: E402

CRITERIA = (
    "reasoning",
    "generalisation",
    "data efficiency",
    "robustness",
    "transferability",
    "interpretability",
    "concept quality",
    "scalability",
)
HELD_OUT = {(i, (3 * i + 1) % 10) for i in range(10)}  # digit combinations never seen in addition training
START, END = "<!-- scorecard:start -->", "<!-- scorecard:end -->"


@dataclass(frozen=True)
class Config:
    pairs: int = 2000  # addition training pairs (N = 1)
    boards: int = 1500  # all-different training boards
    fine_fraction: float = 0.1  # coarse-and-fine: the share of training images with a fine label
    epochs: int = 5
    board_epochs: int = 15  # valid/invalid alone is a weak signal: 5 epochs leave the program families at chance
    max_epochs: int = 60  # data efficiency: epochs grow as 1/fraction (same number of steps), up to this
    seeds: tuple[int, ...] = (0, 1, 2)
    fractions: tuple[float, ...] = (0.01, 0.1, 1.0)
    input_noise: float = 0.5  # std of Gaussian noise on test images (pixels lie in [-1, 1])
    label_noise: float = 0.2  # share of training labels replaced by random ones
    n_test: int = 1000
    tasks: tuple[str, ...] = ("addition", "boards", "coarse_fine")
    scaling_cells: tuple[int, ...] = (3, 4, 5)  # scalability: boards of k cells, one epoch per family
    scaling_boards: int = 600


QUICK = Config(
    pairs=150, boards=150, epochs=1, board_epochs=1, max_epochs=3, seeds=(0,), fractions=(0.1, 1.0), n_test=200,
    scaling_cells=(3, 4), scaling_boards=64,
)  # fmt: skip


# ----------------------------------------------------------------------------- data


def pairs_of(labels: torch.Tensor, n: int, seed: int, only=None, exclude=None) -> torch.Tensor:
    """``[n, 2]`` random index pairs, restricted to (or excluding) some digit combinations."""
    g = torch.Generator().manual_seed(seed)
    out, have = [], 0
    while have < n:
        idx = torch.randint(0, len(labels), (4 * n + 64, 2), generator=g)
        combos = [(int(labels[i]), int(labels[j])) for i, j in idx]
        keep = torch.tensor(
            [(only is None or c in only) and (exclude is None or c not in exclude) for c in combos], dtype=torch.bool
        )
        out.append(idx[keep])
        have += int(keep.sum())
    return torch.cat(out)[:n]


def noisy(x: torch.Tensor, std: float, seed: int = 123) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return x + std * torch.randn(x.shape, generator=g)


def corrupt(y: torch.Tensor, share: float, n_values: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed + 999)
    flip = torch.rand(len(y), generator=g) < share
    return torch.where(flip, torch.randint(0, n_values, (len(y),), generator=g), y)


def subset(d: dict, n: int) -> dict:
    return {k: (v[:n] if isinstance(v, torch.Tensor) and k != "pool" and len(v) == len(d["a" if "a" in d else "x"]) else v)
            for k, v in d.items()}  # fmt: skip


# ----------------------------------------------------------------------------- measuring one trained family


def concept_eval(net, images, labels) -> dict:
    with torch.no_grad():
        p = net(images).double()
    return {"concept_accuracy": float((p.argmax(-1) == labels).float().mean()), "ece": ece(p, labels)}


def measure_addition(tr: Trained, t: dict) -> dict:
    m: dict = {}
    t0 = time.perf_counter()
    pred = tr.answer(t["a"], t["b"])
    m["inference_ms"] = 1000 * (time.perf_counter() - t0) / len(pred)
    m["reasoning"] = float((pred == t["sums"]).float().mean())
    m["held_out_combinations"] = float((tr.answer(t["ha"], t["hb"]) == t["hsums"]).float().mean())
    m["input_noise"] = float(
        (tr.answer(noisy(t["a"], t["std"]), noisy(t["b"], t["std"], 7)) == t["sums"]).float().mean()
    )
    m["train_s_per_epoch"] = tr.seconds / max(tr.epochs, 1)
    if tr.concept is None:
        m["explained"] = 0.0
        return m
    net = tr.concept
    with torch.no_grad():
        da, db = net(t["a"]).argmax(-1), net(t["b"]).argmax(-1)
        for n in (2, 4):  # the program's MPE answer for N digits: the sum of the most probable digits
            digits = net(t[f"n{n}_images"]).argmax(-1).view(-1, 2, n)
            powers = torch.tensor([10**k for k in range(n - 1, -1, -1)])
            got = (digits * powers).sum(-1).sum(-1)
            m[f"n{n}"] = float((got == t[f"n{n}_sums"]).float().mean())
    m.update(concept_eval(net, t["images"], t["labels"]))
    right = pred == t["sums"]
    wrong_concepts = (da != t["la"]) | (db != t["lb"])
    m["shortcut_rate"] = float((right & wrong_concepts).float().sum() / right.float().sum().clamp_min(1))
    m["explained"] = 1.0
    m["satisfies"] = float((pred == da + db).float().mean())
    # fidelity: plait's explanation of the prediction (the most probable world in which it holds) reads the
    # digits the network reads, so the explanation reproduces the prediction
    k = min(200, len(pred))
    model = fam.Sequential(ADDITION, {"digit_net": net}).model
    whys = model.explain("addition(A, B, Z)", pred[:k].tolist(), A=t["a"][:k], B=t["b"][:k])
    own = [f"digit(A,{int(x)})" for x in da[:k]], [f"digit(B,{int(x)})" for x in db[:k]]
    m["fidelity"] = sum(
        1.0 for i, w in enumerate(whys) if {own[0][i], own[1][i]} <= {c.atom for c in w.choices if c.value}
    ) / max(k, 1)
    transfer = fam.Sequential(MULTIPLICATION, {"digit_net": net}).model  # frozen, reused, not retrained
    with torch.no_grad():
        prod = transfer.predict("product(A, B, Z)", A=t["a"], B=t["b"])
    values = torch.tensor(transfer.template("product(A, B, Z)", ["A", "B"]).answer_values)
    m["transfer"] = float((values[prod] == t["la"] * t["lb"]).float().mean())
    return m


def measure_boards(tr: Trained, t: dict) -> dict:
    m: dict = {}
    t0 = time.perf_counter()
    pred = tr.answer(t["a"], t["b"], t["c"])
    m["inference_ms"] = 1000 * (time.perf_counter() - t0) / len(pred)
    m["reasoning"] = float((pred == t["valid"]).float().mean())
    xs = [noisy(t[k], t["std"], s) for s, k in enumerate("abc")]
    m["input_noise"] = float((tr.answer(*xs) == t["valid"]).float().mean())
    m["train_s_per_epoch"] = tr.seconds / max(tr.epochs, 1)
    if tr.concept is None:
        m["explained"] = 0.0
        return m
    net = tr.concept
    with torch.no_grad():
        ds = torch.stack([net(t[k]).argmax(-1) for k in "abc"], 1)
        d5 = net(t["b5_images"]).argmax(-1).view(-1, 5)
        di = torch.stack([net(t[f"i{k}"]).argmax(-1) for k in "abc"], 1)
    m["boards_of_5"] = float((all_different(d5) == t["b5_valid"]).float().mean())
    # transfer: a new constraint, "strictly increasing", on the frozen network's digits
    m["transfer"] = float((((di[:, 0] < di[:, 1]) & (di[:, 1] < di[:, 2])) == t["increasing"]).float().mean())
    m.update(concept_eval(net, t["images"], t["labels"]))
    right = pred == t["valid"]
    m["shortcut_rate"] = float((right & (ds != t["digits"]).any(1)).float().sum() / right.float().sum().clamp_min(1))
    m["explained"] = 1.0
    m["satisfies"] = float((pred == all_different(ds).long()).float().mean())
    m["fidelity"] = m["satisfies"]  # the explanation is the most probable world: the network's digits
    return m


def measure_cf(tr: Trained, t: dict, name: str) -> dict:
    m: dict = {}
    t0 = time.perf_counter()
    pred = tr.answer(t["x"])
    m["inference_ms"] = 1000 * (time.perf_counter() - t0) / len(pred)
    m["reasoning"] = float((pred == t["y"]).float().mean())
    m["input_noise"] = float((tr.answer(noisy(t["x"], t["std"])) == t["y"]).float().mean())
    m["train_s_per_epoch"] = tr.seconds / max(tr.epochs, 1)
    sup = torch.tensor(t["supers"])
    m["coarse_of_prediction"] = float((sup[pred] == sup[t["y"]]).float().mean())
    with torch.no_grad():
        m["ece"] = ece(tr.concept(t["x"]).double(), t["y"])
    m["explained"] = 1.0 if tr.from_program or "EDCR" in name else 0.0
    m["satisfies"] = m["coarse_of_prediction"]
    m["fidelity"] = m["explained"]  # the program's world (or the rule that fired) gives the prediction itself
    return m


# ----------------------------------------------------------------------------- the tasks


def addition_task(cfg: Config, split) -> tuple[dict, dict]:
    tr_idx = pairs_of(split.train_labels, cfg.pairs, 0, exclude=HELD_OUT)
    te_idx = pairs_of(split.test_labels, cfg.n_test, 1)
    ho_idx = pairs_of(split.test_labels, max(cfg.n_test // 4, 50), 2, only=HELD_OUT)
    X, Y, TX, TY = split.train_images, split.train_labels, split.test_images, split.test_labels
    train = {"a": X[tr_idx[:, 0]], "b": X[tr_idx[:, 1]], "la": Y[tr_idx[:, 0]], "lb": Y[tr_idx[:, 1]], "pool": X}
    train["sums"] = train["la"] + train["lb"]
    test = {"a": TX[te_idx[:, 0]], "b": TX[te_idx[:, 1]], "la": TY[te_idx[:, 0]], "lb": TY[te_idx[:, 1]]}
    test["sums"] = test["la"] + test["lb"]
    test.update(ha=TX[ho_idx[:, 0]], hb=TX[ho_idx[:, 1]], hsums=TY[ho_idx[:, 0]] + TY[ho_idx[:, 1]])
    test.update(images=TX, labels=TY, std=cfg.input_noise)
    g = torch.Generator().manual_seed(5)
    for n in (2, 4):
        idx = torch.randint(0, len(TY), (cfg.n_test // 2, 2, n), generator=g)
        powers = torch.tensor([10**k for k in range(n - 1, -1, -1)])
        test[f"n{n}_images"], test[f"n{n}_sums"] = TX[idx.reshape(-1)], (TY[idx] * powers).sum(-1).sum(-1)
    return train, test


def board_task(cfg: Config, split) -> tuple[dict, dict]:
    def boards(labels, n, seed, size=3, want=None):
        g = torch.Generator().manual_seed(seed)
        idx = torch.randint(0, len(labels), (8 * n, size), generator=g)
        ok = all_different(labels[idx]) if want is None else want(labels[idx])
        half = n // 2
        return torch.cat([idx[ok][:half], idx[~ok][: n - half]])[torch.randperm(n, generator=g)]

    X, Y, TX, TY = split.train_images, split.train_labels, split.test_images, split.test_labels
    tr = boards(Y, cfg.boards, 0)
    te = boards(TY, cfg.n_test, 1)
    b5 = boards(TY, cfg.n_test // 2, 2, size=5)
    inc = boards(TY, cfg.n_test // 2, 3, want=lambda d: (d[:, 0] < d[:, 1]) & (d[:, 1] < d[:, 2]))
    train = {k: X[tr[:, i]] for i, k in enumerate("abc")} | {f"l{k}": Y[tr[:, i]] for i, k in enumerate("abc")}
    train["valid"] = all_different(Y[tr]).long()
    test = {k: TX[te[:, i]] for i, k in enumerate("abc")} | {"digits": TY[te], "valid": all_different(TY[te]).long()}
    test.update(b5_images=TX[b5.reshape(-1)], b5_valid=all_different(TY[b5]), images=TX, labels=TY, std=cfg.input_noise)
    test.update({f"i{k}": TX[inc[:, i]] for i, k in enumerate("abc")})
    test["increasing"] = (TY[inc][:, 0] < TY[inc][:, 1]) & (TY[inc][:, 1] < TY[inc][:, 2])
    return train, test


def cf_task(cfg: Config, split, supers) -> tuple[dict, dict]:
    n_train = min(len(split.train_labels), 20 * cfg.boards)
    x, y = split.train_images[:n_train], split.train_labels[:n_train]
    nf = max(int(cfg.fine_fraction * n_train), 20)
    sup = torch.tensor(supers)
    held = slice(n_train - max(n_train // 10, 30), n_train)  # where EDCR learns its rules
    train = {"x": x, "yc": sup[y], "xf": x[:nf], "yf": y[:nf], "xh": x[held], "yh": y[held], "supers": supers}
    n_test = min(len(split.test_labels), 2 * cfg.n_test)
    test = {"x": split.test_images[:n_test], "y": split.test_labels[:n_test], "std": cfg.input_noise, "supers": supers}
    return train, test


def with_fraction(task: str, d: dict, frac: float) -> dict:
    if task == "coarse_fine":  # the fine labels are the scarce ones
        n = max(int(frac * len(d["yf"])), 10)
        return d | {"xf": d["xf"][:n], "yf": d["yf"][:n]}
    n = max(int(frac * len(d["a"])), 10)
    return {k: (v[:n] if k not in ("pool",) and isinstance(v, torch.Tensor) else v) for k, v in d.items()}


def with_label_noise(task: str, d: dict, cfg: Config, seed: int) -> dict:
    if task == "addition":
        return d | {"sums": corrupt(d["sums"], cfg.label_noise, 19, seed), "la": corrupt(d["la"], cfg.label_noise, 10, seed),
                    "lb": corrupt(d["lb"], cfg.label_noise, 10, seed + 1)}  # fmt: skip
    if task == "boards":
        out = d | {"valid": corrupt(d["valid"], cfg.label_noise, 2, seed)}
        return out | {f"l{k}": corrupt(d[f"l{k}"], cfg.label_noise, 10, seed + i) for i, k in enumerate("abc")}
    return d | {
        "yf": corrupt(d["yf"], cfg.label_noise, 10, seed),
        "yc": corrupt(d["yc"], cfg.label_noise, max(d["supers"]) + 1, seed),
    }


def run_family(task: str, name: str, runner, train: dict, test: dict, cfg: Config, log) -> dict:
    if task == "boards":
        cfg = Config(**(asdict(cfg) | {"epochs": cfg.board_epochs}))
    measure = {"addition": measure_addition, "boards": measure_boards}.get(task)

    def meas(tr: Trained) -> dict:
        return measure(tr, test) if measure else measure_cf(tr, test, name)

    runs = []
    for seed in cfg.seeds:
        t0 = time.perf_counter()
        runs.append(meas(runner(train, cfg.epochs, seed)))
        log(
            f"  {task} | {name} | seed {seed}: reasoning {runs[-1]['reasoning']:.3f} ({time.perf_counter() - t0:.0f} s)"
        )
    out = {k: sum(r[k] for r in runs) / len(runs) for k in runs[0]}
    acc = [r["reasoning"] for r in runs]
    out["reasoning_std"] = (sum((a - out["reasoning"]) ** 2 for a in acc) / max(len(acc) - 1, 1)) ** 0.5
    curve = {}
    for frac in cfg.fractions:
        if frac == 1.0:
            curve[frac] = out["reasoning"]
            continue
        epochs = min(cfg.max_epochs, math.ceil(cfg.epochs / frac))
        curve[frac] = meas(runner(with_fraction(task, train, frac), epochs, cfg.seeds[0]))["reasoning"]
    out["learning_curve"] = curve
    out["label_noise"] = meas(runner(with_label_noise(task, train, cfg, cfg.seeds[0]), cfg.epochs, cfg.seeds[0]))[
        "reasoning"
    ]
    return out


# ----------------------------------------------------------------------------- scores and report


def scaling(cfg: Config, split, log) -> dict[str, dict[int, dict]]:
    """Scalability as the input grows: one epoch of each family on boards of k cells (same boards for all)."""
    out: dict[str, dict[int, dict]] = {f: {} for f in SCALING_FAMILIES}
    X, Y = split.train_images, split.train_labels
    for k in cfg.scaling_cells:
        g = torch.Generator().manual_seed(10 + k)
        idx = torch.randint(0, len(Y), (8 * cfg.scaling_boards, k), generator=g)
        ok = all_different(Y[idx])
        half = cfg.scaling_boards // 2
        idx = torch.cat([idx[ok][:half], idx[~ok][: cfg.scaling_boards - half]])
        cells, labels, valid = [X[idx[:, i]] for i in range(k)], Y[idx], all_different(Y[idx]).long()
        for f in SCALING_FAMILIES:
            out[f][k] = scaling_probe(f, k, cells, labels, valid)
            log(f"  scaling | {f} | {k} cells: {out[f][k]['train_s']:.2f} s/epoch")
    return out


def scaling_report(cfg: Config, sc: dict[str, dict[int, dict]]) -> list[str]:
    ks = list(cfg.scaling_cells)
    out = ["", "### Scalability as the input grows (boards of k cells)", ""]
    out.append(
        f"One epoch of {cfg.scaling_boards} boards (batches of 32) per family and k, after compiling; the compile "
        "seconds apart; inference milliseconds per board through the family's answer path (the program for the "
        "program families, the network alone for the compiled ones). Growth: the time at the largest k over the "
        "time at the smallest."
    )
    out += ["", "| family | " + " | ".join(f"train s/epoch k={k}" for k in ks) + " | growth | "
            + " | ".join(f"compile s k={k}" for k in ks) + " | " + " | ".join(f"infer ms k={k}" for k in ks) + " |"]  # fmt: skip
    out.append("|---" * (3 * len(ks) + 2) + "|")
    for f, byk in sc.items():
        tr = [byk[k]["train_s"] for k in ks]
        out.append(
            f"| {f} | " + " | ".join(f"{t:.2f}" for t in tr) + f" | {tr[-1] / max(tr[0], 1e-9):.1f}x | "
            + " | ".join(f"{byk[k]['compile_s']:.2f}" for k in ks) + " | "
            + " | ".join(f"{byk[k]['inference_ms']:.3f}" for k in ks) + " |"
        )  # fmt: skip
    return out


def kind_of(task: str) -> str:
    """``coarse_fine (Fashion-MNIST)`` -> ``coarse_fine``: the task's kind, without the data set."""
    return task.split()[0]


def criteria_of(task: str, r: dict) -> dict[str, float | str]:
    """One number per criterion (higher is better), or the reason there is none."""
    c: dict[str, float | str] = {"reasoning": r["reasoning"]}
    if task == "addition":
        parts = [r["held_out_combinations"]] + [r[k] for k in ("n2", "n4") if k in r]
        c["generalisation"] = sum(parts) / len(parts)
    elif task == "boards":
        c["generalisation"] = (
            r["boards_of_5"] if "boards_of_5" in r else "no symbols: a 3-image network takes no 5-cell board"
        )
    else:
        c["generalisation"] = "no longer input or new combination exists in single-image classification"
    c["data efficiency"] = sum(r["learning_curve"].values()) / len(r["learning_curve"])
    c["robustness"] = (r["input_noise"] + r["label_noise"]) / 2
    if "transfer" in r:
        c["transferability"] = r["transfer"]
    else:
        c["transferability"] = (
            "no symbols to reuse" if task != "coarse_fine" else "no new program defined for this task"
        )
    c["interpretability"] = (r["explained"] + r.get("satisfies", 0.0) + r.get("fidelity", 0.0)) / 3
    if "concept_accuracy" in r:
        c["concept quality"] = (r["concept_accuracy"] + (1 - r["ece"]) + (1 - r["shortcut_rate"])) / 3
    elif task == "coarse_fine":
        c["concept quality"] = (r["coarse_of_prediction"] + (1 - r["ece"])) / 2
    else:
        c["concept quality"] = "no intermediate symbols"
    c["scalability"] = r["train_s_per_epoch"]  # seconds: normalised inversely below
    return c


def normalise(table: dict[str, dict]) -> dict[str, dict[str, float | None]]:
    """Per criterion, min-max over the families that have a value: 1 is the best, 0 the worst."""
    out: dict[str, dict[str, float | None]] = {f: {} for f in table}
    for crit in CRITERIA:
        vals = {f: v[crit] for f, v in table.items() if isinstance(v[crit], float)}
        if crit == "scalability":
            vals = {f: -math.log(v) for f, v in vals.items()}
        lo, hi = (min(vals.values()), max(vals.values())) if vals else (0, 0)
        for f in table:
            out[f][crit] = None if f not in vals else (1.0 if hi == lo else (vals[f] - lo) / (hi - lo))
    return out


def radar(task: str, scores: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    angles = [2 * math.pi * i / len(CRITERIA) for i in range(len(CRITERIA))]
    fig = plt.figure(figsize=(10, 6))
    ax = fig.add_axes((0.06, 0.08, 0.5, 0.8), polar=True)
    for f, s in scores.items():
        vals = [s[c] if s[c] is not None else 0.0 for c in CRITERIA]
        ax.plot(angles + angles[:1], vals + vals[:1], label=f, linewidth=1.2)
    ax.set_xticks(angles)
    ax.set_xticklabels(CRITERIA, fontsize=8)
    ax.set_yticklabels([])
    ax.set_title(f"{task}: normalised scores (1 = best family; missing = 0)", fontsize=10, pad=18)
    ax.legend(loc="upper left", bbox_to_anchor=(1.25, 1.05), fontsize=8)
    fig.savefig(path, dpi=72, bbox_inches="tight")
    plt.close(fig)


def fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else f"n/a ({v})"


def verdict(all_scores: dict[str, dict[str, dict]]) -> list[str]:
    """Where the measurements agree with the published ranking (the ensemble form first), and where not."""
    lines = []
    for task, scores in all_scores.items():
        ens = [f for f in scores if f.startswith("ensemble")]
        if not ens:
            lines.append(f"* **{task}**: the ensemble form was not run on this task (see the table), so it says nothing "
                         "about the published ranking.")  # fmt: skip
            continue
        mean = {f: sum(v for v in s.values() if v is not None) / max(sum(v is not None for v in s.values()), 1)
                for f, s in scores.items()}  # fmt: skip
        ranking = sorted(mean, key=mean.get, reverse=True)
        wins = [c for c in CRITERIA if any(scores[e][c] == 1.0 for e in ens)]
        losses = [c for c in CRITERIA if all(scores[e][c] is not None and scores[e][c] < 1.0 for e in ens)]
        lines.append(
            f"* **{task}**: by the mean normalised score the order is {', '.join(f'{f} ({mean[f]:.2f})' for f in ranking)}. "
            f"The ensemble form is {'first' if ranking[0] in ens else 'not first'} overall"
            + (f"; best on {', '.join(wins)}" if wins else "; best on no criterion")
            + (f"; beaten on {', '.join(losses)}" if losses else "")
            + "."
        )
    return lines


def report(
    cfg: Config,
    results: dict,
    scores: dict,
    not_run: dict,
    img_dir: Path,
    doc_dir: Path,
    seconds: float,
    scaling_results: dict | None = None,
) -> str:
    out = [START, "", "## Scorecard (measured)", ""]
    out.append(
        f"Generated by `python benchmarks/families.py{' --quick' if cfg == QUICK else ''}` in {seconds / 60:.1f} minutes "
        f"on {platform.machine()} ({torch.get_num_threads()} torch thread), torch {torch.__version__}. "
        f"Settings: `{json.dumps(asdict(cfg))}`. Task accuracy is the mean over seeds {list(cfg.seeds)} "
        "(± the standard deviation); the other numbers are the mean over the same runs, except the learning curve and "
        "the label-noise run (first seed)."
    )
    for task, res in results.items():
        out += ["", f"### {task}", ""]
        keys = sorted({k for r in res.values() for k in r if k not in ("learning_curve",)})
        out.append("| family | " + " | ".join(keys) + " | learning curve (fraction: accuracy) |")
        out.append("|---" * (len(keys) + 2) + "|")
        for f, r in res.items():
            cells = [f"{r[k]:.3f}" if isinstance(r.get(k), float) else "—" for k in keys]
            curve = ", ".join(f"{fr:g}: {a:.3f}" for fr, a in r["learning_curve"].items())
            out.append(f"| {f} | " + " | ".join(cells) + f" | {curve} |")
        for f, why in not_run.get(task, {}).items():
            out.append(f"| {f} | " + " | ".join("—" for _ in keys) + f" | {why} |")
        out += ["", "Criteria (raw; scalability in training seconds per epoch, lower is better):", ""]
        out.append("| family | " + " | ".join(CRITERIA) + " |")
        out.append("|---" * (len(CRITERIA) + 1) + "|")
        for f, r in res.items():
            c = criteria_of(kind_of(task), r)
            out.append(f"| {f} | " + " | ".join(fmt(c[k]) for k in CRITERIA) + " |")
        out += ["", "Normalised (1 = best family on the criterion, 0 = worst; — = no value, reason above):", ""]
        out.append("| family | " + " | ".join(CRITERIA) + " |")
        out.append("|---" * (len(CRITERIA) + 1) + "|")
        for f, s in scores[task].items():
            out.append(f"| {f} | " + " | ".join("—" if s[k] is None else f"{s[k]:.2f}" for k in CRITERIA) + " |")
        rel = (
            Path(img_dir).resolve().relative_to(doc_dir.resolve())
            if img_dir.resolve().is_relative_to(doc_dir.resolve())
            else img_dir
        )
        out += ["", f"![{task}]({rel}/families_{task}.png)"]
    if scaling_results:
        out += scaling_report(cfg, scaling_results)
    out += ["", "### Verdict (written from the numbers above)", "", *verdict(scores)]
    out.append(
        "* Caveats: the sequential family trains on the symbols' own labels (digits, fine classes), more supervision "
        "than the answers the others see, by the family's design; on addition the semantic loss of the observed sum "
        "is the gradient-through-inference loss itself, so those two differ only at test time (network alone vs "
        "program); the boards' rule (all different) holds under any renaming of the digits, so from valid/invalid alone "
        "the digits are learnable only up to a renaming, and their concept accuracy and shortcut rate measure that; "
        "normalised scores only rank the families run on a task."
    )
    if "addition" in results:
        base = results["addition"]["baseline (pure neural)"]["reasoning"]
        above = [f for f, r in results["addition"].items() if r["reasoning"] >= base]
        below = [f"{f} ({r['reasoning']:.3f})" for f, r in results["addition"].items() if r["reasoning"] < base]
        out.append(
            f"* Digit addition at N = 1: the pure-neural baseline reaches {base:.3f}; "
            f"{len(above) - 1} of {len(results['addition']) - 1} families reach at least that"
            + (f"; below it: {', '.join(below)}" if below else "")
            + "."
        )
    out += ["", END]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny data, one seed; writes into a temporary folder")
    ap.add_argument("--doc", type=Path, default=None, help="the Markdown file whose scorecard section is rewritten")
    ap.add_argument("--img-dir", type=Path, default=None, help="where the radar charts go")
    ap.add_argument("--tasks", nargs="*", default=None, choices=["addition", "boards", "coarse_fine"])
    ap.add_argument("--seeds", type=int, nargs="*", default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--from-json", type=Path, default=None, help="rewrite the report from a run's raw results")
    args = ap.parse_args(argv)
    if args.from_json is not None:
        from_json(args.from_json, args.doc or ROOT / "docs" / "families.md", args.img_dir or ROOT / "docs" / "img")
        return {}
    torch.set_num_threads(1)
    cfg = QUICK if args.quick else Config()
    overrides = {k: v for k, v in (("tasks", tuple(args.tasks or ()) or None), ("epochs", args.epochs),
                                   ("seeds", tuple(args.seeds or ()) or None)) if v is not None}  # fmt: skip
    if overrides:
        cfg = Config(**(asdict(cfg) | overrides))
    scratch = Path(tempfile.mkdtemp(prefix="plait-families-"))
    doc = args.doc or (scratch / "families.md" if args.quick else ROOT / "docs" / "families.md")
    img_dir = args.img_dir or (scratch if args.quick else ROOT / "docs" / "img")
    img_dir.mkdir(parents=True, exist_ok=True)
    log = lambda s: print(s, flush=True)  # noqa: E731
    start = time.perf_counter()
    digits = load_digits(seed=0)
    results: dict[str, dict] = {}
    scaling_results: dict = {}
    not_run: dict[str, dict] = {"boards": BOARD_NOT_RUN, "coarse_fine": CF_NOT_RUN}
    if "addition" in cfg.tasks:
        train, test = addition_task(cfg, digits)
        results["addition"] = {
            f: run_family("addition", f, r, train, test, cfg, log) for f, r in ADDITION_FAMILIES.items()
        }
    if "boards" in cfg.tasks:
        train, test = board_task(cfg, digits)
        results["boards"] = {f: run_family("boards", f, r, train, test, cfg, log) for f, r in BOARD_FAMILIES.items()}
        scaling_results = scaling(cfg, digits, log)
    if "coarse_fine" in cfg.tasks:
        try:
            split, supers, name = load_fashion_mnist(), FASHION_SUPER, "coarse_fine (Fashion-MNIST)"
        except fam.FamilyError.__mro__[1]:  # plait's DataError: not installed, fall back to the digits
            split, supers, name = digits, DIGIT_SUPER, "coarse_fine (digits by shape)"
        train, test = cf_task(cfg, split, supers)
        results[name] = {f: run_family("coarse_fine", f, r, train, test, cfg, log) for f, r in CF_FAMILIES.items()}
        not_run[name] = not_run.pop("coarse_fine")
    seconds = time.perf_counter() - start
    write(cfg, results, not_run, doc, img_dir, seconds, scaling_results)
    log(f"wrote {doc} and the radar charts in {img_dir} ({seconds:.0f} s)")
    return {"results": results, "doc": doc, "img_dir": img_dir, "seconds": seconds}


def write(
    cfg: Config,
    results: dict,
    not_run: dict,
    doc: Path,
    img_dir: Path,
    seconds: float,
    scaling_results: dict | None = None,
) -> None:
    """The scores, the radar charts, the doc's scorecard section and the raw results (JSON)."""
    scores = {}
    for task, res in results.items():
        scores[task] = normalise({f: criteria_of(kind_of(task), r) for f, r in res.items()})
        radar(kind_of(task), scores[task], img_dir / f"families_{kind_of(task)}.png")
    text = report(cfg, results, scores, not_run, img_dir, doc.parent, seconds, scaling_results)
    old = doc.read_text() if doc.exists() else ""
    if START in old and END in old:
        new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: text, old, flags=re.S)
    else:
        new = old + ("\n" if old else "") + text + "\n"
    doc.write_text(new)
    raw = {
        "config": asdict(cfg),
        "seconds": seconds,
        "not_run": not_run,
        "results": results,
        "scaling": scaling_results,
    }
    (img_dir / "families_results.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")


def from_json(path: Path, doc: Path, img_dir: Path) -> None:
    """Rewrite the report from the raw results of an earlier run (no training)."""
    raw = json.loads(path.read_text())
    cfg = Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw["config"].items()})
    for res in raw["results"].values():
        for r in res.values():
            r["learning_curve"] = {float(k): v for k, v in r["learning_curve"].items()}
    not_run = raw.get("not_run") or {"boards": BOARD_NOT_RUN}
    not_run |= {t: CF_NOT_RUN for t in raw["results"] if t.startswith("coarse_fine")}
    sc = {f: {int(k): v for k, v in byk.items()} for f, byk in (raw.get("scaling") or {}).items()}
    write(cfg, raw["results"], not_run, doc, img_dir, raw["seconds"], sc)


if __name__ == "__main__":
    main()
