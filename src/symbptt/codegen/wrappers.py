"""``grad(params, X, Y, h0=None, c0=None, xi=None)``: the contract's entry point around ``core``, per dialect.

The wrapper does what the contract says and the derivation does not: one
sample written without its batch axis, missing initial states as zeros, class
ids as one-hot rows, ``xi`` sampled from ``pi`` when not given. The Numba
wrapper also hands ``core`` C-contiguous float64 arrays only, so one compiled
signature serves every call.
"""

from __future__ import annotations

from typing import Any

from symbptt.codegen.dialects import Dialect
from symbptt.codegen.loops import GRADIENTS_ONLY, Outputs
from symbptt.derive import strategies
from symbptt.derive.reverse import ReverseStep
from symbptt.model import sequences


def grad_function(step: ReverseStep, strategy: strategies.Strategy, dialect: Dialect,
                  sizes: dict[str, tuple[Any, int]], outputs: Outputs = GRADIENTS_ONLY, loss_at: str = "every"
                  ) -> list[str]:
    """The source lines of ``grad`` for ``dialect``; ``sizes`` maps dim_h to (a parameter, an axis) that has it.
    ``outputs`` adds ∂L/∂h0 (``"h0"``, and ``"c0"``) and the final states (``"hT"``, ``"cT"``), shaped as h0;
    a step that reads padded sequences' mask or loss weights takes ``lengths`` (and ``loss_at="last"``: one Y per
    sequence)."""
    cell = step.cell
    padded = [seq.name for seq in sequences.inputs(cell, step.weight)]
    keywords = (", lengths=None" if padded else "") + "".join(f", {name}={name.upper()}" for name in strategy.values())
    xp = dialect.module == "xp"
    lines = [f"def grad(params, X, Y, h0=None, c0=None, xi=None{keywords}):",
             '    """The loss and ∂L/∂W for every parameter, as a dict by the contract\'s names."""']
    if xp:
        lines.append("    xp = array_namespace(X)")
    if loss_at == "last":  # one target per sequence: the same at every step, weighed at t = len_b only
        lines.append("    Y = xp.broadcast_to(Y, (X.shape[0],) + tuple(Y.shape))" if xp else
                     "    Y = numpy.broadcast_to(numpy.asarray(Y), (numpy.shape(X)[0],) + numpy.shape(Y))")
    extra = [*(cell.initial_states if outputs.initial_state_grad else ()),
             *((f"{name[0]}T" for name in cell.initial_states) if outputs.final_state else ())]
    if extra:  # shaped as h0: one sample written without its batch axis gets them without it
        lines.append("    single = X.ndim == 2")
    if xp:
        lines += ["    if X.ndim == 2:  # one sample: give it a batch axis of 1",
                  "        X, Y = X[:, None], Y[:, None]",
                  "        h0 = None if h0 is None else xp.reshape(h0, (1, -1))",
                  "        c0 = None if c0 is None else xp.reshape(c0, (1, -1))"]
    else:
        lines += ["    X = numpy.asarray(X, dtype=numpy.float64)",
                  "    X, Y, h0, c0 = as_batch(X, numpy.asarray(Y), h0, c0)"]
    lines.append("    T, B = X.shape[0], X.shape[1]")
    if padded:
        last = loss_at == "last"
        lines.append(f"    len_mask, loss_weight = sequence_weights(lengths, T, B, {last})")
        if xp:
            lines += [f"    {n} = xp.asarray({n}, device=device(X))" for n in ("len_mask", "loss_weight")]
    W, axis = sizes["dim_h"]
    L = cell.layers
    np_ = "xp" if xp else "numpy"
    for initial in cell.initial_states:  # by position: a second state of any name starts from c0
        shape = f"(B, params[{W.name!r}].shape[{axis}])" if L == 1 else f"({L}, B, params[{W.name!r}].shape[{axis}])"
        given = initial if xp else f"numpy.asarray({initial}, dtype=numpy.float64)"
        lines.append(f"    {initial} = {dialect.zeros(shape, 'X')} if {initial} is None else {given}")
        if L > 1:  # (L, B, h), PyTorch's layout; one sample's (L, h) came through as_batch as (1, L·h)
            lines.append(f"    {initial} = {np_}.reshape({initial}, ({L}, B, -1))")
    if step.loss.target == "class":
        Wq, q_axis = sizes.get("dim_q", sizes["dim_h"])  # o_t = h_t without a head: q = h
        q = f"params[{Wq.name!r}].shape[{q_axis}]"
        lines.append(f"    Y = one_hot_xp(Y, {q}, X)" if xp else f"    Y = one_hot(Y, {q})")
    elif not xp:
        lines.append("    Y = Y.astype(numpy.float64, copy=False)")
    starts = [name if L == 1 else f"{name}[{k}]" for name in cell.initial_states for k in range(L)]
    arrays = [f"params[{p.name!r}]" for p in cell.params] + ["X", "Y", *padded, *starts]
    if isinstance(strategy, strategies.Randomized):
        sampled = "xp.asarray(sample_xi(pi, T, seed), device=device(X))" if xp else "sample_xi(pi, T, seed)"
        given = "xi" if xp else "numpy.asarray(xi, dtype=numpy.float64)"
        lines.append(f"    xi = {sampled} if xi is None else {given}")
    if dialect.typed:  # one compiled signature: C-contiguous float64 everywhere
        arrays = [f"numpy.ascontiguousarray({a}, dtype=numpy.float64)" for a in arrays]
    arguments = arrays + [name for name, _ in strategy.symbols]
    if isinstance(strategy, strategies.Randomized):
        arguments.append("numpy.ascontiguousarray(xi, dtype=numpy.float64)" if dialect.typed else "xi")
    if not extra:
        return [*lines,
                f"    loss, *grads = core({', '.join(arguments)})",
                '    return {"loss": float(loss), **dict(zip(PARAMS, grads))}']
    states = ", ".join(f"{e!r}" for e in extra)
    P = len(cell.params)  # core returns the loss, ∂L/∂W, then per state: ∂L/∂s_0, s_T; a stacked cell's per layer
    picked = [f"grads[{P + k}]" if L == 1 else f"{np_}.stack(grads[{P + k * L}:{P + (k + 1) * L}])"
              for k in range(len(extra))]
    one = "[0]" if L == 1 else "[:, 0]"
    return [*lines,
            f"    loss, *grads = core({', '.join(arguments)})",
            "    named = dict(zip(PARAMS, grads))",
            *(f"    named[{key!r}] = {value}" for key, value in zip(extra, picked, strict=True)),
            f"    for name in ({states},):",
            f"        named[name] = named[name]{one} if single else named[name]",
            '    return {"loss": float(loss), **named}']
