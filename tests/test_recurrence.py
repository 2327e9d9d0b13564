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
