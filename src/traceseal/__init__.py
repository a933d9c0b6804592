"""TraceSeal: product verification and supply-chain traceability on GS1 standards."""

__version__ = "0.1.0"
