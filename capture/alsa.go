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
// prepare, readi/writei with xrun recovery, drain. Structs: alsa_layout.go.

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

	intervalInteger = 1 << 2

	iocNone  = 0
	iocWrite = 1
	iocRead  = 2
	alsaType = 'A'

	// pcmPeriods is the ring buffer length in periods: 16 x 10 ms rides
	// out a garbage collection or a busy core. It adds no capture latency
	// (a period is read as soon as it is complete); on playback it only
	// delays cues.
	pcmPeriods = 16
)

func alsaIoc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | alsaType<<8 | nr }

var (
	pcmIoctlHwParams = alsaIoc(iocRead|iocWrite, 0x11, unsafe.Sizeof(pcmHwParams{}))
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
	period  int // frames
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
	if err := alsaIoctl(fd, pcmIoctlPrepare, nil); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: prepare: %w", path, err)
	}
	return &pcm{fd: fd, path: path, capture: capture, format: f, period: period}, nil
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
func (p *pcm) xfer(ctx context.Context, buf []int16, onXrun func()) error {
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
			if onXrun != nil {
				onXrun()
			}
		default:
			return fmt.Errorf("%s: %w", p.path, err)
		}
	}
	return nil
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
	base     time.Duration // pipeline time of sample 0 since the last anchor
	read     int64         // frames read since the anchor
	anchored bool
	end      time.Duration // end of the last block, to stay monotonic
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
	m := &ALSAMic{p: p, clock: clock, name: fmt.Sprintf("hw:%d,%d", card, dev)}
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
// PTS comes from the sample count: the first block is anchored at the
// instant it was read minus its own length (when its first sample was
// captured), and every later block is the anchor plus the samples read
// since, so it never drifts against the sound card. An overrun loses
// samples, so the next block is anchored afresh (never before the end of
// the last one).
func (m *ALSAMic) Read(ctx context.Context) (*media.AudioBlock, error) {
	err := m.p.xfer(ctx, m.block.Samples, func() { m.anchored = false })
	if err != nil {
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return nil, err
		}
		return nil, media.Errorf(media.CodeMicFailed, "microphone %s: %w", m.name, err)
	}
	rate := int64(m.p.format.SampleRate)
	dur := func(frames int64) time.Duration { return time.Duration(frames * int64(time.Second) / rate) }
	if !m.anchored {
		m.base, m.read, m.anchored = max(m.clock.Now()-dur(int64(m.p.period)), m.end), 0, true
	}
	m.block.PTS = m.base + dur(m.read)
	m.read += int64(m.p.period)
	m.end = m.base + dur(m.read)
	return &m.block, nil
}

// Close implements AudioSource; safe to call twice and while Read waits.
func (m *ALSAMic) Close() error { return m.p.close(true) }

// ALSAPlayback plays PCM on an ALSA playback device.
type ALSAPlayback struct{ p *pcm }

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
	return &ALSAPlayback{p: p}, nil
}

// Write plays interleaved samples, blocking until the device took them. An
// underrun (the writer was late) is recovered from and counted.
func (a *ALSAPlayback) Write(samples []int16) error {
	return a.p.xfer(context.Background(), samples, nil)
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
