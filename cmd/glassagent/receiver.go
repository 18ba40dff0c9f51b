package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	srt "github.com/datarhei/gosrt"

	"github.com/glassagent/glassagent/media"
)

// srtReceiver is the demo's embedded SRT listener: it accepts one publisher
// and writes what arrives, unchanged, to a .ts file, so the demo leaves a
// file any player opens.
type srtReceiver struct {
	ln   srt.Listener
	file *os.File
	wg   sync.WaitGroup

	// The stream is also demuxed as it arrives (through pipe), to read
	// each frame's capture-time SEI at the instant it is received.
	pipe        *io.PipeWriter
	demuxed     chan struct{}
	latency     []time.Duration // capture to arrival, per frame
	mu          sync.Mutex
	firstPacket time.Time
	bytes       uint64
	err         error
}

func startSRTReceiver(path string) (*srtReceiver, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	ln, err := srt.Listen("srt", "127.0.0.1:0", srt.DefaultConfig())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("SRT listener: %w", err)
	}
	pr, pw := io.Pipe()
	r := &srtReceiver{ln: ln, file: f, pipe: pw, demuxed: make(chan struct{})}
	r.wg.Add(1)
	go r.serve()
	go r.demux(pr)
	return r, nil
}

// demux reads the live stream and notes, for every frame carrying our
// capture-time SEI, how long after capture it arrived.
func (r *srtReceiver) demux(pr *io.PipeReader) {
	defer close(r.demuxed)
	defer pr.Close()
	d := &mpegts.Reader{R: pr}
	if d.Initialize() != nil {
		io.Copy(io.Discard, pr)
		return
	}
	d.OnDecodeError(func(error) {})
	for _, t := range d.Tracks() {
		if _, ok := t.Codec.(*mpegts.CodecH264); ok {
			d.OnDataH264(t, func(_, _ int64, au [][]byte) error {
				now := time.Now()
				for _, n := range au {
					if at, ok := media.ParseCaptureTimeSEI(n); ok {
						r.mu.Lock()
						r.latency = append(r.latency, now.Sub(at))
						r.mu.Unlock()
						break
					}
				}
				return nil
			})
		}
	}
	for d.Read() == nil {
	}
	io.Copy(io.Discard, pr)
}

// latencies returns the capture-to-arrival latency of every frame received
// with a capture-time SEI, sorted.
func (r *srtReceiver) latencies() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(slices.Values(r.latency))
}

func (r *srtReceiver) addr() string { return r.ln.Addr().String() }

func (r *srtReceiver) serve() {
	defer r.wg.Done()
	conn, _, err := r.ln.Accept(func(req srt.ConnRequest) srt.ConnType { return srt.PUBLISH })
	if err != nil {
		if !errors.Is(err, srt.ErrListenerClosed) {
			r.setErr(err)
		}
		return
	}
	defer conn.Close()
	buf := make([]byte, 1500)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			r.mu.Lock()
			if r.firstPacket.IsZero() {
				r.firstPacket = time.Now()
			}
			r.bytes += uint64(n)
			r.mu.Unlock()
			if _, werr := r.file.Write(buf[:n]); werr != nil {
				r.setErr(werr)
				return
			}
			r.pipe.Write(buf[:n]) // fails only once the demuxer gave up
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.setErr(err)
			}
			return
		}
	}
}

func (r *srtReceiver) setErr(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

// close waits a moment for the publisher's shutdown to arrive after the
// last packets (SRT delivers them a latency late), then stops listening and
// closes the file.
func (r *srtReceiver) close() error {
	served := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(served)
	}()
	select {
	case <-served:
	case <-time.After(2 * time.Second):
	}
	r.ln.Close()
	<-served
	r.pipe.Close()
	<-r.demuxed
	cerr := r.file.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.err, cerr)
}

func (r *srtReceiver) received() (time.Time, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstPacket, r.bytes
}

// tsReport is what a recorded MPEG-TS file holds.
type tsReport struct {
	VideoFrames, Keyframes, AudioFrames int
	Width, Height                       int
	FirstVideo, FirstAudio              time.Duration
	VideoSpan                           time.Duration
}

// analyzeTS reads a recorded file back with mediacommon's demuxer.
func analyzeTS(path string) (tsReport, error) {
	var rep tsReport
	f, err := os.Open(path)
	if err != nil {
		return rep, err
	}
	defer f.Close()
	r := &mpegts.Reader{R: bufio.NewReader(f)}
	if err := r.Initialize(); err != nil {
		return rep, fmt.Errorf("read %s: %w", path, err)
	}
	r.OnDecodeError(func(error) {})
	firstV, firstA, lastV := int64(-1), int64(-1), int64(0)
	for _, t := range r.Tracks() {
		switch t.Codec.(type) {
		case *mpegts.CodecH264:
			r.OnDataH264(t, func(pts, _ int64, au [][]byte) error {
				rep.VideoFrames++
				if firstV < 0 {
					firstV = pts
				}
				lastV = pts
				for _, n := range au {
					switch h264.NALUType(n[0] & 0x1f) {
					case h264.NALUTypeIDR:
						rep.Keyframes++
					case h264.NALUTypeSPS:
						var sps h264.SPS
						if sps.Unmarshal(n) == nil {
							rep.Width, rep.Height = sps.Width(), sps.Height()
						}
					}
				}
				return nil
			})
		case *mpegts.CodecMPEG4Audio:
			r.OnDataMPEG4Audio(t, func(pts int64, aus [][]byte) error {
				rep.AudioFrames += len(aus)
				if firstA < 0 {
					firstA = pts
				}
				return nil
			})
		}
	}
	for {
		if err := r.Read(); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return rep, err
		}
	}
	ticks := func(v int64) time.Duration { return time.Duration(v) * time.Second / 90000 }
	rep.FirstVideo, rep.FirstAudio, rep.VideoSpan = ticks(firstV), ticks(firstA), ticks(lastV-firstV)
	return rep, nil
}
