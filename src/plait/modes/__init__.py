"""ProbLog's other modes on plait's circuits: MPE, sampling, learning from interpretations, proofs, DTProbLog.

Each mode is one module built on the layers below (grounding, compilation,
circuits); nothing below imports this package.
"""
