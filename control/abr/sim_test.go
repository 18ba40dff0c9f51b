package abr

import (
	"math/rand/v2"
	"time"
)

// A small model of one publisher's path, to drive a controller in closed
// loop: the bitrate it picks changes the queue, the queue changes the next
// sample. Good enough to show adaptation and oscillation; the transports'
// own end-to-end tests show the real thing.

type transport int

const (
	// srtLike: UDP without back-pressure (SRT, WebRTC). The encoder's
	// output goes straight onto the path; excess queues at the bottleneck
	// (RTT grows), past the bottleneck's buffer it is dropped (loss) and
	// retransmitted once. The send buffer holds everything unacknowledged:
	// about one RTT, longer while losses are repaired.
	srtLike transport = iota
	// rtmpLike: TCP. The socket buffer fills, writes block, our own queue
	// grows and drops a GOP once it holds a second. No RTT, no loss.
	rtmpLike
)

const (
	simStep   = 10 * time.Millisecond
	simFPS    = 30
	simGOP    = 30 // frames
	simSocket = 400_000.0
	simAudio  = 64_000.0 // bit/s of audio, on top of the video
	maxQueue  = time.Second
)

type link struct {
	kind     transport
	capacity func(t time.Duration) float64 // bit/s
	baseRTT  time.Duration
	jitter   time.Duration // uniform, ±
	buffer   time.Duration // bottleneck buffer, in time at the current capacity
	randLoss float64       // loss that has nothing to do with the rate
	// randLossAt, when set, replaces randLoss (loss that comes and goes).
	randLossAt func(t time.Duration) float64
	// pathRTT, when set, replaces baseRTT from time on (a route change).
	pathRTT func(t time.Duration) time.Duration
	// produce, when set, is what the encoder makes of a target on
	// average: a static scene makes less, a tiny target more (keyframes,
	// headers).
	produce func(target float64) float64
	// produceAt, when set, is produce for a ladder: what the encoder
	// makes of a target at a rung (a smaller picture makes less at its
	// coarsest quantiser).
	produceAt func(target float64, rung int) float64
	// audio is the audio bitrate; 0 means simAudio.
	audio float64
}

func (l link) audioRate() float64 {
	if l.audio > 0 {
		return l.audio
	}
	return simAudio
}

type frame struct {
	t    time.Duration
	bits float64
}

type simState struct {
	l   link
	rng *rand.Rand
	now time.Duration

	q       float64 // bits at the bottleneck (srt) or in the socket (rtmp)
	retrans float64
	// Our queue (rtmp).
	frames    []frame
	headSince time.Duration // when the head frame's write started
	lastWrite time.Duration
	drops     uint64
	nextFrame time.Duration
	frameN    int

	// Last second, per step: video produced, bits handed to the transport.
	enc, sent [int(time.Second / simStep)]float64
	slot      int
	// This interval.
	offered, lost float64
}

type point struct {
	t        time.Duration
	rate     int
	capacity float64
	s        Sample
	d        Decision
	rung     int
}

// controller is what the closed loop drives: ours or the naive one.
type controller interface {
	Update(Sample) Decision
}

func (l link) rtt(t time.Duration) time.Duration {
	if l.pathRTT != nil {
		return l.pathRTT(t)
	}
	return l.baseRTT
}

// simulate runs c over l for d with samples every interval; start is the
// encoder's bitrate before the first decision.
func simulate(c controller, l link, start int, d, interval time.Duration, seed uint64) []point {
	st := &simState{l: l, rng: rand.New(rand.NewPCG(seed, 7))}
	rate := float64(start)
	rung := 0
	var out []point
	nextSample := interval
	for st.now = 0; st.now < d; st.now += simStep {
		st.step(rate, rung)
		if st.now+simStep >= nextSample {
			s := st.sample(nextSample)
			dec := c.Update(s)
			rate, rung = float64(dec.Bitrate), dec.Rung
			out = append(out, point{t: nextSample, rate: dec.Bitrate, capacity: l.capacity(nextSample), s: s, d: dec, rung: dec.Rung})
			nextSample += interval
		}
	}
	return out
}

