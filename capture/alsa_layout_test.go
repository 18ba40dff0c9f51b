package capture

import (
	"testing"
	"unsafe"
)

func TestALSALayouts(t *testing.T) {
	want := uintptr(608) // 64-bit
	if unsafe.Sizeof(uintptr(0)) == 4 {
		want = 604
	}
	if got := unsafe.Sizeof(pcmHwParams{}); got != want {
		t.Errorf("snd_pcm_hw_params is %d bytes, the kernel's is %d", got, want)
	}
	if got, want := unsafe.Sizeof(pcmXferi{}), 3*unsafe.Sizeof(uintptr(0)); got != want {
		t.Errorf("snd_xferi is %d bytes, want %d", got, want)
	}
	if unsafe.Sizeof(uintptr(0)) == 8 && pcmIoctlHwParams != 0xc2604111 {
		t.Errorf("SNDRV_PCM_IOCTL_HW_PARAMS %#x, want 0xc2604111", pcmIoctlHwParams)
	}
}
