package capture

// The kernel structs of sound/asound.h that the PCM code passes to ioctls.
// snd_pcm_uframes_t and snd_pcm_sframes_t are longs and pointers are
// pointers, so the sizes follow the architecture: uint/int/uintptr here
// track the kernel's unsigned long/long/pointer on amd64, arm64 and arm
// alike. alsa_layout_test.go type-checks this file for each of them.
//
// This file must not import anything: the test type-checks it on its own.

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

// pcmInterval is struct snd_interval (12 bytes).
type pcmInterval struct {
	Min, Max uint32
	Flags    uint32 // openmin:1 openmax:1 integer:1 empty:1
}

// pcmXferi is struct snd_xferi: result, buf, frames.
type pcmXferi struct {
	Result int     // snd_pcm_sframes_t
	Buf    uintptr // void __user *
	Frames uint    // snd_pcm_uframes_t
}

// pcmSwParams is struct snd_pcm_sw_params: 136 bytes on 64-bit targets,
// 104 on 32-bit.
type pcmSwParams struct {
	TstampMode       int32
	PeriodStep       uint32
	SleepMin         uint32
	AvailMin         uint // snd_pcm_uframes_t, from here to Boundary
	XferAlign        uint
	StartThreshold   uint
	StopThreshold    uint
	SilenceThreshold uint
	SilenceSize      uint
	Boundary         uint
	Proto            uint32
	TstampType       uint32
	Reserved         [56]byte
}

// pcmStatus is struct snd_pcm_status64, what SNDRV_PCM_IOCTL_STATUS passes
// with 64-bit time: 152 bytes on 64-bit targets, 128 on 32-bit arm (which
// also has a 32-bit-time variant under another request number; this one is
// y2038-safe and the kernel takes it natively and from compat tasks alike).
// Every s64 sits at a multiple of 8 in the kernel's layout, so Go's 4-byte
// alignment of int64 on arm gives the same offsets.
type pcmStatus struct {
	State               int32
	Rsvd                [4]byte
	TriggerSec          int64 // when the stream was started (or stopped)
	TriggerNsec         int64
	TstampSec           int64 // when hw_ptr last moved (tstamp_mode ENABLE)
	TstampNsec          int64
	ApplPtr             uint // snd_pcm_uframes_t
	HwPtr               uint
	Delay               int // snd_pcm_sframes_t: frames between the application and the converter
	Avail               uint
	AvailMax            uint
	Overrange           uint
	SuspendedState      int32
	AudioTstampData     uint32
	AudioTstampSec      int64
	AudioTstampNsec     int64
	DriverTstampSec     int64
	DriverTstampNsec    int64
	AudioTstampAccuracy uint32
	Reserved            [20]byte
}
