//! The framework server that scf deploys: the multi-tenant API, its metrics and auth,
//! and the optimization agents. `scf run` starts it; the compiler's artifacts configure it.

pub mod vars;
