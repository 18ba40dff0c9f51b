package capture

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/glassagent/glassagent/media"
)

// ALSA through the kernel's PCM interface (/dev/snd/pcmC*D*), in pure Go so
// the static device binary has sound: libasound would need cgo, and
// yobert/alsa is not allowed here. This is the part of asound.h a
// microphone and a speaker need: hw_params with S16_LE interleaved frames,
// sw_params for timestamps, prepare, readi/writei with xrun recovery,
// status, drain. Structs: alsa_layout.go.

const (
	pcmAccessRWInterleaved = 3
	pcmFormatS16LE         = 2

	// interval indices from SNDRV_PCM_HW_PARAM_FIRST_INTERVAL (8)
	ivSampleBits = 0
	ivFrameBits  = 1
	ivChannels   = 2
	ivRate       = 3
	ivPeriodSize = 5
	ivPeriods    = 7
	ivBufferSize = 9

	intervalInteger = 1 << 2

	iocNone  = 0
	iocWrite = 1
	iocRead  = 2
	alsaType = 'A'

	pcmTstampEnable        = 1                 // SNDRV_PCM_TSTAMP_ENABLE: status carries the time hw_ptr moved
	pcmTstampTypeMonotonic = 1                 // SNDRV_PCM_TSTAMP_TYPE_MONOTONIC
	pcmProto2012           = 2<<16 | 0<<8 | 12 // sw_params.tstamp_type is read from protocol 2.0.12 on

	pcmStateRunning  = 3
	pcmStateDraining = 5

	// pcmPeriods is the ring buffer length in periods: 16 x 10 ms rides
	// out a garbage collection or a busy core. It adds no capture latency
	// (a period is read as soon as it is complete); on playback it only
	// delays cues.
	pcmPeriods = 16
)

func alsaIoc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | alsaType<<8 | nr }

var (
	pcmIoctlHwParams = alsaIoc(iocRead|iocWrite, 0x11, unsafe.Sizeof(pcmHwParams{}))
	pcmIoctlSwParams = alsaIoc(iocRead|iocWrite, 0x13, unsafe.Sizeof(pcmSwParams{}))
	pcmIoctlStatus   = alsaIoc(iocRead, 0x20, unsafe.Sizeof(pcmStatus{}))
	pcmIoctlPrepare  = alsaIoc(iocNone, 0x40, 0)
	pcmIoctlDrop     = alsaIoc(iocNone, 0x43, 0)
	pcmIoctlDrain    = alsaIoc(iocNone, 0x44, 0)
	pcmIoctlWritei   = alsaIoc(iocWrite, 0x50, unsafe.Sizeof(pcmXferi{}))
	pcmIoctlReadi    = alsaIoc(iocRead, 0x51, unsafe.Sizeof(pcmXferi{}))
)

// pcm is an open PCM device, non-blocking so that a blocked read or write
// notices its context and Close.
type pcm struct {
	fd      int
	path    string
	capture bool
	format  media.AudioFormat
	period  int   // frames
	tstamps bool  // sw_params took timestamps on CLOCK_MONOTONIC
	frames  int64 // frames transferred since the stream was last prepared (ioMu)
	xruns   atomic.Uint64
	stop    atomic.Bool
	ioMu    sync.Mutex // held by xfer; close waits for it
}

