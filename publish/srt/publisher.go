package srt

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
)

// Publisher sends one stream to an SRT listener.
type Publisher struct {
	opts  options
	shown string // the URL with secrets redacted, for messages

	mu      sync.Mutex
	conn    gosrt.Conn
	loss    lossWindow   // guarded by mu
	silence silenceWatch // guarded by mu

	bytes, packets, vframes, aframes atomic.Uint64
	lastWrite                        atomic.Int64 // ns the last socket write took
	rate                             media.RateMeter
}

// New is the publish.Factory for srt:// URLs.
func New(u *url.URL, cfg publish.Config) (publish.Publisher, error) {
	o, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout > 0 && !strings.Contains(u.RawQuery, "conn") {
		o.connectTimeout = cfg.ConnectTimeout
	}
	return &Publisher{opts: o, shown: publish.RedactURL(u.String())}, nil
}

// AudioCodec implements publish.Publisher: MPEG-TS carries AAC in ADTS.
func (p *Publisher) AudioCodec() media.Codec { return media.CodecAAC }

// Run implements publish.Publisher.
func (p *Publisher) Run(ctx context.Context, in publish.Input) error {
	if in.Video.Codec != media.CodecH264 || in.Audio.Codec != media.CodecAAC {
		return media.Errorf(media.CodeInvalidConfig, "SRT carries H.264 and AAC, got %v and %v", in.Video.Codec, in.Audio.Codec)
	}
	conn, err := p.dial(ctx)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.conn = conn
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.conn = nil
		p.mu.Unlock()
		conn.Close()
	}()
	if in.OnConnected != nil {
		in.OnConnected()
	}
	// Unblock Pop when ctx ends; the queue itself stays open for the next
	// publisher (reconnect).
	pace := newPacer()
	m, err := newMuxer(in.Video, in.Audio, p.opts.payloadSize, p.send(conn, pace))
	if err != nil {
		return media.Wrap(media.CodeInternal, err)
	}
	drops := newDropWatch(conn, in.Encoder)
	for {
		au, err := in.Queue.Pop(ctx)
		if err != nil {
			if errors.Is(err, media.ErrQueueClosed) {
				// The stream ended cleanly: let what is sent arrive
				// before the shutdown, like SRT's linger.
				m.finish()
				p.linger(ctx, conn)
				return nil
			}
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		flush := in.Queue.Stats().Depth == 0
		now := time.Now()
		drops.check(now)
		if au.Key && au.Codec.IsVideo() {
			if drops.keyframe(now, au.Resync) {
				pace.start(au.Size(), drops.rx, p.opts.latency/2)
			}
		}
		err = m.write(au, flush)
		pace.stop()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return media.Errorf(media.CodeConnectionLost, "SRT connection to %s lost: %w", p.opts.addrShown(), err)
		}
		if au.Codec.IsVideo() && m.started {
			p.vframes.Add(1)
		} else if m.started {
			p.aframes.Add(1)
		}
	}
}

