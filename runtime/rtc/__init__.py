"""WebRTC (aiortc): peers, inbound/outbound media tracks, the data channel."""
