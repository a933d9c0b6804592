"""``channels urls`` and ``channels try``: the message channels from the command line."""

from __future__ import annotations

from enum import StrEnum

import typer

from traceseal.channels.models import Provider
from traceseal.channels.service import Inbound, Messages
from traceseal.channels.sms import callback_secret
from traceseal.cli.common import JsonOption, emit, fail, keyring, settings
from traceseal.db import make_engine, make_session_factory
from traceseal.verify.channel import Verifier
from traceseal.verify.models import Channel

app = typer.Typer(help="The SMS and WeChat channels (docs/channels.md).", no_args_is_help=True)


class Via(StrEnum):
    SMS = "sms"
    WECHAT = "wechat"


@app.command("urls")
def urls(as_json: bool = JsonOption) -> None:
    """The callback URLs to paste into the providers' consoles (they carry the secret)."""
    base = settings().public_url
    secret = callback_secret(keyring())
    sms = {
        name: f"{base}/channels/sms/{name}/{secret}" for name in ("aliyun", "tencent", "generic")
    }
    data = {"sms": sms, "wechat": f"{base}/channels/wechat"}
    human = "\n".join(
        [*(f"SMS {name:<8} {url}" for name, url in sms.items()), f"WeChat       {data['wechat']}"]
    )
    emit(as_json, data, human)


@app.command("try")
def try_(
    via: Via = typer.Argument(..., help="sms or wechat"),
    text: str = typer.Argument(..., help='The message, e.g. "查询 1234 5678 9012 3456 7890".'),
    sender: str = typer.Option(
        "13800000000", "--from", help="The sender: a phone number or a WeChat OpenID."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Answer a message as the channel would: print the reply and record the scan."""
    if not sender.strip() or len(sender) > 128:
        fail("--from must be 1 to 128 characters")
    config = settings()
    engine = make_engine(config.resolved_database_url)
    try:
        ring = keyring()
        verifier = Verifier(config, make_session_factory(engine), ring)
        # Nothing is sent from here: the reply is printed instead.
        messages = Messages(verifier, ring, "none")
        channel = Channel.SMS if via is Via.SMS else Channel.WECHAT
        answer = messages.answer_now(Inbound(Provider.CLI, channel, sender.strip(), text))
    finally:
        engine.dispose()
    data = {
        "reply": answer.reply,
        "verdict": None if answer.verdict is None else answer.verdict.value,
        "code": answer.code,
        "repeated": answer.repeated,
    }
    emit(as_json, data, answer.reply)
