//go:build !arm && !386 && !mips && !mipsle

package rtmp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gortmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/message"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
)

const (
	chunkSize    = 4096
	videoChunkID = 6
	audioChunkID = 4
	dataChunkID  = 5
)

// Publisher sends one stream to an RTMP(S) server.
type Publisher struct {
	t       target
	roots   *x509.CertPool // nil: system roots
	timeout time.Duration
	shown   string

	bytes, vframes, aframes atomic.Uint64
	writeNs, maxWriteNs     atomic.Int64
	rate                    media.RateMeter

	mu  sync.Mutex
	tcp syscall.RawConn // the connection's socket while one is open
}

// New is the publish.Factory for rtmp:// and rtmps:// URLs.
func New(u *url.URL, cfg publish.Config) (publish.Publisher, error) {
	t, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	p := &Publisher{t: t, timeout: cfg.ConnectTimeout, shown: publish.RedactURL(u.String())}
	if p.timeout <= 0 {
		p.timeout = 10 * time.Second
	}
	if cfg.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, media.Errorf(media.CodeInvalidConfig, "CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, media.Errorf(media.CodeInvalidConfig, "CA file %s holds no PEM certificate", cfg.CAFile)
		}
		p.roots = pool
	}
	return p, nil
}

// AudioCodec implements publish.Publisher: FLV carries AAC.
func (p *Publisher) AudioCodec() media.Codec { return media.CodecAAC }

// session is one connection's state.
type session struct {
	cc       *gortmp.ClientConn
	tcp      syscall.RawConn // for the kernel's view of the path (readTCPPath)
	stream   *gortmp.Stream
	statuses chan onStatus
	started  time.Time // when the server said NetStream.Publish.Start
}

// Run implements publish.Publisher. The pipeline always delivers AAC (silence
// when the microphone is off), because the big platforms reject streams
// without audio.
func (p *Publisher) Run(ctx context.Context, in publish.Input) error {
	if in.Video.Codec != media.CodecH264 || in.Audio.Codec != media.CodecAAC || len(in.Audio.Config) == 0 {
		return media.Errorf(media.CodeInvalidConfig, "RTMP carries H.264 and AAC (with its AudioSpecificConfig), got %v and %v", in.Video.Codec, in.Audio.Codec)
	}
	s, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer s.cc.Close()
	p.mu.Lock()
	p.tcp = s.tcp
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.tcp = nil
		p.mu.Unlock()
	}()
	if in.OnConnected != nil {
		in.OnConnected()
	}
	// A closed connection shows up as a failed write; close it from here
	// when ctx ends so a write blocked on a stalled server returns too.
	stop := context.AfterFunc(ctx, func() { s.cc.Close() })
	defer stop()
	err = p.send(ctx, s, in)
	if ctx.Err() != nil {
		return nil
	}
	// No deleteStream on a clean end: go-rtmp v0.0.7's DeleteStream
	// removes the stream from a map its message loop reads without a lock
	// (a data race the race detector caught in TestPublishToNginx, and a
	// fatal "concurrent map read and map write" waiting to happen). The
	// server finalizes the stream when the connection closes, which the
	// deferred close does right after, once queued writes are out.
	return err
}

// connect dials, connects to the app, creates a stream and publishes, and
// returns once the server said NetStream.Publish.Start.
func (p *Publisher) connect(ctx context.Context) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	s := &session{statuses: make(chan onStatus, 8)}
	cfg := &gortmp.ConnConfig{Logger: newStatusLogger(s.statuses)}
	var tlsConf *tls.Config
	if p.t.tls {
		tlsConf = &tls.Config{ServerName: p.t.host, RootCAs: p.roots, MinVersion: tls.VersionTLS12}
	}
	var err error
	s.cc, s.tcp, err = dialRTMP(ctx, p.t, tlsConf, cfg, p.timeout)
	if err != nil {
		var me *media.Error
		if errors.As(err, &me) {
			return nil, err
		}
		return nil, p.dialError(err)
	}
	ok := false
	defer func() {
		if !ok {
			s.cc.Close()
		}
	}()
	// go-rtmp's Connect and CreateStream wait for their replies without a
	// timeout; run them where closing the connection on ctx unblocks us.
	err = p.await(ctx, s, func() error {
		return s.cc.Connect(&message.NetConnectionConnect{Command: message.NetConnectionConnectCommand{
			App: p.t.app, Type: "nonprivate", FlashVer: "FMLE/3.0 (compatible; glassagent)", TCURL: p.t.tcURL,
		}})
	})
	if err != nil {
		var rej *gortmp.ConnectRejectedError
		if errors.As(err, &rej) {
			desc := ""
			if rej.Result != nil {
				desc = rej.Result.Information.Description
			}
			return nil, media.Errorf(media.CodeAuthFailed, "RTMP server %s rejected the connection to app %q: %s", p.t.addr, p.t.app, desc)
		}
		return nil, p.connectionError("connect", err)
	}
	err = p.await(ctx, s, func() error {
		st, err := s.cc.CreateStream(nil, chunkSize)
		s.stream = st
		return err
	})
	if err != nil {
		return nil, p.connectionError("createStream", err)
	}
	if err := s.stream.Publish(&message.NetStreamPublish{PublishingName: p.t.key, PublishingType: "live"}); err != nil {
		return nil, p.connectionError("publish", err)
	}
	// Wait for NetStream.Publish.Start before sending media: until then
	// the server may still refuse the key.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case st := <-s.statuses:
			switch {
			case st.code == "NetStream.Publish.Start":
				ok = true
				s.started = time.Now()
				return s, nil
			case st.level == "error" || strings.Contains(st.code, "Failed") || strings.Contains(st.code, "BadName") || strings.Contains(st.code, "Rejected"):
				return nil, media.Errorf(media.CodeAuthFailed, "RTMP server refused to publish: %s (%s)", st.code, redactKey(st.description, p.t.key))
			}
		case <-tick.C:
			if err := s.cc.LastError(); err != nil {
				// Servers often refuse a key by hanging up.
				return nil, media.Errorf(media.CodeAuthFailed, "RTMP server %s closed the connection instead of accepting the stream (key refused?)", p.t.addr)
			}
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, media.Errorf(media.CodeTimeout, "RTMP server %s did not start the stream within %v", p.t.addr, p.timeout)
			}
			return nil, ctx.Err()
		}
	}
}

