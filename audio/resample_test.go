package audio

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

// toneThrough resamples a sine of freq Hz at amplitude amp and returns the
// output's amplitude at freq (or, for a stopband tone, its RMS), skipping
// the filter's start-up.
func toneThrough(t *testing.T, r *Resampler, freq float64, secs float64) (outAmp float64) {
	t.Helper()
	n := int(secs * float64(r.inRate))
	in := make([]int16, n*r.inCh)
	const amp = 16000.0
	for i := 0; i < n; i++ {
		v := int16(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(r.inRate)))
		for c := 0; c < r.inCh; c++ {
			in[i*r.inCh+c] = v
		}
	}
	var out []int16
	for off := 0; off < len(in); off += 480 * r.inCh { // 10 ms blocks
		end := min(off+480*r.inCh, len(in))
		out = append(out, r.Process(in[off:end])...)
	}
	ch0 := make([]float64, 0, len(out)/r.outCh)
	for i := 0; i < len(out); i += r.outCh {
		ch0 = append(ch0, float64(out[i]))
	}
	ch0 = ch0[len(ch0)/4 : len(ch0)*3/4]
	var sum float64
	for _, v := range ch0 {
		sum += v * v
	}
	return math.Sqrt(2*sum/float64(len(ch0))) / amp // amplitude relative to the input's
}

func TestResamplerPassbandAndStopband(t *testing.T) {
	for _, c := range []struct{ in, out int }{{48000, 44100}, {44100, 48000}, {48000, 16000}, {16000, 48000}} {
		t.Run(fmt.Sprintf("%d-%d", c.in, c.out), func(t *testing.T) {
			nyq := float64(min(c.in, c.out)) / 2
			worstRipple := 0.0
			for _, f := range []float64{100, 1000, 0.3 * nyq, 0.6 * nyq, 0.85 * nyq} {
				r, err := NewResampler(c.in, 1, c.out, 1)
				if err != nil {
					t.Fatal(err)
				}
				db := 20 * math.Log10(toneThrough(t, r, f, 0.5))
				worstRipple = max(worstRipple, math.Abs(db))
				if math.Abs(db) > 0.1 {
					t.Errorf("%.0f Hz passes at %+.3f dB, want within 0.1 dB", f, db)
				}
			}
			worstReject := math.Inf(-1)
			if c.out < c.in { // tones between the output's and the input's Nyquist must go
				for _, f := range []float64{1.05 * nyq, min(1.3*nyq, 0.97*float64(c.in)/2), 0.97 * float64(c.in) / 2} {
					r, _ := NewResampler(c.in, 1, c.out, 1)
					db := 20 * math.Log10(toneThrough(t, r, f, 0.5)+1e-12)
					worstReject = max(worstReject, db)
					if db > -80 {
						t.Errorf("%.0f Hz (above the output Nyquist) only %.1f dB down, want 80", f, -db)
					}
				}
			}
			t.Logf("passband ripple %.4f dB; stopband worst %.1f dB", worstRipple, worstReject)
		})
	}
}

func TestResamplerChannelsAndLength(t *testing.T) {
	r, err := NewResampler(48000, 2, 44100, 1)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]int16, 2*4800) // 100 ms stereo
	var total int
	for i := 0; i < 10; i++ {
		total += len(r.Process(in))
	}
	if total != 44100 {
		t.Errorf("1 s of 48 kHz stereo gave %d mono samples at 44.1 kHz, want 44100", total)
	}
	r2, _ := NewResampler(16000, 1, 48000, 2)
	if a := toneThrough(t, r2, 1000, 0.5); math.Abs(20*math.Log10(a)) > 0.1 {
		t.Errorf("mono to stereo changed the level by %.3f dB", 20*math.Log10(a))
	}
	for _, bad := range [][4]int{{0, 1, 48000, 1}, {48000, 3, 48000, 1}, {48000, 1, 1000000, 1}} {
		if _, err := NewResampler(bad[0], bad[1], bad[2], bad[3]); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// BenchmarkResampler48to44 is one 10 ms block of 48 kHz mono.
func BenchmarkResampler48to44(b *testing.B) {
	r, _ := NewResampler(48000, 1, 44100, 1)
	in := make([]int16, 480)
	for i := range in {
		in[i] = int16(1000 * math.Sin(float64(i)))
	}
	r.Process(in)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Process(in)
	}
}

func TestChain(t *testing.T) {
	in := media.AudioFormat{SampleRate: 48000, Channels: 2}
	out := media.AudioFormat{SampleRate: 44100, Channels: 1}
	c, err := NewChain(in, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Stages()) != 1 {
		t.Errorf("stages %v", c.Stages())
	}
	var next time.Duration
	for i := 0; i < 100; i++ {
		b := &media.AudioBlock{Format: in, Samples: make([]int16, 960), PTS: time.Duration(i) * 10 * time.Millisecond}
		o := c.Process(b)
		if o.Format != out {
			t.Fatalf("output format %+v", o.Format)
		}
		if i > 0 && (o.PTS-next > time.Microsecond || next-o.PTS > time.Microsecond) {
			t.Fatalf("block %d PTS %v, want %v (sample clock)", i, o.PTS, next)
		}
		next = o.PTS + time.Duration(o.Frames())*time.Second/44100
	}
	same, _ := NewChain(out, out)
	b := &media.AudioBlock{Format: out}
	if same.Process(b) != b || same.Stages() != nil {
		t.Error("a chain with nothing to do should pass blocks through")
	}
}
