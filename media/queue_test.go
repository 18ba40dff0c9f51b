package media

import (
	"context"
	"errors"
	"testing"
	"time"
)

const frame = 40 * time.Millisecond // 25 fps

func vid(i int, key bool) *AccessUnit {
	t := time.Duration(i) * frame
	return &AccessUnit{Codec: CodecH264, PTS: t, DTS: t, Key: key, NALUs: [][]byte{{byte(i)}}}
}

func aud(t time.Duration) *AccessUnit {
	return &AccessUnit{Codec: CodecAAC, PTS: t, DTS: t, Key: true, NALUs: [][]byte{{0}}}
}

func drain(q *Queue) []*AccessUnit {
	var out []*AccessUnit
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		au, err := q.Pop(ctx)
		if err != nil {
			return out
		}
		out = append(out, au)
	}
}

// checkDecodable asserts that video popped from the queue never has a
// predicted frame whose reference chain was broken by a drop.
func checkDecodable(t *testing.T, units []*AccessUnit) {
	t.Helper()
	last := -1
	started := false
	for _, au := range units {
		if !au.Codec.IsVideo() {
			continue
		}
		i := int(au.NALUs[0][0])
		if au.Key {
			started = true
		} else if !started || i != last+1 {
			t.Fatalf("P-frame %d follows frame %d: its reference was dropped", i, last)
		}
		last = i
	}
}

func TestQueueDropsWholeGOPsBeforeAudio(t *testing.T) {
	drops := 0
	q := NewQueue(QueueConfig{MaxDelay: 500 * time.Millisecond, OnVideoDrop: func() { drops++ }})
	// 3 s of 25 fps video with a keyframe every 10 frames, and audio every
	// 20 ms, while nobody pops: the queue must stay under its bound.
	for i := 0; i < 75; i++ {
		q.Push(vid(i, i%10 == 0))
		q.Push(aud(time.Duration(i) * frame))
		q.Push(aud(time.Duration(i)*frame + 20*time.Millisecond))
		if s := q.Stats(); s.QueuedMedia > 500*time.Millisecond+frame {
			t.Fatalf("after frame %d the queue holds %v of media", i, s.QueuedMedia)
		}
	}
	s := q.Stats()
	if s.DroppedVideo == 0 || s.DroppedGOPs == 0 || drops == 0 {
		t.Fatalf("nothing dropped: %+v", s)
	}
	units := drain(q)
	checkDecodable(t, units)
	// Audio is kept while video can go: every audio unit of the last
	// 500 ms window must still be here.
	audio := 0
	for _, au := range units {
		if !au.Codec.IsVideo() {
			audio++
		}
	}
	if audio < 20 {
		t.Errorf("only %d audio units survived; audio should outlive video", audio)
	}
}

func TestQueueWaitsForKeyAfterDroppingNewestGOP(t *testing.T) {
	q := NewQueue(QueueConfig{MaxDelay: 200 * time.Millisecond})
	// One long GOP: the only way to make room is to drop all of it, and then
	// the P-frames that follow are useless until the next IDR.
	for i := 0; i < 10; i++ {
		q.Push(vid(i, i == 0))
	}
	if !q.Stats().WaitingForKey {
		t.Fatal("queue should wait for a keyframe after dropping the current GOP")
	}
	q.Push(vid(10, false))
	q.Push(vid(11, true))
	q.Push(vid(12, false))
	units := drain(q)
	checkDecodable(t, units)
	if len(units) == 0 || int(units[0].NALUs[0][0]) != 11 {
		t.Fatalf("stream should resume on keyframe 11, got %d units", len(units))
	}
}

func TestQueueAudioOnlyOverflow(t *testing.T) {
	q := NewQueue(QueueConfig{MaxDelay: 100 * time.Millisecond})
	for i := 0; i < 50; i++ {
		q.Push(aud(time.Duration(i) * 20 * time.Millisecond))
	}
	s := q.Stats()
	if s.DroppedAudio == 0 || s.QueuedMedia > 100*time.Millisecond {
		t.Fatalf("audio-only overflow not bounded: %+v", s)
	}
}

func TestQueueCountBound(t *testing.T) {
	q := NewQueue(QueueConfig{MaxUnits: 8, MaxDelay: time.Hour})
	for i := 0; i < 100; i++ {
		q.Push(vid(i, i%4 == 0))
	}
	if s := q.Stats(); s.Depth > 8 {
		t.Fatalf("depth %d over the bound 8", s.Depth)
	}
	checkDecodable(t, drain(q))
}

func TestQueueFlushAndClose(t *testing.T) {
	q := NewQueue(QueueConfig{})
	q.Push(vid(0, true))
	q.Push(vid(1, false))
	q.Flush()
	q.Push(vid(2, false)) // refused: not a keyframe
	q.Push(aud(0))
	q.Push(vid(3, true))
	units := drain(q)
	if len(units) != 2 || units[0].Codec != CodecAAC || int(units[1].NALUs[0][0]) != 3 {
		t.Fatalf("after Flush: %d units", len(units))
	}
	got := make(chan error, 1)
	go func() {
		_, err := q.Pop(context.Background())
		got <- err
	}()
	q.Close()
	if err := <-got; !errors.Is(err, ErrQueueClosed) {
		t.Fatalf("Pop after Close: %v", err)
	}
}

func BenchmarkQueuePushPop(b *testing.B) {
	q := NewQueue(QueueConfig{})
	units := []*AccessUnit{vid(0, true), vid(1, false)}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		q.Push(units[i%2])
		if _, err := q.Pop(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