func (st *simState) step(rate float64, rung int) {
	l := st.l
	c := l.capacity(st.now)
	dt := simStep.Seconds()
	st.slot = (st.slot + 1) % len(st.enc)
	st.enc[st.slot], st.sent[st.slot] = 0, 0

	// The encoder: frames of rate/fps bits, ±10 %, every GOP a keyframe
	// three times the size (rate kept on average).
	var produced float64
	out := rate
	if l.produce != nil {
		out = l.produce(rate)
	}
	if l.produceAt != nil {
		out = l.produceAt(rate, rung)
	}
	audio := l.audioRate()
	for st.now >= st.nextFrame {
		size := out / simFPS * (0.9 + 0.2*st.rng.Float64())
		if st.frameN%simGOP == 0 {
			size *= 3 * float64(simGOP) / float64(simGOP+2)
		} else {
			size *= float64(simGOP) / float64(simGOP+2)
		}
		st.frameN++
		st.enc[st.slot] += size
		produced += size + audio/simFPS
		if l.kind == rtmpLike {
			st.frames = append(st.frames, frame{t: st.now, bits: size + audio/simFPS})
		}
		st.nextFrame += time.Second / simFPS
	}

	switch l.kind {
	case srtLike:
		in := produced + st.retrans
		st.sent[st.slot] = produced
		st.retrans = 0
		st.offered += in
		// Loss unrelated to the rate (radio).
		rand := l.randLoss
		if l.randLossAt != nil {
			rand = l.randLossAt(st.now)
		}
		if rand > 0 {
			rl := in * rand * (0.5 + st.rng.Float64())
			st.lost += rl
			st.retrans += rl * produced / max(in, 1)
			in -= rl
		}
		st.q += in
		st.q -= min(st.q, c*dt)
		if limit := c * l.buffer.Seconds(); st.q > limit {
			over := st.q - limit
			st.q = limit
			st.lost += over
			// Only first transmissions are repaired; a lost repair is
			// dropped by the sender once it is too late anyway.
			st.retrans += over * produced / max(in, 1)
		}
	case rtmpLike:
		// media.Queue: past a second of media the oldest GOP goes.
		for len(st.frames) > 0 && st.now-st.frames[0].t > maxQueue {
			n := min(simGOP, len(st.frames))
			st.frames = st.frames[n:]
			st.drops++
		}
		room := simSocket - st.q
		for len(st.frames) > 0 && room > 0 {
			f := &st.frames[0]
			w := min(f.bits, room)
			f.bits -= w
			room -= w
			st.q += w
			st.sent[st.slot] += w
			if f.bits > 0 {
				break
			}
			// A write returns once its frame is in the socket buffer.
			st.lastWrite = st.now + simStep - st.headSince
			st.frames = st.frames[1:]
			st.headSince = st.now + simStep
		}
		if len(st.frames) == 0 {
			st.headSince = st.now + simStep
		}
		st.q -= min(st.q, c*dt)
	}
}

func (st *simState) sample(at time.Duration) Sample {
	l := st.l
	c := l.capacity(at)
	var enc, sent float64
	for i := range st.enc {
		enc += st.enc[i]
		sent += st.sent[i]
	}
	s := Sample{At: at, EncoderRate: int(enc), SendRate: int(sent), QueueDrops: st.drops}
	jit := time.Duration((st.rng.Float64()*2 - 1) * float64(l.jitter))
	switch l.kind {
	case srtLike:
		rtt := l.rtt(at) + time.Duration(st.q/c*float64(time.Second)) + jit
		s.RTT = max(rtt, time.Millisecond)
		if st.offered > 0 {
			s.Loss = st.lost / st.offered
		}
		s.SendBuffer = s.RTT + 10*time.Millisecond + time.Duration(min(1, s.Loss*5)*float64(s.RTT))
		s.QueueDelay = time.Duration(st.rng.IntN(20)) * time.Millisecond
		if st.q > 0 {
			// libsrt's receiving rate (packet arrival speed): the
			// bottleneck's rate while a queue spaces the packets, within
			// a few percent; srt-live-transmit reported none on an idle
			// loopback.
			s.ReceiveRate = int(c * (0.97 + 0.06*st.rng.Float64()))
		}
	case rtmpLike:
		s.SendBuffer = st.lastWrite
		if len(st.frames) > 0 {
			s.QueueDelay = at - st.frames[0].t
			// The head frame's write is still blocked: that is latency too.
			s.SendBuffer = max(s.SendBuffer, at-st.headSince)
		}
	}
	st.offered, st.lost = 0, 0
	return s
}

