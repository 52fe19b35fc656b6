r"""MS-CHAP (RFC 2433) and MS-CHAPv2 (RFC 2759) as CHAP algorithms, and their MPPE keys (RFC 3079).

This module imports pycryptodome (MD4 is gone from hashlib under OpenSSL 3; DES too), so
:mod:`pyppp.auth.chap` imports it only when LCP settled on algorithm 0x80 or 0x81.

Both Response Values are 49 octets (RFC 2433 §3, RFC 2759 §4)::

    MS-CHAP:    LM-Response (24) | NT-Response (24) | Use-NT flag (1)
    MS-CHAPv2:  Peer-Challenge (16) | Reserved, zero (8) | NT-Response (24) | Flags, zero (1)

As pppd (``chap_ms.c``, built without ``MSLANMAN``): the LM-Response is sent as zeros and a
Response asking for LAN Manager authentication (Use-NT 0) is refused. Passwords are the
chap-secrets secret turned to "Unicode" the way pppd does, each octet widened to 16 bits (the
same as UTF-16LE for ASCII; a non-ASCII secret hashes as its UTF-8 octets, as with pppd). The
user name hashed into a v2 challenge is the name without any ``DOMAIN\`` prefix (RFC 2759 §4).

Messages (RFC 2759 §6, §7; RFC 2433 §3): Success ``S=<40 hex digits> M=Access granted`` (v2;
without `` M=...`` when the peer set the Flags octet, as Windows 98 does), ``Access granted``
(v1); Failure ``E=691 R=0 C=<challenge hex> V=0 M=Access denied`` (v1 without ``M=``). pppd
sends ``R=1`` but never accepts a retry; ``R=0`` keeps a Windows peer from asking its user for
the password again in a loop.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import ClassVar, Final

from Crypto.Cipher import DES
from Crypto.Hash import MD4

from pyppp.auth.base import AuthMethod, MppeKeys, visible
from pyppp.auth.chap import ChapAnswer, ChapDigest, ChapVerdict
from pyppp.lcp.options import ChapAlgorithm
from pyppp.util import NOTICE, Rng

__all__ = [
    "RESPONSE_LENGTH",
    "MsChapDigest",
    "MsChapV2Digest",
    "authenticator_response",
    "challenge_hash",
    "challenge_response",
    "failure_text",
    "generate_nt_response",
    "hash_nt_password_hash",
    "master_key",
    "mppe_keys_v1",
    "mppe_keys_v1_hashed",
    "mppe_keys_v2",
    "nt_challenge_response",
    "nt_password_hash",
    "send_start_key",
]

RESPONSE_LENGTH: Final = 49
"""The Response Value of both MS-CHAP versions (pppd ``MS_CHAP_RESPONSE_LEN``)."""

_V1_CHALLENGE: Final = 8
_V2_CHALLENGE: Final = 16
_AUTH_STRING: Final = 40  # "S=" + 40 hex digits (pppd MS_AUTH_RESPONSE_LENGTH)
_ERROR_AUTHENTICATION_FAILURE: Final = 691

# RFC 2759 §8.7.
_MAGIC1: Final = b"Magic server to client signing constant"
_MAGIC2: Final = b"Pad to make it do more than one iteration"
# RFC 3079 §3.4.
_MASTER_MAGIC: Final = b"This is the MPPE Master Key"
_CLIENT_SEND_MAGIC: Final = (
    b"On the client side, this is the send key; on the server side, it is the receive key."
)
_SERVER_SEND_MAGIC: Final = (
    b"On the client side, this is the receive key; on the server side, it is the send key."
)
_SHS_PAD1: Final = bytes(40)
_SHS_PAD2: Final = b"\xf2" * 40

# pppd chapms_handle_failure: what it prints for a Failure without "M=".
_FAILURE_CODES: Final = {
    646: "E=646 Restricted logon hours",
    647: "E=647 Account disabled",
    648: "E=648 Password expired",
    649: "E=649 No dialin permission",
    691: "E=691 Authentication failure",
    709: "E=709 Error changing password",
}
_ERROR_CODE: Final = re.compile(rb"[ \t\n\v\f\r]*[+-]?0*([0-9]+)")


# ---------------------------------------------------------------------------------------------
# RFC 2759 §8 / RFC 2433 §A: the hashes, with the RFCs' names


def _unicode(password: bytes) -> bytes:
    # pppd ascii2unicode(): every octet widened to a 16-bit little-endian character.
    return password.decode("latin-1").encode("utf-16-le")


def nt_password_hash(password: bytes) -> bytes:
    """NtPasswordHash (RFC 2759 §8.3): MD4 of the Unicode password, 16 octets."""
    return MD4.new(_unicode(password)).digest()


def hash_nt_password_hash(password_hash: bytes) -> bytes:
    """HashNtPasswordHash (RFC 2759 §8.4): MD4 of the 16-octet password hash."""
    return MD4.new(password_hash).digest()


def _des_key(seven: bytes) -> bytes:
    """A 7-octet key spread over 8 octets with odd parity in each low bit (RFC 2759 §8.6)."""
    bits = int.from_bytes(seven, "big")
    out = bytearray()
    for i in range(8):
        octet = ((bits >> (49 - 7 * i)) & 0x7F) << 1
        out.append(octet | (bin(octet).count("1") + 1) % 2)
    return bytes(out)


def challenge_response(challenge: bytes, password_hash: bytes) -> bytes:
    """ChallengeResponse (RFC 2759 §8.5): three DES encryptions of the 8-octet challenge.

    The keys are the 16-octet hash padded with zeros to 21 octets, 7 octets each.
    """
    padded = password_hash.ljust(21, b"\0")
    return b"".join(
        DES.new(_des_key(padded[i : i + 7]), DES.MODE_ECB).encrypt(challenge) for i in (0, 7, 14)
    )


def nt_challenge_response(challenge: bytes, password: bytes) -> bytes:
    """NtChallengeResponse (RFC 2433 §A.5): the MS-CHAP (v1) NT-Response, 24 octets."""
    return challenge_response(challenge, nt_password_hash(password))


def _strip_domain(user_name: bytes) -> bytes:
    # RFC 2759 §8.2: "the user name ... excluding any prepended domain name".
    return user_name.rsplit(b"\\", 1)[-1]


def challenge_hash(
    peer_challenge: bytes, authenticator_challenge: bytes, user_name: bytes
) -> bytes:
    """ChallengeHash (RFC 2759 §8.2): the 8-octet challenge both sides encrypt."""
    digest = hashlib.sha1(peer_challenge + authenticator_challenge + _strip_domain(user_name))
    return digest.digest()[:8]


def generate_nt_response(
    authenticator_challenge: bytes, peer_challenge: bytes, user_name: bytes, password: bytes
) -> bytes:
    """GenerateNTResponse (RFC 2759 §8.1): the MS-CHAPv2 NT-Response, 24 octets."""
    challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name)
    return challenge_response(challenge, nt_password_hash(password))


def authenticator_response(
    password: bytes,
    nt_response: bytes,
    peer_challenge: bytes,
    authenticator_challenge: bytes,
    user_name: bytes,
) -> bytes:
    """GenerateAuthenticatorResponse (RFC 2759 §8.7): ``S=`` and 40 upper-case hex digits."""
    password_hash_hash = hash_nt_password_hash(nt_password_hash(password))
    digest = hashlib.sha1(password_hash_hash + nt_response + _MAGIC1).digest()
    challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name)
    digest = hashlib.sha1(digest + challenge + _MAGIC2).digest()
    return b"S=" + digest.hex().upper().encode()


# ---------------------------------------------------------------------------------------------
# RFC 3079: MPPE keys


def master_key(password_hash_hash: bytes, nt_response: bytes) -> bytes:
    """GetMasterKey (RFC 3079 §3.4): the 16-octet MS-CHAPv2 master key."""
    return hashlib.sha1(password_hash_hash + nt_response + _MASTER_MAGIC).digest()[:16]


def send_start_key(master: bytes, *, is_server: bool, length: int = 16) -> bytes:
    """GetAsymmetricStartKey (RFC 3079 §3.4) for the direction one side *sends* in.

    The server's send key is the client's receive key and the other way round, so the receive
    key of a side is ``send_start_key(master, is_server=not is_server)``.

    Args:
        master: the master key (`master_key`).
        is_server: the key of the authenticator (True) or of the peer (False).
        length: 16 for 128-bit MPPE, 8 for 40- and 56-bit.
    """
    magic = _SERVER_SEND_MAGIC if is_server else _CLIENT_SEND_MAGIC
    return hashlib.sha1(master + _SHS_PAD1 + magic + _SHS_PAD2).digest()[:length]


def mppe_keys_v2(password: bytes, nt_response: bytes, *, is_server: bool) -> MppeKeys:
    """The MPPE start keys after MS-CHAPv2, for the authenticator or the peer (RFC 3079 §3)."""
    master = master_key(hash_nt_password_hash(nt_password_hash(password)), nt_response)
    return MppeKeys(
        send_key=send_start_key(master, is_server=is_server),
        recv_key=send_start_key(master, is_server=not is_server),
    )


def mppe_keys_v1(password: bytes, challenge: bytes) -> MppeKeys:
    """The MPPE start key after MS-CHAP (RFC 3079 §2.4 ``Get_Start_Key``), both directions.

    SHA-1 of the password hash's hash twice and the 8-octet challenge, first 16 octets; pppd
    uses it for every key length (MPPE shortens it).
    """
    return mppe_keys_v1_hashed(hash_nt_password_hash(nt_password_hash(password)), challenge)


def mppe_keys_v1_hashed(password_hash_hash: bytes, challenge: bytes) -> MppeKeys:
    """:func:`mppe_keys_v1` from the password hash's hash (pppd ``mppe_set_chapv1``).

    What a NAS without the password has: RADIUS's MS-CHAP-MPPE-Keys carries that hash
    (RFC 2548 §2.4.1), from which pppd's radius plugin derives the start key.
    """
    key = hashlib.sha1(password_hash_hash + password_hash_hash + challenge).digest()[:16]
    return MppeKeys(send_key=key, recv_key=key)


# ---------------------------------------------------------------------------------------------
# Messages


def _failure_message(challenge: bytes, *, v2: bool) -> bytes:
    # RFC 2759 §7: "E=691 R=0 C=<challenge> V=0 M=<msg>"; pppd prints C= in lower case.
    text = f"E={_ERROR_AUTHENTICATION_FAILURE} R=0 C={challenge.hex()} V=0"
    if v2:
        text += " M=Access denied"
    return text.encode()


def failure_text(message: bytes) -> tuple[str, bool]:
    """What pppd logs for an MS-CHAP Failure message (``chapms_handle_failure``).

    Returns:
        ``(text, known)``: the ``M=`` part, pppd's wording for a known ``E=`` code without
        ``M=``, or the whole message; ``known`` is False for an ``E=`` code pppd does not
        know and no ``M=`` (pppd then says "Unknown MS-CHAP authentication failure").
    """
    text = message.split(b"\0", 1)[0]  # pppd handles it as a C string
    if not text.startswith(b"E="):
        return visible(text), True
    marker = text.find(b" M=")
    if marker >= 0:
        return visible(text[marker + 3 :]), True
    code = _ERROR_CODE.match(text, 2)
    known = None
    if code is not None and len(code.group(1)) <= 4:
        known = _FAILURE_CODES.get(int(code.group(1)))
    if known is None:
        return visible(message), False
    return known, True


def _log_failure(digest: ChapDigest, message: bytes) -> None:
    text, known = failure_text(message)
    if known:
        digest.logger.error("MS-CHAP authentication failed: %s", text)
    else:
        digest.logger.error("Unknown MS-CHAP authentication failure: %s", text)


# ---------------------------------------------------------------------------------------------
# The two algorithms


class _MsDigest(ChapDigest):
    """What both MS-CHAP versions share: fixed-size challenges, 49-octet Responses, Failures."""

    _CHALLENGE_SIZE: ClassVar[int]

    def challenge(self, rng: Rng) -> bytes:
        """A random Challenge of the version's size (8 or 16 octets)."""
        return rng(self._CHALLENGE_SIZE)

    def accepts_challenge(self, challenge: bytes) -> bool:
        """RFC 2433 §3 / RFC 2759 §4: the Challenge Value has the version's size."""
        return len(challenge) == self._CHALLENGE_SIZE

    def denial(self, challenge: bytes) -> bytes:
        """``E=691 R=0 C=<challenge> V=0`` (and `` M=Access denied`` for MS-CHAPv2)."""
        return _failure_message(challenge, v2=self.algorithm == ChapAlgorithm.MS_V2)

    def verify(
        self, identifier: int, challenge: bytes, response: bytes, name: bytes, secret: bytes
    ) -> ChapVerdict:
        """Judge a 49-octet Response; any other size is a Failure, as pppd's."""
        if len(response) != RESPONSE_LENGTH:
            self._malformed(f"Response Value of {len(response)} octets")
        elif (verdict := self._judge(challenge, response, name, secret)) is not None:
            return verdict
        return ChapVerdict(False, self.denial(challenge))

    def _judge(
        self, challenge: bytes, response: bytes, name: bytes, secret: bytes
    ) -> ChapVerdict | None:
        """The Success verdict for a right Response, ``None`` for a wrong one."""
        raise NotImplementedError

    def handle_failure(self, message: bytes) -> None:
        """Log pppd's "MS-CHAP authentication failed: ..." line."""
        _log_failure(self, message)


