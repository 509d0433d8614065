//! Must fail to compile: `protocol` is internal to lifesign.
fn main() {
    let _ = lifesign::protocol::decode(b"{}");
}
