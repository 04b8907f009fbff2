//! acumatica-sim
