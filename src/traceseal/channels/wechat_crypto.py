"""The WeChat official account's signatures and safe-mode (安全模式) message encryption.

Pure: no database, no web. From WeChat's message encryption technical solution
(https://developers.weixin.qq.com/doc/oplatform/en/Third-party_Platforms/Message_Encryption/Technical_Plan.html):

* ``signature`` (every request) is the hex SHA-1 of the token, timestamp and nonce sorted
  and concatenated; ``msg_signature`` (safe mode) adds the ``Encrypt`` text to the four.
* AES-256-CBC with key = Base64-decode(EncodingAESKey + "="), IV = the key's first 16
  bytes, PKCS#7 padding to a multiple of 32 bytes (not AES's 16).
* The plaintext is 16 random bytes, the XML's length as 4 bytes big-endian, the XML, and
  the official account's AppID, which the receiver checks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["BLOCK", "CryptoError", "MessageCipher", "jssdk_signature", "signature"]

#: WeChat pads to the key's length, 32 bytes.
BLOCK = 32


class CryptoError(ValueError):
    """A message that does not decrypt, is not padded right, or names another AppID."""


def signature(*parts: str) -> str:
    """SHA-1 over the sorted parts, as WeChat signs its requests.

    >>> signature("token", "1409304348", "xxxxxx")
    'f43b4a6571a6552356f482636e5a77e7fa33dcc9'
    """
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's protocol


def jssdk_signature(ticket: str, nonce: str, timestamp: int, url: str) -> str:
    """The JS-SDK's ``wx.config`` signature: SHA-1 of the four fields in this order.

    The caller passes the page's URL without its ``#`` fragment.
    """
    text = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - WeChat's protocol


class MessageCipher:
    """Encrypts and decrypts safe-mode messages of one official account."""

    def __init__(self, encoding_aes_key: str, app_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise CryptoError("the EncodingAESKey is not Base64") from exc
        if len(key) != 32:
            raise CryptoError("the EncodingAESKey does not give a 32-byte key")
        self._key = key
        self._app_id = app_id.encode()

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def decrypt(self, encrypted: str) -> bytes:
        """The XML inside ``Encrypt``; raises CryptoError."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except binascii.Error as exc:
            raise CryptoError("Encrypt is not Base64") from exc
        if not data or len(data) % 16:
            raise CryptoError("Encrypt is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CryptoError("too short")
        (length,) = struct.unpack(">I", plain[16:20])
        xml, app_id = plain[20 : 20 + length], plain[20 + length :]
        if len(xml) != length or app_id != self._app_id:
            raise CryptoError("the message is not for this official account")
        return xml

    def encrypt(self, xml: bytes, random: bytes | None = None) -> str:
        """``xml`` encrypted for WeChat (Base64); ``random`` is 16 bytes (tests fix it)."""
        random = os.urandom(16) if random is None else random
        plain = random + struct.pack(">I", len(xml)) + xml + self._app_id
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
