// Package sender is broadcaster's client for the provider's sendApplet call
// (SPEC §2). It implements campaign.Sender: one Send is one HTTP request, and
// whatever happens — an answer, a refused connection, a timeout, a garbled
// body — ends as a campaign.Attempt whose Outcome tells the dispatcher whether
// the message went out, certainly did not, was refused for good, or cannot be
// known. That decision is made in one place, Classify, from typed facts
// (HTTP status, parsed code, whether the request was written, typed errors),
// never from error strings, because getting it wrong either loses a message
// or sends it twice.
//
// The API token is a credential: it is sent in the Authorization header and
// scrubbed from everything the client reports.
package sender
