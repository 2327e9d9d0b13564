"""Stage 3, code generation: the name allocator (names), the statement IR (ir), the runtime helpers of each
dialect (runtime, runtime_numba, runtime_xp), the dialects, the printers (printing), the passes, storage, the
forward loop (loops), the parameters' sums (blocks), the backward loop (backward), the wrappers, modules, the
Numba cache (jit) and the straight-line scalar programs (program)."""