// Figures over a trace.

// directionChanges counts how often the bitrate turned: up then down or
// down then up. The measure of oscillation.
func directionChanges(tr []point) int {
	n, dir := 0, 0
	for i := 1; i < len(tr); i++ {
		d := tr[i].rate - tr[i-1].rate
		switch {
		case d > 0 && dir < 0, d < 0 && dir > 0:
			n++
		}
		if d > 0 {
			dir = 1
		} else if d < 0 {
			dir = -1
		}
	}
	return n
}

func changes(tr []point) int {
	n := 0
	for i := 1; i < len(tr); i++ {
		if tr[i].rate != tr[i-1].rate {
			n++
		}
	}
	return n
}

// adaptTime is how long after from the bitrate (plus audio) first fits the
// capacity, or -1 when it never does.
func adaptTime(tr []point, from time.Duration) time.Duration {
	for _, p := range tr {
		if p.t >= from && float64(p.rate)+simAudio < p.capacity {
			return p.t - from
		}
	}
	return -1
}

// meanUse is the mean of (bitrate + audio) / capacity over [a, b).
func meanUse(tr []point, a, b time.Duration) float64 {
	var sum float64
	n := 0
	for _, p := range tr {
		if p.t >= a && p.t < b {
			sum += (float64(p.rate) + simAudio) / p.capacity
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// overTime is how long (bitrate + audio) exceeded the capacity by more than
// 10 %.
func overTime(tr []point, interval time.Duration) time.Duration {
	var d time.Duration
	for _, p := range tr {
		if float64(p.rate)+simAudio > 1.1*p.capacity {
			d += interval
		}
	}
	return d
}

func constant(v float64) func(time.Duration) float64 {
	return func(time.Duration) float64 { return v }
}

func stepAt(at time.Duration, before, after float64) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		if t < at {
			return before
		}
		return after
	}
}

func ramp(t0, t1 time.Duration, from, to float64) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		switch {
		case t <= t0:
			return from
		case t >= t1:
			return to
		}
		return from + (to-from)*float64(t-t0)/float64(t1-t0)
	}
}

// naive is the controller the tests compare against: an absolute RTT and
// loss threshold, cut by a fifth when over, one step up every interval
// otherwise. What most first attempts look like.
type naive struct {
	rate, min, max, step int
}

func (n *naive) Update(s Sample) Decision {
	old := n.rate
	if s.RTT > 100*time.Millisecond || s.Loss > 0.02 || s.QueueDelay > 200*time.Millisecond || s.QueueDrops > 0 && s.QueueDelay > 100*time.Millisecond {
		n.rate = n.rate * 8 / 10
	} else {
		n.rate += n.step
	}
	n.rate = min(max(n.rate, n.min), n.max)
	return Decision{Bitrate: n.rate, Changed: n.rate != old}
}

// logTrace writes a trace to the test log: what a failing test needs to be
// understood.
func logTrace(t interface{ Logf(string, ...any) }, tr []point) {
	for _, p := range tr {
		why := p.d.Reason
		if p.d.RungChanged {
			why += " [" + p.d.RungReason + "]"
		}
		t.Logf("%6.1fs cap=%5.0fk rate=%5dk rtt=%4dms sb=%4dms qd=%4dms loss=%4.1f%% send=%5dk enc=%5dk drops=%d target=%dk rung=%d %s",
			p.t.Seconds(), p.capacity/1000, p.rate/1000, p.s.RTT.Milliseconds(), p.s.SendBuffer.Milliseconds(),
			p.s.QueueDelay.Milliseconds(), p.s.Loss*100, p.s.SendRate/1000, p.s.EncoderRate/1000, p.s.QueueDrops, p.s.Target/1000, p.rung, why)
	}
}
