package whip

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tphakala/go-opus/opus"
)

// opusFrames encodes n 20 ms frames of a tone at bitrate.
func opusFrames(t *testing.T, n, bitrate int) [][]byte {
	t.Helper()
	enc, err := opus.NewEncoder(opus.EncoderConfig{SampleRate: 48000, Channels: 1, Bitrate: bitrate})
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, 960)
	buf := make([]byte, 1500)
	var out [][]byte
	for f := range n {
		for i := range pcm {
			pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(f*960+i)/48000))
		}
		k, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, slices.Clone(buf[:k]))
	}
	return out
}

type emitted struct {
	pkt []byte
	pts time.Duration
}

func packAll(t *testing.T, o *opusPacker, frames [][]byte, pts []time.Duration, n int) []emitted {
	t.Helper()
	var out []emitted
	emit := func(p []byte, at time.Duration) error {
		out = append(out, emitted{slices.Clone(p), at})
		return nil
	}
	for i, f := range frames {
		if err := o.add(f, pts[i], n, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.flush(emit); err != nil {
		t.Fatal(err)
	}
	return out
}

func every20ms(n int) []time.Duration {
	var p []time.Duration
	for i := range n {
		p = append(p, time.Duration(i)*20*time.Millisecond)
	}
	return p
}

// decodeAll decodes packets in turn and returns the PCM.
func decodeAll(t *testing.T, pkts [][]byte) []int16 {
	t.Helper()
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	var pcm []int16
	buf := make([]int16, 5760)
	for _, p := range pkts {
		k, err := dec.Decode(p, buf)
		if err != nil {
			t.Fatalf("decode %d-byte packet (TOC %#x): %v", len(p), p[0], err)
		}
		pcm = append(pcm, buf[:k]...)
	}
	return pcm
}

// Packed three to a packet, the frames decode to exactly what they decode
// to one by one (the decoder reads a code-3 packet's frames in turn), at a
// rate whose frames take one length byte and at one that needs two.
func TestOpusPackDecodesTheSame(t *testing.T) {
	for _, bitrate := range []int{32_000, 128_000} {
		frames := opusFrames(t, 9, bitrate)
		var o opusPacker
		out := packAll(t, &o, frames, every20ms(9), 3)
		if len(out) != 3 {
			t.Fatalf("%d bit/s: 9 frames packed by 3 gave %d packets", bitrate, len(out))
		}
		long := false
		var pkts [][]byte
		for i, e := range out {
			if e.pts != time.Duration(i)*60*time.Millisecond {
				t.Errorf("%d bit/s: packet %d at %v, want %v", bitrate, i, e.pts, time.Duration(i)*60*time.Millisecond)
			}
			if e.pkt[0]&3 != 3 || e.pkt[1] != 0x83 {
				t.Fatalf("%d bit/s: packet %d starts %#x %#x, want code 3, VBR, 3 frames", bitrate, i, e.pkt[0], e.pkt[1])
			}
			long = long || e.pkt[2] >= 252
			pkts = append(pkts, e.pkt)
		}
		if bitrate == 128_000 && !long {
			t.Fatalf("128 kbit/s frames all under 252 bytes: the two-byte lengths went untested")
		}
		want := decodeAll(t, frames)
		got := decodeAll(t, pkts)
		if !slices.Equal(got, want) {
			t.Fatalf("%d bit/s: packed audio decodes differently (%d samples, want %d)", bitrate, len(got), len(want))
		}
		// The size RFC 6716 gives: TOC, count, the first two frames'
		// lengths (one byte below 252, else two), the frames without
		// their TOCs.
		for i, e := range out {
			want := 2
			for j, f := range frames[3*i : 3*i+3] {
				if j < 2 {
					want += 1 + min(1, (len(f)-1)/252)
				}
				want += len(f) - 1
			}
			if len(e.pkt) != want {
				t.Errorf("%d bit/s: packet %d is %d bytes, want %d", bitrate, i, len(e.pkt), want)
			}
		}
	}
}

// Off (n 1), every packet goes as it came; a gap in the PTS (frames the
// queue dropped) ends the pending packet early, so no frame is played at
// the wrong time.
func TestOpusPackPassThroughAndGaps(t *testing.T) {
	frames := opusFrames(t, 5, 32_000)
	var o opusPacker
	out := packAll(t, &o, frames, every20ms(5), 1)
	for i, e := range out {
		if !slices.Equal(e.pkt, frames[i]) {
			t.Fatalf("packing off: packet %d changed", i)
		}
	}
	pts := every20ms(5)
	for i := 2; i < 5; i++ {
		pts[i] += 100 * time.Millisecond // frames lost between 1 and 2
	}
	out = packAll(t, &o, frames, pts, 3)
	var at []time.Duration
	var counts []int
	for _, e := range out {
		at = append(at, e.pts)
		n := 1
		if e.pkt[0]&3 == 3 {
			n = int(e.pkt[1] & 0x3f)
		}
		counts = append(counts, n)
	}
	if !slices.Equal(counts, []int{2, 3}) || !slices.Equal(at, []time.Duration{0, 140 * time.Millisecond}) {
		t.Fatalf("across a gap: packets of %v frames at %v, want [2 3] at [0 140ms]", counts, at)
	}
	// A packet that is not one frame (code != 0) goes as it is, after the
	// pending ones.
	odd := append([]byte{frames[0][0] | 1}, frames[0][1:]...)
	out = packAll(t, &o, [][]byte{frames[0], odd}, every20ms(2), 3)
	if len(out) != 2 || !slices.Equal(out[0].pkt, frames[0]) || !slices.Equal(out[1].pkt, odd) {
		t.Fatalf("a code-1 packet: got %d packets", len(out))
	}
}

func TestOpusFrameDuration(t *testing.T) {
	for toc, want := range map[byte]time.Duration{
		0 << 3: 10 * time.Millisecond, 3 << 3: 60 * time.Millisecond, // SILK NB
		13 << 3: 20 * time.Millisecond, 16 << 3: 2500 * time.Microsecond, 31 << 3: 20 * time.Millisecond,
	} {
		if got := opusFrameDuration(toc); got != want {
			t.Errorf("TOC %#x: %v, want %v", toc, got, want)
		}
	}
}

// The audio is packed while the target is low, unpacked when it is well
// above, and neither in between (hysteresis); a stream whose own ceiling
// is low packs only when congestion takes the target under half of it.
func TestAudioPackFollowsTarget(t *testing.T) {
	p := &Publisher{}
	for _, c := range []struct {
		bps, ceiling int
		want         int32
	}{
		{2_000_000, 2_000_000, 1},
		{400_000, 2_000_000, packAudioFrames},
		{700_000, 2_000_000, packAudioFrames}, // between the lines: as it was
		{900_000, 2_000_000, 1},
		{600_000, 2_000_000, 1},
		{300_000, 400_000, 1},               // 3/4 of a low ceiling: no congestion
		{150_000, 400_000, packAudioFrames}, // under half of it
		{310_000, 400_000, 1},
	} {
		p.setTarget(c.bps, c.ceiling)
		if got := p.audioPack.Load(); got != c.want {
			t.Fatalf("target %d of %d: %d frames a packet, want %d", c.bps, c.ceiling, got, c.want)
		}
	}
}