// openPCM opens /dev/snd/pcmC{card}D{dev}{c|p} for S16_LE interleaved at
// the format, with periods of period frames.
func openPCM(card, dev int, capture bool, f media.AudioFormat, period int) (*pcm, error) {
	if f.SampleRate < 8000 || f.SampleRate > 192000 || f.Channels < 1 || f.Channels > 8 {
		return nil, media.Errorf(media.CodeInvalidConfig, "audio format %d Hz x%d: want 8000-192000 Hz, 1-8 channels", f.SampleRate, f.Channels)
	}
	dir := 'p'
	if capture {
		dir = 'c'
	}
	path := fmt.Sprintf("/dev/snd/pcmC%dD%d%c", card, dev, dir)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var hw pcmHwParams
	for i := range hw.Masks {
		for j := range hw.Masks[i] {
			hw.Masks[i][j] = 0xffffffff
		}
	}
	for i := range hw.Intervals {
		hw.Intervals[i] = pcmInterval{Min: 0, Max: 0xffffffff}
	}
	hw.Rmask = 0xffffffff
	hw.Masks[0] = [8]uint32{1 << pcmAccessRWInterleaved}
	hw.Masks[1] = [8]uint32{1 << pcmFormatS16LE}
	set := func(iv, v int) {
		hw.Intervals[iv] = pcmInterval{Min: uint32(v), Max: uint32(v), Flags: intervalInteger}
	}
	set(ivSampleBits, 16)
	set(ivFrameBits, 16*f.Channels)
	set(ivChannels, f.Channels)
	set(ivRate, f.SampleRate)
	set(ivPeriodSize, period)
	set(ivPeriods, pcmPeriods)
	if err := alsaIoctl(fd, pcmIoctlHwParams, unsafe.Pointer(&hw)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %d Hz x%d S16_LE, %d-frame periods not accepted: %w", path, f.SampleRate, f.Channels, period, err)
	}
	// Timestamps on, on CLOCK_MONOTONIC: without them a status report
	// carries no time and the reference for echo cancellation could only be
	// stamped with our own clock, after the fact. The rest is the kernel's
	// defaults (start on the first frame, stop when the buffer runs dry or
	// overflows). A kernel or driver that refuses still plays and records;
	// positions are then timed by our clock.
	buffer := int(hw.Intervals[ivBufferSize].Min)
	if buffer <= 0 {
		buffer = period * pcmPeriods
	}
	sw := pcmSwParams{
		TstampMode: pcmTstampEnable, TstampType: pcmTstampTypeMonotonic, Proto: pcmProto2012,
		PeriodStep: 1, AvailMin: uint(period), StartThreshold: 1, StopThreshold: uint(buffer),
	}
	tstamps := alsaIoctl(fd, pcmIoctlSwParams, unsafe.Pointer(&sw)) == nil
	if err := alsaIoctl(fd, pcmIoctlPrepare, nil); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: prepare: %w", path, err)
	}
	return &pcm{fd: fd, path: path, capture: capture, format: f, period: period, tstamps: tstamps}, nil
}

func alsaIoctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// errPCMClosed ends a transfer interrupted by close.
var errPCMClosed = fmt.Errorf("ALSA device: %w", ErrClosed)

