package mediatrack

// Advance moves the tracker's clock to tsUS without a packet. Live inputs
// call it with the wall clock when nothing arrives, so the streams of a
// quiet link still end (idle timeout, linger after BYE) and report; a
// replay never needs it (capture time moves with the packets).
func (t *Tracker) Advance(tsUS int64) { t.tick(tsUS) }
