"""The section's claims, measured on the user's own model: numbers here, figures in ``analysis.figures``.

    truncation  where each strategy cuts the gradient, on the opening of The Time Machine
    alignment   exercise 1: M^k's eigenvalues, proved symbolically; M^k x turning toward v_1
    estimators  bias, variance and cost of every strategy against full, from compiled gradients
    spectrum    E15's powers of W_hh, the gradient's norm against the lag, Pascanu's conditions
    training    a short training run, clipped and not
    figures     the figures (matplotlib, the optional ``plot`` extra)
"""
