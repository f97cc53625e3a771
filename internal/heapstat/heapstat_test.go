package heapstat

import (
	"runtime"
	"testing"
)

func TestLiveCountsWhatIsKept(t *testing.T) {
	before := Live()
	kept := make([]byte, 16<<20)
	for i := range kept {
		kept[i] = byte(i)
	}
	after := Live()
	if after < before+15<<20 {
		t.Fatalf("live heap grew by %d bytes while 16 MiB were kept", int64(after)-int64(before))
	}
	runtime.KeepAlive(kept)
}
