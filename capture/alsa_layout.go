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
