package abr

import "time"

// Recorded-style traces: what publish.Stats and media.QueueStats look like
// on a real link, one row per 500 ms sample, written as Go data so a failing
// test shows exactly what it was fed.

// row is one sample: RTT and send buffer (ms), loss (percent), our queue's
// delay (ms), the send and encoder rates (kbit/s).
type row struct {
	rttMs, sbMs int
	lossPct     float64
	qdMs        int
	sendK, encK int
}

func (r row) sample(at time.Duration) Sample {
	return Sample{
		At:          at,
		RTT:         time.Duration(r.rttMs) * time.Millisecond,
		SendBuffer:  time.Duration(r.sbMs) * time.Millisecond,
		Loss:        r.lossPct / 100,
		QueueDelay:  time.Duration(r.qdMs) * time.Millisecond,
		SendRate:    r.sendK * 1000,
		EncoderRate: r.encK * 1000,
	}
}

// steadyLTE is 30 s of a good cellular uplink carrying 4 Mbit/s over SRT:
// RTT 33-57 ms, two lone Wi-Fi-style retry bursts (95 and 77 ms), loss up to
// 2.5 % and one 6 % sample that ARQ repairs, a frame or less in our queue.
// Nothing in it is congestion.
var steadyLTE = []row{
	{53, 63, 0.0, 23, 4054, 4000}, {40, 51, 0.0, 21, 4113, 4069}, {51, 64, 0.0, 0, 4005, 3953},
	{40, 54, 0.0, 17, 4064, 3980}, {53, 68, 1.2, 7, 4120, 4044}, {41, 57, 0.0, 24, 4053, 3970},
	{46, 58, 0.3, 4, 4072, 3985}, {43, 53, 0.0, 12, 4015, 3954}, {44, 58, 0.3, 25, 4026, 3941},
	{47, 61, 0.0, 12, 4024, 3950}, {42, 58, 0.6, 18, 4063, 3979}, {35, 45, 0.0, 24, 4048, 4004},
	{40, 56, 0.0, 12, 4069, 4001}, {53, 69, 0.6, 5, 4085, 4024}, {39, 54, 0.3, 22, 4025, 3948},
	{53, 64, 0.0, 5, 4111, 4048}, {41, 56, 0.0, 21, 4101, 4013}, {95, 105, 0.0, 1, 4074, 4010},
	{41, 51, 0.0, 18, 4062, 4010}, {53, 66, 1.2, 20, 4095, 4047}, {41, 52, 0.0, 23, 4146, 4073},
	{41, 56, 1.2, 18, 4094, 4032}, {40, 51, 2.5, 2, 3988, 3942}, {37, 52, 0.0, 25, 4115, 4038},
	{35, 48, 1.2, 19, 4121, 4049}, {41, 55, 0.0, 21, 4041, 3959}, {50, 66, 0.3, 24, 4063, 4017},
	{42, 55, 0.0, 14, 4015, 3930}, {56, 68, 0.0, 16, 4036, 3957}, {42, 58, 6.0, 20, 4136, 4059},
	{39, 50, 0.6, 24, 4044, 3971}, {57, 71, 0.0, 19, 4082, 4012}, {33, 43, 0.6, 25, 4062, 4008},
	{34, 45, 0.0, 2, 4097, 4054}, {57, 71, 0.0, 4, 4125, 4051}, {38, 50, 1.2, 6, 4155, 4068},
	{56, 71, 0.0, 22, 4073, 4009}, {54, 69, 0.6, 14, 4129, 4062}, {36, 47, 0.0, 2, 4056, 4016},
	{51, 65, 0.0, 18, 4025, 3986}, {35, 50, 0.0, 7, 3988, 3947}, {43, 53, 0.0, 8, 4106, 4054},
	{50, 61, 2.5, 7, 4116, 4051}, {77, 87, 0.0, 21, 4101, 4040}, {46, 59, 2.5, 23, 4025, 3943},
	{53, 68, 0.0, 1, 4118, 4033}, {43, 59, 0.0, 7, 4030, 3979}, {50, 63, 0.0, 13, 4032, 3976},
	{47, 58, 0.0, 14, 4115, 4070}, {34, 49, 0.0, 2, 4039, 3990}, {46, 59, 2.5, 6, 4074, 4032},
	{38, 51, 0.0, 12, 4086, 3997}, {47, 59, 1.2, 22, 4153, 4072}, {55, 68, 0.0, 6, 4057, 4005},
	{34, 48, 0.0, 23, 4052, 4010}, {34, 48, 2.5, 16, 4114, 4065}, {34, 48, 0.0, 5, 4024, 3947},
	{35, 50, 0.0, 12, 4035, 3960}, {40, 54, 0.0, 19, 4015, 3950}, {54, 68, 0.6, 8, 4063, 3982},
}

