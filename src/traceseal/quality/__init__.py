"""The quality-integrity dossier: signed certificates, lab reports, sampling results, credit
ratings, commitments and label programmes, each a leaf of the transparency log (docs/quality.md).
"""
