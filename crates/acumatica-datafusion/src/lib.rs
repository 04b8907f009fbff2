//! acumatica-datafusion
