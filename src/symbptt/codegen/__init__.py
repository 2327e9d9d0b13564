"""Stage 3, code generation: printing, the statement IR, passes, storage, loops, programs, modules, runtime helpers."""
