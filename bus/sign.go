package bus

import (
	"crypto/hmac"
	"encoding/binary"
	"time"

	"govmobile/gm"
)

// The signed envelope of an event on a shared bus (version 1):
//
//	version (1 byte) | sent at (8 bytes, Unix milliseconds, big endian) | tag (32 bytes) | payload
//	tag = HMAC-SM3(key, version | len(subject) (2 bytes) | subject | sent at | payload)
//
// The subject is the full one, prefix included: an event signed for one
// subject, or one deployment sharing the key under another prefix, is
// refused on any other. The version byte lets the format change later
// with replicas of both versions running side by side during an upgrade.
const (
	envelopeV1 = 1
	tagSize    = 32
	headerSize = 1 + 8 + tagSize
)

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

// seal wraps payload for subject in a version 1 envelope signed with key.
func seal(key []byte, subject string, payload []byte, at time.Time) []byte {
	out := make([]byte, headerSize+len(payload))
	out[0] = envelopeV1
	binary.BigEndian.PutUint64(out[1:9], uint64(at.UnixMilli()))
	copy(out[headerSize:], payload)
	copy(out[9:headerSize], tag(key, subject, out[1:9], payload))
	return out
}

func tag(key []byte, subject string, at, payload []byte) []byte {
	msg := make([]byte, 0, 3+len(subject)+8+len(payload))
	msg = append(msg, envelopeV1)
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(subject)))
	msg = append(msg, subject...)
	msg = append(msg, at...)
	msg = append(msg, payload...)
	return gm.HMACSM3(key, msg)
}

// Why an event received from a shared bus was refused (the reason label
// of govmobile_bus_rejected_total).
const (
	rejectUnsigned = iota // too short for an envelope, or of an unknown version
	rejectForged          // its tag does not match: another key, subject or content
	rejectStale           // genuine, but signed outside the freshness window
	rejectReasons
)

var rejectNames = [rejectReasons]string{"unsigned", "forged", "stale"}

// open checks an envelope received under subject and returns its payload,
// or the reason it is refused. The tag is checked before the time, so that
// only genuine events count as stale.
func open(key []byte, subject string, data []byte, now time.Time) (payload, sig []byte, reject int) {
	if len(data) < headerSize || data[0] != envelopeV1 || len(subject) > 0xffff {
		return nil, nil, rejectUnsigned
	}
	payload, sig = data[headerSize:], data[9:headerSize]
	if !hmac.Equal(sig, tag(key, subject, data[1:9], payload)) {
		return nil, nil, rejectForged
	}
	at := time.UnixMilli(int64(binary.BigEndian.Uint64(data[1:9])))
	if d := now.Sub(at); d > Freshness || d < -Freshness {
		return nil, nil, rejectStale
	}
	return payload, sig, -1
}
