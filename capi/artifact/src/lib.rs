//! liblifesign.so and liblifesign.a: the exports of `lifesign-capi`
//! (capi/src/lib.rs), linked into the C artifacts. Nothing else lives here.

pub use lifesign_capi::*;
