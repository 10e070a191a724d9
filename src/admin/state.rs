//! What every admin handler shares: the running processor, the token, chaos
//! mode and the sampled rates.

use std::sync::Arc;
use std::time::Instant;

use super::auth::Token;
use super::chaos::Chaos;
use super::rates::Rates;
use crate::processor::Processor;

pub struct AdminState {
    pub processor: Arc<Processor>,
    pub token: Option<Token>,
    pub chaos: Chaos,
    pub rates: Rates,
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
            started: Instant::now(),
        }
    }
}
