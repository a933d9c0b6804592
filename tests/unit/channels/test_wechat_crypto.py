"""WeChat's signatures against its published examples."""

from __future__ import annotations

import hashlib

from traceseal.channels.wechat_crypto import jssdk_signature, signature


def test_the_jssdk_signature_matches_wechats_published_example() -> None:
    # The worked example of the JS-SDK documentation (附录1-JS-SDK使用权限签名算法),
    # https://developers.weixin.qq.com/doc/offiaccount/en/OA_Web_Apps/JS-SDK.html
    ticket = (
        "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    )
    assert (
        jssdk_signature(
            ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value"
        )
        == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    )


def test_the_request_signature_is_sha1_of_the_sorted_parts() -> None:
    expected = hashlib.sha1(b"1409304348tokenxxxxxx").hexdigest()  # noqa: S324 - the protocol
    assert signature("token", "1409304348", "xxxxxx") == expected
    assert signature("xxxxxx", "token", "1409304348") == expected
    assert signature("token", "1409304349", "xxxxxx") != expected
