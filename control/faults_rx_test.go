package control

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/bits"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	srt "github.com/datarhei/gosrt"

	"github.com/glassagent/glassagent/media"
)

// rxFrame is one video frame as a fault test's receiver got it: when it
// arrived and when it was captured (the capture-time SEI every frame
// carries). Both are wall-clock instants of this process, so their
// difference is the capture-to-arrival latency.
type rxFrame struct {
	arrived, captured time.Time
	// broken: part of the frame's data never arrived (SRT gave it up as
	// too late), or a picture it references did not (frame_num says a
	// frame is missing since the last IDR), so it arrived but does not
	// decode as sent.
	broken bool
	// missing is how many frames the encoder made just before this one
	// that never arrived (a gap in frame_num); -1: frame_num jumped back.
	missing int
}

// frameLog collects the frames of every connection a receiver (and the
// receivers that replace it) accepted.
type frameLog struct {
	mu     sync.Mutex
	frames []rxFrame
	noSEI  int // intact frames without a capture-time SEI: should stay 0
	// brokenNoTime counts broken frames whose capture time was lost too.
	brokenNoTime int
	// ptsEpoch, when set (before any frame arrives), is the instant a
	// presentation time of 0 stands for. ffmpeg writes no capture-time
	// SEI; the fault tests make its PTS the capture schedule from this
	// epoch (faults_ffmpeg_test.go), so a frame was captured at
	// ptsEpoch + PTS.
	ptsEpoch time.Time
}

func (l *frameLog) add(arrived time.Time, nalus [][]byte, broken bool, missing int) {
	l.addPTS(arrived, nalus, broken, missing, -1)
}

// addPTS is add for a frame whose presentation time is known (pts, -1
// if not): its capture time when it carries no SEI and ptsEpoch is set.
func (l *frameLog) addPTS(arrived time.Time, nalus [][]byte, broken bool, missing int, pts time.Duration) {
	for _, n := range nalus {
		if at, ok := media.ParseCaptureTimeSEI(n); ok {
			l.mu.Lock()
			l.frames = append(l.frames, rxFrame{arrived, at, broken, missing})
			l.mu.Unlock()
			return
		}
	}
	if !l.ptsEpoch.IsZero() && pts >= 0 && len(nalus) > 0 {
		l.mu.Lock()
		l.frames = append(l.frames, rxFrame{arrived, l.ptsEpoch.Add(pts), broken, missing})
		l.mu.Unlock()
		return
	}
	l.mu.Lock()
	if broken {
		l.brokenNoTime++
	} else {
		l.noSEI++
	}
	l.mu.Unlock()
}

// captured returns the frames captured in [from, to), sorted by capture.
func (l *frameLog) captured(from, to time.Time) []rxFrame {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []rxFrame
	for _, f := range l.frames {
		if !f.captured.Before(from) && f.captured.Before(to) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b rxFrame) int { return a.captured.Compare(b.captured) })
	return out
}

// firstArrivalCapturedAfter returns when the first frame captured at or
// after t arrived (zero if none yet): the stream flows again.
func (l *frameLog) firstArrivalCapturedAfter(t time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first time.Time
	for _, f := range l.frames {
		if !f.captured.Before(t) && (first.IsZero() || f.arrived.Before(first)) {
			first = f.arrived
		}
	}
	return first
}

// latency returns the capture-to-arrival latency's median and 95th
// percentile over the frames captured in [from, to); ok false: none.
func (l *frameLog) latency(from, to time.Time) (p50, p95 time.Duration, ok bool) {
	fr := l.captured(from, to)
	if len(fr) == 0 {
		return 0, 0, false
	}
	d := make([]time.Duration, len(fr))
	for i, x := range fr {
		d[i] = x.arrived.Sub(x.captured)
	}
	slices.Sort(d)
	p := func(q float64) time.Duration { return d[int(q*float64(len(d)-1))] }
	return p(0.5), p(0.95), true
}

// latencyText is latency as "p50/p95" in milliseconds, "-" for none.
func (l *frameLog) latencyText(from, to time.Time) string {
	p50, p95, ok := l.latency(from, to)
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%d/%d", p50.Milliseconds(), p95.Milliseconds())
}

func (l *frameLog) counts() (withSEI, without, brokenNoTime int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.frames), l.noSEI, l.brokenNoTime
}

