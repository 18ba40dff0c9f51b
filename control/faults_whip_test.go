package control

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media/mediatest"
	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

// TestFaultsWHIP is the fault matrix (see faults_test.go) for WHIP: the
// manager publishes to a pion endpoint whose media arrives on one fixed
// UDP port, which the loss and outage rules hit (the endpoint's RTCP
// back to the publisher goes through untouched), and which a new endpoint
// takes over, on the same HTTP port too, after the restart. The
// endpoint reassembles frames through a jitter buffer as a player would
// (NACKed packets arrive late), records them (whipRecorder,
// adapt_whip_test.go) and logs each with its capture time.
// WHIP's own congestion controller (GCC) is the bitrate controller's
// input here, and the loopback ICE candidate comes from the URL's host.
func TestFaultsWHIP(t *testing.T) {
	if !adaptInNetns(t, "TestFaultsWHIP") {
		return
	}
	mediatest.NeedTool(t, "ffprobe")
	whiptest.EthernetLoopback(t)
	addr := fmt.Sprintf("127.0.0.1:%d", mediatest.FreeTCPPort(t))
	udpPort := mediatest.FreeUDPPort(t)
	dir := t.TempDir()
	log := &frameLog{}
	var rxs []*whipRecorder
	start := func() {
		r, err := startWHIPRecorder(addr, udpPort, filepath.Join(dir, fmt.Sprintf("whip-%d.ts", len(rxs))), log)
		if err != nil {
			t.Fatal(err)
		}
		rxs = append(rxs, r)
	}
	start()
	defer func() {
		for _, r := range rxs {
			r.close()
		}
	}()
	f := &faultRun{t: t, label: "WHIP, glassagent", proto: "udp", port: udpPort, log: log,
		restart: func() {
			rxs[len(rxs)-1].close()
			time.Sleep(faultRestart)
			start()
		},
	}
	f.run("http://"+addr+"/whip", func() { rxs[len(rxs)-1].close() })
	var files []string
	for _, r := range rxs {
		files = append(files, r.file)
		if r.err != nil {
			t.Errorf("recording %s: %v", filepath.Base(r.file), r.err)
		}
	}
	f.logRecordings(files)
	// NACKs repair what arrives within the jitter buffer's second.
	f.assertLoss("5% loss", 0.95, time.Second)
	f.assertLoss("15% loss", 0.90, time.Second)
	// The first samples after a reconnect hold the gap in their rates,
	// which once cut 720p30 to 360p (a minute to climb back).
	f.assertKept("receiver restart", "a reconnect on a clean path")
}
