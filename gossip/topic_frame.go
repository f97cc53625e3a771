package gossip

import (
	"errors"
	"fmt"
)

// Wire framing of a Bus payload (version 1), inside a broadcast:
//
//	byte  version (1)
//	byte  n, the length of the topic name (1..MaxTopicLen)
//	n     the topic name: [a-z0-9._-]
//	...   the topic's payload, opaque
//
// Two bytes and the name: a topic costs a few bytes per broadcast.
const (
	frameVersion = 1
	// MaxTopicLen bounds a topic name.
	MaxTopicLen = 32
)

var errFrameShort = errors.New("gossip: bus frame truncated")

// validTopic reports whether name can be a topic.
func validTopic(name []byte) bool {
	if len(name) == 0 || len(name) > MaxTopicLen {
		return false
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// frameHeader is what encodeFrame puts before the payload of topic.
func frameHeader(topic string) []byte {
	return append([]byte{frameVersion, byte(len(topic))}, topic...)
}

// encodeFrame returns header followed by payload, in a new slice.
func encodeFrame(header, payload []byte) []byte {
	out := make([]byte, 0, len(header)+len(payload))
	return append(append(out, header...), payload...)
}

// decodeFrame splits a frame into its topic and payload, both sharing the
// frame's memory.
func decodeFrame(frame []byte) (topic, payload []byte, err error) {
	if len(frame) < 2 {
		return nil, nil, errFrameShort
	}
	if frame[0] != frameVersion {
		return nil, nil, fmt.Errorf("gossip: bus frame version %d, want %d", frame[0], frameVersion)
	}
	n := int(frame[1])
	if len(frame) < 2+n {
		return nil, nil, errFrameShort
	}
	topic = frame[2 : 2+n]
	if !validTopic(topic) {
		return nil, nil, fmt.Errorf("gossip: bus frame with bad topic name %q", topic)
	}
	return topic, frame[2+n:], nil
}