// xfer moves all of buf to (playback) or from (capture) the device. On
// -EPIPE (capture overrun, playback underrun) or -ESTRPIPE (suspend) it
// prepares the device again, counts it and calls onXrun, then goes on.
// After every transfer, step (if set) runs with ioMu held and the frame
// number of buf[0] in the stream's count (see pcm.frames; negative after
// an xrun restarted the count midway), so that it may ask for the
// position while the device is known to be open.
func (p *pcm) xfer(ctx context.Context, buf []int16, onXrun func(), step func(first int64)) error {
	p.ioMu.Lock()
	defer p.ioMu.Unlock()
	req, ev := uintptr(pcmIoctlWritei), int16(unix.POLLOUT)
	if p.capture {
		req, ev = pcmIoctlReadi, unix.POLLIN
	}
	ch := p.format.Channels
	frames := len(buf) / ch
	for done := 0; done < frames; {
		if p.stop.Load() {
			return errPCMClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		x := pcmXferi{Buf: uintptr(unsafe.Pointer(&buf[done*ch])), Frames: uint(frames - done)}
		err := alsaIoctl(p.fd, req, unsafe.Pointer(&x))
		switch {
		case err == nil:
			done += x.Result
			p.frames += int64(x.Result)
			if step != nil {
				step(p.frames - int64(done))
			}
		case errors.Is(err, unix.EAGAIN):
			// Wake every 100 ms to notice ctx and close.
			fds := []unix.PollFd{{Fd: int32(p.fd), Events: ev}}
			if _, err := unix.Poll(fds, 100); err != nil && err != unix.EINTR {
				return fmt.Errorf("%s: poll: %w", p.path, err)
			}
		case errors.Is(err, unix.EPIPE), errors.Is(err, unix.ESTRPIPE):
			p.xruns.Add(1)
			if err := alsaIoctl(p.fd, pcmIoctlPrepare, nil); err != nil {
				return fmt.Errorf("%s: recovering from xrun: %w", p.path, err)
			}
			p.frames = 0
			if onXrun != nil {
				onXrun()
			}
		default:
			return fmt.Errorf("%s: %w", p.path, err)
		}
	}
	return nil
}

// pcmPosition is where a stream is by the device's account: frame Frame
// (numbered as pcm.frames counts) is at the converter, leaving it on
// playback or entering it on capture, at kernel time At (CLOCK_MONOTONIC).
// Measured is true when At is the device's own stamp of a position it
// reached since the stream started; otherwise At is the start trigger's
// stamp while nothing has moved yet, or the time of asking.
type pcmPosition struct {
	Frame    int64
	At       time.Duration
	Measured bool
}

// timeOf is when frame n is at the converter, at the nominal rate.
func (q pcmPosition) timeOf(n int64, rate int) time.Duration {
	return q.At + time.Duration((n-q.Frame)*int64(time.Second)/int64(rate))
}

// positionLocked asks the device for its position (SNDRV_PCM_IOCTL_STATUS);
// ioMu must be held.
//
// The kernel stamps a status with the time hw_ptr last moved (it keeps the
// stamp while the pointer stands still), and the delay it reports is the
// frames between our side of the buffer and the converter, the codec's own
// delay included: frame frames-delay is leaving the converter at that
// stamp (frames+delay entering it, on capture). A driver whose pointer
// moves in steps (a period, or a timer tick like snd-aloop's 4 ms jiffy) is
// right at the instant of the step and late by up to one step if the
// status itself is what noticed it; asked right after the device woke us
// (a period interrupt) it is the interrupt's stamp.
func (p *pcm) positionLocked() (pcmPosition, error) {
	var st pcmStatus
	if err := alsaIoctl(p.fd, pcmIoctlStatus, unsafe.Pointer(&st)); err != nil {
		return pcmPosition{}, fmt.Errorf("%s: status: %w", p.path, err)
	}
	now := clockMonotonic()
	if st.State != pcmStateRunning && st.State != pcmStateDraining {
		// Not started: the next frame goes out as soon as it is written.
		return pcmPosition{Frame: p.frames, At: now}, nil
	}
	q := pcmPosition{Frame: p.frames - int64(st.Delay), At: now}
	if p.capture {
		q.Frame = p.frames + int64(st.Delay)
	}
	ts := time.Duration(st.TstampSec)*time.Second + time.Duration(st.TstampNsec)
	trig := time.Duration(st.TriggerSec)*time.Second + time.Duration(st.TriggerNsec)
	switch {
	case !p.tstamps:
	case ts != 0 && ts >= trig:
		// Stamped since this start (a fresh stream's stamp is zero until
		// the pointer first moves; one from before a restart is older
		// than the trigger).
		q.At, q.Measured = ts, true
	case st.HwPtr == 0 && trig != 0:
		q.At = trig
	}
	return q, nil
}

// close stops a transfer in progress (within 100 ms) and closes the fd.
func (p *pcm) close(drop bool) error {
	if p.stop.Swap(true) {
		return nil
	}
	p.ioMu.Lock()
	defer p.ioMu.Unlock()
	if drop {
		alsaIoctl(p.fd, pcmIoctlDrop, nil)
	}
	return unix.Close(p.fd)
}

// ALSAMic is a microphone on an ALSA capture device.
type ALSAMic struct {
	p        *pcm
	name     string
	block    media.AudioBlock
	clock    *media.Clock
	offset   time.Duration // pipeline time minus CLOCK_MONOTONIC
	base     time.Duration // pipeline time of sample 0 since the last anchor
	read     int64         // frames read since the anchor
	anchored bool
	end      time.Duration // end of the last block, to stay monotonic
	pos      pcmPosition   // the device's position after the last block
	first    int64         // the last block's first frame, in pos's count
	posOK    bool
	skew     time.Duration // see Skew
	skewOK   bool
}

// OpenMic opens an ALSA capture device by name: "hw:CARD,DEV" with CARD a
// number or the card's id from /proc/asound/cards ("hw:Loopback,1"), a
// bare card id or name (device 0), or "default" (the first microphone).
// Blocks are 10 ms.
func OpenMic(name string, f media.AudioFormat, clock *media.Clock) (*ALSAMic, error) {
	card, dev, err := ResolveALSA(name, true)
	if err != nil {
		return nil, media.Wrap(media.CodeMicFailed, err)
	}
	m, err := OpenALSAMic(card, dev, f, clock)
	if m != nil {
		m.name = name
	}
	return m, err
}

// OpenALSAMic opens hw:card,dev for capture.
func OpenALSAMic(card, dev int, f media.AudioFormat, clock *media.Clock) (*ALSAMic, error) {
	period := f.SampleRate / 100 // 10 ms
	p, err := openPCM(card, dev, true, f, period)
	if err != nil {
		if media.CodeOf(err) == media.CodeInvalidConfig {
			return nil, err
		}
		return nil, media.Wrap(media.CodeMicFailed, err)
	}
	m := &ALSAMic{p: p, clock: clock, offset: monoOffset(clock), name: fmt.Sprintf("hw:%d,%d", card, dev)}
	m.block.Format = f
	m.block.Samples = make([]int16, period*f.Channels)
	return m, nil
}

// Format implements AudioSource.
func (m *ALSAMic) Format() media.AudioFormat { return m.p.format }

// Overruns counts capture overruns recovered from (samples were lost).
func (m *ALSAMic) Overruns() uint64 { return m.p.xruns.Load() }

// Read implements AudioSource: one 10 ms period.
//
// PTS comes from the sample count: the first block is anchored where the
// device says its first sample was captured (the position it reports
// after the read, the newest frame's capture time less the frames since
// its first one), and every later block is the anchor plus the samples
// read since, so PTS never jitter with scheduling. An overrun loses
// samples, so the next block is anchored afresh (never before the end of
// the last one). A device that reports no timestamps is anchored at the
// instant of the read less the block's length, as the position can only
// be later than that.
func (m *ALSAMic) Read(ctx context.Context) (*media.AudioBlock, error) {
	m.posOK = false
	frames := int64(m.p.period)
	err := m.p.xfer(ctx, m.block.Samples, func() { m.anchored = false }, func(first int64) {
		// The position once the block is complete, asked while the device
		// is known to be open (xfer holds it).
		if m.p.frames-first < frames {
			return
		}
		if pos, err := m.p.positionLocked(); err == nil {
			m.pos, m.first, m.posOK = pos, first, true
		}
	})
	if err != nil {
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return nil, err
		}
		return nil, media.Errorf(media.CodeMicFailed, "microphone %s: %w", m.name, err)
	}
	rate := int64(m.p.format.SampleRate)
	dur := func(frames int64) time.Duration { return time.Duration(frames * int64(time.Second) / rate) }
	measured := m.posOK && m.pos.Measured
	var devStart time.Duration
	if measured {
		devStart = m.pos.timeOf(m.first, int(rate)) + m.offset
	}
	if !m.anchored {
		start := m.clock.Now() - dur(frames)
		if measured {
			start = devStart
		}
		m.base, m.read, m.anchored = max(start, m.end), 0, true
	}
	m.block.PTS = m.base + dur(m.read)
	m.read += frames
	m.end = m.base + dur(m.read)
	m.skew, m.skewOK = devStart-m.block.PTS, measured
	return &m.block, nil
}

