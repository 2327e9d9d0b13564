"""Stage 2, the derivation: steps as data, the linear recurrence, the chain rule, E1-E9, VJP rules, E10-E16."""
