package capture

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"testing"
	"unsafe"
)

// TestALSALayouts type-checks alsa_layout.go with the gc sizes of every
// target the daemon ships on and compares with the kernel's sizes there.
func TestALSALayouts(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "alsa_layout.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int64{ // {64-bit, 32-bit arm}
		"pcmHwParams": {608, 604},
		"pcmInterval": {12, 12},
		"pcmXferi":    {24, 12},
		"pcmSwParams": {136, 104},
		"pcmStatus":   {152, 128},
	}
	// Offsets of the fields read or set, from the kernel's struct
	// snd_pcm_sw_params and snd_pcm_status64 (s64 8-aligned on arm EABI).
	offsets := map[string]map[string][2]int64{
		"pcmSwParams": {"AvailMin": {16, 12}, "StartThreshold": {32, 20}, "StopThreshold": {40, 24},
			"Boundary": {64, 36}, "Proto": {72, 40}, "TstampType": {76, 44}},
		"pcmStatus": {"TriggerSec": {8, 8}, "TstampSec": {24, 24}, "TstampNsec": {32, 32},
			"ApplPtr": {40, 40}, "HwPtr": {48, 44}, "Delay": {56, 48}, "SuspendedState": {88, 64},
			"AudioTstampSec": {96, 72}, "AudioTstampAccuracy": {128, 104}},
	}
	// Request numbers per target, from the sizes there.
	requests := map[string][3]uint64{ // {nr, 64-bit, 32-bit arm}
		"pcmSwParams": {0x13, 0xc0884113, 0xc0684113}, // SNDRV_PCM_IOCTL_SW_PARAMS, _IOWR
		"pcmStatus":   {0x20, 0x80984120, 0x80804120}, // SNDRV_PCM_IOCTL_STATUS (64-bit time), _IOR
	}
	for _, arch := range []string{"amd64", "arm64", "arm"} {
		sizes := types.SizesFor("gc", arch)
		pkg, err := (&types.Config{Sizes: sizes, Importer: importer.Default()}).Check("capture", fset, []*ast.File{f}, nil)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		if arch == "arm" {
			i = 1
		}
		for name, w := range want {
			if got := sizes.Sizeof(pkg.Scope().Lookup(name).Type()); got != w[i] {
				t.Errorf("%s: %s is %d bytes, the kernel's is %d", arch, name, got, w[i])
			}
		}
		for name, fields := range offsets {
			st := pkg.Scope().Lookup(name).Type().Underlying().(*types.Struct)
			var vars []*types.Var
			for j := 0; j < st.NumFields(); j++ {
				vars = append(vars, st.Field(j))
			}
			offs := sizes.Offsetsof(vars)
			for field, w := range fields {
				found := false
				for j, v := range vars {
					if v.Name() == field {
						found = true
						if offs[j] != w[i] {
							t.Errorf("%s: %s.%s at %d, the kernel's at %d", arch, name, field, offs[j], w[i])
						}
					}
				}
				if !found {
					t.Errorf("%s has no field %s", name, field)
				}
			}
		}
		for name, r := range requests {
			dir := uintptr(iocRead)
			if r[0] == 0x13 {
				dir = iocRead | iocWrite
			}
			size := sizes.Sizeof(pkg.Scope().Lookup(name).Type())
			if got := uint64(alsaIoc(dir, uintptr(r[0]), uintptr(size))); got != r[1+i] {
				t.Errorf("%s: request for %s %#x, the kernel's %#x", arch, name, got, r[1+i])
			}
		}
	}
	// The compiled sizes and request numbers on this machine.
	wantHw := uintptr(608)
	if unsafe.Sizeof(uintptr(0)) == 4 {
		wantHw = 604
	}
	if got := unsafe.Sizeof(pcmHwParams{}); got != wantHw {
		t.Errorf("snd_pcm_hw_params is %d bytes, the kernel's is %d", got, wantHw)
	}
	if unsafe.Sizeof(uintptr(0)) == 8 {
		for name, c := range map[string][2]uintptr{
			"HW_PARAMS": {pcmIoctlHwParams, 0xc2604111},
			"PREPARE":   {pcmIoctlPrepare, 0x4140},
			"WRITEI":    {pcmIoctlWritei, 0x40184150},
			"READI":     {pcmIoctlReadi, 0x80184151},
			"DRAIN":     {pcmIoctlDrain, 0x4144},
			"SW_PARAMS": {pcmIoctlSwParams, 0xc0884113},
			"STATUS":    {pcmIoctlStatus, 0x80984120},
		} {
			if c[0] != c[1] {
				t.Errorf("SNDRV_PCM_IOCTL_%s %#x, want %#x", name, c[0], c[1])
			}
		}
	}
}
