package baton

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// Bounds of reconnect delays set by rule N1.
const (
	// BackoffFloor is the least reconnect delay (N1: at least 100ms).
	BackoffFloor = 100 * time.Millisecond
	// BackoffCap is the largest reconnect delay (N1: at most 30s).
	BackoffCap = 30 * time.Second
)

// Backoff computes reconnect delays (rule N1): capped exponential growth with
// full jitter. Every delay is drawn uniformly from [Floor, ceiling], where the
// ceiling is Floor·Multiplier^(failures+1), capped at Cap. The floor keeps a
// fleet from hammering a server that just restarted; the full-width draw
// spreads out a fleet that lost the same replica at the same moment.
//
// The zero value is ready to use with the protocol's defaults. A Backoff is
// not safe for concurrent use.
type Backoff struct {
	// Floor is the least delay; raised to BackoffFloor when smaller.
	Floor time.Duration
	// Cap is the largest delay; lowered to BackoffCap when larger or unset.
	Cap time.Duration
	// Multiplier is the ceiling's growth per consecutive failure; default 2.
	Multiplier float64
	// Rand returns a number in [0, 1); default math/rand/v2.Float64. For tests.
	Rand func() float64

	failures int
}

func (b *Backoff) bounds() (floor, ceilingCap time.Duration, mult float64) {
	floor = max(b.Floor, BackoffFloor)
	ceilingCap = b.Cap
	if ceilingCap <= 0 || ceilingCap > BackoffCap {
		ceilingCap = BackoffCap
	}
	ceilingCap = max(ceilingCap, floor)
	mult = b.Multiplier
	if mult < 1 || math.IsNaN(mult) {
		mult = 2
	}
	return floor, ceilingCap, mult
}

// Ceiling returns the largest possible next delay.
func (b *Backoff) Ceiling() time.Duration {
	floor, ceilingCap, mult := b.bounds()
	raw := float64(floor) * math.Pow(mult, float64(b.failures+1))
	if math.IsInf(raw, 0) || math.IsNaN(raw) || raw >= float64(ceilingCap) {
		return ceilingCap
	}
	return time.Duration(raw)
}

// Next returns the delay before the next attempt and counts one more failure.
func (b *Backoff) Next() time.Duration {
	floor, _, _ := b.bounds()
	ceiling := b.Ceiling()
	b.failures++
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	x := r()
	if x < 0 || x > 1 || math.IsNaN(x) {
		x = 0
	}
	return floor + time.Duration(x*float64(ceiling-floor))
}

// Reset starts the delays small again; the worker calls it after a Welcome (N1).
func (b *Backoff) Reset() { b.failures = 0 }

// Failures returns the number of consecutive failures since the last Reset.
func (b *Backoff) Failures() int { return b.failures }

// sleepCtx waits for d, or until ctx is done or wake is closed; it returns
// false when it was cut short.
func sleepCtx(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-wake:
		return false
	}
}
