//! The forecasting engine: plain series in, point forecasts and intervals out. No I/O,
//! so it is testable and benchmarkable on its own.