// await runs a blocking go-rtmp call; when ctx ends first it closes the
// connection, which makes the call fail, and waits for it.
func (p *Publisher) await(ctx context.Context, s *session, call func() error) error {
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		s.cc.Close()
		select {
		case <-done:
		case <-time.After(time.Second):
			// go-rtmp v0.0.7 waits for a reply with no way out (see
			// NOTES.md); the goroutine is abandoned with the connection.
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return media.Errorf(media.CodeTimeout, "RTMP server %s did not answer within %v", p.t.addr, p.timeout)
		}
		return ctx.Err()
	}
}

func (p *Publisher) dialError(err error) error {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return media.Errorf(media.CodeTLSFailed, "RTMPS server %s: certificate signed by an unknown authority (pass the server's CA with a CA file)", p.t.addr)
	case errors.As(err, &hn):
		return media.Errorf(media.CodeTLSFailed, "RTMPS server %s: certificate is not valid for %s", p.t.addr, p.t.host)
	case errors.As(err, &ci):
		return media.Errorf(media.CodeTLSFailed, "RTMPS server %s: invalid certificate: %v", p.t.addr, ci)
	case errors.As(err, &cv):
		return media.Errorf(media.CodeTLSFailed, "RTMPS server %s: certificate verification failed: %v", p.t.addr, cv.Err)
	}
	var re tls.RecordHeaderError
	if errors.As(err, &re) {
		return media.Errorf(media.CodeTLSFailed, "RTMPS server %s does not speak TLS", p.t.addr)
	}
	return media.Errorf(media.CodeConnectFailed, "RTMP connect to %s: %s", p.t.addr, redactKey(err.Error(), p.t.key))
}

func (p *Publisher) connectionError(step string, err error) error {
	var me *media.Error
	if errors.As(err, &me) {
		return err
	}
	return media.Errorf(media.CodeConnectFailed, "RTMP %s with %s failed: %s", step, p.t.addr, redactKey(err.Error(), p.t.key))
}

// redactKey removes the stream key from text a server or library produced.
// Keys of a few characters are no secret, and replacing them would garble
// the text.
func redactKey(s, key string) string {
	if len(key) < 4 {
		return s
	}
	return strings.ReplaceAll(s, key, publish.Redacted)
}

// send writes the metadata, sequence headers and media until the queue
// closes (nil), ctx ends, or a write fails. It holds no lock while writing
// and the queue is the only buffer: a slow server makes the queue drop
// (whole GOPs), it never stalls the encoder.
func (p *Publisher) send(ctx context.Context, s *session, in publish.Input) error {
	w := &tagWriter{stream: s.stream, p: p}
	if err := w.metadata(in); err != nil {
		return p.lost(s, err)
	}
	if err := w.write(0, false, appendAACSequenceHeader(nil, in.Audio.Config)); err != nil {
		return p.lost(s, err)
	}
	m := &muxer{video: in.Video}
	for {
		au, err := in.Queue.Pop(ctx)
		if err != nil {
			if errors.Is(err, media.ErrQueueClosed) {
				return nil
			}
			return err
		}
		if err := s.cc.LastError(); err != nil {
			return p.lost(s, err)
		}
		tags, err := m.push(au)
		if err != nil {
			return err
		}
		for _, t := range tags {
			at := time.Now()
			if err := w.write(t.ts, t.video, t.body); err != nil {
				return p.lostAt(s, err, at)
			}
		}
		if len(tags) > 0 {
			if au.Codec.IsVideo() {
				p.vframes.Add(1)
			} else {
				p.aframes.Add(1)
			}
		}
	}
}

