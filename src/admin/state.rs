//! What every admin handler shares: the running processor (attached once it has
//! started; until then its routes answer 503 `starting`), the start-up status,
//! the token, chaos mode, the sampled rates and, for a demo run, the expected totals.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::auth::Token;
use super::chaos::Chaos;
use super::error::ApiError;
use super::rates::Rates;
use super::verify::Expected;
use crate::cassandra::Startup;
use crate::config::AdminConfig;
use crate::processor::Processor;

pub struct AdminState {
    processor: OnceLock<Arc<Processor>>,
    /// What start-up is doing (e.g. waiting for Cassandra) until the processor is attached.
    pub startup: Arc<Startup>,
    pub token: Option<Token>,
    pub chaos: Chaos,
    pub rates: Rates,
    pub expected: Arc<Expected>,
    pub started: Instant,
}

impl AdminState {
    pub fn new(admin: &AdminConfig, startup: Arc<Startup>) -> Self {
        AdminState {
            processor: OnceLock::new(),
            startup,
            token: Token::new(&admin.token),
            chaos: Chaos::default(),
            rates: Rates::default(),
            expected: Arc::default(),
            started: Instant::now(),
        }
    }

    /// Hands the started processor to the API; from now on every route serves.
    pub fn attach(&self, processor: Arc<Processor>) {
        let _ = self.processor.set(processor);
    }

    /// The processor, or 503 `starting` naming what start-up is waiting for.
    pub fn processor(&self) -> Result<&Arc<Processor>, ApiError> {
        self.processor
            .get()
            .ok_or_else(|| ApiError::Starting(self.startup.get()))
    }
}
