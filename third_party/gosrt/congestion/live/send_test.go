package live

import (
	"net"
	"testing"

	"github.com/datarhei/gosrt/circular"
	"github.com/datarhei/gosrt/packet"
	"github.com/stretchr/testify/require"
)

func mockLiveSend(onDeliver func(p packet.Packet)) *sender {
	send := NewSender(SendConfig{
		InitialSequenceNumber: circular.New(0, packet.MAX_SEQUENCENUMBER),
		DropThreshold:         10,
		OnDeliver:             onDeliver,
	})

	return send.(*sender)
}

func TestSendSequence(t *testing.T) {
	numbers := []uint32{}
	send := mockLiveSend(func(p packet.Packet) {
		numbers = append(numbers, p.Header().PacketSequenceNumber.Val())
	})

	addr, _ := net.ResolveIPAddr("ip", "127.0.0.1")

	for i := 0; i < 10; i++ {
		p := packet.NewPacket(addr)
		p.Header().PktTsbpdTime = uint64(i + 1)

		send.Push(p)
	}

	send.Tick(5)

	require.Exactly(t, []uint32{0, 1, 2, 3, 4}, numbers)

	send.Tick(10)

	require.Exactly(t, []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, numbers)
}

func TestSendLossListACK(t *testing.T) {
	send := mockLiveSend(nil)

	addr, _ := net.ResolveIPAddr("ip", "127.0.0.1")

	for i := 0; i < 10; i++ {
		p := packet.NewPacket(addr)
		p.Header().PktTsbpdTime = uint64(i + 1)

		send.Push(p)
	}

	send.Tick(10)

	require.Equal(t, 10, send.lossList.Len())

	for i := 0; i < 10; i++ {
		send.ACK(circular.New(uint32(i+1), packet.MAX_SEQUENCENUMBER))
		require.Equal(t, 10-(i+1), send.lossList.Len())
	}
}

func TestSendRetransmit(t *testing.T) {
	numbers := []uint32{}
	nRetransmit := 0
	send := mockLiveSend(func(p packet.Packet) {
		numbers = append(numbers, p.Header().PacketSequenceNumber.Val())
		if p.Header().RetransmittedPacketFlag {
			nRetransmit++
		}
	})

	addr, _ := net.ResolveIPAddr("ip", "127.0.0.1")

	for i := 0; i < 10; i++ {
		p := packet.NewPacket(addr)
		p.Header().PktTsbpdTime = uint64(i + 1)

		send.Push(p)
	}

	send.Tick(10)

	require.Equal(t, 0, nRetransmit)

	send.NAK([]circular.Number{
		circular.New(2, packet.MAX_SEQUENCENUMBER),
		circular.New(2, packet.MAX_SEQUENCENUMBER),
	})

	require.Equal(t, 1, nRetransmit)

	send.NAK([]circular.Number{
		circular.New(5, packet.MAX_SEQUENCENUMBER),
		circular.New(7, packet.MAX_SEQUENCENUMBER),
	})

	require.Equal(t, 4, nRetransmit)
}

func TestSendDrop(t *testing.T) {
	send := mockLiveSend(nil)

	addr, _ := net.ResolveIPAddr("ip", "127.0.0.1")

	for i := 0; i < 10; i++ {
		p := packet.NewPacket(addr)
		p.Header().PktTsbpdTime = uint64(i + 1)

		send.Push(p)
	}

	send.Tick(10)

	require.Equal(t, 10, send.lossList.Len())

	send.Tick(20)

	require.Equal(t, 0, send.lossList.Len())
}

func TestSendFlush(t *testing.T) {
	send := mockLiveSend(nil)

	addr, _ := net.ResolveIPAddr("ip", "127.0.0.1")

	for i := 0; i < 10; i++ {
		p := packet.NewPacket(addr)
		p.Header().PktTsbpdTime = uint64(i + 1)

		send.Push(p)
	}

	require.Exactly(t, 10, send.packetList.Len())
	require.Exactly(t, 0, send.lossList.Len())

	send.Tick(5)

	require.Exactly(t, 5, send.packetList.Len())
	require.Exactly(t, 5, send.lossList.Len())

	send.Flush()

	require.Exactly(t, 0, send.packetList.Len())
	require.Exactly(t, 0, send.lossList.Len())
}

// TestSendRetransmitHoldoff (glassagent fork): a packet NAKed again within
// one RTT of its retransmission is not sent again; after an RTT it is. The
// first retransmission is never held.
func TestSendRetransmitHoldoff(t *testing.T) {
	resent := map[uint32]int{}
	send := NewSender(SendConfig{
		InitialSequenceNumber: circular.New(0, packet.MAX_SEQUENCENUMBER),
		DropThreshold:         10_000_000,
		RTT:                   func() float64 { return 100_000 }, // 100 ms
		OnDeliver: func(p packet.Packet) {
			if p.Header().RetransmittedPacketFlag {
				resent[p.Header().PacketSequenceNumber.Val()]++
			}
		},
	})
	addr, _ := net.ResolveIPAddr("ip", "127.0.0.1")
	for i := 0; i < 10; i++ {
		p := packet.NewPacket(addr)
		p.Header().PktTsbpdTime = uint64(i + 1)
		send.Push(p)
	}
	nak := func(from, to uint32) {
		send.NAK([]circular.Number{circular.New(from, packet.MAX_SEQUENCENUMBER), circular.New(to, packet.MAX_SEQUENCENUMBER)})
	}
	send.Tick(10)
	// The first NAK comes sooner than the RTT after the send: resent anyway.
	send.Tick(50_000)
	nak(2, 4)
	require.Equal(t, map[uint32]int{2: 1, 3: 1, 4: 1}, resent)
	// A periodic report 60 ms later lists them again, and 5 for the first
	// time: only 5 goes out.
	send.Tick(110_000)
	nak(2, 5)
	require.Equal(t, map[uint32]int{2: 1, 3: 1, 4: 1, 5: 1}, resent)
	// One RTT after the retransmission: 2-4 again; 5 is held (60 ms).
	send.Tick(150_000)
	nak(2, 5)
	require.Equal(t, map[uint32]int{2: 2, 3: 2, 4: 2, 5: 1}, resent)
	require.Equal(t, uint64(4), send.Stats().PktRetransHeld)
}

