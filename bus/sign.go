package bus

import (
	"crypto/hmac"
	"encoding/binary"
	"time"

	"govmobile/gm"
)

// The signed envelope of an event on a shared bus (version 2):
//
//	version (1 byte) | sender (8 bytes) | sequence (8 bytes, big endian) |
//	sent at (8 bytes, Unix milliseconds, big endian) | tag (32 bytes) | payload
//	tag = HMAC-SM3(key, version | sender | sequence | len(subject) (2 bytes) | subject | sent at | payload)
//
// The subject is the full one, prefix included: an event signed for one
// subject, or one deployment sharing the key under another prefix, is
// refused on any other. The sender is chosen at random when a bus is made
// (each start of a replica is a new sender), and the sequence counts that
// bus's events from 1: together they name an event, so that a receiver
// refuses a second copy of it (replays.go). The version byte lets the
// format change; a receiver refuses every other version, so during an
// upgrade from version 1 (no sender, no sequence) the replicas of each
// version hear only each other.
const (
	envelopeV2 = 2
	senderSize = 8
	tagSize    = 32
	// Offsets in the envelope.
	offSender  = 1
	offSeq     = offSender + senderSize
	offAt      = offSeq + 8
	offTag     = offAt + 8
	headerSize = offTag + tagSize
)

// MaxPayload bounds an event's payload. The largest published is a
// message (models.Message as JSON: a title of 100 and a body of 1,000
// characters, at most 6 bytes each once escaped, about 7 KB) or a chat
// line (1,000 characters); 64 KiB leaves room for them to grow. A larger
// event received is refused before its tag is computed, so that a flood of
// big ones costs no hashing; one published is delivered on this replica
// only.
const MaxPayload = 64 << 10

// Freshness is how far an event's signed time may be from the receiver's
// clock, either way; an event outside it is refused as stale. Replicas
// keep their clocks within a few seconds (NTP), far inside it.
const Freshness = 2 * time.Minute

// keyLabel is the derivation label of the bus key: the master key itself
// never signs an event, and a key that signs events signs nothing else.
const keyLabel = "govmobile/bus/v1"

// DeriveKey is the bus key of a deployment: HMAC-SM3(master key,
// "govmobile/bus/v1"). Every replica holds the same master key, and so
// derives the same bus key; the master key never leaves the replica's
// memory, and the bus key opens nothing stored.
func DeriveKey(master []byte) []byte { return gm.HMACSM3(master, []byte(keyLabel)) }

// senderID names the bus that sent an event.
type senderID [senderSize]byte

// seal wraps payload for subject in a version 2 envelope signed with key,
// as event seq of sender.
func seal(key []byte, subject string, payload []byte, at time.Time, sender senderID, seq uint64) []byte {
	out := make([]byte, headerSize+len(payload))
	out[0] = envelopeV2
	copy(out[offSender:offSeq], sender[:])
	binary.BigEndian.PutUint64(out[offSeq:offAt], seq)
	binary.BigEndian.PutUint64(out[offAt:offTag], uint64(at.UnixMilli()))
	copy(out[headerSize:], payload)
	copy(out[offTag:headerSize], tag(key, subject, out, payload))
	return out
}

// tag signs an envelope's header fields (before the tag) and payload.
func tag(key []byte, subject string, header, payload []byte) []byte {
	msg := make([]byte, 0, offTag+2+len(subject)+len(payload))
	msg = append(msg, header[:offAt]...) // version, sender, sequence
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(subject)))
	msg = append(msg, subject...)
	msg = append(msg, header[offAt:offTag]...)
	msg = append(msg, payload...)
	return gm.HMACSM3(key, msg)
}

// tagOf is the tag of a sealed envelope.
func tagOf(data []byte) [tagSize]byte { return [tagSize]byte(data[offTag:headerSize]) }

// Why an event received from a shared bus was refused (the reason label
// of govmobile_bus_rejected_total).
const (
	rejectUnsigned  = iota // too short for an envelope, or of another version
	rejectForged           // its tag does not match: another key, subject or content
	rejectStale            // genuine, but signed outside the freshness window
	rejectReplay           // genuine and fresh, but received already
	rejectOversized        // longer than any event sent: not even checked
	rejectReasons
)

var rejectNames = [rejectReasons]string{"unsigned", "forged", "stale", "replay", "oversized"}

// envelope is an event received and found genuine and fresh.
type envelope struct {
	payload []byte
	tag     [tagSize]byte
	sender  senderID
	seq     uint64
}

// open checks an envelope received under subject and returns it, or the
// reason it is refused (-1 when it is not). Its length is checked before
// anything is hashed, and its tag before its time, so that only genuine
// events count as stale. Whether it is a replay is for the caller to say.
func open(key []byte, subject string, data []byte, now time.Time) (envelope, int) {
	if len(data) > headerSize+MaxPayload {
		return envelope{}, rejectOversized
	}
	if len(data) < headerSize || data[0] != envelopeV2 || len(subject) > 0xffff {
		return envelope{}, rejectUnsigned
	}
	e := envelope{payload: data[headerSize:], tag: tagOf(data), sender: senderID(data[offSender:offSeq]),
		seq: binary.BigEndian.Uint64(data[offSeq:offAt])}
	if !hmac.Equal(e.tag[:], tag(key, subject, data, e.payload)) {
		return envelope{}, rejectForged
	}
	at := time.UnixMilli(int64(binary.BigEndian.Uint64(data[offAt:offTag])))
	if d := now.Sub(at); d > Freshness || d < -Freshness {
		return envelope{}, rejectStale
	}
	return e, -1
}
