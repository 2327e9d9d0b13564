import random

import pytest
import sympy as sp

import symbptt
from symbptt.codegen import program
from symbptt.derive import one_state as derive
from symbptt.derive import sensitivity, strategies
from symbptt.derive.chain import Partial
from symbptt.model import graph, symbols
from symbptt.model import scalar as model
from symbptt.model.scalar import h, w_h

LABELS = ["eq_bptt_ht_ot", "eq_bptt_objective", "eq_bptt_partial_L_wh", "eq_bptt_partial_ht_wh_recur",
          "eq_bptt_at", "eq_bptt_at_proof", "eq_bptt_substitution", "eq_bptt_partial_ht_wh_gen",
          "eq_bptt_window", "eq_bptt_chunked", "eq_bptt_randomized", "eq_bptt_tbptt", "eq_bptt_last"]


@pytest.mark.parametrize("name", ["generic", "linear", "elman", "gru"])
def test_symbolic_derivation_has_every_step_in_textbook_order(name):
    d = derive.symbolic(model.make_model(name))
    assert list(d.labels) == LABELS


def test_generic_E7_equals_sympy_diff_of_nested_state():
    """E7 at t = 3, derived with undefined f, equals sympy.diff of the nested h_3.

    f is then replaced by a polynomial with symbolic coefficients, so both sides
    are polynomials and the comparison is exact.
    """
    g = model.generic()
    unrolled = graph.unroll(g, 3)
    ours = sensitivity.sensitivity_sequence(g, w_h).closed_form(3)
    X, H, W = sp.symbols("X H W")
    alpha = sp.symbols("alpha0:5")
    poly = sp.Lambda((X, H, W), alpha[0] * X * H * W + alpha[1] * H**2 + alpha[2] * W**2 * X
                     + alpha[3] * H * W + alpha[4] * H)
    concrete = lambda e: e.replace(model.f, poly).doit()  # noqa: E731
    ours = concrete(ours).xreplace({h[k]: concrete(unrolled.nested(h[k])) for k in (1, 2)})
    reference = sp.diff(concrete(unrolled.nested(h[3])), w_h)
    assert sp.expand(ours - reference) == 0


def test_generic_E4_is_the_chain_rule():
    eq = sensitivity.sensitivity_recurrence(model.generic(), w_h)
    f = model.f
    x, t = model.x, symbols.t
    expected = (sp.Derivative(f(x[t], h[t - 1], w_h), w_h)
                + sp.Derivative(f(x[t], h[t - 1], w_h), h[t - 1]) * Partial(h[t - 1], w_h))
    assert eq.lhs == Partial(h[t], w_h)
    assert sp.expand(eq.rhs - expected) == 0


FULL = strategies.Full()


def _program_gradient(cell, T, strategy=FULL):
    """Evaluate the compiled program's assignments symbolically: the gradient as an expression."""
    prog = program.build(cell, T, strategy)
    env = {}
    for a in prog.assignments:
        env[a.target] = a.value().xreplace(env)
    return {name: env[symbol] / T for name, symbol in prog.outputs}


def _rational(rng):
    return sp.Rational(rng.randint(-9, 9) or 1, rng.randint(2, 11))


@pytest.mark.parametrize(("cell", "activation"), [("linear", "tanh"), ("elman", "identity"),
                                                    ("elman", "tanh"), ("elman", "sigmoid"),
                                                    ("elman", "relu")])
