"""Stage 4, the compiled gradients and what acts on them: the backends and which one a call takes (backends),
compile_gradient (api), the straight-line scalar programs (scalar_api), clipping (clipping) and central
differences (checks)."""
