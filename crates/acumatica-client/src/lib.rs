//! acumatica-client
