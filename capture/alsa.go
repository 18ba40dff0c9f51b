package capture

import (
	"context"
	"errors"
	"fmt"
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
// prepare, readi/writei, drain.

// pcmHwParams is struct snd_pcm_hw_params: 608 bytes on 64-bit targets,
// 604 on 32-bit (fifo_size is an unsigned long).
type pcmHwParams struct {
	Flags     uint32
	Masks     [3][8]uint32 // ACCESS, FORMAT, SUBFORMAT
	Mres      [5][8]uint32
	Intervals [12]pcmInterval // SAMPLE_BITS .. TICK_TIME
	Ires      [9]pcmInterval
	Rmask     uint32
	Cmask     uint32
	Info      uint32
	Msbits    uint32
	RateNum   uint32
	RateDen   uint32
	FifoSize  uint // snd_pcm_uframes_t
	Reserved  [64]byte
}

type pcmInterval struct {
	Min, Max uint32
	Flags    uint32 // openmin:1 openmax:1 integer:1 empty:1
}

// snd_xferi: result, buf, frames.
type pcmXferi struct {
	Result int
	Buf    unsafe.Pointer
	Frames uint
}

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
)

func alsaIoc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | alsaType<<8 | nr }

var (
	pcmIoctlHwParams = alsaIoc(iocRead|iocWrite, 0x11, unsafe.Sizeof(pcmHwParams{}))
	pcmIoctlPrepare  = alsaIoc(iocNone, 0x40, 0)
	pcmIoctlDrain    = alsaIoc(iocNone, 0x44, 0)
	pcmIoctlDrop     = alsaIoc(iocNone, 0x43, 0)
	pcmIoctlWritei   = alsaIoc(iocWrite, 0x50, unsafe.Sizeof(pcmXferi{}))
	pcmIoctlReadi    = alsaIoc(iocRead, 0x51, unsafe.Sizeof(pcmXferi{}))
)

// pcm is an open PCM device.
type pcm struct {
	fd       int
	format   media.AudioFormat
	period   int // frames
	overruns atomic.Uint64
}

// openPCM opens /dev/snd/pcmC{card}D{dev}{c|p} for S16_LE interleaved at
// the format, with periods of period frames.
func openPCM(card, dev int, capture bool, f media.AudioFormat, period int) (*pcm, error) {
	dir := 'p'
	if capture {
		dir = 'c'
	}
	path := fmt.Sprintf("/dev/snd/pcmC%dD%d%c", card, dev, dir)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
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
	set(ivPeriods, 4)
	if err := alsaIoctl(fd, pcmIoctlHwParams, unsafe.Pointer(&hw)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %d Hz x%d S16_LE, %d-frame periods not accepted: %w", path, f.SampleRate, f.Channels, period, err)
	}
	if err := alsaIoctl(fd, pcmIoctlPrepare, nil); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: prepare: %w", path, err)
	}
	return &pcm{fd: fd, format: f, period: period}, nil
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

// xfer moves frames to (writei) or from (readi) buf; on -EPIPE (overrun or
// underrun) it prepares the device again and counts it.
func (p *pcm) xfer(req uintptr, buf []int16) error {
	frames := len(buf) / p.format.Channels
	for done := 0; done < frames; {
		x := pcmXferi{Buf: unsafe.Pointer(&buf[done*p.format.Channels]), Frames: uint(frames - done)}
		err := alsaIoctl(p.fd, req, unsafe.Pointer(&x))
		if errors.Is(err, unix.EPIPE) {
			p.overruns.Add(1)
			if err := alsaIoctl(p.fd, pcmIoctlPrepare, nil); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		done += x.Result
	}
	return nil
}

func (p *pcm) close() error { return unix.Close(p.fd) }

// ALSAMic is a microphone on an ALSA capture device.
type ALSAMic struct {
	p     *pcm
	block media.AudioBlock
	clock *media.Clock
	start time.Duration
	read  int64
}

// OpenALSAMic opens hw:card,dev for capture.
func OpenALSAMic(card, dev int, f media.AudioFormat, clock *media.Clock) (*ALSAMic, error) {
	period := f.SampleRate / 100 // 10 ms
	p, err := openPCM(card, dev, true, f, period)
	if err != nil {
		return nil, media.Wrap(media.CodeMicFailed, err)
	}
	m := &ALSAMic{p: p, clock: clock, start: clock.Now()}
	m.block.Format = f
	m.block.Samples = make([]int16, period*f.Channels)
	return m, nil
}

// Format implements AudioSource.
func (m *ALSAMic) Format() media.AudioFormat { return m.p.format }

// Overruns counts capture overruns recovered from.
func (m *ALSAMic) Overruns() uint64 { return m.p.overruns.Load() }

// Read implements AudioSource: one 10 ms period, its PTS from the sample
// count.
func (m *ALSAMic) Read(ctx context.Context) (*media.AudioBlock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := m.p.xfer(pcmIoctlReadi, m.block.Samples); err != nil {
		return nil, media.Errorf(media.CodeMicFailed, "ALSA read: %w", err)
	}
	m.block.PTS = m.start + time.Duration(m.read*int64(time.Second)/int64(m.p.format.SampleRate))
	m.read += int64(m.p.period)
	return &m.block, nil
}

// Close implements AudioSource.
func (m *ALSAMic) Close() error {
	alsaIoctl(m.p.fd, pcmIoctlDrop, nil)
	return m.p.close()
}

// ALSAPlayback plays PCM on an ALSA playback device.
type ALSAPlayback struct{ p *pcm }

// OpenALSAPlayback opens hw:card,dev for playback.
func OpenALSAPlayback(card, dev int, f media.AudioFormat) (*ALSAPlayback, error) {
	p, err := openPCM(card, dev, false, f, f.SampleRate/100)
	if err != nil {
		return nil, err
	}
	return &ALSAPlayback{p: p}, nil
}

// Write plays interleaved samples, blocking until the device took them.
func (a *ALSAPlayback) Write(samples []int16) error { return a.p.xfer(pcmIoctlWritei, samples) }

// Drain waits until everything written has played.
func (a *ALSAPlayback) Drain() error { return alsaIoctl(a.p.fd, pcmIoctlDrain, nil) }

// Close stops playback and frees the device.
func (a *ALSAPlayback) Close() error { return a.p.close() }
