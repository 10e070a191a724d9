//! What every admin handler shares: the running processor, the token, chaos
//! mode, the sampled rates and, for a demo run, the expected totals.

use std::sync::Arc;
use std::time::Instant;

use super::auth::Token;
use super::chaos::Chaos;
use super::rates::Rates;
use super::verify::Expected;
use crate::processor::Processor;

pub struct AdminState {
    pub processor: Arc<Processor>,
    pub token: Option<Token>,
    pub chaos: Chaos,
    pub rates: Rates,
    pub expected: Arc<Expected>,
    pub started: Instant,
}

impl AdminState {
    pub fn new(processor: Arc<Processor>) -> Self {
        let token = Token::new(&processor.config.admin.token);
        AdminState {
            processor,
            token,
            chaos: Chaos::default(),
            rates: Rates::default(),
            expected: Arc::default(),
            started: Instant::now(),
        }
    }
}
