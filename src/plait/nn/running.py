"""Running a model's networks on a batch, and the leaf probabilities and weights they give.

:class:`NetworkRunner` is the part of :class:`plait.Model` that binds a batch's
tensors to a template's inputs, calls every network once per batch (all uses of
a network concatenated along dim 0), checks their outputs, and hands the
probabilities to the inference layer (:func:`plait.inference.circuit_weights`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..errors import InferenceError, NeuralError, PlaitError
from ..ground.ground_program import NeuralSource
from ..inference import (
    SharedChoices,
    circuit_weights,
)
from ..syntax.printing import format_term
from ..syntax.terms import Float, Int, Struct, Term, list_items
from .templates import (
    Inputs,
    Template,
    _check_inputs,
    _NetCall,
    _placeholder,
    _slot_key,
    is_term_batch,
    term_batch,
    to_python,
)

__all__ = ["NetworkRunner"]


class NetworkRunner:
    """Networks -> leaf probabilities for a template (a mixin of :class:`plait.Model`).

    It uses the model's ``networks``, ``learnable``, ``tensor_sources`` and ``dtype``.
    """

    def leaf_probabilities(self, t: Template, inputs: Inputs) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The probabilities behind a batch: facts ``[B, n_facts]`` and, per used AD, every head of its domain.

        An AD's row is ``[B, domain]`` when a network gives it and ``[domain]``
        when it is the same for the whole batch. (The circuit itself takes
        :meth:`leaf_weights`.) Explanations need every head, also those the
        queries never reach.
        """
        results, batch, device = self._run_networks(t, inputs)
        cq = t.compiled
        ads = [torch.tensor(p, dtype=self.dtype, device=device) for p in cq.ad_all_probs]
        fact_cols: list[torch.Tensor] = []
        for call, outs in results:
            for (kind, pos), out in zip(call.targets, outs.unbind(0)):
                if kind == "ad":
                    ads[pos] = out
                else:
                    fact_cols.append(out)
        for name, pos, kind in t._params:
            logits = self.learnable[name].to(device=device, dtype=self.dtype)
            if kind == "ad":
                ads[pos] = torch.softmax(logits, -1)
            else:
                fact_cols.append(torch.sigmoid(logits).reshape(1).expand(batch))
        return self._fact_matrix(t, fact_cols, batch), ads

    def _run_networks(
        self, t: Template, inputs: Inputs
    ) -> tuple[list[tuple[_NetCall, torch.Tensor]], int, torch.device]:
        """Every network of the template on this batch; then the template follows the inputs' device."""
        bound = self._bind_inputs(t, inputs)
        batch, device = bound["$batch"], bound["$device"]
        # the networks run (and check their inputs' device) before the template moves
        results = [(call, self._run_network(call, bound, batch, device)) for call in t._calls]
        # plait.fit sets _output_log to a list while a step with a loss hook runs: the hook then sees
        # the outputs the circuit used instead of running the networks a second time
        log = getattr(self, "_output_log", None)
        if log is not None:
            log.append((t, results))
        cq = t.compiled
        if cq.fact_probs.device != device:
            cq.to(device)
            t._order = t._order.to(device)
            t._fact_cols = t._fact_cols.to(device)
        return results, batch, device

    @staticmethod
    def _fact_matrix(t: Template, fact_cols: list[torch.Tensor], batch: int) -> torch.Tensor:
        """``[B, n_facts]``: the program's fact probabilities with the neural and learnable columns filled in."""
        facts = t.compiled.fact_probs
        if not fact_cols:
            return facts.expand(batch, facts.shape[-1])
        facts = facts.expand(batch, facts.shape[-1]).clone()
        facts[:, t._fact_cols] = torch.stack(fact_cols, dim=1)
        return facts

    def leaf_weights(self, t: Template, inputs: Inputs) -> torch.Tensor:
        """The circuit's variable weights ``[B, n_vars]`` for a batch (the training fast path).

        The numbers of :meth:`leaf_probabilities`, given to the circuit as one
        :class:`~plait.inference.SharedChoices` block per network (one coin
        conversion for all its uses) instead of one tensor per AD group.
        """
        results, batch, device = self._run_networks(t, inputs)
        ads: list = []
        fact_cols: list[torch.Tensor] = []
        for call, outs in results:
            if call.targets[0][0] == "ad":
                ads.append(SharedChoices(tuple(pos for _kind, pos in call.targets), outs))
            else:
                fact_cols.extend(outs.unbind(0))
        for name, pos, kind in t._params:
            logits = self.learnable[name].to(device=device, dtype=self.dtype)
            if kind == "ad":
                ads.append(SharedChoices((pos,), torch.softmax(logits, -1).expand(1, batch, logits.shape[-1])))
            else:
                fact_cols.append(torch.sigmoid(logits).reshape(1).expand(batch))
        facts = self._fact_matrix(t, fact_cols, batch)
        return circuit_weights(t.compiled.variables, facts, ads, t.compiled.ad_probs)

    def _bind_inputs(self, t: Template, inputs: Inputs) -> dict:
        missing = [n for n in t.inputs if n not in inputs]
        if missing:
            raise InferenceError(
                f"the template {t.text} needs the inputs {', '.join(missing)}", hint="pass them as keyword arguments"
            )
        _check_inputs(t.text, {name: inputs[name] for name in t.inputs})
        bound: dict = {}
        batch: int | None = None
        device: torch.device | None = None
        for name, n in t.inputs.items():
            value = inputs[name]
            if n is None and is_term_batch(value):
                # one term per example (text for a language model): networks get Python values
                terms = [to_python(x) for x in term_batch(value)]  # type: ignore[arg-type]
                if batch is None:
                    batch = len(terms)
                elif len(terms) != batch:
                    raise InferenceError(
                        f"the inputs of {t.text} disagree on the batch size: {name} has {len(terms)} terms, "
                        f"an earlier input {batch} examples",
                        hint="every input carries the same batch",
                    )
                bound[_placeholder(name)] = terms
                continue
            items = [(None, value)] if n is None else list(enumerate(value))  # type: ignore[arg-type]
            for i, x in items:
                if x.dim() == 0:
                    raise InferenceError(
                        f"the input {_slot_key(name, i)} of {t.text} has no batch dimension",
                        hint="give a batch of one as x.unsqueeze(0)",
                    )
                if batch is None:
                    batch, device = x.shape[0], x.device
                elif x.shape[0] != batch:
                    raise InferenceError(
                        f"the inputs of {t.text} disagree on the batch size: {_slot_key(name, i)} has {x.shape[0]}, "
                        f"an earlier one {batch}",
                        hint="every input tensor carries the same batch along dim 0",
                    )
                bound[_placeholder(name, i)] = x
        if device is None:
            device = self._default_device()
        bound["$batch"] = batch if batch is not None else 1
        bound["$device"] = device
        return bound

    def _default_device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    def _input_tensor(self, term: Term, bound: dict, src: NeuralSource, batch: int) -> torch.Tensor | list:
        x = bound.get(term)
        if x is not None:
            return x
        net = self.networks[src.name] if src.name in self.networks else None
        if getattr(net, "takes_terms", False) and not (
            isinstance(term, Struct) and term.functor in ("$tensor", "tensor")
        ):
            # a network that reads terms (an LLM predicate) gets a constant of the program as a Python value
            return [to_python(term)] * batch
        if isinstance(term, Struct) and term.functor == "$tensor" and len(term.args) == 2:
            return self._tensor_term(term, bound, src, batch)
        if isinstance(term, (Int, Float)):
            # a number in the program (DeepProbLog's Forth models feed digits to networks): one per example
            dtype = torch.long if isinstance(term, Int) else self.dtype
            return torch.full((batch,), term.value, dtype=dtype, device=bound["$device"])
        if isinstance(term, Struct) and term.functor == "tensor" and len(term.args) == 1:
            ref = term.args[0]
            if isinstance(ref, Struct) and ref.functor in self.tensor_sources:
                source = self.tensor_sources[ref.functor]
                idx = tuple(to_python(a) for a in ref.args)
                try:
                    item = source[idx[0] if len(idx) == 1 else idx]  # type: ignore[index]
                except (IndexError, KeyError, TypeError) as e:
                    raise NeuralError(
                        f"tensor source {ref.functor!r} has no item {format_term(ref)} "
                        f"(input of neural predicate {src.predicate}, network {src.name!r})",
                        src.span,  # type: ignore[arg-type]
                    ) from e
                if not isinstance(item, torch.Tensor):
                    raise NeuralError(
                        f"tensor source {ref.functor!r} returned a {type(item).__name__} for {format_term(ref)}, "
                        f"not a tensor (input of {src.predicate}, network {src.name!r})",
                        src.span,  # type: ignore[arg-type]
                    )
                return item.unsqueeze(0).expand(batch, *item.shape)
        raise NeuralError(
            f"the input {format_term(term)} of neural predicate {src.predicate} (network {src.name!r}) "
            "is neither a template input, a number, nor a tensor(...) term of a known tensor source",
            src.span,  # type: ignore[arg-type]
            f"bind it in the query template, or register a source: tensor_sources={{name: dataset}} "
            f"(known: {', '.join(sorted(self.tensor_sources)) or 'none'})",
        )

    def _tensor_term(self, term: Struct, bound: dict, src: NeuralSource, batch: int) -> torch.Tensor:
        """The output of an ``nn(Net, Inputs, T)`` network, computed once per batch and shared."""
        memo = bound.setdefault("$tensors", {})
        out = memo.get(term)
        if out is not None:
            return out
        net_term, inputs_term = term.args
        name = net_term.functor if isinstance(net_term, Struct) else str(net_term)
        items, _ = list_items(inputs_term)
        inner = NeuralSource("nn", name, tuple(items or ()), f"tensor of {name}", src.span)
        xs = [self._input_tensor(x, bound, inner, batch) for x in inner.inputs]
        what = f"network {name!r} (a tensor-valued nn/3 predicate, input of {src.predicate})"
        out = _call_network(self.networks[name], xs, what, src.span)
        if not isinstance(out, torch.Tensor) or out.dim() == 0 or out.shape[0] != batch:
            shape = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise NeuralError(
                f"{what} returned {shape}, expected a tensor with the batch ({batch}) along dim 0",
                src.span,  # type: ignore[arg-type]
            )
        memo[term] = out
        return out

    def _run_network(self, call: _NetCall, bound: dict, batch: int, device: torch.device) -> torch.Tensor:
        """One forward pass for every use of a network in the template, checked: ``[n_uses, B, width]``.

        (``[n_uses, B]`` for neural facts.)
        """
        net = self.networks[call.network]
        first = call.sources[0]
        what = f"network {call.network!r} of neural predicate {first.predicate}"
        n_inputs = len(first.inputs)
        columns: list[list] = [[] for _ in range(n_inputs)]
        for src in call.sources:
            for j, term in enumerate(src.inputs):
                columns[j].append(self._input_tensor(term, bound, src, batch))
        net_device = next((p.device for p in net.parameters()), None)
        xs = []
        for col in columns:
            if any(isinstance(c, list) for c in col):  # terms, one per example: concatenated as lists
                xs.append([v for c in col for v in (c if isinstance(c, list) else c.tolist())])
                continue
            shapes = {tuple(c.shape[1:]) for c in col}
            if len(shapes) > 1:
                raise NeuralError(
                    f"{what}: its inputs have different shapes {sorted(shapes)}",
                    first.span,  # type: ignore[arg-type]
                    "all calls of one network are batched together: give them inputs of one shape",
                )
            for c in col:
                if net_device is not None and c.device != net_device:
                    raise NeuralError(
                        f"{what}: an input is on {c.device} but the network is on {net_device}",
                        first.span,  # type: ignore[arg-type]
                        "move the inputs and the model to one device (model.to(device), x.to(device))",
                    )
            xs.append(col[0] if len(col) == 1 else torch.cat(col, dim=0))
        out = _call_network(net, xs, what, first.span)
        n = len(call.sources)
        if not isinstance(out, torch.Tensor):
            raise NeuralError(f"{what} returned a {type(out).__name__}, not a tensor", first.span)  # type: ignore[arg-type]
        width = call.widths[0]
        is_fact = call.targets[0][0] == "fact"
        kinds = {(k, w) for (k, _), w in zip(call.targets, call.widths)}
        if len(kinds) > 1:
            shown = ", ".join(f"{k} of width {w}" for k, w in sorted(kinds))
            raise NeuralError(
                f"network {call.network!r} serves predicates with different outputs ({shown})",
                first.span,  # type: ignore[arg-type]
                "one network has one output shape: give each predicate its own network name",
            )
        if is_fact and out.dim() == 1:
            out = out.unsqueeze(-1)
        if out.dim() != 2 or out.shape[0] != n * batch or out.shape[1] != width:
            expect = f"[{n * batch}, {width}]"
            domain = "one probability per example" if is_fact else f"one probability per domain value ({width})"
            raise NeuralError(
                f"{what} returned shape {list(out.shape)}, expected {expect}: {domain}"
                + (f" for {n} calls of batch {batch}" if n > 1 else ""),
                first.span,  # type: ignore[arg-type]
                "check the network's output layer against the predicate's domain",
            )
        out = out.to(self.dtype)
        # one fused check and one sync: NaN propagates through min/max, so it fails them too
        with torch.no_grad():
            lo, hi = torch.aminmax(out)
            checks = [lo, hi] if is_fact else [lo, hi, (out.sum(-1) - 1).abs().max()]
            values = torch.stack(checks).tolist()
        ok = values[0] >= 0 and values[1] <= 1 and (is_fact or values[2] <= 1e-3 * max(1, width))
        if not ok:
            if any(v != v for v in values):
                problem = "NaN"
            elif not (values[0] >= 0 and values[1] <= 1):
                problem = "values outside [0, 1]"
            else:
                problem = f"rows that do not sum to 1 (e.g. {float(out.sum(-1)[0]):.4g})"
            raise NeuralError(
                f"{what} returned {problem}",
                first.span,  # type: ignore[arg-type]
                "a neural annotated disjunction takes probabilities: end the network with softmax(dim=-1)"
                if not is_fact
                else "a neural fact takes a probability per example: end the network with a sigmoid",
            )
        if is_fact:
            return out[:, 0].reshape(n, batch)
        return out.reshape(n, batch, width)


def _call_network(net: Callable[..., object], xs: list, what: str, span: object) -> object:
    """``net(*xs)``, with its failure named: a plait error (e.g. a language model's) keeps its type and
    gains ``what``; any other exception becomes a :class:`NeuralError` at ``span``, chained."""
    try:
        return net(*xs)
    except PlaitError as e:
        raise e.within(what) from e
    except Exception as e:  # a user's network failed: say which predicate called it
        raise NeuralError(
            f"{what} raised {type(e).__name__}: {e}",
            span,  # type: ignore[arg-type]
            "the network's own error is chained below; check what it expects as input",
        ) from e
