"""WebRTC (aiortc): one peer per join, wired to one engine session through `SessionPort`.

Read in this order: `sdp` (refuse unusable offers), `peer` (the join and the release of
everything it created), `tracks` (audio and video in, the agent's paced voice out), `channel`
(data-channel events, queued until open), `loopback` (dev/test-only loopback ICE candidates).
"""
