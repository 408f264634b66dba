package transports

// The close codes of a WebSocket, as the contract names them: each says
// whether, and when, the client should reconnect.

import "github.com/gorilla/websocket"

// Close codes of the contract (see CONTRACT.md and GET /api/config).
const (
	closeGoingAway   = websocket.CloseGoingAway               // 1001 server shutting down: reconnect with backoff
	closeUnsupported = websocket.CloseUnsupportedData         // 1003 a binary frame arrived: do not reconnect
	closeBadData     = websocket.CloseInvalidFramePayloadData // 1007 a compressed message that does not inflate: do not reconnect
	closePolicy      = websocket.ClosePolicyViolation         // 1008 repeated bad frames: do not reconnect
	closeTooBig      = websocket.CloseMessageTooBig           // 1009 a frame over the limit (sent by the library, see SetReadLimit), or a message once inflated
	closeNodeLost    = websocket.CloseServiceRestart          // 1012 this node lost its feed's broker: reconnect now, elsewhere, with the cursor
	closeTryLater    = websocket.CloseTryAgainLater           // 1013 at the connection limit: reconnect after the wait its reason says (limit.go)
	closeTooSlow     = 4001                                   // could not keep up: reconnect at once with the cursor
	closeReplaced    = 4500                                   // a newer connection with the same client id: do not reconnect
)

// Why 1012 (Service Restart) and not 1013 (Try Again Later) for a node cut
// from its feed's broker (health.go): 1013's words fit too ("a temporary
// condition; try again, perhaps at another server"), but 1013 already says
// "at the connection limit", and there a reconnect at once would only be
// refused again, so it waits (as long as its reason says, limit.go). A
// client decides what to do on the code alone (the reason is for people,
// but for a 1013's wait), so the two need two codes. 1012 says what is true
// here: the service, not the client, is the trouble, and a new connection
// works at once, through the proxy, on another node that serves the same
// feed (this one refuses upgrades with 503 until its feed is back).

// closeCode is one row of the close-code table that GET /api/config
// serves, so that clients need not keep a copy.
type closeCode struct {
	Code      int    `json:"code"`
	Meaning   string `json:"meaning"`
	Reconnect string `json:"reconnect"` // "now" (with the cursor), "backoff" or "never"
}

// atLimit is the reason of every refusal at --max-clients, before its
// wait (limit.go).
const atLimit = "the server is at its connection limit"

var closeCodes = []closeCode{
	{closeGoingAway, "the server is shutting down, after sending every acknowledged message", "backoff"},
	{closeUnsupported, "a binary frame arrived", "never"},
	{closeBadData, "a compressed message that does not inflate", "never"},
	{closePolicy, "ten bad frames, or ten refused publishes, in a row", "never"},
	{closeTooBig, "a frame over the size limit (inflated, when compressed)", "never"},
	{closeNodeLost, "this node cannot reach the feed: another node serves it, from the same cursor", "now"},
	{closeTryLater, atLimit, "backoff"}, // its reason says when to come back (limit.go)
	{closeTooSlow, "this client could not keep up and was dropped", "now"},
	{closeReplaced, "a newer connection with the same client id replaced this one", "never"},
}