// srtFaultRx is an SRT listener (gosrt, as cmd/glassagent/receiver.go)
// that accepts publishers one after another (a fault may make the sender
// reconnect), writes each connection to a .ts file of its own and reads
// its video as it arrives to log every frame's capture-to-arrival latency.
// srt-live-transmit records but cannot say when each frame arrived.
type srtFaultRx struct {
	ln  srt.Listener
	log *frameLog
	dir string
	wg  sync.WaitGroup

	once  sync.Once
	mu    sync.Mutex
	conns []srt.Conn
	live  map[srt.Conn]bool
	ended srtCounts // of the connections that ended
	files []string
	n     int
}

// srtCounts are an SRT receiver's packet counters: detected missing,
// retransmitted to it, and given up (arrived too late to play).
type srtCounts struct{ lost, retrans, dropped uint64 }

func (c *srtCounts) add(s *srt.Statistics) {
	c.lost += s.Accumulated.PktRecvLoss
	c.retrans += s.Accumulated.PktRecvRetrans
	c.dropped += s.Accumulated.PktRecvDrop
}

func (c *srtCounts) addCounts(o srtCounts) {
	c.lost, c.retrans, c.dropped = c.lost+o.lost, c.retrans+o.retrans, c.dropped+o.dropped
}

// counts sums the counters of every connection so far.
func (r *srtFaultRx) counts() srtCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.ended
	for conn := range r.live {
		var s srt.Statistics
		conn.Stats(&s)
		c.add(&s)
	}
	return c
}

func startSRTFaultRx(t *testing.T, port int, log *frameLog, dir string) *srtFaultRx {
	t.Helper()
	ln, err := srt.Listen("srt", fmt.Sprintf("127.0.0.1:%d", port), srt.DefaultConfig())
	if err != nil {
		t.Fatalf("SRT listener on %d: %v", port, err)
	}
	r := &srtFaultRx{ln: ln, log: log, dir: dir, live: map[srt.Conn]bool{}}
	r.wg.Add(1)
	go r.accept()
	return r
}

func (r *srtFaultRx) accept() {
	defer r.wg.Done()
	for {
		conn, _, err := r.ln.Accept(func(srt.ConnRequest) srt.ConnType { return srt.PUBLISH })
		if errors.Is(err, srt.ErrListenerClosed) {
			return
		}
		if err != nil || conn == nil {
			continue // a failed handshake; the sender retries
		}
		r.mu.Lock()
		r.n++
		path := filepath.Join(r.dir, fmt.Sprintf("srt-%d-%d.ts", time.Now().UnixNano(), r.n))
		r.conns = append(r.conns, conn)
		r.live[conn] = true
		r.files = append(r.files, path)
		r.mu.Unlock()
		r.wg.Add(1)
		go r.serve(conn, path)
	}
}

func (r *srtFaultRx) serve(conn srt.Conn, path string) {
	defer r.wg.Done()
	defer func() {
		var s srt.Statistics
		conn.Stats(&s)
		r.mu.Lock()
		delete(r.live, conn)
		r.ended.add(&s)
		r.mu.Unlock()
		conn.Close()
	}()
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	v := &tsVideo{log: r.log, pid: -1, cc: map[uint16]byte{}, fn: &frameNums{}}
	defer func() { v.finish(time.Now()) }()
	buf := make([]byte, 1500)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			now := time.Now()
			f.Write(buf[:n])
			for p := buf[:n]; len(p) >= 188; p = p[188:] {
				v.packet(p[:188], now)
			}
		}
		if err != nil {
			return
		}
	}
}

// tsVideo reassembles the video PES packets of a live MPEG-TS stream (as
// an SRT message brings them: whole TS packets) and logs each frame when
// it is complete, flagging those that lost TS packets (a jump in the
// continuity counter). A demuxer (mediacommon's) hands over what it got
// and cannot say a frame lost part of its data.
type tsVideo struct {
	log    *frameLog
	fn     *frameNums
	pid    int // the video PID, -1 until a video PES start is seen
	cc     map[uint16]byte
	pes    []byte
	open   bool
	broken bool
	// missing is how many frames the encoder made just before this one
	// that never arrived (a gap in frame_num); -1: frame_num jumped back.
	missing int
}

