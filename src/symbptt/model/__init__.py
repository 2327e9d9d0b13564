"""Stage 1, the model: elementwise functions, the matrix vocabulary, cells, losses, the size-one views (one state,
two states), the unrolled graph."""