// TestSendGivesUpTooLate (glassagent fork): a NAKed packet whose copy
// would arrive (an RTT after now, at the latest) after the receiver skips it (when
// the packet after its gap is due, that one's timestamp plus the latency)
// is not resent but counted given up, once. One the receiver can still
// use is resent, even past its own slot after an outage. (Sequence
// numbers start at 2: the sender sends packets 0 and 1 of every 16 as a
// probe pair, at the same time.)
func TestSendGivesUpTooLate(t *testing.T) {
	resent := map[uint32]int{}
	send := NewSender(SendConfig{
		InitialSequenceNumber: circular.New(2, packet.MAX_SEQUENCENUMBER),
		DropThreshold:         10_000_000,
		RTT:                   func() float64 { return 100_000 }, // 100 ms
		Latency:               400_000,
		OnDeliver: func(p packet.Packet) {
			if p.Header().RetransmittedPacketFlag {
				resent[p.Header().PacketSequenceNumber.Val()]++
			}
		},
	})
	addr, _ := net.ResolveIPAddr("ip", "127.0.0.1")
	push := func(ms uint64) {
		p := packet.NewPacket(addr)
		p.Header().PktTsbpdTime = ms * 1000
		send.Push(p)
	}
	for ms := uint64(0); ms <= 400; ms += 100 { // 2-6 at 0-400 ms
		push(ms)
	}
	nak := func(ranges ...uint32) {
		var l []circular.Number
		for _, r := range ranges {
			l = append(l, circular.New(r, packet.MAX_SEQUENCENUMBER))
		}
		send.NAK(l)
	}
	send.Tick(400_000)
	// At 410 ms a copy arrives by 510: 2 is skipped at 500 (when 3 is
	// due), 4 at 700 (when 5 is).
	send.Tick(410_000)
	nak(2, 2, 4, 4)
	require.Equal(t, map[uint32]int{4: 1}, resent)
	require.Equal(t, uint64(1), send.Stats().PktGivenUp)
	// An outage from 400 ms: 7 is sent at 1500, and the receiver, holding
	// 7, asks for 5 and 6. Their slots (700, 800 ms) are past, but the
	// receiver skips them only when 7 is due (1900): resent. 2 stays
	// given up.
	push(1500)
	send.Tick(1_500_000)
	send.Tick(1_510_000) // arrival by 1610
	nak(2, 2, 5, 6)
	require.Equal(t, map[uint32]int{4: 1, 5: 1, 6: 1}, resent)
	require.Equal(t, uint64(1), send.Stats().PktGivenUp)
	// At 1850 (arrival by 1950): 4 is past saving now (5 due at 700),
	// and 7 is past its own slot but the sender does not know what the
	// receiver holds after it: resent.
	send.Tick(1_850_000)
	nak(4, 4, 7, 7)
	require.Equal(t, map[uint32]int{4: 1, 5: 1, 6: 1, 7: 1}, resent)
	require.Equal(t, uint64(2), send.Stats().PktGivenUp)
}

// TestSendAbandon (glassagent fork): after Abandon, a NAK resends nothing
// that was sent before it, and what is sent after it is repaired as usual.
func TestSendAbandon(t *testing.T) {
	resent := map[uint32]int{}
	send := NewSender(SendConfig{
		InitialSequenceNumber: circular.New(2, packet.MAX_SEQUENCENUMBER),
		DropThreshold:         10_000_000,
		OnDeliver: func(p packet.Packet) {
			if p.Header().RetransmittedPacketFlag {
				resent[p.Header().PacketSequenceNumber.Val()]++
			}
		},
	})
	addr, _ := net.ResolveIPAddr("ip", "127.0.0.1")
	push := func(ms uint64) {
		p := packet.NewPacket(addr)
		p.Header().PktTsbpdTime = ms * 1000
		send.Push(p)
	}
	nak := func(ranges ...uint32) {
		var l []circular.Number
		for _, r := range ranges {
			l = append(l, circular.New(r, packet.MAX_SEQUENCENUMBER))
		}
		send.NAK(l)
	}
	for ms := uint64(0); ms < 40; ms += 10 { // 2-5, sent
		push(ms)
	}
	send.Tick(40_000)
	push(50) // 6, not sent yet: Abandon leaves it alone
	send.ACK(circular.New(3, packet.MAX_SEQUENCENUMBER))
	require.Equal(t, uint64(3), send.Abandon()) // 3, 4, 5: sent, unacknowledged
	require.Equal(t, uint64(0), send.Abandon())
	send.Tick(60_000)
	push(70) // 7
	send.Tick(70_000)
	nak(3, 7)
	require.Equal(t, map[uint32]int{6: 1, 7: 1}, resent)
	require.Equal(t, uint64(3), send.Stats().PktAbandoned)
	require.Equal(t, uint64(0), send.Stats().PktGivenUp)
}
