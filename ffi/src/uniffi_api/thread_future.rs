//! Long calls (index, ask) exposed as async: the work runs on its own
//! thread and a future resolves with the result, so Swift `async` and
//! Kotlin `suspend` callers never block their executor. Dropping the
//! future before it resolves (a cancelled Task or coroutine) raises the
//! call's cancel token.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use trove::CancelToken;

use super::error::TroveError;

struct Slot<T> {
    result: Option<Result<T, TroveError>>,
    waker: Option<Waker>,
}

/// Resolves with the result of work running on another thread.
pub(crate) struct ThreadFuture<T> {
    slot: Arc<Mutex<Slot<T>>>,
    cancel: CancelToken,
    done: bool,
}

impl<T: Send + 'static> ThreadFuture<T> {
    /// Starts `work` on a new thread. `cancel` is the token the work
    /// watches; it is raised if this future is dropped unresolved.
    pub(crate) fn spawn(
        cancel: CancelToken,
        work: impl FnOnce() -> Result<T, TroveError> + Send + 'static,
    ) -> Self {
        let slot = Arc::new(Mutex::new(Slot {
            result: None,
            waker: None,
        }));
        let shared = slot.clone();
        let spawned = std::thread::Builder::new()
            .name("trove-call".into())
            .spawn(move || {
                let result = catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
                    Err(TroveError::Internal {
                        message: "internal error: a panic in trove".into(),
                    })
                });
                let mut slot = shared.lock().unwrap_or_else(|p| p.into_inner());
                slot.result = Some(result);
                if let Some(waker) = slot.waker.take() {
                    waker.wake();
                }
            });
        if let Err(e) = spawned {
            let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
            s.result = Some(Err(TroveError::Internal {
                message: format!("cannot start a thread: {e}"),
            }));
        }
        ThreadFuture {
            slot,
            cancel,
            done: false,
        }
    }
}

impl<T> Future for ThreadFuture<T> {
    type Output = Result<T, TroveError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        match slot.result.take() {
            Some(result) => {
                drop(slot);
                self.done = true;
                Poll::Ready(result)
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for ThreadFuture<T> {
    fn drop(&mut self) {
        if !self.done {
            self.cancel.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::Wake;

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn block_on<F: Future>(mut f: Pin<&mut F>) -> F::Output {
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            while !flag.0.swap(false, Ordering::SeqCst) {
                std::thread::yield_now();
            }
        }
    }

    #[test]
    fn resolves_with_the_threads_result_and_a_panic_is_an_error() {
        let mut ok = ThreadFuture::spawn(CancelToken::new(), || Ok(7));
        assert_eq!(block_on(Pin::new(&mut ok)), Ok(7));
        let mut panicked = ThreadFuture::<u8>::spawn(CancelToken::new(), || panic!("x"));
        assert!(matches!(
            block_on(Pin::new(&mut panicked)),
            Err(TroveError::Internal { .. })
        ));
    }

    #[test]
    fn dropping_it_unresolved_raises_the_token() {
        let token = CancelToken::new();
        let watched = token.clone();
        let future = ThreadFuture::spawn(token.clone(), move || {
            while !watched.is_cancelled() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Ok(())
        });
        drop(future);
        assert!(token.is_cancelled());
    }
}
