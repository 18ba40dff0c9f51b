package audio

import (
	"fmt"
	"math"
	"testing"

	"github.com/glassagent/glassagent/media"
)

// echoScene plays a train of chimes on the speaker (the reference) and
// returns what the microphone hears: the chimes through a synthetic room
// with the given delay, plus near (near-end speech, may be nil).
func echoScene(delay float64, near []float64, secs float64) (ref, mic, echo []float64) {
	n := int(secs * testRate)
	ref = make([]float64, n)
	c := chime(0.6)
	for at := 0; at < n; at += len(c) * 2 / 3 { // overlapping cues, back to back
		for i, v := range c {
			if at+i < n {
				ref[at+i] += v
			}
		}
	}
	echo = convolve(ref, room(delay, 0.25, 0.7))
	mic = make([]float64, n)
	for i := range mic {
		mic[i] = echo[i]
		if i < len(near) {
			mic[i] += near[i]
		}
	}
	return ref, mic, echo
}

// runAEC feeds ref to the chain's reference and mic through it, block by
// block with the same timestamps, and returns the output lined up with mic.
func runAEC(t *testing.T, c *Chain, ref, mic []float64) []float64 {
	t.Helper()
	in := fmt48(1)
	out := make([]float64, 0, len(mic)+960)
	rb := media.AudioBlock{Format: in, Samples: make([]int16, 480)}
	mb := media.AudioBlock{Format: in, Samples: make([]int16, 480)}
	for off := 0; off+480 <= len(mic)+960; off += 480 {
		for i := 0; i < 480; i++ {
			var r, m float64
			if off+i < len(mic) {
				r, m = ref[off+i], mic[off+i]
			}
			rb.Samples[i], mb.Samples[i] = clip(float32(r)), clip(float32(m))
		}
		rb.PTS = secondsToDuration(float64(off) / testRate)
		mb.PTS = rb.PTS
		if err := c.FeedReference(&rb); err != nil {
			t.Fatal(err)
		}
		for _, s := range c.Process(&mb).Samples {
			out = append(out, float64(s))
		}
	}
	return out[480 : 480+len(mic)] // the suppressor's one hop
}

func dB(p float64) float64 { return 10 * math.Log10(p+1e-12) }

func TestEchoCancellationEchoOnly(t *testing.T) {
	for _, delay := range []float64{0.02, 0.08, 0.2} {
		t.Run(fmt.Sprintf("%.0fms", delay*1000), func(t *testing.T) {
			ref, mic, _ := echoScene(delay, nil, 4)
			c, err := New(fmt48(1), Config{EchoCancellation: true})
			if err != nil {
				t.Fatal(err)
			}
			out := runAEC(t, c, ref, mic)
			// ERLE per second: echo in over echo left.
			var first float64
			for s := 0; s < 4; s++ {
				seg := func(x []float64) []float64 { return x[s*testRate : (s+1)*testRate] }
				erle := dB(power(seg(mic))) - dB(power(seg(out)))
				t.Logf("second %d: ERLE %.1f dB", s+1, erle)
				if s == 1 {
					first = erle
				}
			}
			st := c.Stats()
			t.Logf("echo delay found %v (true %.0f ms), running ERLE %.1f dB (linear filter %.1f dB)", st.EchoDelay, delay*1000, st.ERLE, st.LinearERLE)
			if first < 20 {
				t.Errorf("ERLE over the second second %.1f dB, want >= 20 (converged within 1 s)", first)
			}
			if d := st.EchoDelay.Seconds() - delay; !st.EchoDelayFound || math.Abs(d) > 0.005 {
				t.Errorf("echo delay found %v (%v), true %.0f ms", st.EchoDelay, st.EchoDelayFound, delay*1000)
			}
		})
	}
}

// TestEchoCancellationCuesAfterPauses: cues with pauses between them longer
// than the aligned filter, as the cue player makes them, and the direct
// sound within the first hop of the reference's timestamps (a speaker next
// to the microphone, stamped with the device's play times; snd-aloop).
// Once the filter has adapted, every cue starts with only the newest
// partition holding far-end power, and that is the one holding the echo
// path: a step normalised for a stationary far end overshoots there by the
// partition's weight and the filter diverged at the third cue (0 dB).
func TestEchoCancellationCuesAfterPauses(t *testing.T) {
	const cues, on, off = 10, 0.3, 0.25
	c1 := chime(on)
	n := int(float64(cues)*(on+off)*testRate) + testRate/2
	ref := make([]float64, n)
	var starts []int
	for k := 0; k < cues; k++ {
		at := int(float64(k) * (on + off) * testRate)
		starts = append(starts, at)
		copy(ref[at:], c1)
	}
	mic := convolve(ref, room(0, 0.25, 0.7))
	c, err := New(fmt48(1), Config{EchoCancellation: true})
	if err != nil {
		t.Fatal(err)
	}
	out := runAEC(t, c, ref, mic)
	var pin, pout, heard float64
	var per []string
	for _, at := range starts {
		seg := func(x []float64) []float64 { return x[at : at+len(c1)] }
		per = append(per, fmt.Sprintf("%.1f", dB(power(seg(mic)))-dB(power(seg(out)))))
		if heard >= 1 {
			pin, pout = pin+power(seg(mic)), pout+power(seg(out))
		}
		heard += on
	}
	erle := dB(pin) - dB(pout)
	t.Logf("ERLE per cue %v dB; %.1f dB after the first second of echo", per, erle)
	if erle < 20 {
		t.Errorf("ERLE %.1f dB on cues after pauses, want >= 20", erle)
	}
}

// TestEchoCancellationDoubleTalk: near-end speech over the echo, after the
// filter has converged on echo alone, must come through within 3 dB while
// the echo still goes.
func TestEchoCancellationDoubleTalk(t *testing.T) {
	sp := speech(t, testSentence, 0.4)
	const lead = 2 * testRate // echo only first
	near := make([]float64, lead+len(sp))
	copy(near[lead:], sp)
	secs := float64(len(near)) / testRate
	ref, mic, echo := echoScene(0.08, near, secs)
	c, _ := New(fmt48(1), Config{EchoCancellation: true})
	out := runAEC(t, c, ref, mic)

	act := activeFrames(sp, 960)
	var pNear, pOut, pEcho, pRes float64
	for f, a := range act {
		if !a {
			continue
		}
		for i := lead + f*960; i < lead+(f+1)*960; i++ {
			pNear += near[i] * near[i]
			pOut += out[i] * out[i]
			pEcho += echo[i] * echo[i]
			d := out[i] - near[i]
			pRes += d * d
		}
	}
	level := dB(pOut) - dB(pNear)
	t.Logf("double talk: near-end speech %.1f dB over echo; output level vs near-end speech %+.2f dB; output minus near-end speech is %.1f dB under the echo",
		dB(pNear)-dB(pEcho), level, dB(pEcho)-dB(pRes))
	if math.Abs(level) > 3 {
		t.Errorf("near-end speech level changed by %.2f dB during double talk, want within 3", level)
	}
}