// lossSpikes is a healthy link with radio loss bursts that SRT repairs: a
// lone 25 % and a lone 40 % sample, two 25 % bursts three samples apart;
// then 25 % in every other sample (how a full bottleneck drops: in bursts)
// and later three samples of 15 % in a row (a policer: sustained loss, no
// queueing). Rates are filled in by the
// replay, which follows the controller.
var lossSpikes = []struct {
	at      int // sample index
	lossPct float64
}{
	{10, 25}, {20, 40}, {40, 25}, {43, 25},
	{60, 25}, {62, 25},
	{90, 15}, {91, 15}, {92, 15},
}

// whipTarget is what pion's GCC estimate (less the audio) did over a minute
// of a WHIP publish, kbit/s, per second: a start below Max, a drop at 10 s,
// a few percent of wobble, then a slow climb past where it started.
var whipTarget = []int{
	3000, 3000, 3010, 2990, 3000, 3020, 2980, 3000, 3010, 3000, // 0-9 s
	1500, 1480, 1510, 1500, 1470, 1520, 1500, 1490, 1510, 1500, // the drop
	1530, 1470, 1550, 1460, 1500, 1540, 1480, 1510, 1500, 1500, // wobble (±4 %)
	1600, 1700, 1800, 1900, 2000, 2100, 2200, 2300, 2400, 2500, // GCC climbs
	2600, 2700, 2800, 2900, 3000, 3100, 3200, 3300, 3400, 3500,
	3500, 3500, 3500, 3500, 3500, 3500, 3500, 3500, 3500, 3500,
}

// srtRandomLoss is the SRT fault matrix's 15 % random loss (nftables, the
// media direction, loopback) as the controller was fed it, 1.5 Mbit/s asked
// of openh264 at 720p30 on the test pattern (it makes about 450 kbit/s):
// RTT 0.1 ms and a send buffer of microseconds throughout (rows of 0: no
// delay moves), the loss from 8.5 s on. The cut at 9 s took the encoder to
// about 360 kbit/s; the loss stayed. Until 12 s one run (its samples read
// the loss window that moved once a second: figures in pairs), then another
// of the same fault from the point where both had the rate back, then the
// fault's end.
var srtRandomLoss = []row{
	{0, 0, 0, 0, 576, 473}, {0, 0, 0, 0, 552, 442}, {0, 0, 0, 0, 558, 444}, {0, 0, 0, 0, 562, 449}, // 0.5-2 s
	{0, 0, 0, 0, 553, 442}, {0, 0, 0, 0, 558, 446}, {0, 0, 0, 0, 556, 444}, {0, 0, 0, 0, 543, 429},
	{0, 0, 0, 0, 540, 426}, {0, 0, 0, 0, 546, 433}, {0, 0, 0, 0, 567, 453}, {0, 0, 0, 0, 567, 452},
	{0, 0, 0, 0, 561, 446}, {0, 0, 0, 0, 560, 446}, // 6.5-7 s
	{0, 0, 3.0, 0, 558, 442}, {0, 0, 3.0, 0, 549, 433}, // 7.5-8 s
	{0, 0, 15.8, 0, 547, 433}, {0, 0, 15.8, 0, 547, 433}, // 8.5-9 s: the cut
	{0, 0, 8.5, 0, 525, 408}, {0, 0, 8.5, 0, 490, 374}, {0, 0, 16.7, 0, 475, 361}, {0, 0, 16.7, 0, 477, 360},
	{0, 0, 11.5, 0, 483, 367}, {0, 0, 11.5, 0, 547, 434}, // 11.5 s: the rate back
	{0, 0, 20.7, 0, 570, 454}, {0, 0, 20.7, 0, 561, 446}, {0, 0, 8.6, 0, 553, 439}, {0, 0, 8.6, 0, 561, 445},
	{0, 0, 18.5, 0, 556, 446}, {0, 0, 18.5, 0, 544, 436}, {0, 0, 14.7, 0, 544, 432}, {0, 0, 14.7, 0, 556, 441},
	{0, 0, 16.0, 0, 569, 454}, {0, 0, 16.0, 0, 576, 461}, {0, 0, 9.9, 0, 569, 450}, {0, 0, 9.9, 0, 567, 453},
	{0, 0, 0, 0, 564, 449}, {0, 0, 0, 0, 556, 441}, {0, 0, 0, 0, 558, 443}, {0, 0, 0, 0, 550, 435}, // 18.5 s: over
	{0, 0, 0, 0, 552, 438}, {0, 0, 0, 0, 566, 451}, {0, 0, 0, 0, 564, 447}, {0, 0, 0, 0, 564, 447},
}