// refuseWindow is how soon after NetStream.Publish.Start a hang-up counts
// as a refusal. nginx-rtmp's access rules ("deny publish") run after it has
// already said Publish.Start and then just close the connection; no status
// says why. A real network loss inside this first second is rare, and the
// message says what was concluded.
const refuseWindow = time.Second

// lost classifies a connection that failed while sending.
func (p *Publisher) lost(s *session, err error) error { return p.lostAt(s, err, time.Now()) }

// lostAt is lost for a write begun at at. go-rtmp's Write waits up to 5 s
// for its writer goroutine, and when the server hung up that wait ends in
// a timeout, not the socket's error: the reader's LastError then says
// whether the far end closed, and the refusal window counts to when the
// write began.
func (p *Publisher) lostAt(s *session, err error, at time.Time) error {
	if at.Sub(s.started) < refuseWindow && (hungUp(err) || hungUp(s.cc.LastError())) {
		return media.Errorf(media.CodeAuthFailed, "RTMP server %s closed the connection right after accepting the stream (refused by an access rule?)", p.t.addr)
	}
	return media.Errorf(media.CodeConnectionLost, "RTMP connection to %s lost: %s", p.t.addr, redactKey(err.Error(), p.t.key))
}

// hungUp reports whether err is the far end closing the connection (as
// opposed to, say, a write timeout).
func hungUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// tagWriter writes FLV tag bodies as RTMP messages and measures the writes.
// go-rtmp copies a message into its chunk-stream buffer and a writer
// goroutine sends it; Write waits (up to 5 s, then fails) for the previous
// message of the same chunk stream to be on the wire. So the latency
// measured is how far the socket is behind, which is what a slow server
// looks like from here.
type tagWriter struct {
	stream *gortmp.Stream
	p      *Publisher
	rd     bytes.Reader
	video  message.VideoMessage
	audio  message.AudioMessage
}

func (w *tagWriter) write(ts uint32, video bool, body []byte) error {
	w.rd.Reset(body)
	var msg message.Message
	chunkID := audioChunkID
	if video {
		chunkID = videoChunkID
		w.video.Payload = &w.rd
		msg = &w.video
	} else {
		w.audio.Payload = &w.rd
		msg = &w.audio
	}
	start := time.Now()
	err := w.stream.Write(chunkID, ts, msg)
	d := int64(time.Since(start))
	w.p.writeNs.Store(d)
	if d > w.p.maxWriteNs.Load() { // only this goroutine stores it
		w.p.maxWriteNs.Store(d)
	}
	if err != nil {
		return err
	}
	w.p.bytes.Add(uint64(len(body)))
	w.p.rate.Add(uint64(len(body)))
	return nil
}

// metadata sends @setDataFrame onMetaData, which players and platforms read
// for the stream's size, rate and codecs.
func (w *tagWriter) metadata(in publish.Input) error {
	return w.stream.WriteDataMessage(dataChunkID, 0, "@setDataFrame", &message.NetStreamSetDataFrame{
		AmfData: map[string]interface{}{
			"width":           float64(in.Video.Width),
			"height":          float64(in.Video.Height),
			"framerate":       float64(in.Video.FPS),
			"videocodecid":    float64(flvCodecAVC),
			"videodatarate":   float64(in.Video.Bitrate) / 1000,
			"audiocodecid":    float64(10),
			"audiodatarate":   float64(in.Audio.Bitrate) / 1000,
			"audiosamplerate": float64(in.Audio.SampleRate),
			"audiosamplesize": float64(16),
			"stereo":          in.Audio.Channels == 2,
			"encoder":         "glassagent",
		},
	})
}

// Stats implements publish.Publisher.
func (p *Publisher) Stats() publish.Stats {
	s := publish.Stats{
		BytesSent:       p.bytes.Load(),
		Bitrate:         p.rate.Bitrate(),
		VideoFrames:     p.vframes.Load(),
		AudioFrames:     p.aframes.Load(),
		WriteLatency:    time.Duration(p.writeNs.Load()),
		MaxWriteLatency: time.Duration(p.maxWriteNs.Load()),
	}
	p.mu.Lock()
	tcp := p.tcp
	p.mu.Unlock()
	if path, ok := readTCPPath(tcp); ok {
		s.RTT = path.rtt
		s.ReceiveRate = path.deliveryRate
		// The socket's bytes in time at the rate the path takes them:
		// latency the viewer sees, and on a cut link it grows by the
		// excess every second, long before a write blocks. Only with a
		// delivery rate: without one the path took everything as fast as
		// we gave it, and the bytes of a keyframe in flight, read at our
		// own rate, looked like half a second of queue on idle loopback
		// and held the climb after a cut.
		if path.deliveryRate > 0 && path.queued > 0 {
			s.SendBuffer = time.Duration(float64(path.queued) * 8 / float64(path.deliveryRate) * float64(time.Second))
		}
	}
	return s
}
