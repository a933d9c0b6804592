"""The ``traceseal`` command line: the same services as the HTTP API, run locally."""
