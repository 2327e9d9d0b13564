"""The losses against PyTorch's own (``MSELoss``, ``BCEWithLogitsLoss``, ``CrossEntropyLoss``) and the cells
against ``nn.RNN`` and ``nn.LSTM`` with an ``nn.Linear`` head, by autograd in float64."""

from __future__ import annotations

import numpy as np
import pytest

import symbptt

from ..helpers import library

T, B, D, H, Q = 5, 3, 2, 4, 3


def _torch_loss(torch, name, o, y):
    """The contract's objective as PyTorch writes it: o (T, B, q)."""
    if name == "squared":
        return 0.5 * ((o - y) ** 2).sum() / (o.shape[0] * o.shape[1])
    if name == "mse":
        return torch.nn.MSELoss()(o, y)
    if name == "bce":
        return torch.nn.BCEWithLogitsLoss()(o, y)
    return torch.nn.CrossEntropyLoss()(o.reshape(-1, o.shape[-1]), y.reshape(-1))


def _targets(rng, name, scale=1.0):
    if name == "cross_entropy":
        return rng.integers(0, Q, (T, B))
    if name == "bce":
        return rng.uniform(0, 1, (T, B, Q))
    return scale * rng.standard_normal((T, B, Q))


@pytest.mark.parametrize("loss", ["squared", "mse", "bce", "cross_entropy"])
@pytest.mark.parametrize("cell", ["elman", "lstm"])
def test_every_loss_agrees_with_pytorch_autograd(cell, loss):
    torch = library("torch")
    rng = np.random.default_rng(7)
    X, Y = rng.standard_normal((T, B, D)), _targets(rng, loss)
    h0, c0 = rng.uniform(-0.5, 0.5, (B, H)), rng.uniform(-0.5, 0.5, (B, H))
    module = (torch.nn.RNN if cell == "elman" else torch.nn.LSTM)(D, H).double()
    head = torch.nn.Linear(H, Q).double()
    with torch.no_grad():
        module.bias_hh_l0.zero_()  # the contract's cells have one bias per gate
    x = torch.tensor(X)
    initial = torch.tensor(h0)[None] if cell == "elman" else (torch.tensor(h0)[None], torch.tensor(c0)[None])
    states, _ = module(x, initial)
    y = torch.tensor(Y)
    total = _torch_loss(torch, loss, head(states), y)
    total.backward()
    W_ih, W_hh, b_ih = (getattr(module, n).detach().numpy() for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0"))
    g_ih, g_hh, g_b = (getattr(module, n).grad.numpy() for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0"))
    if cell == "elman":
        params = {"W_hx": W_ih, "W_hh": W_hh, "b_h": b_ih}
        expected = {"W_hx": g_ih, "W_hh": g_hh, "b_h": g_b}
    else:  # PyTorch's gate rows are i, f, g (the candidate), o; the contract's output gate is W_xo, W_ho, b_o
        params, expected = {}, {}
        for k, gate in enumerate("ifco"):
            rows = slice(k * H, (k + 1) * H)
            params |= {f"W_x{gate}": W_ih[rows], f"W_h{gate}": W_hh[rows], f"b_{gate}": b_ih[rows]}
            expected |= {f"W_x{gate}": g_ih[rows], f"W_h{gate}": g_hh[rows], f"b_{gate}": g_b[rows]}
    params |= {"W_qh": head.weight.detach().numpy(), "b_q": head.bias.detach().numpy()}
    expected |= {"W_qh": head.weight.grad.numpy(), "b_q": head.bias.grad.numpy()}
    grad = symbptt.compile_gradient(cell, loss=loss, backend="numpy")
    out = grad(params, X, Y, h0, c0 if cell == "lstm" else None)
    assert out["loss"] == pytest.approx(total.item(), rel=1e-13)
    for name, value in expected.items():
        np.testing.assert_allclose(out[name], value, rtol=1e-10, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("loss_at", ["every", "last"])
@pytest.mark.parametrize("cell", ["elman", "lstm"])
def test_packed_sequences_and_one_label_per_sequence_agree_with_pytorch(cell, loss_at):
    """pack_padded_sequence: the final states at len_b (h_n, c_n), a classifier on the last real step's output,
    or the loss at every real step averaged over them; ∂L/∂h0 and ∂L/∂c0 too."""
    torch = library("torch")
    rng = np.random.default_rng(11)
    lengths = np.array([5, 2, 4])
    X = rng.standard_normal((T, B, D))
    Y = rng.integers(0, Q, (B,)) if loss_at == "last" else rng.integers(0, Q, (T, B))
    h0, c0 = rng.uniform(-0.5, 0.5, (B, H)), rng.uniform(-0.5, 0.5, (B, H))
    module = (torch.nn.RNN if cell == "elman" else torch.nn.LSTM)(D, H).double()
    head = torch.nn.Linear(H, Q).double()
    with torch.no_grad():
        module.bias_hh_l0.zero_()
    h0_t, c0_t = torch.tensor(h0)[None].requires_grad_(), torch.tensor(c0)[None].requires_grad_()
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(X), torch.tensor(lengths), enforce_sorted=False)
    output, final = module(packed, h0_t if cell == "elman" else (h0_t, c0_t))
    h_n = final if cell == "elman" else final[0]
    if loss_at == "last":
        total = torch.nn.CrossEntropyLoss()(head(h_n[0]), torch.tensor(Y))
    else:
        padded, _ = torch.nn.utils.rnn.pad_packed_sequence(output, total_length=T)
        terms = torch.nn.CrossEntropyLoss(reduction="none")(head(padded).reshape(-1, Q), torch.tensor(Y).reshape(-1))
        real = torch.tensor((np.arange(T)[:, None] < lengths[None, :]).reshape(-1))
        total = (terms * real).sum() / real.sum()
    total.backward()
    W_ih, W_hh, b_ih = (getattr(module, n).detach().numpy() for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0"))
    g_ih, g_hh, g_b = (getattr(module, n).grad.numpy() for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0"))
    if cell == "elman":
        params, expected = {"W_hx": W_ih, "W_hh": W_hh, "b_h": b_ih}, {"W_hx": g_ih, "W_hh": g_hh, "b_h": g_b}
    else:
        params, expected = {}, {}
        for k, gate in enumerate("ifco"):
            rows = slice(k * H, (k + 1) * H)
            params |= {f"W_x{gate}": W_ih[rows], f"W_h{gate}": W_hh[rows], f"b_{gate}": b_ih[rows]}
            expected |= {f"W_x{gate}": g_ih[rows], f"W_h{gate}": g_hh[rows], f"b_{gate}": g_b[rows]}
        expected |= {"c0": c0_t.grad.numpy()[0], "cT": final[1].detach().numpy()[0]}
    params |= {"W_qh": head.weight.detach().numpy(), "b_q": head.bias.detach().numpy()}
    expected |= {"W_qh": head.weight.grad.numpy(), "b_q": head.bias.grad.numpy(), "h0": h0_t.grad.numpy()[0],
                 "hT": h_n.detach().numpy()[0]}
    grad = symbptt.compile_gradient(cell, loss="cross_entropy", loss_at=loss_at, backend="numpy",
                                    initial_state_grad=True, return_state=True)
    out = grad(params, X, Y, h0, c0 if cell == "lstm" else None, lengths=lengths)
    assert out["loss"] == pytest.approx(total.item(), rel=1e-13)
    for name, value in expected.items():
        np.testing.assert_allclose(out[name], value, rtol=1e-10, atol=1e-13, err_msg=name)


def _module_loss(torch, name, module, head, x, y, initial, lengths=None):
    """The contract's objective of a PyTorch module and head as PyTorch computes it, and the final states."""
    if lengths is not None:
        x = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
    output, final = module(x, initial)
    if lengths is not None:
        output, _ = torch.nn.utils.rnn.pad_packed_sequence(output, total_length=T)
    o = output if head is None else head(output)
    if lengths is None:
        return _torch_loss(torch, name, o, y), final
    real = torch.tensor(np.arange(T)[:, None] < lengths[None, :])
    if name == "cross_entropy":
        terms = torch.nn.CrossEntropyLoss(reduction="none")(o.reshape(-1, o.shape[-1]), y.reshape(-1)).reshape(T, B)
    else:
        terms = 0.5 * ((o - y) ** 2).sum(-1)
    return (terms * real).sum() / real.sum(), final


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("lengths", [None, np.array([5, 2, 4])], ids=["full-length", "packed"])
@pytest.mark.parametrize("head", ["linear", "linear_nobias", "none"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("kind", ["RNN-tanh", "RNN-relu", "GRU", "LSTM"])
def test_from_torch_and_to_torch_agree_with_pytorch_autograd(kind, bias, head, lengths, layers):
    """Every gradient by PyTorch's names, ∂L/∂h0 (and ∂L/∂c0), and the final states, for 1-3 layers of each
    module, with and without biases, an nn.Linear head with or without bias or none, packed or not."""
    torch = library("torch")
    rng = np.random.default_rng(5)
    torch.manual_seed(5)
    name, _, nonlinearity = kind.partition("-")
    options = {"nonlinearity": nonlinearity} if nonlinearity else {}
    module = getattr(torch.nn, name)(D, H, num_layers=layers, bias=bias, **options).double()
    q = H if head == "none" else Q
    linear = None if head == "none" else torch.nn.Linear(H, Q, bias=head == "linear").double()
    loss = "cross_entropy" if kind == "GRU" else "squared"
    X = rng.standard_normal((T, B, D))
    Y = rng.integers(0, q, (T, B)) if loss == "cross_entropy" else rng.standard_normal((T, B, q))
    h0, c0 = rng.uniform(-0.5, 0.5, (layers, B, H)), rng.uniform(-0.5, 0.5, (layers, B, H))
    h0_t, c0_t = torch.tensor(h0).requires_grad_(), torch.tensor(c0).requires_grad_()
    initial = (h0_t, c0_t) if name == "LSTM" else h0_t
    if layers == 1:  # one layer: (B, h), as the contract has it for one cell
        h0, c0 = h0[0], c0[0]
    total, final = _module_loss(torch, loss, module, linear, torch.tensor(X), torch.tensor(Y), initial, lengths)
    total.backward()
    model, params = symbptt.from_torch(module, head=linear)
    grad = symbptt.compile_gradient(model, loss=loss, backend="numpy", initial_state_grad=True, return_state=True)
    out = symbptt.to_torch(grad(params, X, Y, h0, c0 if name == "LSTM" else None, lengths=lengths), module,
                           head=linear)
    expected = {n: p.grad.numpy() for n, p in module.named_parameters()}
    if linear is not None:
        expected |= {f"head.{n}": p.grad.numpy() for n, p in linear.named_parameters()}
    states = final if name == "LSTM" else (final,)
    one = (lambda a: a[0]) if layers == 1 else (lambda a: a)
    expected |= {"h0": one(h0_t.grad.numpy()), "hT": one(states[0].detach().numpy())}
    if name == "LSTM":
        expected |= {"c0": one(c0_t.grad.numpy()), "cT": one(states[1].detach().numpy())}
    assert set(out) == set(expected) | {"loss"}
    assert out["loss"] == pytest.approx(total.item(), rel=1e-13)
    for key, value in expected.items():
        np.testing.assert_allclose(out[key], value, rtol=1e-10, atol=1e-13, err_msg=key)


def test_from_torch_refuses_what_it_cannot_map_in_one_line():
    torch = library("torch")
    with pytest.raises(symbptt.NotSupportedError, match=r"^LSTM\(bidirectional=False, proj_size=2\): symbptt maps"):
        symbptt.from_torch(torch.nn.LSTM(2, 3, proj_size=2))
    with pytest.raises(symbptt.NotSupportedError, match=r"bidirectional=True"):
        symbptt.from_torch(torch.nn.GRU(2, 3, bidirectional=True))
    with pytest.raises(ValueError, match=r"^from_torch takes torch.nn.RNN, GRU or LSTM; got Linear$"):
        symbptt.from_torch(torch.nn.Linear(2, 3))
    with pytest.raises(ValueError, match=r"^head must be a torch.nn.Linear or None; got ReLU$"):
        symbptt.from_torch(torch.nn.RNN(2, 3), head=torch.nn.ReLU())
