//! One websocket frame from a peer, decoded as the relay and the client decode every frame:
//! an error or a message, never a panic; and a message encodes to a frame that decodes to the
//! same message again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rapport_proto::{decode, encode};

fuzz_target!(|frame: &[u8]| {
    let Ok(message) = decode(frame) else {
        return;
    };
    let again = decode(&encode(&message));
    assert_eq!(
        again.as_ref(),
        Ok(&message),
        "the encoded message decodes differently"
    );
});
