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
		} {
			if c[0] != c[1] {
				t.Errorf("SNDRV_PCM_IOCTL_%s %#x, want %#x", name, c[0], c[1])
			}
		}
	}
}
