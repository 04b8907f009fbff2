//! acumatica-client
pub mod metadata;
