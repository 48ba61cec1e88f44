// Package sendertest provides a fake of the provider's sendApplet API, in the
// spirit of net/http/httptest: a real HTTP server on loopback that validates
// requests as the provider would, answers like the provider's documented
// examples with unique 64-bit ids, misbehaves on demand (code 1001, HTTP
// errors, latency, hangs, cut or dropped connections) and records every
// request.
//
// It stands in for the provider in tests of package sender and of the
// dispatcher, in `broadcaster demo`, and behind `broadcaster simulate`, so
// that all of them exercise the same behaviour the real API shows.
package sendertest
