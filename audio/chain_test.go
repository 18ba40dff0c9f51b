package audio

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glassagent/glassagent/media"
)

func TestHighPass(t *testing.T) {
	c, err := New(fmt48(1), Config{HighPass: true})
	if err != nil {
		t.Fatal(err)
	}
	level := func(f, dc float64) float64 {
		x := make([]float64, testRate)
		for i := range x {
			x[i] = dc + 8000*math.Sin(2*math.Pi*f*float64(i)/testRate)
		}
		out := runChain(t, c, x, 0)
		return dB(power(out[testRate/2:])) - dB(power(x[testRate/2:]))
	}
	dc := level(0, 8000) // a DC offset only
	hum := level(50, 0)
	voice := level(1000, 0)
	t.Logf("high-pass: DC %.1f dB, 50 Hz %.1f dB, 1 kHz %.3f dB", dc, hum, voice)
	if dc > -60 || hum > -6 || math.Abs(voice) > 0.05 {
		t.Errorf("DC %.1f dB (want <= -60), 50 Hz %.1f dB (want <= -6), 1 kHz %.3f dB (want within 0.05)", dc, hum, voice)
	}
}

func TestChainConfigErrors(t *testing.T) {
	for _, c := range []struct {
		in  media.AudioFormat
		cfg Config
	}{
		{media.AudioFormat{SampleRate: 22050, Channels: 1}, Config{NoiseSuppression: true}},
		{media.AudioFormat{SampleRate: 48000, Channels: 3}, Config{}},
		{fmt48(1), Config{OutRate: 1000000}},
		{fmt48(1), Config{OutChannels: 6}},
		{fmt48(1), Config{EchoCancellation: true, EchoTail: -1}},
	} {
		if _, err := New(c.in, c.cfg); !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) {
			t.Errorf("%+v %+v: %v, want invalid_config", c.in, c.cfg, err)
		}
	}
	c, _ := New(fmt48(1), Config{NoiseSuppression: true})
	if err := c.FeedReference(&media.AudioBlock{Format: fmt48(1)}); err == nil {
		t.Error("reference accepted without echo cancellation")
	}
	want := []string{"highpass 80 Hz", "echo cancellation (320 ms tail)", "noise suppression", "resample 48000 Hz x2 -> 44100 Hz x1"}
	full, err := New(fmt48(2), Config{HighPass: true, NoiseSuppression: true, EchoCancellation: true, OutRate: 44100, OutChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := full.Stages(); len(got) != len(want) || got[0] != want[0] || got[3] != want[3] {
		t.Errorf("stages %q, want %q", got, want)
	}
	// A block in the wrong format is dropped and counted.
	if o := full.Process(&media.AudioBlock{Format: fmt48(1), Samples: make([]int16, 480)}); len(o.Samples) != 0 || full.Stats().Dropped != 1 {
		t.Errorf("wrong-format block gave %d samples, dropped %d", len(o.Samples), full.Stats().Dropped)
	}
}

// TestChainSteadyState: the full chain, in stereo, with odd block sizes,
// keeps its output length and sample clock and allocates nothing per block.
func TestChainSteadyState(t *testing.T) {
	in := fmt48(2)
	c, err := New(in, Config{HighPass: true, NoiseSuppression: true, EchoCancellation: true, OutRate: 44100, OutChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := &media.AudioBlock{Format: in, Samples: make([]int16, 2*333)}
	ref := &media.AudioBlock{Format: media.AudioFormat{SampleRate: 44100, Channels: 2}, Samples: make([]int16, 2*441)}
	var total int
	for i := 0; i < 1440; i++ { // 333*1440 = 10 s at 48 kHz
		for j := range b.Samples {
			b.Samples[j] = int16(3000 * math.Sin(float64(i*333+j/2)*0.05))
		}
		b.PTS = secondsToDuration(float64(i*333) / 48000)
		if i%3 == 0 {
			ref.PTS = secondsToDuration(float64(i/3) * 0.01)
			_ = c.FeedReference(ref)
		}
		total += len(c.Process(b).Samples)
	}
	if want := 441000; total < want-2*441 || total > want {
		t.Errorf("10 s gave %d samples at 44.1 kHz mono, want about %d (less the 10 ms hop in the FIFO)", total, want)
	}
	allocs := testing.AllocsPerRun(200, func() {
		b.PTS += secondsToDuration(333.0 / 48000)
		c.Process(b)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per block, want 0", allocs)
	}
}

// benchScene is 10 s of material for the benchmarks, in int16 blocks of
// 10 ms at 48 kHz mono: what the speaker plays (a train of chimes) and what
// the microphone hears (their echo through a room with an 80 ms delay, over
// a noise floor at about -50 dBFS). With uncorrelated, the microphone hears
// something else (noise at the echo's level, and no echo): the echo
// canceller never finds an echo path and keeps searching the whole tail,
// its most expensive state. (Not the chimes shifted in time: the train is
// periodic, so any shift is an echo path, which the canceller finds.)
func benchScene(uncorrelated bool) (ref, mic []int16) {
	const secs = 10
	r, _, echo := echoScene(0.08, nil, secs)
	rnd := rand.New(rand.NewPCG(1, 2))
	ref, mic = make([]int16, len(r)), make([]int16, len(r))
	for i := range r {
		e := echo[i]
		if uncorrelated {
			e = 2000 * rnd.NormFloat64()
		}
		ref[i] = clip(float32(r[i]))
		mic[i] = clip(float32(e + 100*rnd.NormFloat64()))
	}
	return ref, mic
}

// benchChain runs 10 ms blocks of the scene through a chain: 3 s to settle
// (the echo canceller aligns within one), then the timed blocks, looping
// over the scene with the clock running on.
func benchChain(b *testing.B, cfg Config, uncorrelated bool) {
	in := fmt48(1)
	c, err := New(in, cfg)
	if err != nil {
		b.Fatal(err)
	}
	refs, mics := benchScene(uncorrelated)
	blk := &media.AudioBlock{Format: in}
	ref := &media.AudioBlock{Format: in}
	blocks := len(mics) / 480
	step := func(i int) {
		o := (i % blocks) * 480
		blk.Samples, ref.Samples = mics[o:o+480], refs[o:o+480]
		blk.PTS = secondsToDuration(float64(i) * 0.01)
		if c.Reference() != nil {
			ref.PTS = blk.PTS
			_ = c.FeedReference(ref)
		}
		c.Process(blk)
	}
	const settle = 300
	for i := 0; i < settle; i++ {
		step(i)
	}
	if c.aec != nil && c.aec[0].aligned == uncorrelated {
		b.Fatalf("after %d blocks the echo canceller is aligned: %v, want %v", settle, c.aec[0].aligned, !uncorrelated)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(settle + i)
	}
}

// Benchmarks: one 10 ms block of 48 kHz mono per iteration, each stage
// alone and the whole chain. The echo canceller's steady state is aligned
// on the echo path; "Searching" is its state while it finds none.
func BenchmarkHighPass(b *testing.B) { benchChain(b, Config{HighPass: true}, false) }
func BenchmarkNoiseSuppression(b *testing.B) {
	benchChain(b, Config{NoiseSuppression: true}, false)
}
func BenchmarkEchoCancellation(b *testing.B) {
	benchChain(b, Config{EchoCancellation: true}, false)
}
func BenchmarkEchoCancellationSearching(b *testing.B) {
	benchChain(b, Config{EchoCancellation: true}, true)
}
func BenchmarkResample48to44(b *testing.B) { benchChain(b, Config{OutRate: 44100}, false) }
func BenchmarkWholeChain(b *testing.B) {
	benchChain(b, Config{HighPass: true, NoiseSuppression: true, EchoCancellation: true, OutRate: 44100}, false)
}
func BenchmarkWholeChainSearching(b *testing.B) {
	benchChain(b, Config{HighPass: true, NoiseSuppression: true, EchoCancellation: true, OutRate: 44100}, true)
}
