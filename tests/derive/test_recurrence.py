import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from symbptt import LinearRecurrence
from symbptt.errors import ProofError

t = sp.Symbol("t", integer=True, positive=True)


def test_closed_form_is_proved_for_symbolic_t():
    proof = LinearRecurrence().prove_closed_form(t)
    b, c, a = LinearRecurrence().b, LinearRecurrence().c, LinearRecurrence().closed_form
    assert proof[0].lhs == b(t) + c(t) * a(t - 1)
    assert proof[-1].rhs == a(t)
    assert len(proof) == 4


def test_proof_rejects_a_wrong_closed_form():
    class Wrong(LinearRecurrence):
        def closed_form(self, t, start=sp.S.One, i=None, j=None):
            return 2 * super().closed_form(t, start)

    import pytest

    with pytest.raises(ProofError):
        Wrong().prove_closed_form(t)


@given(st.integers(1, 9))
def test_closed_form_equals_iteration(T):
    rec = LinearRecurrence()
    assert sp.expand(rec.closed_form(T) - rec.iterate(T)[-1]) == 0
    # the symbolic Sum/Product form, evaluated at an explicit t, is the same polynomial
    assert sp.expand(rec.closed_form(t).subs(t, T).doit() - rec.iterate(T)[-1]) == 0


def test_rsolve_is_not_used():
    import inspect

    import symbptt.derive.recurrence as module

    assert "rsolve(" not in inspect.getsource(module).replace("``rsolve``", "")


def test_e15_proof_for_symbolic_T_holds_line_by_line_at_explicit_values():
    import sympy as sp

    from symbptt.derive import recurrence

    c, b, a = sp.Symbol("c"), sp.IndexedBase("b"), sp.IndexedBase("a")
    t, T = sp.symbols("t T", integer=True, positive=True)
    chain = recurrence.prove_backward_closed_form(c, lambda k: b[k], t, T)
    values = {c: sp.Rational(3, 7), **{b[k]: sp.Rational(k * k - 5, 3) for k in range(1, 12)}}
    for T_ in (3, 5):
        # a_{t+1} from the backward recurrence itself: a_T = b_T, a_k = b_k + c a_{k+1}
        a_values = {T_: values[b[T_]]}
        for k in range(T_ - 1, 0, -1):
            a_values[k] = values[b[k]] + values[c] * a_values[k + 1]
        for t_ in range(1, T_):
            point = {t: t_, T: T_}
            sides = [side.subs(point).doit().xreplace({**values, a[t_ + 1]: a_values[t_ + 1]})
                     for eq in chain for side in eq.args]
            assert len(set(sides)) == 1 and sides[0] == a_values[t_]


def test_e15_proof_refuses_a_coefficient_that_changes_with_t():
    import pytest
    import sympy as sp

    from symbptt.derive import recurrence
    from symbptt.errors import ProofError

    b = sp.IndexedBase("b")
    t, T = sp.symbols("t T", integer=True, positive=True)
    with pytest.raises(ProofError, match="step 2"):
        recurrence.prove_backward_closed_form(t * sp.Symbol("c"), lambda k: b[k], t, T)
