package bus

import "time"

// Seal is the bus's signing, for the tests that play someone publishing
// directly on the bus server: event seq of sender.
func Seal(key []byte, subject string, payload []byte, at time.Time, sender [8]byte, seq uint64) []byte {
	return seal(key, subject, payload, at, senderID(sender), seq)
}

// HeaderSize is the length of an envelope without its payload.
const HeaderSize = headerSize
