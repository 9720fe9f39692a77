"""A first look at an SDP offer before aiortc sees it.

aiortc accepts some nonsense (an empty string, or `garbage`, parses as an offer with no media)
and answers it, so the join would "succeed" with a peer that can never connect. This check
refuses what cannot possibly work, with a message that says why; aiortc's own errors on the
rest are turned into the same `SdpError` by the caller.
"""

from __future__ import annotations


class SdpError(ValueError):
    """The offer cannot be used; the message is safe to show to the client."""


MEDIA_KINDS = ("audio", "video", "application")


def check_offer(sdp: str, sdp_type: str) -> None:
    if sdp_type != "offer":
        raise SdpError(f"expected an SDP of type 'offer', got {sdp_type!r}")
    lines = [line.strip() for line in sdp.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or lines[0] != "v=0":
        raise SdpError("not an SDP: the first line must be 'v=0'")
    bad = [line for line in lines if len(line) < 2 or line[1] != "=" or not line[0].isalpha()]
    if bad:
        raise SdpError(f"not an SDP: malformed line {bad[0][:60]!r}")
    media = [line[2:].split()[0] for line in lines if line.startswith("m=") and len(line) > 2]
    if not media:
        raise SdpError("the offer has no media sections (no 'm=' lines)")
    unknown = [m for m in media if m not in MEDIA_KINDS]
    if unknown:
        raise SdpError(f"unsupported media kind {unknown[0]!r}")
    for attr in ("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:"):
        if not any(line.startswith(attr) for line in lines):
            raise SdpError(f"the offer lacks '{attr[:-1]}' (ICE and DTLS need it)")
