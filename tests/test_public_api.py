import types

import symbptt


def test_all_is_complete():
    public = {n for n, v in vars(symbptt).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"}
    assert public <= set(symbptt.__all__)
    assert set(dir(symbptt)) == set(symbptt.__all__)


def test_contract_entry_points_are_exported():
    for name in ("compile_gradient", "clip_norm", "clip_value"):
        assert callable(getattr(symbptt, name))