// Skew is how much later than its PTS the device puts the last block's
// first sample (from its position report right after the read), and
// whether it said. A device whose pointer moves in steps reports late by
// up to a step now and then, so the smallest skew over a while is the
// anchor's error; a trend is the sound card's clock drifting from the
// system's (PTS follow the card).
func (m *ALSAMic) Skew() (time.Duration, bool) { return m.skew, m.skewOK }

// Close implements AudioSource; safe to call twice and while Read waits.
func (m *ALSAMic) Close() error { return m.p.close(true) }

// ALSAPlayback plays PCM on an ALSA playback device.
type ALSAPlayback struct {
	p   *pcm
	ref monoRef // maps the device's CLOCK_MONOTONIC stamps to time.Time
}

// OpenPlayback opens an ALSA playback device by name (see OpenMic).
func OpenPlayback(name string, f media.AudioFormat) (*ALSAPlayback, error) {
	card, dev, err := ResolveALSA(name, false)
	if err != nil {
		return nil, err
	}
	return OpenALSAPlayback(card, dev, f)
}

// OpenALSAPlayback opens hw:card,dev for playback.
func OpenALSAPlayback(card, dev int, f media.AudioFormat) (*ALSAPlayback, error) {
	p, err := openPCM(card, dev, false, f, f.SampleRate/100)
	if err != nil {
		return nil, err
	}
	return &ALSAPlayback{p: p, ref: newMonoRef()}, nil
}

