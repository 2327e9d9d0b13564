"""Stage 1, the model: elementwise functions, the matrix vocabulary, cells, losses, the scalar view, the unrolled graph."""
