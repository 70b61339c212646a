//! `num2words.lang_TR` (placeholder until ported).

use super::{Currency, N2wError, Num2Words, R};

pub(crate) struct Tr;

impl Tr {
    pub(crate) fn new() -> Self {
        Tr
    }
}

impl Num2Words for Tr {
    fn cardinal(&self, _n: u128) -> R<String> {
        Err(N2wError::NotImplemented)
    }
    fn ordinal(&self, _n: u128) -> R<String> {
        Err(N2wError::NotImplemented)
    }
    fn currency(&self, _v: f64, _cur: Currency) -> R<String> {
        Err(N2wError::Type)
    }
}