@pytest.mark.parametrize("T", [1, 2, pytest.param(3, marks=pytest.mark.slow)])
def test_gradient_equals_sympy_diff_of_unrolled_loss(cell, activation, T):
    """Symbolic check: the derived program equals sympy.diff of the nested loss, at exact rationals."""
    m = model.make_model(cell, activation)
    ours = _program_gradient(m, T)
    unrolled = graph.unroll(m, T)
    nested = unrolled.nested_objective()
    # an independent reference: relu as Max and sigmoid as exp, SymPy's own rules differentiate them
    nested = nested.rewrite(sp.Max).rewrite(sp.exp) if activation in ("relu", "sigmoid") else nested
    rng = random.Random(T)
    point = {}
    for k in range(1, T + 1):
        point[model.x[k]] = point[sp.Symbol(f"x_{k}", real=True)] = _rational(rng)
        point[model.y[k]] = point[sp.Symbol(f"y_{k}", real=True)] = _rational(rng)
    point[h[0]] = point[sp.Symbol("h_0", real=True)] = _rational(rng)
    for p in m.params:
        point[p] = _rational(rng)
    for p in m.params:
        reference = sp.diff(nested, p).xreplace(point)
        value = ours[str(p)].xreplace(point)
        if activation in ("identity", "relu") or cell == "linear":
            assert sp.nsimplify(value - reference) == 0, p  # exact rationals
        else:
            assert abs(sp.N(value - reference, 60)) < sp.Float("1e-50", 60), p


@pytest.mark.parametrize("T", [2, 3, 4, 5, 6])
def test_randomized_is_unbiased_exactly(T):
    eq = derive.randomized_expectation_exact(model.generic(), w_h, T)  # raises ProofError if biased
    assert eq.rhs == Partial(h[T], w_h)


@pytest.mark.parametrize("T", [2, 3, 6])
def test_the_sum_over_outcomes_sees_a_sampler_that_does_not_reweight_and_a_wrong_closed_form(T):
    """xi_t = 1/pi_t with probability pi_t is unbiased; keeping a path with probability pi_t without
    reweighting it (xi_t = 1) is not, nor is a closed form missing its earliest term: both caught at every T."""
    from symbptt.derive import recurrence, strategies
    from symbptt.errors import ProofError

    seq = recurrence.LinearRecurrence()
    seq.check_unbiased(T, strategies.xi, strategies.pi)
    seq.check_unbiased(T, strategies.xi, sp.IndexedBase("q"))  # any name for the probabilities
    with pytest.raises(ProofError):
        seq.check_unbiased(T, strategies.xi, strategies.pi, kept=lambda p: sp.S.One)
    short = recurrence.LinearRecurrence()
    object.__setattr__(short, "closed_form", lambda t_, **_: seq.closed_form(t_) - seq.b(sp.Integer(1))
                       * sp.Mul(*(seq.c(sp.Integer(k)) for k in range(2, int(t_) + 1))))
    with pytest.raises(ProofError):
        short.check_unbiased(T, strategies.xi, strategies.pi)


def test_randomized_symbolic_proof_steps():
    eqs = derive.randomized_equations(model.make_model("linear"), model.make_model("linear").recurrent_weight)
    assert eqs[-1].rhs == Partial(h[symbols.t], model.make_model("linear").recurrent_weight)


@pytest.mark.parametrize("T", [1, 3, 5])
def test_window_and_chunked_forms_agree_with_the_strategy_at_explicit_t(T):
    """Symbolic-t truncated forms (E8, chunked) equal the explicit sums for every t ≤ T."""
    m = model.generic()
    seq = sensitivity.sensitivity_sequence(m, w_h)
    for tau in (1, 2, 4):
        for name, symbol in (("window", strategies.tau), ("chunked", strategies.k)):
            general = derive.strategy_form(m, w_h, strategies.kind_of(name).symbolic())
            for t in range(1, T + 1):
                explicit = seq.closed_form(t, start=strategies.make(name, tau=tau).start(sp.Integer(t)))
                instance = general.subs({symbol: tau, symbols.t: t}).doit()
                assert sp.expand(instance - explicit) == 0


