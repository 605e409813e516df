//! Runnable examples for liquid-mesh; see `examples/` and the README.
