//! Signal processing for voice adaptation: F0 tracking, PSOLA and time
//! warping, spectra (mel filterbank, long-term spectra, equaliser, formants).

pub mod f0;
pub mod psola;
pub mod spectrum;
