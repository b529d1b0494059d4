//! Time and cancellation for one extraction, checked between operators so
//! that a deadline or a cancel stops the work itself, not just the wait.

use std::time::Instant;

use crate::CancelToken;

/// Why an extraction stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    Timeout,
    Cancelled,
}

pub(super) struct Budget {
    deadline: Instant,
    cancel: Option<CancelToken>,
    ticks: u32,
}

/// Operators between two looks at the clock (a look costs ~20 ns, an
/// operator ~100 ns).
const CLOCK_EVERY: u32 = 256;

impl Budget {
    pub(super) fn new(deadline: Instant, cancel: Option<CancelToken>) -> Self {
        Budget {
            deadline,
            cancel,
            ticks: 0,
        }
    }

    /// `Err` once the deadline has passed or the token was raised.
    pub(super) fn check(&mut self) -> Result<(), Stop> {
        self.ticks = self.ticks.wrapping_add(1);
        if !self.ticks.is_multiple_of(CLOCK_EVERY) {
            return Ok(());
        }
        self.check_now()
    }

    /// Like [`check`](Self::check) but always looks (between pages).
    pub(super) fn check_now(&mut self) -> Result<(), Stop> {
        if self.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            return Err(Stop::Cancelled);
        }
        if Instant::now() >= self.deadline {
            return Err(Stop::Timeout);
        }
        Ok(())
    }
}
