package campaign

import (
	"os"
	"strings"
	"testing"
)

// seedAppMsg reads the provider's applet XML, verbatim.
func seedAppMsg(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../shared/fixtures/seed-appmsg.xml")
	if err != nil {
		t.Fatalf("read seed fixture: %v", err)
	}
	return strings.TrimRight(string(b), "\n")
}

func TestExtractAppMsgKeepsBytes(t *testing.T) {
	seed := seedAppMsg(t)
	wraps := map[string]string{
		"bare":              seed,
		"surrounding space": "\n\n  " + seed + "\n\t ",
		"callback message":  "<msg>" + seed + "<fromusername>wxid_a</fromusername><scene>0</scene></msg>",
		"with declaration":  `<?xml version="1.0"?>` + "\n<msg>\n\t" + seed + "\n</msg>\n",
		"group prefix":      "wxid_sender123:\n<?xml version=\"1.0\"?>\n<msg>" + seed + "</msg>",
		"byte order mark":   "\uFEFF<msg>" + seed + "</msg>",
	}
	for name, in := range wraps {
		t.Run(name, func(t *testing.T) {
			got, err := ExtractAppMsg(in)
			if err != nil {
				t.Fatalf("ExtractAppMsg: %v", err)
			}
			if got != seed {
				t.Errorf("extracted element differs from the seed:\n got %q\nwant %q", got, seed)
			}
		})
	}
}

func TestExtractAppMsgRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "  \n", "content is empty"},
		{"not xml", "hello", "no <appmsg> element"},
		{"no appmsg", "<msg><title>x</title></msg>", "no <appmsg> element"},
		{"unclosed", "<appmsg><title>x</title>", "not well-formed XML at line 1"},
		{"mismatched", "<appmsg>\n<title>x</des></appmsg>", "not well-formed XML at line 2"},
		{"bad entity", "<appmsg>&nbsp;</appmsg>", "not well-formed"},
		{"too large", "<appmsg>" + strings.Repeat("x", MaxContentBytes) + "</appmsg>", "more than the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ExtractAppMsg(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ExtractAppMsg error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
