"""A transparency log witness (C2SP tlog-witness) and the log's client for it.

A witness watches a log: it cosigns each checkpoint the log sends only if a consistency
proof shows it extends the last one it cosigned, so a log that shows different histories to
different people (a fork) or rewrites one (a rollback) cannot get both cosigned. Run one
with ``traceseal witness serve`` (docs/ledger.md, "Witnesses").

* :mod:`~traceseal.witness.protocol`: the request and answer bytes (pure);
* :mod:`~traceseal.witness.witness`: the checks and the cosignature;
* :mod:`~traceseal.witness.state`: per-log state in a SQLite file, advanced atomically;
* :mod:`~traceseal.witness.app`: ``POST /add-checkpoint`` as an ASGI application;
* :mod:`~traceseal.witness.keys`: the cosigning key's file;
* :mod:`~traceseal.witness.client`: what the log uses to send a checkpoint.
"""
