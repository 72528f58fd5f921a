//! The single writer of state during an apply.
//!
//! Every state change of an apply goes through one thread that owns the store, one write at a
//! time, each durable (flushed) before the step that asked for it goes on. A step waits for its
//! write: a resource is recorded `pending` before its API call, and what a call created is
//! recorded before the step counts as done. The writer also keeps the in-memory snapshot the
//! steps read references and context from, updated only after the store accepted the write.

use dbplan_state::{ResourceState, Snapshot, StateError, StateStore};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;

enum Write {
    Put(Box<ResourceState>),
    Remove(String),
}

struct Request {
    write: Write,
    reply: oneshot::Sender<Result<u64, StateError>>,
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
            for request in receiver {
                let result = match &request.write {
                    Write::Put(resource) => store.put(resource),
                    Write::Remove(address) => store.remove(address),
                };
                if let Ok(serial) = &result
                    && let Ok(mut mirror) = thread_mirror.lock()
                {
                    mirror.serial = *serial;
                    match request.write {
                        Write::Put(resource) => {
                            mirror.resources.insert(resource.address.clone(), *resource);
                        }
                        Write::Remove(address) => {
                            mirror.resources.remove(&address);
                        }
                    }
                }
                // The step may have been aborted; the write is durable either way.
                let _ = request.reply.send(result);
            }
            store
        });
        (Writer { sender, mirror }, handle)
    }

    async fn send(&self, write: Write) -> Result<u64, StateError> {
        let (reply, answer) = oneshot::channel();
        let gone = || StateError::Store {
            path: std::path::PathBuf::new(),
            message: "the state writer stopped".to_owned(),
        };
        self.sender
            .send(Request { write, reply })
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// Records (or replaces) one resource; returns when the write is durable.
    pub(crate) async fn put(&self, resource: ResourceState) -> Result<u64, StateError> {
        self.send(Write::Put(Box::new(resource))).await
    }

    /// Removes one resource from state; returns when the write is durable.
    pub(crate) async fn remove(&self, address: &str) -> Result<u64, StateError> {
        self.send(Write::Remove(address.to_owned())).await
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
    pub(crate) fn resource(&self, address: &str) -> Option<ResourceState> {
        self.mirror
            .lock()
            .ok()
            .and_then(|mirror| mirror.resources.get(address).cloned())
    }
}