class MsChapDigest(_MsDigest):
    """MS-CHAP version 1 (RFC 2433), pppd's ``chapms_digest``."""

    algorithm: ClassVar[int] = ChapAlgorithm.MS
    method: ClassVar[AuthMethod] = AuthMethod.MSCHAP
    _CHALLENGE_SIZE: ClassVar[int] = _V1_CHALLENGE

    def _judge(
        self, challenge: bytes, response: bytes, name: bytes, secret: bytes
    ) -> ChapVerdict | None:
        """Check the NT-Response; a LAN Manager-only Response is refused, as pppd does."""
        if not response[48]:
            self._malformed("Use-NT flag 0 (LAN Manager response)")
            self.logger.log(NOTICE, "Peer request for LANMAN auth not supported")
            return None
        if not hmac.compare_digest(response[24:48], nt_challenge_response(challenge, secret)):
            return None
        return ChapVerdict(True, b"Access granted", mppe_keys_v1(secret, challenge))

    def respond(
        self, identifier: int, challenge: bytes, user: bytes, secret: bytes, rng: Rng | None
    ) -> ChapAnswer:
        """Zero LM-Response, the NT-Response, Use-NT 1."""
        value = bytes(24) + nt_challenge_response(challenge, secret) + b"\x01"
        return ChapAnswer(value, mppe_keys=mppe_keys_v1(secret, challenge))


