package capture

import (
	"math/rand/v2"
	"testing"
)

// reference converts pixel by pixel, the obvious way.
func referenceYUYV(src []byte, w, h int) (y, u, v []byte) {
	y, u, v = make([]byte, w*h), make([]byte, w*h/4), make([]byte, w*h/4)
	at := func(row, col, comp int) int { // comp 0=Y 1=U 2=V
		base := row*w*2 + (col/2)*4
		switch comp {
		case 0:
			return int(src[base+(col%2)*2])
		case 1:
			return int(src[base+1])
		}
		return int(src[base+3])
	}
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			y[r*w+c] = byte(at(r, c, 0))
		}
	}
	for r := 0; r < h/2; r++ {
		for c := 0; c < w/2; c++ {
			u[r*w/2+c] = byte((at(2*r, 2*c, 1) + at(2*r+1, 2*c, 1) + 1) / 2)
			v[r*w/2+c] = byte((at(2*r, 2*c, 2) + at(2*r+1, 2*c, 2) + 1) / 2)
		}
	}
	return
}

func TestYUYVToI420(t *testing.T) {
	w, h := 64, 36
	src := make([]byte, w*h*2)
	for i := range src {
		src[i] = byte(rand.IntN(256))
	}
	ry, ru, rv := referenceYUYV(src, w, h)
	y, u, v := make([]byte, w*h), make([]byte, w*h/4), make([]byte, w*h/4)
	yuyvToI420(src, w*2, w, h, y, u, v)
	if string(y) != string(ry) || string(u) != string(ru) || string(v) != string(rv) {
		t.Fatal("conversion differs from the reference")
	}
}

func BenchmarkYUYVToI420_720p(b *testing.B) {
	w, h := 1280, 720
	src := make([]byte, w*h*2)
	y, u, v := make([]byte, w*h), make([]byte, w*h/4), make([]byte, w*h/4)
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for i := 0; i < b.N; i++ {
		yuyvToI420(src, w*2, w, h, y, u, v)
	}
}
