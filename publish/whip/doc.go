// Package whip publishes over WHIP (RFC 9725): WebRTC ingest with an HTTP
// offer/answer exchange, on pion/webrtc.
//
// Signalling (client.go): an OPTIONS request first, for ICE servers in Link
// headers (link.go); then the offer is POSTed as application/sdp with the
// bearer token, 307/308 are followed with the body re-sent, and a 201
// brings the answer, the session's Location (resolved against the URL that
// answered) and, if the endpoint takes trickle ICE, an ETag. Candidates
// found after the offer are PATCHed (trickle.go). The session is DELETEd on
// stop, whatever ended it.
//
// Media (send.go): one H.264 track (constrained baseline, packetization
// mode 1, the only video codec registered so the answer cannot pick
// another) and one Opus track, written as RTP with timestamps from the
// access units' PTS.
//
// RTCP (rtcp.go, api.go): PLI and FIR force a keyframe, rate-limited; NACKs
// are answered by pion's responder from a bounded buffer; TWCC feedback
// drives pion's send-side GCC, whose target sets the encoder's bitrate
// within [MinBitrate, MaxBitrate].
//
// Errors carry media codes: auth_failed (401/403), connect_failed (other
// statuses, an invalid SDP answer, ICE/DTLS failure), timeout (no answer or
// no connection within the connect timeout), connection_lost (ICE lost
// after connecting). The bearer token never appears in them; URLs go
// through publish.RedactURL.
package whip