class MsChapV2Digest(_MsDigest):
    """MS-CHAPv2 (RFC 2759), pppd's ``chapms2_digest``: mutual authentication."""

    algorithm: ClassVar[int] = ChapAlgorithm.MS_V2
    method: ClassVar[AuthMethod] = AuthMethod.MSCHAP_V2
    reuse_answers: ClassVar[bool] = True
    _CHALLENGE_SIZE: ClassVar[int] = _V2_CHALLENGE

    def _judge(
        self, challenge: bytes, response: bytes, name: bytes, secret: bytes
    ) -> ChapVerdict | None:
        """Check the NT-Response and answer with the Authenticator Response."""
        peer_challenge, nt_response, flags = response[:16], response[24:48], response[48]
        if any(response[16:24]) or flags:
            # RFC 2759 §4: both "MUST be zero"; pppd still answers (Windows 98 sets Flags 4).
            self._malformed("Reserved or Flags octets not zero")
        expected = generate_nt_response(challenge, peer_challenge, name, secret)
        if not hmac.compare_digest(nt_response, expected):
            return None
        message = authenticator_response(secret, nt_response, peer_challenge, challenge, name)
        if not flags:
            # pppd leaves M= out for a peer that set the Flags (Windows 98 calls M= an error).
            message += b" M=Access granted"
        return ChapVerdict(True, message, mppe_keys_v2(secret, nt_response, is_server=True))

    def respond(
        self, identifier: int, challenge: bytes, user: bytes, secret: bytes, rng: Rng | None
    ) -> ChapAnswer:
        """A fresh Peer-Challenge, the NT-Response, and the ``S=`` we then expect."""
        assert rng is not None  # ChapPeer refuses to run MS-CHAPv2 without one
        peer_challenge = rng(_V2_CHALLENGE)
        nt_response = generate_nt_response(challenge, peer_challenge, user, secret)
        return ChapAnswer(
            peer_challenge + bytes(8) + nt_response + b"\x00",
            authenticator_response=authenticator_response(
                secret, nt_response, peer_challenge, challenge, user
            ),
            mppe_keys=mppe_keys_v2(secret, nt_response, is_server=False),
        )

    def check_success(self, answer: ChapAnswer | None, message: bytes) -> bool:
        """RFC 2759 §6: the peer MUST check the Authenticator Response (pppd's wording)."""
        if len(message) < 2 + _AUTH_STRING or not message.startswith(b"S="):
            self._malformed("Success without S=<40 hex digits>")
            self.logger.error("MS-CHAPv2 Success packet is badly formed.")
            return False
        expected = answer.authenticator_response if answer is not None else None
        got = message[: 2 + _AUTH_STRING]
        if expected is None or not hmac.compare_digest(got.upper(), expected):
            self.logger.error("MS-CHAPv2 mutual authentication failed.")
            return False
        rest = message[2 + _AUTH_STRING :]
        # pppd accepts " M=..." and, since Windows Server 2019 sends it, "M=..." too.
        if rest and not rest.startswith((b" M=", b"M=")):
            self._malformed("text after S= that is not M=")
            self.logger.error("MS-CHAPv2 Success packet is badly formed.")
            return False
        return True
