"""Stage 1, the model: elementwise functions, the matrix vocabulary, cells, losses, scalar view, unrolled graph."""
