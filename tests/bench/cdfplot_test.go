package bench

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

func TestWriteCDFSVG(t *testing.T) {
	var samples []time.Duration
	for i := range 1000 {
		samples = append(samples, time.Duration(i-100)*time.Millisecond)
	}
	var b strings.Builder
	err := writeCDFSVG(&b, "a <title>", []cdfSeries{
		{name: "herald", sorted: samples, colour: "#1b9e77"},
		{name: "empty", colour: "#d95f02", dashed: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(b.String()))
	polylines := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
		}
	}
	if polylines != 1 {
		t.Fatalf("%d polylines, want 1 (the empty series draws none)", polylines)
	}
	if !strings.Contains(b.String(), "herald (1000)") {
		t.Fatal("legend lacks the sample count")
	}
}
