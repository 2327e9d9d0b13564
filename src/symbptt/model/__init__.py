"""Stage 1, the model: elementwise functions, the matrix vocabulary, cells (the contract's and PyTorch's own),
losses, stacked layers, padded sequences, the size-one views (one state, two states), the unrolled graph."""
