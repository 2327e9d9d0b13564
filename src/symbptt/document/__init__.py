"""Stage 5, the LaTeX output: the textbook's notation for one expression (matrix_notation for the matrix form,
notation on top of it), the narration in five languages (narration), steps laid out as displays (latex),
standalone documents and PDFs (documents), the measured check of each result (evidence), and the handout that
puts them together (handout)."""
