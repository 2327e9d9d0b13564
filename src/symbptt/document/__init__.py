"""Stage 5, the LaTeX output: the textbook's notation for one expression (notation), steps laid out as
displays (latex), the narration in five languages (narration), standalone documents and PDFs (documents), the
measured check of each result (evidence), and the handout that puts them together (handout)."""