def test_explicit_derivation_labels():
    d = derive.explicit(model.generic(), 3)
    assert d.labels[0] == "eq_bptt_partial_L_wh_T3"
    assert "eq_bptt_randomized_T3" in d.labels
    with pytest.raises(KeyError, match="no step labelled"):
        d["nope"]


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True])
def test_bad_T_is_rejected(bad):
    with pytest.raises(ValueError, match="T must be an integer >= 1"):
        symbptt.unroll(model.generic(), bad)


def test_generic_model_cannot_compile():
    with pytest.raises(symbptt.NotSupportedError, match="undefined f, g, l"):
        symbptt.compile_scalar_gradient("generic", 3)


def test_graph_dot_has_textbook_nodes():
    dot = symbptt.unroll(model.generic(), 3).to_dot()
    for node in ("h_0", "x_3", "h_3", "o_3", "l_3", "w_h", "w_o", "op_h_2", "L"):
        assert node in dot
    assert "h_2 -> op_h_3;" in dot and "op_h_3 -> h_3;" in dot


def test_the_linear_read_off_refuses_a_square_everywhere():
    """E6's b_t, c_t and the program's weights come from one read-off, which refuses u² (it used to drift)."""
    from symbptt.derive import chain
    from symbptt.errors import ProofError

    u, a, b = sp.symbols("u a b")
    assert chain.linear_split(a * u + b, u) == (a, b)
    with pytest.raises(ProofError, match="not linear in u"):
        chain.linear_split(a * u**2 + b, u)


def test_the_scalar_model_is_the_size_one_view_of_the_cell():
    """One vocabulary: elman's scalar step is the matrix cell at d = h = q = 1, with the contract's names."""
    m = model.make_model("elman", "tanh")
    W_hx, W_hh, b_h, W_qh, b_q = sp.symbols("W_hx W_hh b_h W_qh b_q", real=True)
    assert m.params == (W_hx, W_hh, b_h, W_qh, b_q) and m.recurrent_weight == W_hh
    assert m.step(model.x[1], h[0]) == sp.tanh(W_hx * model.x[1] + W_hh * h[0] + b_h)
    assert m.readout(h[1]) == W_qh * h[1] + b_q
    with pytest.raises(symbptt.NotSupportedError, match=r"needs the state h alone; the lstm cell has \(h, c\)"):
        model.make_model("lstm")


def test_e9_independence_is_checked_not_assumed():
    """A z_{t-1} that read xi_t (multipliers shifted by one step) is caught."""
    from symbptt.derive.recurrence import LinearRecurrence
    from symbptt.errors import ProofError

    class Shifted(LinearRecurrence):
        def iterate(self, T, multipliers=None):
            return super().iterate(T, [*multipliers[1:], 1])

    derive._check_independence(LinearRecurrence())  # the real one passes
    with pytest.raises(ProofError, match=r"z_\d depends on xi_\d"):
        derive._check_independence(Shifted())


def test_e3_takes_its_factor_from_the_objective_not_from_a_typed_1_over_T(monkeypatch):

    m = model.make_model("elman")
    w = m.recurrent_weight
    t, T = symbols.t, symbols.T
    halved = sp.Eq(model.L, sp.Sum(m.loss(model.y[t], model.o[t]), (t, 1, T)) / (2 * T))
    monkeypatch.setattr(sensitivity, "objective", lambda _: halved)
    for side in sensitivity.gradient_equation(m, w).rhs.args:
        (total,) = side.atoms(sp.Sum)
        assert sp.simplify(side / total - 1 / (2 * symbols.T)) == 0


@pytest.mark.parametrize("objective", ["w_h * Sum", "limit"])
def test_e3_refuses_an_objective_that_is_not_a_constant_times_a_sum(objective):
    from symbptt.errors import ProofError

    w = model.w_h
    term = model.l_node[symbols.t]
    expr = w * sp.Sum(term, (symbols.t, 1, symbols.T)) if objective != "limit" else sp.Sum(term, (symbols.t, 1, w))
    with pytest.raises(ProofError):
        sensitivity.through_linearity(expr, w, lambda f: f)
