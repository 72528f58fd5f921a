//! What every handler shares: the world, the configuration, the fault draws and the counters.

use super::options::OPTIONS;
use super::vpcs::default_vpc;
use crate::digitalocean::model::{Stats, World};
use crate::digitalocean::{FakeConfig, Faults};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub(crate) struct Shared {
    pub(super) world: Mutex<World>,
    pub(super) config: Mutex<FakeConfig>,
    pub(super) rng: Mutex<fastrand::Rng>,
    pub(super) stats: Mutex<Stats>,
    /// When each request of the last hour arrived (for `ratelimit-remaining`).
    pub(super) window: Mutex<VecDeque<Instant>>,
    /// `{options, version_availability}`.
    pub(super) options: Value,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked while holding a lock leaves its data usable: every change to the
    // world is made in one step after validation.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(config: FakeConfig) -> Shared {
        let mut options: Value = serde_json::from_str(OPTIONS).unwrap_or_default();
        if let Some(map) = options.as_object_mut() {
            map.remove("snapshot");
        }
        let world = Mutex::new(World::default());
        let shared = Shared {
            rng: Mutex::new(fastrand::Rng::with_seed(config.faults.seed)),
            world,
            config: Mutex::new(config),
            stats: Mutex::new(Stats::default()),
            window: Mutex::new(VecDeque::new()),
            options,
        };
        shared.seed_default_vpcs();
        shared
    }

    /// A default VPC in every region, when the configuration asks for them.
    fn seed_default_vpcs(&self) {
        if !lock(&self.config).default_vpcs {
            return;
        }
        let regions = self
            .engine("pg")
            .map(|pg| Shared::strings(pg.get("regions")))
            .unwrap_or_default();
        let mut world = lock(&self.world);
        for region in regions {
            default_vpc(&mut world, &region);
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *lock(&self.rng) = fastrand::Rng::with_seed(faults.seed);
        lock(&self.config).faults = faults;
    }

    pub(crate) fn set_delays(&self, create: Duration, resize: Duration) {
        let mut config = lock(&self.config);
        config.create_delay = create;
        config.resize_delay = resize;
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        lock(&self.config).latency = latency;
    }

    pub(crate) fn token(&self) -> Option<String> {
        lock(&self.config).token.clone()
    }

    pub(crate) fn passwords(&self) -> Vec<String> {
        lock(&self.world).passwords.clone()
    }

    pub(crate) fn reset(&self) {
        *lock(&self.world) = World::default();
        *lock(&self.stats) = Stats::default();
        lock(&self.window).clear();
        self.seed_default_vpcs();
    }
}
