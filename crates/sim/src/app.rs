//! The shared state behind every handler: settings, the store, faults and counters.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jiff::Timestamp;

use crate::config::Settings;
use crate::counters::Counters;
use crate::error::ApiError;
use crate::faults::FaultBook;
use crate::ops::Operation;
use crate::persist;
use crate::state::Store;

pub type AppState = Arc<App>;

pub struct App {
    pub settings: Settings,
    /// `http://ADDR` of this server, for links and the token catalogue.
    pub base_url: String,
    store: Mutex<Store>,
    faults: Mutex<FaultBook>,
    counters: Mutex<Counters>,
    /// Access keys rotated through the control API, by account (domain) name: the account's key
    /// from the settings no longer works once it has one here.
    rotated: Mutex<BTreeMap<String, (String, String)>>,
    /// The seed a reset returns the fault dice to.
    fault_seed: u64,
    state_file: Option<PathBuf>,
}

/// A panicking handler must not take the whole simulator down with a poisoned lock.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl App {
    pub fn new(
        settings: Settings,
        base_url: String,
        store: Store,
        faults: FaultBook,
        fault_seed: u64,
        state_file: Option<PathBuf>,
    ) -> Self {
        Self {
            settings,
            base_url,
            store: Mutex::new(store),
            faults: Mutex::new(faults),
            counters: Mutex::new(Counters::default()),
            rotated: Mutex::new(BTreeMap::new()),
            fault_seed,
            state_file,
        }
    }

    fn save(&self, store: &Store) {
        if let Some(path) = &self.state_file
            && let Err(e) = persist::save(path, store)
        {
            // The change stands in memory; a broken disk is reported, not turned into API errors.
            tracing::error!("{e}");
        }
    }

    /// Gives an account a new access key; its previous one stops working at once. Returns false
    /// for an unknown account.
    pub fn rotate_key(&self, account: &str, access_key: String, secret_key: String) -> bool {
        if self.settings.account_by_domain_name(account).is_none() {
            return false;
        }
        lock(&self.rotated).insert(account.to_string(), (access_key, secret_key));
        true
    }

    /// The settings with the access keys as rotated so far.
    pub fn keys(&self) -> Cow<'_, Settings> {
        let rotated = lock(&self.rotated);
        if rotated.is_empty() {
            return Cow::Borrowed(&self.settings);
        }
        let mut settings = self.settings.clone();
        for account in &mut settings.accounts {
            if let Some((ak, sk)) = rotated.get(&account.domain_name) {
                account.access_key = ak.clone();
                account.secret_key = sk.clone();
            }
        }
        Cow::Owned(settings)
    }

    /// Reads the store after applying the transitions due now.
    pub fn read<R>(&self, f: impl FnOnce(&Store, Timestamp) -> R) -> R {
        let now = Timestamp::now();
        let mut store = lock(&self.store);
        if store.advance(now) {
            self.save(&store);
        }
        f(&store, now)
    }

    /// Changes the store (after applying due transitions) and saves it when the change succeeds.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut Store, Timestamp) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let now = Timestamp::now();
        let mut store = lock(&self.store);
        let advanced = store.advance(now);
        let result = f(&mut store, now);
        if advanced || result.is_ok() {
            self.save(&store);
        }
        result
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultBook> {
        lock(&self.faults)
    }

    pub fn counters(&self) -> MutexGuard<'_, Counters> {
        lock(&self.counters)
    }

    /// The requests so far for operations that this flavour does not have (answered as unknown
    /// paths), by operation name; operations never called are left out.
    pub fn unsupported_calls(&self) -> BTreeMap<&'static str, u64> {
        let flavour = self.settings.flavour;
        let totals = self.counters().totals();
        Operation::ALL
            .iter()
            .filter(|op| !flavour.serves(**op))
            .filter_map(|op| Some((op.as_str(), *totals.get(op.as_str())?)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Wipes objects, tokens, faults and counters; accounts and public services stay.
    pub fn reset(&self) {
        let fresh = Store::new(self.settings.flavour, &self.settings.region);
        let mut store = lock(&self.store);
        *store = fresh;
        self.save(&store);
        *self.faults() = FaultBook::new(Vec::new(), self.fault_seed);
        *self.counters() = Counters::default();
    }
}
