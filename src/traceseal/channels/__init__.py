"""The message channels (SMS and WeChat): an edge like ``cli/``.

Each channel parses what a provider delivered, authorises it (a secret path, a signature),
and calls the one verification core through ``verify.channel.Verifier``; only the wording of
the answer differs (docs/channels.md).
"""