func (v *tsVideo) packet(p []byte, now time.Time) {
	if p[0] != 0x47 {
		return
	}
	pid := uint16(p[1]&0x1f)<<8 | uint16(p[2])
	pusi := p[1]&0x40 != 0
	afc, cc := p[3]>>4&3, p[3]&0x0f
	if afc&1 == 0 {
		return // no payload, no counter step
	}
	last, seen := v.cc[pid]
	v.cc[pid] = cc
	gap := seen && cc != (last+1)&0x0f
	payload := p[4:]
	if afc&2 != 0 {
		if int(p[4]) >= len(payload) {
			return
		}
		payload = payload[1+int(p[4]):]
	}
	if pusi && len(payload) >= 4 && payload[0] == 0 && payload[1] == 0 && payload[2] == 1 && payload[3]&0xf0 == 0xe0 {
		v.pid = int(pid)
	}
	if int(pid) != v.pid {
		return
	}
	if pusi {
		// Packets lost just before a frame's start were the end of the
		// frame before (or the start of one that is then missing, its
		// rest appended to the frame before): that one is broken.
		v.broken = v.broken || gap
		v.finish(now)
		v.pes, v.open, v.broken = append(v.pes[:0], payload...), true, false
		return
	}
	if v.open {
		v.broken = v.broken || gap
		v.pes = append(v.pes, payload...)
	}
}

// finish logs the frame being reassembled: its PES packet ends where the
// next one starts (video PES packets in MPEG-TS carry no length).
func (v *tsVideo) finish(now time.Time) {
	if !v.open {
		return
	}
	v.open = false
	// PES header: start code and stream id (4), length (2), flags (2),
	// header data length (1), header data.
	if len(v.pes) < 9 || len(v.pes) < 9+int(v.pes[8]) {
		v.log.add(now, nil, true, 0)
		return
	}
	var au h264.AnnexB
	if au.Unmarshal(v.pes[9+int(v.pes[8]):]) != nil {
		v.log.add(now, nil, true, 0)
		return
	}
	// The PTS, if the header has one (PTS_DTS_flags' high bit): 33 bits
	// at 90 kHz in five bytes, each part followed by a marker bit.
	pts := time.Duration(-1)
	if v.pes[7]&0x80 != 0 && v.pes[8] >= 5 {
		p := v.pes[9:14]
		ticks := int64(p[0]>>1&7)<<30 | int64(p[1])<<22 | int64(p[2]>>1)<<15 | int64(p[3])<<7 | int64(p[4]>>1)
		pts = time.Duration(ticks) * time.Second / 90000
	}
	missing := v.fn.missing(au)
	v.log.addPTS(now, au, v.broken || v.fn.undecodable(), missing, pts)
	if v.broken {
		v.fn.refLost = true // what follows references a damaged picture
	}
}

// kill stops the receiver: the listener and every connection close, as a
// receiver that is restarted does.
func (r *srtFaultRx) kill() {
	r.once.Do(func() {
		r.ln.Close()
		r.mu.Lock()
		for _, c := range r.conns {
			c.Close()
		}
		r.mu.Unlock()
		r.wg.Wait()
	})
}

func (r *srtFaultRx) recordings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.files)
}

// flvFaultRx is ffmpeg -listen 1 as the RTMP server, copying the stream
// to FLV on its standard output, which the test reads as it comes (to log
// each frame's arrival and capture-time SEI) and writes to a file.
type flvFaultRx struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	file   string
	done   chan struct{}
	once   sync.Once
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

func startFLVFaultRx(t *testing.T, url string, log *frameLog, file string) *flvFaultRx {
	t.Helper()
	r := &flvFaultRx{stderr: &lockedBuffer{}, file: file, done: make(chan struct{})}
	// -copyts: the publisher's timestamps as they came (ffmpeg would
	// start them at 0), which are the capture times of ffmpeg's stream.
	r.cmd = exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-listen", "1", "-i", url,
		"-c", "copy", "-copyts", "-flush_packets", "1", "-f", "flv", "pipe:1")
	r.cmd.Stderr = r.stderr
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		defer f.Close()
		readFLV(io.TeeReader(out, f), log)
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() { r.kill() })
	return r
}

// kill stops ffmpeg abruptly (as a crash would) and waits for it.
func (r *flvFaultRx) kill() {
	r.once.Do(func() {
		r.cmd.Process.Kill()
		<-r.done
		r.cmd.Wait()
	})
}

// wait waits up to d for ffmpeg to end by itself (the publisher left),
// then kills it.
func (r *flvFaultRx) wait(d time.Duration) {
	select {
	case <-r.done:
	case <-time.After(d):
	}
	r.kill()
}

