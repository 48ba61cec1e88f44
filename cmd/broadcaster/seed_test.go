package main

import (
	"os"
	"testing"
)

// The demo's embedded applet must stay the provider's, byte for byte.
func TestSeedAppMsgIsTheFixture(t *testing.T) {
	want, err := os.ReadFile("../../testdata/provider/seed-appmsg.xml")
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	if seedAppMsg != string(want) {
		t.Error("cmd/broadcaster/seed-appmsg.xml differs from testdata/provider/seed-appmsg.xml")
	}
}
