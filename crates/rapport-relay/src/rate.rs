//! Rate limits as token buckets: [`RateLimit`] is the setting, [`Allowance`] one bucket.

use std::time::Duration;

use tokio::time::Instant;

/// How often something may happen: `burst` times at once, then once every `refill_every`
/// (the bucket refills one use per `refill_every`, up to `burst`). A `refill_every` of zero
/// turns the limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Uses allowed at once, after a quiet period (at least one).
    pub burst: u32,
    /// How long it takes to earn back one use.
    pub refill_every: Duration,
}

impl RateLimit {
    /// How long a bucket takes to refill from empty.
    fn span(&self) -> Duration {
        self.refill_every.saturating_mul(self.burst.max(1))
    }
}

/// One bucket of a [`RateLimit`], kept as the moment it will be full again: nothing to update
/// while it is not used.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Allowance {
    full_at: Instant,
}

impl Allowance {
    /// A full bucket.
    pub(crate) fn new(now: Instant) -> Self {
        Self { full_at: now }
    }

    /// Uses it `uses` times, into debt if need be (what was done is done; the debt delays the
    /// next use).
    pub(crate) fn spend(&mut self, limit: &RateLimit, uses: u32, now: Instant) {
        let start = self.full_at.max(now);
        let cost = limit.refill_every.saturating_mul(uses);
        // Beyond what an `Instant` holds only with absurd settings: then, thirty years.
        const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 3600);
        self.full_at = start.checked_add(cost).unwrap_or(start + FAR);
    }

    /// Gives back `uses` spent earlier (never more than a full bucket).
    pub(crate) fn refund(&mut self, limit: &RateLimit, uses: u32, now: Instant) {
        let cost = limit.refill_every.saturating_mul(uses);
        self.full_at = self.full_at.checked_sub(cost).unwrap_or(now).max(now);
    }

    /// How long until one more use fits the limit; zero when it fits now.
    pub(crate) fn wait(&self, limit: &RateLimit, now: Instant) -> Duration {
        let owed = self.full_at.saturating_duration_since(now) + limit.refill_every;
        owed.saturating_sub(limit.span())
    }

    /// Whether the bucket is full, as if never used.
    pub(crate) fn is_full(&self, now: Instant) -> bool {
        self.full_at <= now
    }

    /// How much is left to refill (the bucket with the least is the least used).
    pub(crate) fn refilling(&self, now: Instant) -> Duration {
        self.full_at.saturating_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        burst: 3,
        refill_every: Duration::from_secs(10),
    };

    #[test]
    fn a_burst_is_allowed_then_one_use_per_refill_period() {
        let start = Instant::now();
        let mut allowance = Allowance::new(start);
        for _ in 0..3 {
            assert_eq!(allowance.wait(&LIMIT, start), Duration::ZERO);
            allowance.spend(&LIMIT, 1, start);
        }
        assert_eq!(allowance.wait(&LIMIT, start), Duration::from_secs(10));
        let later = start + Duration::from_secs(10);
        assert_eq!(allowance.wait(&LIMIT, later), Duration::ZERO);
        allowance.spend(&LIMIT, 1, later);
        assert_eq!(allowance.wait(&LIMIT, later), Duration::from_secs(10));
        assert!(allowance.is_full(later + Duration::from_secs(30)));
    }

    #[test]
    fn debt_delays_the_next_use_by_what_was_overspent() {
        let start = Instant::now();
        let mut allowance = Allowance::new(start);
        allowance.spend(&LIMIT, 5, start);
        // Three were free; two more, plus the next one, take three periods.
        assert_eq!(allowance.wait(&LIMIT, start), Duration::from_secs(30));
        allowance.refund(&LIMIT, 2, start);
        assert_eq!(allowance.wait(&LIMIT, start), Duration::from_secs(10));
        allowance.refund(&LIMIT, 9, start);
        assert!(allowance.is_full(start));
    }

    #[test]
    fn a_zero_refill_period_never_limits() {
        let off = RateLimit {
            burst: 1,
            refill_every: Duration::ZERO,
        };
        let now = Instant::now();
        let mut allowance = Allowance::new(now);
        allowance.spend(&off, 1000, now);
        assert_eq!(allowance.wait(&off, now), Duration::ZERO);
    }
}
