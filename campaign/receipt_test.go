package campaign_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/sender"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// TestReceiptIDBeyondBigintIsKeptAndLogged: a provider answering a newMsgId
// above 2^63-1 gets the message recorded as sent, the id kept exactly in
// receipt_overflow, and a warning in the log.
func TestReceiptIDBeyondBigintIsKeptAndLogged(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"code":"1000","msg":"ok","data":{"type":0,"msgId":697760545,`+
			`"newMsgId":18446744073709551615,"createTime":1641458149,"wcId":"x"}}`)
	}))
	t.Cleanup(api.Close)
	snd, err := sender.New(sender.Options{BaseURL: api.URL, Token: "t", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(snd.CloseIdleConnections)
	h.campaign("big ids", applet, []string{"wxid_a"})
	h.createRuns()

	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(h.ctx, 60*time.Second)
	defer cancel()
	log := zerolog.New(zerolog.SyncWriter(&logs))
	if err := campaign.NewDispatcher(h.store, snd, h.cfg, log).Drain(ctx); err != nil {
		t.Fatal(err)
	}

	got := h.str(`SELECT status || '|' || msg_id || '|' || coalesce(new_msg_id::text, 'NULL') || '|' || receipt_overflow::text FROM deliveries`)
	if want := `sent|697760545|NULL|{"newMsgId": "18446744073709551615"}`; got != want {
		t.Errorf("delivery = %s, want %s", got, want)
	}
	if !strings.Contains(logs.String(), `"level":"warn"`) || !strings.Contains(logs.String(), `"receipt_overflow":{"newMsgId":"18446744073709551615"}`) {
		t.Errorf("no warning naming the id in the log:\n%s", logs.String())
	}
}
