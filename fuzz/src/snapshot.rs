//! Target `snapshot`: one stored snapshot blob through the checked decoder
//! (version, length, CRC-32, postcard payload), then restored alone, as a base or
//! as the first delta. Half of the inputs get a correct header and checksum put in
//! front of their payload, so the payload decoder itself is reached.
//!
//! Input: mode (1 byte: bit 0 fixes the header, bits 1-2 pick the bucket
//! horizon), then the blob.

use ssa::core::snapshot::{FORMAT_VERSION, HEADER_LEN};
use ssa::core::{decode, encode, restore, StateOptions};

use super::input::Input;
use super::state_view::view;

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.u8();
    let mut blob = input.rest().to_vec();
    if mode & 1 != 0 {
        let payload_len = blob.len().saturating_sub(HEADER_LEN);
        blob.resize(HEADER_LEN + payload_len, 0);
        blob[0] = FORMAT_VERSION;
        blob[1..5].copy_from_slice(&(payload_len as u32).to_le_bytes());
        let crc = crc32fast::hash(&blob[HEADER_LEN..]);
        blob[5..9].copy_from_slice(&crc.to_le_bytes());
    }
    let options = StateOptions {
        keep_raw: false,
        bucket_horizon_minutes: [None, Some(0), Some(60), Some(u32::MAX)]
            [usize::from(mode >> 1) & 3],
    };

    let snap = match decode(&blob) {
        Ok(snap) => snap,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let again = decode(&encode(&snap).expect("a decoded snapshot encodes")).expect("decodes");
    assert_eq!(again, snap);

    let restored = if snap.is_base() {
        restore(&snap.partition, options, Some(snap.clone()), [])
    } else {
        restore(&snap.partition, options, None, [snap.clone()])
    };
    let mut state = match restored {
        Ok(state) => state,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    if snap.is_base() || snap.epoch == 1 {
        assert_eq!(state.offset(), snap.offset);
        assert_eq!(state.epoch(), snap.epoch.saturating_add(1));
    }

    // The restored state checkpoints and restores to itself.
    state.seal_epoch();
    let base = state.snapshot_base().expect("sealed");
    let back = decode(&encode(&base).expect("encodes")).expect("decodes");
    let twice = restore(&snap.partition, options, Some(back), []).expect("restores");
    assert_eq!(view(&twice), view(&state));
}
