package sender

// Helpers of the package's own tests, exported to client_test.go, which is
// an external test (package sender_test) because it imports sendertest,
// and sendertest imports this package.
var (
	SeedMessage   = seedMessage
	JSONStrings   = jsonStrings
	MatchesError  = matchesError
	AssertReceipt = assertReceipt
)

// Redacted is what replaces the API token in attempts.
const Redacted = redacted
