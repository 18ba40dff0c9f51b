package control

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/glassagent/glassagent/media/mediatest"
	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

// TestFaultsWHIP is the fault matrix (see faults_test.go) for WHIP: the
// manager publishes to a pion endpoint whose media arrives on one fixed
// UDP port, which the loss and outage rules hit (the endpoint's RTCP
// back to the publisher goes through untouched), and which a new endpoint
// takes over, on the same HTTP port too, after the restart. The
// endpoint reassembles frames through a jitter buffer as a player would
// (NACKed packets arrive late) and logs each with its capture time.
// WHIP's own congestion controller (GCC) is the bitrate controller's
// input here, and the loopback ICE candidate comes from the URL's host.
func TestFaultsWHIP(t *testing.T) {
	if !adaptInNetns(t, "TestFaultsWHIP") {
		return
	}
	mediatest.NeedTool(t, "ffprobe")
	loMTU(t)
	addr := fmt.Sprintf("127.0.0.1:%d", mediatest.FreeTCPPort(t))
	udpPort := mediatest.FreeUDPPort(t)
	dir := t.TempDir()
	log := &frameLog{}
	var rxs []*whipFaultRx
	start := func() {
		r, err := startWHIPFaultRx(addr, udpPort, log, filepath.Join(dir, fmt.Sprintf("whip-%d.h264", len(rxs))))
		if err != nil {
			t.Fatal(err)
		}
		rxs = append(rxs, r)
	}
	start()
	defer func() {
		for _, r := range rxs {
			r.kill()
		}
	}()
	f := &faultRun{t: t, proto: "udp", port: udpPort, log: log,
		restart: func() {
			rxs[len(rxs)-1].kill()
			time.Sleep(faultRestart)
			start()
		},
	}
	f.run("http://"+addr+"/whip", func() { rxs[len(rxs)-1].kill() })
	var files []string
	for _, r := range rxs {
		files = append(files, r.file)
	}
	f.logRecordings(files)
}

// whipFaultRx is one WHIP endpoint of the fault test, recording the
// H.264 it gets (Annex-B) and logging every frame as it arrives.
type whipFaultRx struct {
	e    *whiptest.Endpoint
	file string
	out  *os.File
	mu   sync.Mutex
	nums frameNums
	once sync.Once
}

func startWHIPFaultRx(addr string, udpPort int, log *frameLog, file string) (*whipFaultRx, error) {
	out, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	r := &whipFaultRx{file: file, out: out}
	e, err := whiptest.StartOn(addr, nil, func(e *whiptest.Endpoint) {
		e.Loopback, e.UDPPort = true, udpPort
		e.OnFrame = func(arrived time.Time, _ uint32, annexB []byte) {
			var au h264.AnnexB
			if au.Unmarshal(annexB) != nil {
				return
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			r.out.Write(annexB)
			missing := r.nums.missing(au)
			log.add(arrived, au, r.nums.undecodable(), missing)
		}
	})
	if err != nil {
		out.Close()
		return nil, err
	}
	r.e = e
	return r, nil
}

// kill closes the endpoint and its peer connections, and the recording.
func (r *whipFaultRx) kill() {
	r.once.Do(func() {
		r.e.Close()
		r.mu.Lock()
		r.out.Close()
		r.mu.Unlock()
	})
}
