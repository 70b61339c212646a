use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;
use vctts_core::{AudioClip, ModelInfo, SynthStats, VoiceProfile};

use crate::{AudioChunk, Engine, EngineError, SynthesisJob};

/// A loaded engine shared by the worker's request handlers. It runs each call
/// on a blocking thread (never on the async runtime) and admits at most
/// `capacity` synthesis calls at once; extra callers are refused at once with
/// [`EngineError::Busy`] — there is no hidden queue.
#[derive(Clone)]
pub struct EngineHandle {
    engine: Arc<dyn Engine>,
    slots: Arc<Semaphore>,
    capacity: usize,
}

/// Audio chunks of one synthesis as they are produced, then the final result.
pub struct SynthesisStream {
    pub sample_rate: u32,
    chunks: mpsc::Receiver<AudioChunk>,
    done: Option<oneshot::Receiver<Result<SynthStats, EngineError>>>,
}

impl SynthesisStream {
    /// The next chunk; `None` once the engine has finished (then call [`finish`](Self::finish)).
    pub async fn next_chunk(&mut self) -> Option<AudioChunk> {
        self.chunks.recv().await
    }

    /// A chunk the engine has already made, without waiting: `Ready(Some)`,
    /// `Ready(None)` once the engine has finished, `Pending` while it works on.
    pub fn try_next_chunk(&mut self) -> std::task::Poll<Option<AudioChunk>> {
        use tokio::sync::mpsc::error::TryRecvError;
        match self.chunks.try_recv() {
            Ok(c) => std::task::Poll::Ready(Some(c)),
            Err(TryRecvError::Empty) => std::task::Poll::Pending,
            Err(TryRecvError::Disconnected) => std::task::Poll::Ready(None),
        }
    }

    /// The engine's result (statistics or error). Call after `next_chunk` returned `None`.
    pub async fn finish(&mut self) -> Result<SynthStats, EngineError> {
        match self.done.take() {
            Some(rx) => {
                rx.await.unwrap_or_else(|_| Err(EngineError::Internal("engine thread ended without a result".into())))
            }
            None => Err(EngineError::Internal("finish called twice".into())),
        }
    }

    /// Collect everything (for whole-file responses).
    pub async fn collect(mut self) -> Result<(Vec<f32>, SynthStats), EngineError> {
        let mut all = Vec::new();
        while let Some(c) = self.next_chunk().await {
            all.extend_from_slice(&c.samples);
        }
        let stats = self.finish().await?;
        Ok((all, stats))
    }
}

impl EngineHandle {
    pub fn new(engine: Box<dyn Engine>, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { engine: Arc::from(engine), slots: Arc::new(Semaphore::new(capacity)), capacity }
    }

    pub fn info(&self) -> &ModelInfo {
        self.engine.info()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Requests running now.
    pub fn inflight(&self) -> usize {
        self.capacity - self.slots.available_permits()
    }

    fn slot(&self) -> Result<OwnedSemaphorePermit, EngineError> {
        self.slots.clone().try_acquire_owned().map_err(|_| EngineError::Busy(self.capacity))
    }

    /// Start a synthesis. Fails at once with `Busy` if every slot is taken.
    /// Dropping the returned stream cancels the synthesis at its next chunk.
    pub fn synthesize(&self, job: SynthesisJob) -> Result<SynthesisStream, EngineError> {
        let permit = self.slot()?;
        let engine = self.engine.clone();
        let sample_rate = engine.info().sample_rate;
        let (tx, rx) = mpsc::channel::<AudioChunk>(4);
        let (done_tx, done_rx) = oneshot::channel();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _enter = span.enter();
            let started = Instant::now();
            let mut first: Option<f64> = None;
            let mut samples = 0u64;
            let mut sink = |chunk: AudioChunk| {
                if first.is_none() {
                    first = Some(started.elapsed().as_secs_f64());
                }
                samples += chunk.samples.len() as u64;
                match tx.blocking_send(chunk) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                }
            };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.synthesize(&job, &mut sink)))
                .unwrap_or_else(|p| Err(EngineError::Internal(panic_message(p))));
            let result = result.map(|mut s| {
                // The handle's own clock is the one that counts (it includes queueing on the thread).
                s.first_chunk_s = first.unwrap_or(s.first_chunk_s);
                s.elapsed_s = started.elapsed().as_secs_f64();
                if s.samples == 0 {
                    s.samples = samples;
                }
                if s.sample_rate == 0 {
                    s.sample_rate = sample_rate;
                }
                s
            });
            let result = if tx.is_closed() && result.is_ok() { Err(EngineError::Cancelled) } else { result };
            // Free the slot before the caller learns the result, so a client
            // that sends its next request at once finds the slot free.
            drop(permit);
            drop(tx);
            let _ = done_tx.send(result);
        });
        Ok(SynthesisStream { sample_rate, chunks: rx, done: Some(done_rx) })
    }

    /// Extract a voice profile on a blocking thread (takes a slot too).
    pub async fn extract_voice(&self, clip: AudioClip) -> Result<VoiceProfile, EngineError> {
        let permit = self.slot()?;
        let engine = self.engine.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _enter = span.enter();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.extract_voice(&clip)))
                .unwrap_or_else(|p| Err(EngineError::Internal(panic_message(p))))
        })
        .instrument(tracing::Span::current())
        .await
        .unwrap_or_else(|e| Err(EngineError::Internal(e.to_string())))
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("engine panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("engine panicked: {s}")
    } else {
        "engine panicked".into()
    }
}
