package v4l2

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"runtime"
	"testing"
	"unsafe"
)

// kernelLayout is what videodev2.h gives on a 64-bit target (amd64, arm64)
// and on 32-bit arm (EABI, 64-bit time), computed from the C definitions:
// sizes, and the offsets of the fields that move.
type kernelLayout struct {
	size64, size32 int64
	offsets        map[string][2]int64 // field: {64-bit, arm}
}

var kernelLayouts = map[string]kernelLayout{
	"PixFormat":       {48, 48, nil},
	"PlaneFormat":     {20, 20, nil},
	"PixFormatMplane": {192, 192, map[string][2]int64{"NumPlanes": {180, 180}}},
	"rawFormat":       {208, 204, map[string][2]int64{"Fmt": {8, 4}}},
	"requestBuffers":  {20, 20, nil},
	"rawBuffer": {88, 80, map[string][2]int64{
		"Timestamp": {24, 24}, "Sequence": {56, 56}, "Memory": {60, 60},
		"M": {64, 64}, "Length": {72, 68}, "RequestFD": {80, 76},
	}},
	"rawPlane":    {64, 60, map[string][2]int64{"DataOffset": {16, 12}}},
	"streamParm":  {204, 204, map[string][2]int64{"TimePerFrame": {12, 12}}},
	"control":     {8, 8, nil},
	"encoderCmd":  {40, 40, nil},
	"frmivalenum": {52, 52, nil},
	"selection":   {64, 64, nil},
}

// TestLayoutsPerArch type-checks layout.go with the gc compiler's sizes for
// each target the daemon ships on, so the arm layout is checked on an
// amd64 build machine too.
func TestLayoutsPerArch(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "layout.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"amd64", "arm64", "arm"} {
		sizes := types.SizesFor("gc", arch)
		conf := types.Config{Sizes: sizes, Importer: importer.Default()}
		pkg, err := conf.Check("v4l2", fset, []*ast.File{f}, nil)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		is32 := sizes.Sizeof(types.Typ[types.Uintptr]) == 4
		for name, want := range kernelLayouts {
			obj := pkg.Scope().Lookup(name)
			if obj == nil {
				t.Fatalf("no type %s", name)
			}
			typ := obj.Type()
			wantSize := want.size64
			if is32 {
				wantSize = want.size32
			}
			if got := sizes.Sizeof(typ); got != wantSize {
				t.Errorf("%s: %s is %d bytes, the kernel's is %d", arch, name, got, wantSize)
			}
			st := typ.Underlying().(*types.Struct)
			var fields []*types.Var
			for i := 0; i < st.NumFields(); i++ {
				fields = append(fields, st.Field(i))
			}
			offs := sizes.Offsetsof(fields)
			for field, o := range want.offsets {
				wantOff := o[0]
				if is32 {
					wantOff = o[1]
				}
				found := false
				for i, fv := range fields {
					if fv.Name() == field {
						found = true
						if offs[i] != wantOff {
							t.Errorf("%s: %s.%s at %d, the kernel's at %d", arch, name, field, offs[i], wantOff)
						}
					}
				}
				if !found {
					t.Errorf("%s has no field %s", name, field)
				}
			}
		}
	}
}

// TestLayoutsNative checks the compiled sizes and the request numbers on
// the machine running the test.
func TestLayoutsNative(t *testing.T) {
	native := map[string]uintptr{
		"rawFormat": unsafe.Sizeof(rawFormat{}), "rawBuffer": unsafe.Sizeof(rawBuffer{}),
		"rawPlane": unsafe.Sizeof(rawPlane{}), "streamParm": unsafe.Sizeof(streamParm{}),
		"requestBuffers": unsafe.Sizeof(requestBuffers{}), "encoderCmd": unsafe.Sizeof(encoderCmd{}),
		"frmivalenum": unsafe.Sizeof(frmivalenum{}), "PixFormatMplane": unsafe.Sizeof(PixFormatMplane{}),
	}
	for name, got := range native {
		want := kernelLayouts[name].size64
		if unsafe.Sizeof(uintptr(0)) == 4 {
			want = kernelLayouts[name].size32
		}
		if int64(got) != want {
			t.Errorf("%s is %d bytes on %s, the kernel's is %d", name, got, runtime.GOARCH, want)
		}
	}
	if runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64" {
		// videodev2.h's numbers on 64-bit, as strace prints them.
		for name, c := range map[string][2]uintptr{
			"VIDIOC_S_FMT":       {vidiocSFmt, 0xc0d05605},
			"VIDIOC_REQBUFS":     {vidiocReqbufs, 0xc0145608},
			"VIDIOC_QUERYBUF":    {vidiocQuerybuf, 0xc0585609},
			"VIDIOC_QBUF":        {vidiocQbuf, 0xc058560f},
			"VIDIOC_DQBUF":       {vidiocDqbuf, 0xc0585611},
			"VIDIOC_STREAMON":    {vidiocStreamon, 0x40045612},
			"VIDIOC_S_PARM":      {vidiocSParm, 0xc0cc5616},
			"VIDIOC_S_CTRL":      {vidiocSCtrl, 0xc008561c},
			"VIDIOC_ENCODER_CMD": {vidiocEncoderCmd, 0xc028564d},
			"VIDIOC_S_SELECTION": {vidiocSSelection, 0xc040565f},
		} {
			if c[0] != c[1] {
				t.Errorf("%s is %#x, want %#x", name, c[0], c[1])
			}
		}
	}
}
