package v4l2

import (
	"testing"
	"unsafe"
)

// The kernel's sizes of these structs, the same on amd64, arm64 and arm
// (no pointers, no longs): a mismatch would corrupt every ioctl.
func TestLayouts(t *testing.T) {
	for name, got := range map[string]uintptr{
		"v4l2_capability":   unsafe.Sizeof(capability{}),
		"v4l2_fmtdesc":      unsafe.Sizeof(fmtdesc{}),
		"v4l2_frmsizeenum":  unsafe.Sizeof(frmsizeenum{}),
		"v4l2_exportbuffer": unsafe.Sizeof(exportBuffer{}),
	} {
		want := map[string]uintptr{"v4l2_capability": 104, "v4l2_fmtdesc": 64, "v4l2_frmsizeenum": 44, "v4l2_exportbuffer": 64}[name]
		if got != want {
			t.Errorf("%s is %d bytes, the kernel's is %d", name, got, want)
		}
	}
	// The request numbers as videodev2.h defines them.
	if vidiocQuerycap != 0x80685600 || vidiocEnumFmt != 0xc0405602 || vidiocEnumFramesizes != 0xc02c564a || vidiocExpbuf != 0xc0405610 {
		t.Errorf("ioctl numbers %#x %#x %#x %#x", vidiocQuerycap, vidiocEnumFmt, vidiocEnumFramesizes, vidiocExpbuf)
	}
	if fourcc(0x34363248) != "H264" || fourcc(0x3231564e) != "NV12" {
		t.Errorf("fourcc %q %q", fourcc(0x34363248), fourcc(0x3231564e))
	}
}

func TestListWithoutDevices(t *testing.T) {
	devs, errs := List(t.TempDir())
	if len(devs) != 0 || len(errs) != 0 {
		t.Errorf("%v %v", devs, errs)
	}
}