// linger waits until the peer has acknowledged everything sent (at most the
// latency plus a second), then one latency more: gosrt drops what is still
// in its send buffer on Close, and a receiver drops what it still holds for
// timestamp-based delivery when our shutdown arrives.
func (p *Publisher) linger(ctx context.Context, conn gosrt.Conn) {
	deadline := time.Now().Add(p.opts.latency + time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var st gosrt.Statistics
		conn.Stats(&st)
		if st.Instantaneous.PktSendBuf == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	t := time.NewTimer(p.opts.latency + 50*time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// send returns the function the muxer hands finished SRT messages to.
func (p *Publisher) send(conn gosrt.Conn, pace *pacer) func([]byte) error {
	return func(msg []byte) error {
		pace.wait(len(msg))
		start := time.Now()
		n, err := conn.Write(msg)
		p.lastWrite.Store(int64(time.Since(start)))
		if err != nil {
			return err
		}
		p.bytes.Add(uint64(n))
		p.packets.Add(1)
		p.rate.Add(uint64(n))
		return nil
	}
}

func (o options) addrShown() string { return o.addr }

// dial connects as the caller. gosrt's Dial takes no context, so it runs in
// a goroutine of ours that we always wait for; it gives up by itself after
// the connect timeout.
func (p *Publisher) dial(ctx context.Context) (gosrt.Conn, error) {
	type result struct {
		c   gosrt.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := gosrt.Dial("srt", p.opts.addr, p.opts.config())
		ch <- result{c, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		r = <-ch
		if r.c != nil {
			r.c.Close()
		}
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, classifyDialError(p.opts.addr, r.err)
	}
	return r.c, nil
}

// classifyDialError gives a dial failure its stable code. gosrt reports a
// rejection as "connection rejected: REJ_..." text only.
func classifyDialError(addr string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "BADSECRET"), strings.Contains(msg, "UNSECURE"):
		return media.Errorf(media.CodeAuthFailed, "SRT listener %s refused the passphrase (wrong, missing, or unexpected encryption)", addr)
	case strings.Contains(msg, "rejected"):
		return media.Errorf(media.CodeAuthFailed, "SRT listener %s rejected the stream: %s", addr, strings.TrimPrefix(msg, "connection rejected: "))
	case strings.Contains(msg, "timeout"):
		return media.Errorf(media.CodeConnectFailed, "no SRT listener answered at %s (handshake timed out)", addr)
	}
	return media.Errorf(media.CodeConnectFailed, "SRT connect to %s: %v", addr, err)
}

// Stats implements publish.Publisher.
func (p *Publisher) Stats() publish.Stats {
	s := publish.Stats{
		BytesSent:    p.bytes.Load(),
		PacketsSent:  p.packets.Load(),
		VideoFrames:  p.vframes.Load(),
		AudioFrames:  p.aframes.Load(),
		Bitrate:      p.rate.Bitrate(),
		WriteLatency: time.Duration(p.lastWrite.Load()),
	}
	p.mu.Lock()
	conn := p.conn
	p.mu.Unlock()
	if conn != nil {
		var st gosrt.Statistics
		conn.Stats(&st)
		s.RTT = time.Duration(st.Instantaneous.MsRTT * float64(time.Millisecond))
		s.SendBuffer = time.Duration(st.Instantaneous.MsSendBuf) * time.Millisecond
		s.Retransmits = st.Accumulated.PktRetrans
		// gosrt's Mbps are 2^20 bit/s.
		s.ReceiveRate = int(st.Instantaneous.MbpsPeerRecvRate * 1024 * 1024)
		p.mu.Lock()
		now := time.Now()
		s.Loss = p.loss.update(conn, now, st.Accumulated.PktSent, st.Accumulated.PktSendLoss)
		s.Silence = p.silence.update(conn, now, st.Accumulated.PktRecvACKNew+st.Accumulated.PktRecvNAK, st.Accumulated.PktSent)
		p.mu.Unlock()
	}
	return s
}

// silenceWatch tells an outage from a slow link. A receiver's periodic ACK
// (every 10 ms) moves on while any data reaches it in order, however
// little, and a hole in what reaches it brings a NAK; a receiver that gets
// nothing repeats its last ACK (libsrt does, measured: 30-60 ACKs a second
// through a 3 s outage) and sends no NAK. So neither an ACK that moved on
// (the fork's PktRecvACKNew) nor a NAK, while packets still go out, means
// nothing gets through. It sees the counters only when Stats is called, so
// the silence it reports is short by up to the time between two calls.
type silenceWatch struct {
	conn        gosrt.Conn
	word        uint64    // ACKs that moved on plus NAKs, at heard
	heard       time.Time // when word last moved
	sentAtHeard uint64
}

func (w *silenceWatch) update(conn gosrt.Conn, now time.Time, word, sent uint64) time.Duration {
	if w.conn != conn || word != w.word || w.heard.IsZero() {
		// A new connection, or word since the last call: heard now.
		*w = silenceWatch{conn: conn, word: word, heard: now, sentAtHeard: sent}
		return 0
	}
	if sent == w.sentAtHeard {
		return 0 // nothing went out to be acknowledged
	}
	return now.Sub(w.heard)
}

// lossWindow turns gosrt's counters into the loss over the last second or
// so. gosrt's own Interval figures are relative to the Statistics value
// passed in, so with several readers (status, bitrate controller) they
// would cover whatever happened since the other reader; and the
// accumulated ratio remembers a congestion minutes after it ended.
//
// The second slides: counters are kept every lossEvery, and each call
// measures from the newest kept at least lossSpan ago. A window that moved
// only once a second (as this did) gave the controller, sampling every half
// second, each figure twice: one unlucky second of 5 % random loss (some
// fifty packets at 720p on an easy picture, so 10 % is five lost) met its
// "two samples of three" rule alone, and cut.
type lossWindow struct {
	conn gosrt.Conn
	snap [lossSnaps]lossSnap
	n    int // snapshots kept, newest at snap[(head-1) mod lossSnaps]
	head int
}

type lossSnap struct {
	at         time.Time
	sent, lost uint64
}

const (
	lossSpan  = time.Second
	lossEvery = 250 * time.Millisecond
	// lossSnaps covers lossSpan and a little more at lossEvery.
	lossSnaps = 6
)

func (w *lossWindow) update(conn gosrt.Conn, now time.Time, sent, lost uint64) float64 {
	newest := &w.snap[(w.head+lossSnaps-1)%lossSnaps]
	if w.conn != conn || w.n == 0 || sent < newest.sent || lost < newest.lost {
		*w = lossWindow{conn: conn, n: 1, head: 1}
		w.snap[0] = lossSnap{now, sent, lost}
		return 0
	}
	if now.Sub(newest.at) >= lossEvery {
		w.snap[w.head] = lossSnap{now, sent, lost}
		w.head = (w.head + 1) % lossSnaps
		w.n = min(w.n+1, lossSnaps)
	}
	// The newest snapshot at least lossSpan old, else the oldest kept.
	ref := &w.snap[(w.head+lossSnaps-w.n)%lossSnaps]
	for i := 1; i <= w.n; i++ {
		sn := &w.snap[(w.head+lossSnaps-i)%lossSnaps]
		if now.Sub(sn.at) >= lossSpan {
			ref = sn
			break
		}
	}
	if now.Sub(ref.at) < lossSpan/2 {
		return 0 // too short to say
	}
	ds := sent - ref.sent
	if ds == 0 {
		return 0
	}
	return min(1, float64(lost-ref.lost)/float64(ds))
}
