// Package active is the active probe: it sends SIP to trunks instead of
// watching their traffic, so a quiet trunk (the backup at 3 a.m.) is still
// known to answer and to sound right.
//
//   - Pinger sends OPTIONS to one target and classifies the round trip
//     (event.PingResult); Monitor pings every configured target on an
//     interval with jitter and keeps each target's up/degraded/down state
//     with hysteresis (N failures down, M successes up).
//   - Caller places a test call: INVITE with a PCMU/PCMA offer, digest
//     authentication for 401 and 407, PDD to the first 18x, answer, G.711
//     audio both ways at 20 ms, the received stream measured by probe/rtp
//     and probe/mos exactly as the passive probe measures captured streams,
//     BYE; CANCEL when the ring timeout passes unanswered.
//
// Both run on sipgo (one user agent per target), with two departures from
// letting sipgo drive:
//
//   - Timing comes from the socket. sipgo hands each response to its
//     transaction on a goroutine of its own, so a 180 and a 200 that arrive
//     1 ms apart can reach the caller in either order, and a 180 that loses
//     the race is dropped by the transaction state machine. A transport read
//     filter (wireClock) stamps every response as it is read off the socket,
//     before parsing; PDD and answer times are taken from those stamps.
//   - Deadlines are the probe's. A silent target is reported at the
//     configured timeout, not after RFC 3261's Timer F (OPTIONS) or Timer B
//     (INVITE), 32 s each: transactions are terminated at the deadline.
//
// Results are events (event.OptionsPing, event.TestCall) handed to a Sink,
// normally the bus producer, keyed by trunk. Credentials are used only to
// answer challenges: they are never in an event, an error or a log line
// (config.Secret redacts them, and sipgo's own logging is discarded).
package active
