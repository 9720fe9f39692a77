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


# The browser's Opus encoder defaults to about 32 kbit/s for a mono microphone. The recogniser
# downstream (pocketsphinx, small grammar) confuses number pairs such as "six"/"three" more
# often on that coding noise, so the answer asks the sender for more: `maxaveragebitrate` in
# the receiver's fmtp is the standard way (RFC 7587 section 6.1) and Chromium honours it.
OPUS_MAX_AVERAGE_BITRATE = 64_000


def prefer_opus_bitrate(sdp: str, bitrate: int = OPUS_MAX_AVERAGE_BITRATE) -> str:
    """`sdp` asking for `maxaveragebitrate=bitrate` on every Opus payload type: added to its
    fmtp line, or as a new fmtp line after its rtpmap (aiortc's answers carry none)."""
    lines = sdp.split("\r\n")
    opus = [line.split(":", 1)[1].split()[0] for line in lines
            if line.lower().startswith("a=rtpmap:") and " opus/" in line.lower()]
    has_fmtp = {line[7:].split(" ", 1)[0] for line in lines if line.startswith("a=fmtp:")}
    out = []
    for line in lines:
        pt = line.split(":", 1)[1].split(" ", 1)[0] if line.startswith(("a=fmtp:", "a=rtpmap:")) else None
        if line.startswith("a=fmtp:") and pt in opus and "maxaveragebitrate" not in line:
            line = f"{line};maxaveragebitrate={bitrate}"
        out.append(line)
        if line.startswith("a=rtpmap:") and pt in opus and pt not in has_fmtp:
            out.append(f"a=fmtp:{pt} maxaveragebitrate={bitrate}")
    return "\r\n".join(out)
