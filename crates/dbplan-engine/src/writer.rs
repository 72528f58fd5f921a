//! The single writer of state during an apply.
//!
//! Every state change of an apply goes through one thread that owns the store, each durable
//! (flushed) before the step that asked for it goes on. Changes that arrive while a flush is
//! under way are written together with one flush (group commit): the thread takes every
//! request waiting, writes them as one batch, and answers each only after the batch is on disk. A step waits for its
//! write: a resource is recorded `pending` before its API call, and what a call created is
//! recorded before the step counts as done. The writer also keeps the in-memory snapshot the
//! steps read references and context from, updated only after the store accepted the write.

use crate::error::WriteError;
use dbplan_core::ResourceAddress;
use dbplan_state::{ResourceState, Snapshot, StateChange, StateStore};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;

struct Request {
    change: StateChange,
    /// The new serial, or why the state could not be written (the store's own error, which
    /// names the state directory and what to do).
    reply: oneshot::Sender<Result<u64, WriteError>>,
}

/// A handle to the writer thread; cloned into every step.
#[derive(Clone)]
pub(crate) struct Writer {
    sender: mpsc::Sender<Request>,
    mirror: Arc<Mutex<Snapshot>>,
}

impl Writer {
    /// Starts the writer thread over a store whose current snapshot is `snapshot`. The thread
    /// ends when the last handle is dropped, and gives the store back through the join handle.
    pub(crate) fn start<S: StateStore + Send + 'static>(
        store: S,
        snapshot: Snapshot,
    ) -> (Writer, std::thread::JoinHandle<S>) {
        let (sender, receiver) = mpsc::channel::<Request>();
        let mirror = Arc::new(Mutex::new(snapshot));
        let thread_mirror = Arc::clone(&mirror);
        let handle = std::thread::spawn(move || {
            while let Ok(first) = receiver.recv() {
                let (changes, replies): (Vec<StateChange>, Vec<_>) = std::iter::once(first)
                    .chain(receiver.try_iter())
                    .map(|request| (request.change, request.reply))
                    .unzip();
                let result = store.write_batch(&changes).map_err(Arc::new);
                if let Ok(serial) = &result {
                    // A poisoned lock still holds a consistent map (every update below is
                    // a plain insert or remove), so it is used rather than left behind.
                    let mut mirror = thread_mirror
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    mirror.serial = *serial;
                    for change in changes {
                        match change {
                            StateChange::Put(resource) => {
                                mirror.resources.insert(resource.address.clone(), resource);
                            }
                            StateChange::Remove(address) => {
                                mirror.resources.remove(&address);
                            }
                        }
                    }
                }
                for reply in replies {
                    // The step may have been aborted; the write is durable either way.
                    let _ = reply.send(match &result {
                        Ok(serial) => Ok(*serial),
                        Err(error) => Err(WriteError::Store(Arc::clone(error))),
                    });
                }
            }
            store
        });
        (Writer { sender, mirror }, handle)
    }

    async fn send(&self, change: StateChange) -> Result<u64, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Request { change, reply })
            .map_err(|_| WriteError::Stopped)?;
        answer.await.map_err(|_| WriteError::Stopped)?
    }

    /// Records (or replaces) one resource; returns when the write is durable.
    pub(crate) async fn put(&self, resource: ResourceState) -> Result<u64, WriteError> {
        self.send(StateChange::Put(resource)).await
    }

    /// Removes one resource from state; returns when the write is durable.
    pub(crate) async fn remove(&self, address: &ResourceAddress) -> Result<u64, WriteError> {
        self.send(StateChange::Remove(address.clone())).await
    }

    /// Reads the state as written so far (without copying it: a step reads a few records of a
    /// state that may hold thousands).
    pub(crate) fn read<T>(&self, reader: impl FnOnce(&Snapshot) -> T) -> T {
        match self.mirror.lock() {
            Ok(mirror) => reader(&mirror),
            Err(poisoned) => reader(&poisoned.into_inner()),
        }
    }

    /// One resource as written so far.
    pub(crate) fn resource(&self, address: &ResourceAddress) -> Option<ResourceState> {
        self.read(|mirror| mirror.resources.get(address).cloned())
    }
}
