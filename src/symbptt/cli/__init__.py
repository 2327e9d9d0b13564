"""The command line: flag types and the flags that do not go together (flags), symbptt analyze (analyze), and
the commands themselves with their one-line errors (commands; ``main`` is the entry point)."""