// Write plays interleaved samples, blocking until the device took them. An
// underrun (the writer was late) is recovered from and counted.
func (a *ALSAPlayback) Write(samples []int16) error {
	return a.p.xfer(context.Background(), samples, nil, nil)
}

// WriteHeard is Write that also says when samples[mark] (a frame index)
// reaches the speaker, by the device's account: heard is called once, on
// the calling goroutine, with that instant (its monotonic reading exact,
// for media.Clock.At), while the device is held: heard must not call back
// into a.
//
// The device stamps its position at its period interrupts (a write woken by
// one asks right after it), and each stamp is late, never early, by the
// interrupt's latency; the earliest estimate of all so far is the best.
// heard gets it once the next interrupt would come too close to frame mark
// being heard (within two periods), or at the end of the write if that
// comes first. A write the device takes whole before it stamps a position
// (shorter than the buffer) gets the start trigger's stamp instead. So a
// caller that needs the time before the sound is heard writes more than a
// buffer, with mark a few periods in (the cue player puts a lead-in of
// silence first). A device that stamps nothing (sw_params refused) is
// timed at once from the delay it reports and our clock.
func (a *ALSAPlayback) WriteHeard(samples []int16, mark int, heard func(at time.Time)) error {
	rate := a.p.format.SampleRate
	period := time.Duration(a.p.period) * time.Second / time.Duration(rate)
	var (
		best           time.Duration // kernel time frame mark is heard
		have, measured bool
		called         bool
	)
	report := func() {
		called = true
		heard(a.ref.time(best))
	}
	err := a.p.xfer(context.Background(), samples, nil, func(first int64) {
		if called {
			return
		}
		q, err := a.p.positionLocked()
		if err != nil {
			return
		}
		at := q.timeOf(first+int64(mark), rate)
		switch {
		case q.Measured && (!measured || at < best):
			best, have, measured = at, true, true
		case !measured:
			best, have = at, true
		}
		if !a.p.tstamps || measured && best-clockMonotonic() < 2*period {
			report()
		}
	})
	if !called && have {
		report()
	}
	return err
}

// Underruns counts playback underruns recovered from.
func (a *ALSAPlayback) Underruns() uint64 { return a.p.xruns.Load() }

// Drain waits until everything written has played. The device is
// non-blocking, where DRAIN returns EAGAIN at once, so it waits here in
// blocking mode.
func (a *ALSAPlayback) Drain() error {
	a.p.ioMu.Lock()
	defer a.p.ioMu.Unlock()
	if a.p.stop.Load() {
		return errPCMClosed
	}
	if err := unix.SetNonblock(a.p.fd, false); err != nil {
		return err
	}
	defer unix.SetNonblock(a.p.fd, true)
	if err := alsaIoctl(a.p.fd, pcmIoctlDrain, nil); err != nil && !errors.Is(err, unix.EBADFD) {
		return fmt.Errorf("%s: drain: %w", a.p.path, err)
	}
	return nil
}

// Close stops playback at once and frees the device (Drain first to let
// it finish).
func (a *ALSAPlayback) Close() error { return a.p.close(true) }