// readFLV logs every H.264 frame of an FLV stream (legacy AVC tags,
// 4-byte NALU lengths, as ffmpeg writes them) as it arrives. A few lines
// of parsing: the RTMP/FLV libraries we have read RTMP chunks, not FLV.
func readFLV(r io.Reader, log *frameLog) {
	br := bufio.NewReader(r)
	var hdr [13]byte // FLV header (9) and PreviousTagSize0
	if _, err := io.ReadFull(br, hdr[:]); err != nil || string(hdr[:3]) != "FLV" {
		return
	}
	var tag [11]byte
	fn := &frameNums{}
	for {
		if _, err := io.ReadFull(br, tag[:]); err != nil {
			return
		}
		size := int(tag[1])<<16 | int(tag[2])<<8 | int(tag[3])
		data := make([]byte, size+4) // and PreviousTagSize
		if _, err := io.ReadFull(br, data); err != nil {
			return
		}
		now := time.Now()
		data = data[:size]
		if tag[0] != 9 || len(data) < 5 || data[0]&0x0f != 7 {
			continue // not AVC video
		}
		if data[1] == 0 {
			// AVCDecoderConfigurationRecord: the SPS is the first
			// parameter set, after 6 bytes and its 2-byte length.
			if c := data[5:]; len(c) > 8 {
				if n := int(binary.BigEndian.Uint16(c[6:])); len(c) >= 8+n {
					fn.missing([][]byte{c[8 : 8+n]})
				}
			}
			continue
		}
		if data[1] != 1 {
			continue
		}
		var nalus [][]byte
		for p := data[5:]; len(p) >= 4; {
			n := int(binary.BigEndian.Uint32(p))
			if n > len(p)-4 {
				break
			}
			nalus = append(nalus, p[4:4+n])
			p = p[4+n:]
		}
		// The tag's timestamp (24 bits and an upper byte, ms) is the DTS;
		// the AVC packet's composition time (signed 24 bits) takes it to
		// the PTS.
		dts := int64(tag[4])<<16 | int64(tag[5])<<8 | int64(tag[6]) | int64(tag[7])<<24
		cts := int64(int32(uint32(data[2])<<24|uint32(data[3])<<16|uint32(data[4])<<8) >> 8)
		pts := time.Duration(dts+cts) * time.Millisecond
		missing := fn.missing(nalus) // TCP: nothing breaks in transit
		log.addPTS(now, nalus, fn.undecodable(), missing, pts)
	}
}

// frameNums finds the frames the encoder made that never arrived from the
// frame_num of each slice header: it steps by one after every reference
// frame and restarts at an IDR. Unlike counting the encoder's output over
// a time window, this does not depend on when the count is read; frames
// lost just before an IDR (or at a reconnection) are not seen.
type frameNums struct {
	log2Max uint32 // from the SPS; 0 until one is seen
	last    uint32 // frame_num of the last reference frame
	seen    bool
	// refLost: a reference frame went missing since the last IDR, so
	// what follows arrives whole but cannot be decoded as sent (every
	// P frame of ours is a reference frame).
	refLost bool
}

// undecodable says whether the frame last read references a picture that
// never arrived.
func (f *frameNums) undecodable() bool { return f.refLost }

// missing reads one frame's NAL units (or parameter sets) and returns
// how many frames are missing just before it, -1 where frame_num jumped
// back (nothing can be said).
func (f *frameNums) missing(nalus [][]byte) int {
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch typ := n[0] & 0x1f; typ {
		case 7:
			var sps h264.SPS
			if sps.Unmarshal(n) == nil && !sps.SeparateColourPlaneFlag {
				f.log2Max = sps.Log2MaxFrameNumMinus4 + 4
			}
		case 1, 5:
			if f.log2Max == 0 {
				return 0
			}
			// The slice header's start, without emulation prevention:
			// first_mb_in_slice, slice_type, pic_parameter_set_id, frame_num.
			hdr := h264.EmulationPreventionRemove(n[1:min(len(n), 32)])
			pos := 0
			for range 3 {
				if _, err := bits.ReadGolombUnsigned(hdr, &pos); err != nil {
					return 0
				}
			}
			v, err := bits.ReadBits(hdr, &pos, int(f.log2Max))
			if err != nil {
				return 0
			}
			num, mod := uint32(v), uint32(1)<<f.log2Max
			gap := 0
			if typ == 5 {
				num, f.refLost = 0, false
			} else if f.seen {
				gap = int((num - f.last - 1 + mod) % mod)
				if gap >= int(mod/2) {
					// Backwards: not a loss but a restart of the
					// numbering we cannot count across.
					gap = -1
				}
			}
			if gap != 0 {
				f.refLost = true
			}
			if n[0]&0x60 != 0 { // nal_ref_idc: a reference frame
				f.last, f.seen = num, true
			}
			return gap
		}
	}
	return 0
}
