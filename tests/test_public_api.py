import symbptt


def test_all_is_complete():
    public = {n for n in vars(symbptt) if not n.startswith("_")} - {
        "annotations", "checks", "codegen", "derive", "errors", "model", "recurrence", "strategies", "graph",
        "ops", "chain", "program", "latex", "cli"}
    assert public <= set(symbptt.__all__)
    assert set(dir(symbptt)) == set(symbptt.__all__)
