"""Stage 2, the derivation: the truncation strategies (strategies, and randomized truncation's ξ: sampling),
steps as data (steps), the linear recurrence and its proof (recurrence), the chain rule (chain), E1-E7's pieces
(sensitivity), E1-E9 for one state (one_state) and for two (two_states) behind one protocol (size_one), one VJP
rule per operation (rules), E18's gates (gates), and E10-E17 (reverse)."""
