"""Stage 4, the compiled gradients and what acts on them: the backends and which one a call takes (backends),
the checks of a call (calls), compile_gradient (api), the straight-line scalar programs (scalar_api), clipping
(clipping), central differences (checks), and PyTorch's modules in and out (pytorch)."""
